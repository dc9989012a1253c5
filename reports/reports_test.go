package reports

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var fixtureNs = []int{256, 512, 1024, 2048, 4096}

// TestReport generates a report from two generated files from two
// machines and checks every output against the samples written.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	a := fixtureFile{cpu: "Fixture CPU A", ns: fixtureNs, count: 7, series: standardSeries(), peak: 90, withUnits: true}
	// Machine B: three series, twice as slow, 3 samples a point (too few
	// for an interval).
	var bSeries []fixtureSeries
	for _, s := range standardSeries() {
		if s.label == "full" || s.label == "flash" || s.label == "window w=64" {
			slow := s.timeNS
			s.timeNS = func(n float64) float64 { return 2 * slow(n) }
			bSeries = append(bSeries, s)
		}
	}
	b := fixtureFile{cpu: "Fixture CPU B", ns: fixtureNs[:4], count: 3, series: bSeries, peak: 40}
	pathA, pathB := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	wantA, wantB := a.write(t, pathA), b.write(t, pathB)

	outDir := filepath.Join(dir, "out")
	out, err := Generate(outDir, []string{pathA, pathB}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Report.Groups) != 2 {
		t.Fatalf("got %d groups, want 2 (one per cpu)", len(out.Report.Groups))
	}

	// Every plot kind the data supports, in each group.
	wantPlots := map[string][]string{
		"g1-": {"time", "memory", "gflops", "relerr-n", "relerr-window", "relerr-features", "pareto", "speedup"},
		"g2-": {"time", "memory", "gflops", "relerr-n", "pareto", "speedup"},
	}
	html := readFile(t, filepath.Join(outDir, "index.html"))
	for prefix, kinds := range wantPlots {
		for _, k := range kinds {
			for _, ext := range []string{".png", ".svg"} {
				name := prefix + k + ext
				if _, err := os.Stat(filepath.Join(outDir, name)); err != nil {
					t.Errorf("plot missing: %v", err)
				}
				if !strings.Contains(html, `href="`+name+`"`) {
					t.Errorf("index.html does not reference %s", name)
				}
			}
		}
	}
	if n := strings.Count(html, `src="data:image/png;base64,`); n != out.Plots {
		t.Errorf("index.html embeds %d PNGs, want %d", n, out.Plots)
	}
	checkImages(t, outDir)
	for _, want := range []string{"Fixture CPU A", "Fixture CPU B", "attnbench sweep -count 7", "avx2", "90.0 GFLOP/s (all threads)",
		"left out: full n=256 (0)"} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}

	md := readFile(t, filepath.Join(outDir, "summary.md"))
	checkSummary(t, mdTable(t, md, "Fixture CPU A"), wantA, fixtureNs[len(fixtureNs)-1])
	checkSummary(t, mdTable(t, md, "Fixture CPU B"), wantB, fixtureNs[3])

	rowsA := mdTable(t, md, "Fixture CPU A")
	// Slopes: the exponents of the cost models (lsh's n·log n has none).
	for label, exp := range map[string]float64{"full": 2, "flash": 2, "window w=64": 1, "sparse": 1.5, "linear kernel=favor m=256": 1} {
		if got := parseNumber(t, rowsA[label][4]); math.Abs(got-exp) > 0.01 {
			t.Errorf("%s: slope %v, want %v", label, got, exp)
		}
	}
	// Crossovers against flash, at the analytic n.
	for label, want := range map[string]float64{"window w=64": crossWindow, "sparse": crossSparse, "linear kernel=favor m=256": crossLinear} {
		if got := parseNumber(t, rowsA[label][5]); !near(got, want, 0.005) {
			t.Errorf("%s: crossover n %v, want %v", label, got, want)
		}
	}
	for label, want := range map[string]string{"flash": "baseline", "full": "none (slower)", "window w=32": "≈" + fmtN(crossWindow*65/129)} {
		if got := rowsA[label][5]; got != want {
			t.Errorf("%s: crossover %q, want %q", label, got, want)
		}
	}
	if !strings.Contains(mdTable(t, md, "Fixture CPU B")["full"][2], "±∞") {
		t.Errorf("3 samples a point should give an infinite interval: %q", mdTable(t, md, "Fixture CPU B")["full"][2])
	}
}

