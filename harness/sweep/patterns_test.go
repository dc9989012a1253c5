package sweep

import (
	"compress/gzip"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The maps are of the error inputs, one per approximate variant; the
// window's mask is its definition (|i − j| ≤ w), written here, and every
// row of weights sums to 1 (within the 0.01-decade rounding of the file).
func TestMakePatterns(t *testing.T) {
	spec := baseSpec("full", "window", "linear")
	spec.D, spec.Heads = []int{16}, []int{2}
	spec.Knobs = []Knob{{Name: "window", Values: []string{"3", "5"}}}
	spec.ErrInputs = "llm"
	cases, _, err := Expand(spec)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	p, err := MakePatterns(cases, n)
	if err != nil {
		t.Fatal(err)
	}
	if p.Inputs != "llm" || p.N != n || p.M != n || p.H != 2 || p.D != 16 {
		t.Fatalf("patterns of %s inputs, %d×%d, h=%d d=%d", p.Inputs, p.N, p.M, p.H, p.D)
	}
	var names []string
	for _, m := range p.Maps {
		names = append(names, m.Name)
	}
	if len(p.Maps) != 3 || names[0] != "exact" || names[1] != "window" || names[2] != "linear" {
		t.Fatalf("maps %v, want exact, window, linear (full is the exact map)", names)
	}
	win := p.Maps[1]
	if win.Options != "window=3" || win.Coverage == nil || *win.Coverage <= 0 || *win.Coverage >= 1 {
		t.Errorf("window map options %q coverage %v: want the first knob value and a coverage in (0, 1)", win.Options, win.Coverage)
	}
	for _, m := range p.Maps {
		for i := range n {
			var sum float64
			for j := range n {
				v := m.Log10[i*n+j]
				out := m.Name == "window" && (j-i > 3 || i-j > 3)
				if (v == PatternOutside) != out {
					t.Fatalf("%s: cell (%d, %d) outside=%v, want %v", m.Name, i, j, v == PatternOutside, out)
				}
				if v != PatternOutside {
					sum += math.Pow(10, float64(v)/100)
				}
			}
			if math.Abs(sum-1) > 0.03 {
				t.Errorf("%s: row %d sums to %v", m.Name, i, sum)
			}
		}
	}

	path := filepath.Join(t.TempDir(), "r.patterns.json.gz")
	if PatternsPath(filepath.Join(filepath.Dir(path), "r.txt")) != path {
		t.Errorf("PatternsPath gives %s", PatternsPath(filepath.Join(filepath.Dir(path), "r.txt")))
	}
	if err := WritePatterns(path, p); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var back Patterns
	if err := json.NewDecoder(zr).Decode(&back); err != nil || len(back.Maps) != 3 || back.Maps[1].Log10[5] != p.Maps[1].Log10[5] {
		t.Errorf("the file does not read back: %v", err)
	}
}
