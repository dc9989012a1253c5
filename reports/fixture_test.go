package reports

import (
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

// fixtureSeries is one series of a generated results file: known cost
// models, so the test knows the medians, slopes and crossovers to expect.
type fixtureSeries struct {
	label  string // the legend label the report should give it
	keys   string // name keys after n, e.g. "d=64/window=64"
	pre    string // name keys before n, e.g. "variant=window/causal=false/batch=1/heads=4"
	timeNS func(n float64) float64
	flops  func(n float64) float64
	mem    func(n float64) float64
	relerr func(n float64) float64 // nil: no relerr values
}

// fixtureFile is a generated results file.
type fixtureFile struct {
	cpu       string
	ns        []int
	count     int
	series    []fixtureSeries
	peak      float64 // peak-gflops-all
	withUnits bool
}

const (
	fixBatch, fixHeads, fixD = 1, 4, 64
	// flashCoef is flash's ns per n²; the other models are set against it
	// so that crossovers fall at known n.
	flashCoef = 20.0
	// crossWindow, crossSparse, crossLinear are the analytic n where
	// window (∝ n), sparse (∝ n^1.5) and linear (∝ n) cost what flash does.
	crossWindow = 1200.0
	crossSparse = 1500.0
	crossLinear = 4000.0
)

func pre(variant string) string {
	return fmt.Sprintf("variant=%s/causal=false/batch=%d/heads=%d", variant, fixBatch, fixHeads)
}

func exactFlops(n float64) float64 { return 4 * fixBatch * fixHeads * n * n * fixD }

// standardSeries is every variant, with window and linear swept over a
// knob, following the cost laws of docs/design.md §4: time = flashCoef·n² for flash,
// twice that for full, linear in n for window and linear, n^1.5 for
// strided sparse.
func standardSeries() []fixtureSeries {
	window := func(w float64) fixtureSeries {
		return fixtureSeries{
			label: fmt.Sprintf("window w=%g", w), pre: pre("window"), keys: fmt.Sprintf("d=64/window=%g", w),
			// Cost ∝ n·(2w+1); w=64 crosses flash at crossWindow.
			timeNS: func(n float64) float64 { return flashCoef * crossWindow * n * (2*w + 1) / 129 },
			flops:  func(n float64) float64 { return 4 * fixBatch * fixHeads * fixD * n * (2*w + 1) },
			mem:    func(n float64) float64 { return 4 * n * (2*w + 1) },
			relerr: func(n float64) float64 { return 4 / w * (1 + n/8192) },
		}
	}
	linear := func(m float64) fixtureSeries {
		return fixtureSeries{
			label: fmt.Sprintf("linear kernel=favor m=%g", m), pre: pre("linear"), keys: fmt.Sprintf("d=64/kernel=favor/features=%g", m),
			timeNS: func(n float64) float64 { return flashCoef * crossLinear * n * m / 256 },
			flops:  func(n float64) float64 { return 4 * fixBatch * fixHeads * n * fixD * m },
			mem:    func(n float64) float64 { return 4 * n * m },
			relerr: func(n float64) float64 { return 0.5 / math.Sqrt(m) },
		}
	}
	return []fixtureSeries{
		{label: "full", pre: pre("full"), keys: "d=64",
			timeNS: func(n float64) float64 { return 2 * flashCoef * n * n },
			flops:  exactFlops,
			mem:    func(n float64) float64 { return 4 * n * n },
			// Exactly zero: cannot go on a log scale, must be noted.
			relerr: func(n float64) float64 { return 0 }},
		{label: "flash", pre: pre("flash"), keys: "d=64",
			timeNS: func(n float64) float64 { return flashCoef * n * n },
			flops:  exactFlops,
			mem:    func(n float64) float64 { return 64 * 1024 },
			relerr: func(n float64) float64 { return 2e-7 }},
		window(32), window(64), window(128),
		{label: "sparse", pre: pre("sparse"), keys: "d=64",
			timeNS: func(n float64) float64 { return flashCoef * math.Sqrt(crossSparse) * math.Pow(n, 1.5) },
			flops:  func(n float64) float64 { return 4 * fixBatch * fixHeads * fixD * n * 2 * math.Sqrt(n) },
			mem:    func(n float64) float64 { return 8 * n * math.Sqrt(n) },
			relerr: func(n float64) float64 { return 0.02 }},
		{label: "lsh", pre: pre("lsh"), keys: "d=64",
			timeNS: func(n float64) float64 { return 3000 * n * math.Log2(n) },
			flops:  func(n float64) float64 { return 4 * fixBatch * fixHeads * fixD * n * 256 },
			mem:    func(n float64) float64 { return 16 * n },
			relerr: func(n float64) float64 { return 0.1 }},
		linear(64), linear(256),
	}
}

// noise is a fixed set of multiplicative factors whose median is exactly
// 1, shuffled per point: samples spread like real timings, yet the median
// of each point is the model's value.
func noise(count int, rng *rand.Rand) []float64 {
	f := make([]float64, count)
	for i := range f {
		f[i] = 1 + 0.02*float64(i-count/2)
	}
	rng.Shuffle(len(f), func(i, j int) { f[i], f[j] = f[j], f[i] })
	return f
}

// samples is what the test wrote, by series label and n: the reference for
// medians.
type samples map[string]map[int]map[string][]float64

// write writes the file and returns every sample it holds.
func (ff fixtureFile) write(t *testing.T, path string) samples {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, uint64(len(ff.cpu))))
	var b strings.Builder
	fmt.Fprintf(&b, "goos: linux\ngoarch: amd64\ncpu: %s\nkernels: avx2\ngo: go1.26.8\nattnbench: v0.0.0-test\n", ff.cpu)
	fmt.Fprintf(&b, "peak-gflops: %g\npeak-gflops-all: %g\n", ff.peak/2, ff.peak)
	fmt.Fprintf(&b, "command: attnbench sweep -count %d\n", ff.count)
	if ff.withUnits {
		b.WriteString("Unit ns/op better=lower\nUnit GFLOP/s better=higher\nUnit %peak better=higher\nUnit peak-B/op better=lower\nUnit relerr better=lower\n")
	}
	got := samples{}
	for _, s := range ff.series {
		got[s.label] = map[int]map[string][]float64{}
		for _, n := range ff.ns {
			x := float64(n)
			vals := map[string][]float64{}
			for _, f := range noise(ff.count, rng) {
				ns := s.timeNS(x) * f
				gflops := s.flops(x) / ns
				fmt.Fprintf(&b, "BenchmarkAttention/%s/n=%d/%s-2 %d %s ns/op %s GFLOP/s %s %%peak %s peak-B/op 0 B/op 0 allocs/op",
					s.pre, n, s.keys, 10, g(ns), g(gflops), g(gflops/ff.peak*100), g(s.mem(x)))
				vals["sec/op"] = append(vals["sec/op"], ns/1e9)
				vals["%peak"] = append(vals["%peak"], gflops/ff.peak*100)
				vals["peak-B/op"] = append(vals["peak-B/op"], s.mem(x))
				if s.relerr != nil {
					e := s.relerr(x) * f
					fmt.Fprintf(&b, " %s relerr", g(e))
					vals["relerr"] = append(vals["relerr"], e)
				}
				b.WriteString("\n")
			}
			got[s.label][n] = vals
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return got
}

func g(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// median is the reference median: the middle of the sorted values, or the
// mean of the middle two.
func median(vals []float64) float64 {
	s := slices.Sorted(slices.Values(vals))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// mdTable reads the summary table of the section whose heading contains
// title: cells by series label.
func mdTable(t *testing.T, md, title string) map[string][]string {
	t.Helper()
	_, sec, ok := strings.Cut(md, "\n## ")
	for ok && !strings.Contains(strings.SplitN(sec, "\n", 2)[0], title) {
		_, sec, ok = strings.Cut(sec, "\n## ")
	}
	if !ok {
		t.Fatalf("summary.md has no section for %q:\n%s", title, md)
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	rows := map[string][]string{}
	for _, line := range strings.Split(sec, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| series") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		rows[cells[0]] = cells
	}
	return rows
}

// parseQuantity reads "1.235 ms" or "12.58 MB" back into seconds or bytes.
func parseQuantity(t *testing.T, s string) float64 {
	t.Helper()
	f := strings.Fields(s)
	if len(f) < 2 {
		t.Fatalf("cannot read quantity %q", s)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		t.Fatalf("cannot read quantity %q: %v", s, err)
	}
	scale := map[string]float64{"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1, "B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[f[1]]
	if scale == 0 {
		t.Fatalf("unknown unit in %q", s)
	}
	return v * scale
}

func parseNumber(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(s, "≈"), "%"), 64)
	if err != nil {
		t.Fatalf("cannot read number %q: %v", s, err)
	}
	return v
}

func near(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