// checkSummary compares the table with the medians of the samples written,
// at each series' largest n.
func checkSummary(t *testing.T, rows map[string][]string, want samples, n int) {
	t.Helper()
	if len(rows) != len(want) {
		t.Errorf("table has %d rows, want %d: %v", len(rows), len(want), rows)
	}
	for label, byN := range want {
		row, ok := rows[label]
		if !ok {
			t.Errorf("no row %q", label)
			continue
		}
		vals := byN[n]
		if row[1] != itoa(n) {
			t.Errorf("%s: n %s, want %d", label, row[1], n)
		}
		if got, w := parseQuantity(t, row[2]), median(vals["sec/op"]); !near(got, w, 5e-4) {
			t.Errorf("%s: time %s = %g s, want median %g", label, row[2], got, w)
		}
		if got, w := parseQuantity(t, row[3]), median(vals["peak-B/op"]); !near(got, w, 5e-4) {
			t.Errorf("%s: memory %s = %g B, want median %g", label, row[3], got, w)
		}
		if got, w := parseNumber(t, row[6]), median(vals["%peak"]); math.Abs(got-w) > 0.05 {
			t.Errorf("%s: %%peak %s, want median %g", label, row[6], w)
		}
		if e, ok := vals["relerr"]; ok {
			if got, w := parseNumber(t, row[7]), median(e); !near(got, w, 5e-3) {
				t.Errorf("%s: relerr %s, want median %g", label, row[7], w)
			}
		}
	}
}

func itoa(n int) string { return fmtN(float64(n)) }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkImages decodes every PNG and parses every SVG in dir.
func checkImages(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Ext(e.Name()) {
		case ".png":
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Errorf("%s: %v", e.Name(), err)
			} else if img.Bounds().Dx() < 600 || img.Bounds().Dy() < 400 {
				t.Errorf("%s: %v is too small to read", e.Name(), img.Bounds())
			}
		case ".svg":
			dec := xml.NewDecoder(bytes.NewReader(data))
			for {
				_, err := dec.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Errorf("%s: not XML: %v", e.Name(), err)
					break
				}
			}
		}
	}
}

// TestLabelsKeepFilesApart: two files under two labels are two groups.
func TestLabelsKeepFilesApart(t *testing.T) {
	dir := t.TempDir()
	path, other := filepath.Join(dir, "r.txt"), filepath.Join(dir, "r2.txt")
	fixtureFile{cpu: "CPU", ns: fixtureNs[:3], count: 1, series: standardSeries()[:2], peak: 10}.write(t, path)
	os.WriteFile(other, []byte(readFile(t, path)), 0o644)
	d, err := Load([]string{"old=" + path, "new=" + other})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Groups) != 2 || r.Groups[0].Machine.Label != "old" || r.Groups[1].Machine.Label != "new" {
		t.Fatalf("groups: %+v", r.Groups)
	}
	// Unlabelled, two files from one machine with the same benchmarks
	// are pooled only when asked.
	if _, err := Load([]string{path, other}); err == nil || !strings.Contains(err.Error(), "-merge") {
		t.Fatalf("two unlabelled files with the same benchmarks: %v, want a refusal naming -merge", err)
	}
	d, err = LoadMerge([]string{path, other})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := Build(d, Options{}); len(r.Groups) != 1 {
		t.Fatalf("merged files from one machine: %d groups, want 1", len(r.Groups))
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good := "cpu: x\nBenchmarkAttention/variant=full/causal=false/n=256/d=64-2 1 100 ns/op\n"
	cases := []struct {
		name, content, want string
	}{
		{"empty", "", "no benchmark lines"},
		{"config only", "goos: linux\ncpu: x\n", "no benchmark lines"},
		{"syntax", "cpu: x\nBenchmarkAttention/variant=full/n=256-2 1 100 ns/op\nBenchmarkAttention/variant=full/n=512-2 1 abc ns/op\n", "syntax.txt:3: syntax error"},
		{"no variant", "BenchmarkDot/impl=avx2-2 100 5 ns/op\n", "no attention results"},
		{"no n", "BenchmarkAttention/variant=full-2 1 100 ns/op\n", "bad n.txt:1: benchmark Attention/variant=full-2 has no positive integer /n= key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, dir, strings.ReplaceAll(c.name, "no n", "bad n")+".txt", c.content)
			_, err := Generate(filepath.Join(dir, "out"), []string{path}, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		ok := writeFile(t, dir, "ok.txt", good)
		_, err := Generate(filepath.Join(dir, "out"), []string{ok, filepath.Join(dir, "nope.txt")}, Options{})
		if err == nil || !strings.Contains(err.Error(), "nope.txt") {
			t.Fatalf("got %v, want an error naming nope.txt", err)
		}
	})
	t.Run("one empty among good", func(t *testing.T) {
		ok := writeFile(t, dir, "ok.txt", good)
		empty := writeFile(t, dir, "empty2.txt", "goos: linux\n")
		_, err := Generate(filepath.Join(dir, "out"), []string{ok, empty}, Options{})
		if err == nil || !strings.Contains(err.Error(), "empty2.txt: no benchmark lines") {
			t.Fatalf("got %v", err)
		}
	})
}

// TestNonPositive: values a log scale cannot show are left out with a
// note, and a plot with nothing left says so instead of drawing.
func TestNonPositive(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "zero.txt", `cpu: x
BenchmarkAttention/variant=full/causal=false/n=256/d=64-2 1 0 ns/op 0 peak-B/op -1 relerr
BenchmarkAttention/variant=full/causal=false/n=512/d=64-2 1 0 ns/op 0 peak-B/op 0 relerr
BenchmarkAttention/variant=window/causal=false/n=256/d=64/window=8-2 1 -5 ns/op 0 peak-B/op 0 relerr
BenchmarkAttention/variant=window/causal=false/n=512/d=64/window=8-2 1 0 ns/op 0 peak-B/op 0 relerr
BenchmarkAttention/variant=window/causal=false/n=512/d=64/window=16-2 1 0 ns/op 0 peak-B/op 0 relerr
`)
	out, err := Generate(filepath.Join(dir, "out"), []string{path}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Plots != 0 {
		t.Errorf("drew %d plots from values that are all zero or negative", out.Plots)
	}
	html := readFile(t, filepath.Join(dir, "out", "index.html"))
	for _, want := range []string{"every ns/op value is zero or negative", "no GFLOP/s values", "no n has both a time and a positive relerr"} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html lacks the note %q", want)
		}
	}
}

