package gate

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClearSlowdownFails(t *testing.T) {
	base, new := newSynth(1), newSynth(2)
	new.scale = 1.20
	rep, err := compareSynth(t, base, new, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got := verdicts(rep, "sec/op"); got[Regressed] != len(defaultBenchmarks) {
		t.Errorf("20%% slowdown: sec/op verdicts %v, want %d regressions", got, len(defaultBenchmarks))
	}
	for _, r := range rep.Regressions() {
		if r.Delta < 0.12 || r.Delta > 0.28 {
			t.Errorf("%s: delta %.3f, want about +0.20", r.Name, r.Delta)
		}
		if r.P >= 0.001 {
			t.Errorf("%s: p = %v; 10+10 samples entirely apart give p ≈ 1.1e-5", r.Name, r.P)
		}
	}
	if got := verdicts(rep, "peak-B/op"); got[Unchanged] != len(defaultBenchmarks) {
		t.Errorf("peak-B/op verdicts %v, want all unchanged", got)
	}
}

func TestIdenticalDistributionsPass(t *testing.T) {
	for seed := uint64(10); seed < 20; seed++ {
		rep, err := compareSynth(t, newSynth(seed), newSynth(seed+100), DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if regs := rep.Regressions(); len(regs) > 0 {
			t.Errorf("seed %d: A/A comparison reported %d regression(s): %+v", seed, len(regs), regs[0])
		}
	}
}

func TestSpeedupPasses(t *testing.T) {
	base, new := newSynth(3), newSynth(4)
	new.scale = 0.80
	rep, err := compareSynth(t, base, new, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Regressions()) > 0 {
		t.Fatalf("a 20%% speed-up was called a regression")
	}
	if got := verdicts(rep, "sec/op"); got[Improved] != len(defaultBenchmarks) {
		t.Errorf("sec/op verdicts %v, want all improved", got)
	}
}

func TestSmallChangeInHugeNoisePasses(t *testing.T) {
	for seed := uint64(30); seed < 40; seed++ {
		base, new := newSynth(seed), newSynth(seed+100)
		base.noise, new.noise = 0.30, 0.30
		new.scale = 1.02
		rep, err := compareSynth(t, base, new, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if regs := rep.Regressions(); len(regs) > 0 {
			t.Errorf("seed %d: 2%% change in 30%% noise reported as regression: %s %+.1f%% p=%.3f", seed, regs[0].Name, 100*regs[0].Delta, regs[0].P)
		}
	}
}

func TestHigherIsBetterUnit(t *testing.T) {
	opt := DefaultOptions()
	opt.Units = []string{"GFLOP/s"}
	base, slower := newSynth(5), newSynth(6)
	base.gflops, slower.gflops = true, true
	slower.scale = 1.25 // GFLOP/s falls by 20%
	rep, err := compareSynth(t, base, slower, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := verdicts(rep, "GFLOP/s"); got[Regressed] != len(defaultBenchmarks) {
		t.Errorf("GFLOP/s down 20%%: verdicts %v, want all regressions", got)
	}
	faster := newSynth(7)
	faster.gflops, faster.scale = true, 0.8
	rep, err = compareSynth(t, base, faster, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := verdicts(rep, "GFLOP/s"); got[Improved] != len(defaultBenchmarks) {
		t.Errorf("GFLOP/s up 25%%: verdicts %v, want all improved", got)
	}
}

func TestPeakMemoryIncreaseFails(t *testing.T) {
	base, new := newSynth(8), newSynth(9)
	new.peakBytes = base.peakBytes * 1.25
	rep, err := compareSynth(t, base, new, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	got := verdicts(rep, "peak-B/op")
	if got[Regressed] != len(defaultBenchmarks) {
		t.Fatalf("peak-B/op +25%%: verdicts %v, want all regressions", got)
	}
	for _, r := range rep.Rows {
		if r.Unit == "peak-B/op" && (!r.Exact || r.Delta != 0.25) {
			t.Errorf("%s: exact=%v delta=%v, want an exact +25%%", r.Name, r.Exact, r.Delta)
		}
	}
	if got := verdicts(rep, "sec/op"); got[Regressed] != 0 {
		t.Errorf("sec/op unchanged by construction, got %v", got)
	}
}

// With constant values the U test could not call even a certain change
// significant with 3 samples a side (min p = 0.1): the exact rule must.
func TestDeterministicUnitFewSamples(t *testing.T) {
	base, new := newSynth(11), newSynth(12)
	base.count, new.count = 3, 3
	new.peakBytes = base.peakBytes * 1.25
	opt := DefaultOptions()
	opt.Units = []string{"peak-B/op"}
	rep, err := compareSynth(t, base, new, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := verdicts(rep, "peak-B/op"); got[Regressed] != len(defaultBenchmarks) {
		t.Errorf("3+3 constant samples, +25%%: verdicts %v, want regressions", got)
	}

	// A change within the threshold is not a regression.
	new.peakBytes = base.peakBytes * 1.01
	rep, err = compareSynth(t, base, new, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := verdicts(rep, "peak-B/op"); got[WithinThreshold] != len(defaultBenchmarks) {
		t.Errorf("+1%%: verdicts %v, want within threshold", got)
	}

	// One sample a side does not show that a unit is deterministic ...
	base.count, new.count = 1, 1
	new.peakBytes = base.peakBytes * 1.25
	rep, err = compareSynth(t, base, new, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := verdicts(rep, "peak-B/op"); got[Inconclusive] != len(defaultBenchmarks) {
		t.Errorf("1+1 samples: verdicts %v, want too few samples", got)
	}
	// ... unless the file declares it.
	base.units = []string{"peak-B/op better=lower assume=exact"}
	rep, err = compareSynth(t, base, new, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := verdicts(rep, "peak-B/op"); got[Regressed] != len(defaultBenchmarks) {
		t.Errorf("1+1 samples declared exact: verdicts %v, want regressions", got)
	}
}

func TestTooFewSamplesWarns(t *testing.T) {
	base, new := newSynth(13), newSynth(14)
	base.count, new.count = 3, 3
	new.scale = 1.5 // a real slowdown the test cannot see
	rep, err := compareSynth(t, base, new, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got := verdicts(rep, "sec/op"); got[Inconclusive] != len(defaultBenchmarks) {
		t.Errorf("3+3 samples: verdicts %v, want all too few samples", got)
	}
	warn := strings.Join(rep.Warnings, "\n")
	if !strings.Contains(warn, "n=3+3") || !strings.Contains(warn, "-count ≥ 4") {
		t.Errorf("warnings %q: want the sample sizes and the -count that would do", warn)
	}

	// Unequal sizes: 10 against 1 can never reach 0.05 either (min p 2/11).
	new.count = 1
	base.count = 10
	rep, err = compareSynth(t, base, new, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got := verdicts(rep, "sec/op"); got[Inconclusive] != len(defaultBenchmarks) {
		t.Errorf("10+1 samples: verdicts %v, want all too few samples", got)
	}

	// 4+4 suffices for a difference this clear.
	base.count, new.count = 4, 4
	rep, err = compareSynth(t, base, new, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got := verdicts(rep, "sec/op"); got[Regressed] != len(defaultBenchmarks) {
		t.Errorf("4+4 samples, +50%%: verdicts %v, want regressions", got)
	}
	for _, w := range rep.Warnings {
		if strings.Contains(w, "smallest p") {
			t.Errorf("unexpected warning with 4+4 samples: %s", w)
		}
	}
}

func TestMachineMismatchRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*synth)
		want   string
	}{
		{"cpu", func(s *synth) { s.cpu = "AMD EPYC 7B13" }, `cpu: BASE "Intel(R) Xeon(R) Processor @ 2.10GHz", NEW "AMD EPYC 7B13"`},
		{"goarch", func(s *synth) { s.goarch = "arm64" }, "goarch"},
		{"kernels", func(s *synth) { s.kernels = "generic" }, `kernels: BASE "avx2", NEW "generic"`},
		{"kernels missing", func(s *synth) { s.kernels = "" }, `kernels: BASE "avx2", NEW (none)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, new := newSynth(15), newSynth(16)
			tc.change(&new)
			_, err := compareSynth(t, base, new, DefaultOptions())
			if err == nil {
				t.Fatal("files from different machines were compared")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "-allow-mismatch") {
				t.Errorf("error %q: want it to name %q and -allow-mismatch", err, tc.want)
			}

			opt := DefaultOptions()
			opt.AllowMismatch = true
			rep, err := compareSynth(t, base, new, opt)
			if err != nil {
				t.Fatalf("-allow-mismatch: %v", err)
			}
			if len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "different machines") {
				t.Errorf("-allow-mismatch: warnings %q, want the mismatch", rep.Warnings)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good := writeTemp(t, "good.txt", newSynth(17).text())
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	other := newSynth(18)
	other.ns = map[string]float64{"Other/n=1-2": 1000}

	for _, tc := range []struct {
		name      string
		base, new string
		opt       func(*Options)
		want      string
	}{
		{"missing file", filepath.Join(dir, "nope.txt"), good, nil, "nope.txt: no such file"},
		{"directory", dir, good, nil, "is a directory"},
		{"empty file", write("empty.txt", ""), good, nil, "no benchmark results"},
		{"garbage", good, write("garbage.txt", "hello\n\x00\x01\x02 not a benchmark\n{\"json\": true}\n"), nil, "no benchmark results"},
		{"malformed measurement", good, write("bad1.txt", "BenchmarkX-2  10  1.5e  ns/op\n"), nil, "bad1.txt:1: parsing measurement"},
		{"missing unit", good, write("bad2.txt", "goarch: amd64\nBenchmarkX-2  10  15\n"), nil, "bad2.txt:2: missing units"},
		{"bad iteration count", good, write("bad3.txt", "BenchmarkX-2  ten  15 ns/op\n"), nil, "bad3.txt:1: parsing iteration count"},
		{"NaN sample", good, write("nan.txt", "BenchmarkX-2  10  NaN ns/op\n"), nil, "not a finite number"},
		{"no common benchmarks", good, writeTemp(t, "other.txt", other.text()), nil, "no benchmark is in both"},
		{"unit without direction", write("w1.txt", "BenchmarkX-2 1 5 widgets/op\nBenchmarkX-2 1 6 widgets/op\n"),
			write("w2.txt", "BenchmarkX-2 1 5 widgets/op\n"), func(o *Options) { o.Units = []string{"widgets/op"} }, `"Unit widgets/op better=higher"`},
		{"conflicting direction", write("c1.txt", "Unit x/op better=higher\nBenchmarkX-2 1 5 x/op\n"),
			write("c2.txt", "Unit x/op better=lower\nBenchmarkX-2 1 5 x/op\n"), func(o *Options) { o.Units = []string{"x/op"} }, "BASE says better=higher, NEW says better=lower"},
		{"bad better value", write("b1.txt", "Unit x/op better=up\nBenchmarkX-2 1 5 x/op\n"),
			write("b2.txt", "BenchmarkX-2 1 5 x/op\n"), func(o *Options) { o.Units = []string{"x/op"} }, "better=up: want better=higher or better=lower"},
		{"no selected unit", good, good, func(o *Options) { o.Units = []string{"GFLOP/s"} }, "unit GFLOP/s is in neither"},
		{"bad alpha", good, good, func(o *Options) { o.Alpha = 1.5 }, "alpha 1.5"},
		{"bad threshold", good, good, func(o *Options) { o.Threshold = -0.1 }, "threshold -0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := DefaultOptions()
			if tc.opt != nil {
				tc.opt(&opt)
			}
			rep, err := CompareFiles(tc.base, tc.new, opt)
			if err == nil {
				t.Fatalf("no error; report %+v", rep)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
		})
	}
}

func TestOneSidedBenchmarksWarn(t *testing.T) {
	base, new := newSynth(19), newSynth(20)
	new.ns = map[string]float64{}
	for name, ns := range defaultBenchmarks {
		new.ns[name] = ns
	}
	extra := "Attention/variant=flash/causal=false/batch=1/heads=8/n=1024/d=64-2"
	new.ns[extra] = 2.4e7
	rep, err := compareSynth(t, base, new, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	warn := strings.Join(rep.Warnings, "\n")
	for _, want := range []string{"1 benchmark(s) only in NEW", extra} {
		if !strings.Contains(warn, want) {
			t.Errorf("warnings %q: want %q", warn, want)
		}
	}
	if got := len(rep.Rows); got != 2*len(defaultBenchmarks) {
		t.Errorf("%d rows, want %d (sec/op and peak-B/op of the common benchmarks)", got, 2*len(defaultBenchmarks))
	}
}

func TestUnitsAreTidied(t *testing.T) {
	opt := DefaultOptions()
	opt.Units = []string{"ns/op", "sec/op"}
	rep, err := compareSynth(t, newSynth(21), newSynth(22), opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != len(defaultBenchmarks) || rep.Rows[0].Unit != "sec/op" {
		t.Errorf("ns/op,sec/op: %d rows in unit %q, want %d in sec/op", len(rep.Rows), rep.Rows[0].Unit, len(defaultBenchmarks))
	}
}

// Concatenated files (config lines repeated mid-file, docs/design.md §5) pool their
// samples by benchmark name.
func TestConcatenatedFilesPool(t *testing.T) {
	base1, base2 := newSynth(23), newSynth(24)
	base1.count, base2.count = 5, 5
	new := newSynth(25)
	rep, err := CompareFiles(writeTemp(t, "base.txt", base1.text()+base2.text()), writeTemp(t, "new.txt", new.text()), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Rows {
		if r.Base.N != 10 || r.New.N != 10 {
			t.Errorf("%s %s: n=%d+%d, want 10+10", r.Name, r.Unit, r.Base.N, r.New.N)
		}
	}
}

// The table shows each row's verdict; the summary counts them.
func TestTable(t *testing.T) {
	base, new := newSynth(26), newSynth(27)
	new.scale = 1.2
	rep, err := compareSynth(t, base, new, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 1+len(rep.Rows) {
		t.Fatalf("table has %d lines, want header + %d rows:\n%s", len(lines), len(rep.Rows), b.String())
	}
	for _, want := range []string{"benchmark", "unit", "base", "new", "delta", "p", "verdict"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("header %q lacks %q", lines[0], want)
		}
	}
	if !strings.Contains(lines[1], "sec/op") || !strings.Contains(lines[1], "REGRESSION") || !strings.Contains(lines[1], "10+10") {
		t.Errorf("first row %q: want sec/op, REGRESSION, 10+10", lines[1])
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "exact") || !strings.Contains(last, "Mi ± 0%") {
		t.Errorf("last row %q: want an exact peak-B/op row", last)
	}
	if s := rep.Summary(); !strings.HasPrefix(s, "8 comparison(s): 4 regression(s), 4 unchanged") {
		t.Errorf("summary %q", s)
	}
}

func TestRelativeChange(t *testing.T) {
	for _, tc := range []struct{ base, new, want float64 }{
		{100, 120, 0.2},
		{100, 80, -0.2},
		{0, 0, 0},
		{0, 16, math.Inf(1)},
		{-4, -2, 0.5},
	} {
		if got := relativeChange(tc.base, tc.new); math.Abs(got-tc.want) > 1e-12 && got != tc.want {
			t.Errorf("relativeChange(%v, %v) = %v, want %v", tc.base, tc.new, got, tc.want)
		}
	}
}

func TestParseThreshold(t *testing.T) {
	for in, want := range map[string]float64{"5%": 0.05, "0.05": 0.05, "12.5%": 0.125, "0": 0, "0%": 0, " 10% ": 0.10, "1": 1, "150%": 1.5} {
		got, err := ParseThreshold(in)
		if err != nil || math.Abs(got-want) > 1e-15 {
			t.Errorf("ParseThreshold(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"5", "-1%", "-0.05", "abc", "", "%", "NaN", "Inf%", "5%%"} {
		if got, err := ParseThreshold(in); err == nil {
			t.Errorf("ParseThreshold(%q) = %v, want an error", in, got)
		}
	}
}

// A new allocation where there was none is an infinite relative change: a
// regression, shown as +∞.
func TestAllocationFromZero(t *testing.T) {
	var base, new strings.Builder
	for range 5 {
		base.WriteString("BenchmarkX-2  100  1000 ns/op  0 B/op  0 allocs/op\n")
		new.WriteString("BenchmarkX-2  100  1000 ns/op  64 B/op  1 allocs/op\n")
	}
	opt := DefaultOptions()
	opt.Units = []string{"B/op", "allocs/op", "sec/op"}
	rep, err := CompareFiles(writeTemp(t, "base.txt", base.String()), writeTemp(t, "new.txt", new.String()), opt)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Verdict{"B/op": Regressed, "allocs/op": Regressed, "sec/op": Unchanged}
	for _, r := range rep.Rows {
		if r.Verdict != want[r.Unit] {
			t.Errorf("%s: verdict %v, want %v", r.Unit, r.Verdict, want[r.Unit])
		}
		if r.Unit == "B/op" && !math.IsInf(r.Delta, 1) {
			t.Errorf("B/op 0 → 64: delta %v, want +Inf", r.Delta)
		}
	}
	var b strings.Builder
	rep.WriteTable(&b)
	if !strings.Contains(b.String(), "+∞") {
		t.Errorf("table lacks +∞:\n%s", b.String())
	}
}
