package gate

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// synth describes a synthetic results file: every benchmark's ns/op drawn
// from a lognormal distribution around a known median, and a deterministic
// peak-B/op. The truth of each test (slower, faster, the same) is fixed
// here, by construction, not by the code under test.
type synth struct {
	cpu, goarch, kernels string
	// ns maps each benchmark's full name to its true median ns/op.
	ns map[string]float64
	// scale multiplies every median (1.2 = 20% slower).
	scale float64
	// noise is the lognormal sigma: 0.03 ≈ 3% spread.
	noise float64
	// count is the number of samples per benchmark.
	count int
	// peakBytes per benchmark is peakBytes times the benchmark's index+1;
	// 0 leaves peak-B/op out.
	peakBytes float64
	// gflops adds a GFLOP/s column (flops / time).
	gflops bool
	// units are the `Unit` metadata lines; nil writes docs/design.md §5's.
	units []string
	seed  uint64
}

var defaultBenchmarks = map[string]float64{
	"Attention/variant=full/causal=false/batch=1/heads=8/n=256/d=64-2":  2.0e6,
	"Attention/variant=flash/causal=false/batch=1/heads=8/n=256/d=64-2": 1.5e6,
	"Attention/variant=full/causal=false/batch=1/heads=8/n=512/d=64-2":  8.0e6,
	"Attention/variant=flash/causal=false/batch=1/heads=8/n=512/d=64-2": 6.0e6,
}

// newSynth returns a file of 10 samples per benchmark with 3% noise on
// an avx2 Xeon.
func newSynth(seed uint64) synth {
	return synth{
		cpu:       "Intel(R) Xeon(R) Processor @ 2.10GHz",
		goarch:    "amd64",
		kernels:   "avx2",
		ns:        defaultBenchmarks,
		scale:     1,
		noise:     0.03,
		count:     10,
		peakBytes: 1 << 20,
		seed:      seed,
	}
}

func sortedNames(m map[string]float64) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	// A fixed order, by median, as a sweep from small to large would list them.
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(m[a], m[b]) })
	return names
}

func (s synth) text() string {
	rng := rand.New(rand.NewPCG(s.seed, 0x9e3779b97f4a7c15))
	var b strings.Builder
	fmt.Fprintf(&b, "goos: linux\ngoarch: %s\n", s.goarch)
	if s.cpu != "" {
		fmt.Fprintf(&b, "cpu: %s\n", s.cpu)
	}
	if s.kernels != "" {
		fmt.Fprintf(&b, "kernels: %s\n", s.kernels)
	}
	b.WriteString("go: go1.26.8\nattnbench: v0.0.0-devel\ncommand: attnbench sweep -variants full,flash -n 256,512 -d 64\n")
	units := s.units
	if units == nil {
		units = []string{"ns/op better=lower", "GFLOP/s better=higher", "peak-B/op better=lower", "B/op better=lower", "allocs/op better=lower"}
	}
	for _, u := range units {
		fmt.Fprintf(&b, "Unit %s\n", u)
	}
	names := sortedNames(s.ns)
	// Interleave benchmarks the way -count does in a sweep: every
	// benchmark once per round.
	for round := 0; round < s.count; round++ {
		for i, name := range names {
			ns := s.ns[name] * s.scale * math.Exp(s.noise*rng.NormFloat64())
			fmt.Fprintf(&b, "Benchmark%s  20  %s ns/op", name, strconv.FormatFloat(ns, 'g', 8, 64))
			if s.gflops {
				fmt.Fprintf(&b, "  %s GFLOP/s", strconv.FormatFloat(1e9/ns, 'g', 6, 64))
			}
			if s.peakBytes > 0 {
				fmt.Fprintf(&b, "  %.0f peak-B/op", s.peakBytes*float64(i+1))
			}
			b.WriteString("  0 B/op  0 allocs/op\n")
		}
	}
	return b.String()
}

func writeTemp(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// compareSynth writes both files and compares them.
func compareSynth(t testing.TB, base, new synth, opt Options) (*Report, error) {
	t.Helper()
	return CompareFiles(writeTemp(t, "base.txt", base.text()), writeTemp(t, "new.txt", new.text()), opt)
}

// compareText compares in memory: the A/A test runs thousands of pairs.
func compareText(base, new string, opt Options) (*Report, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	b, err := readResults(strings.NewReader(base), "base")
	if err != nil {
		return nil, err
	}
	n, err := readResults(strings.NewReader(new), "new")
	if err != nil {
		return nil, err
	}
	return compare(b, n, opt)
}

func verdicts(rep *Report, unit string) map[Verdict]int {
	out := map[Verdict]int{}
	for _, r := range rep.Rows {
		if r.Unit == unit {
			out[r.Verdict]++
		}
	}
	return out
}