func TestMath(t *testing.T) {
	// y = 3·x^1.7 exactly.
	xs := []float64{2, 4, 8, 16}
	ys := make([]float64, len(xs))
	for i, x := range xs {
		ys[i] = 3 * math.Pow(x, 1.7)
	}
	if s, ok := logLogSlope(xs, ys); !ok || math.Abs(s-1.7) > 1e-12 {
		t.Errorf("slope %v %v, want 1.7", s, ok)
	}
	if _, ok := logLogSlope([]float64{4}, []float64{1}); ok {
		t.Error("slope from one point")
	}
	// ratio = (n/1000)^0.5 crosses 1 at 1000; and back down at 3000.
	c := crossovers([]float64{512, 2048, 4096}, []float64{math.Sqrt(0.512), math.Sqrt(2.048), 1.0 / (4.096 / 3)})
	if len(c) != 2 || !near(c[0], 1000, 1e-9) {
		t.Errorf("crossovers %v", c)
	}
	front := paretoFront([]float64{1, 2, 3, 4, 2.5}, []float64{5, 3, 4, 1, 3})
	want := []bool{true, true, false, true, false}
	for i := range want {
		if front[i] != want[i] {
			t.Errorf("front %v, want %v", front, want)
			break
		}
	}
}

// TestGroupTitlesDistinct: groups that differ only in GOMAXPROCS are kept
// apart and their titles say how they differ.
func TestGroupTitlesDistinct(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "procs.txt", `cpu: same
kernels: avx2
BenchmarkAttention/variant=full/causal=false/n=256/d=64-2 1 100 ns/op
BenchmarkAttention/variant=full/causal=false/n=256/d=64-4 1 60 ns/op
`)
	d, err := Load([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Groups) != 2 {
		t.Fatalf("%d groups, want 2", len(r.Groups))
	}
	a, b := r.Groups[0].Title, r.Groups[1].Title
	if a == b || !strings.Contains(a, "GOMAXPROCS 2") || !strings.Contains(b, "GOMAXPROCS 4") {
		t.Errorf("titles %q and %q do not tell the groups apart", a, b)
	}
}

// TestGaussianErrorNote: relerr from gaussian inputs (no inputs= key) gets
// a note saying it is not meaningful; relerr from local inputs does not.
func TestGaussianErrorNote(t *testing.T) {
	for _, c := range []struct {
		keys string
		want bool
	}{{"d=64/window=64", true}, {"d=64/inputs=local/window=64", false}, {"d=64/err-inputs=llm/window=64", false}, {"d=64/inputs=local/err-inputs=gaussian/window=64", true}} {
		s := standardSeries()[2]
		if s.relerr == nil || !strings.HasPrefix(s.label, "window") {
			t.Fatalf("fixture series 2 is %q; the test needs a window series with relerr", s.label)
		}
		s.keys = c.keys
		path := filepath.Join(t.TempDir(), "r.txt")
		fixtureFile{cpu: "CPU", ns: fixtureNs[:3], count: 1, series: []fixtureSeries{s}, peak: 10}.write(t, path)
		out, err := Generate(t.TempDir(), []string{path}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := slices.ContainsFunc(out.Notes, func(n string) bool { return strings.Contains(n, "gaussian inputs") })
		if got != c.want {
			t.Errorf("keys %s: gaussian note present %v, want %v (notes %q)", c.keys, got, c.want, out.Notes)
		}
	}
}
