package gate

import (
	"fmt"
	"strings"
	"testing"
)

// gateText is a results file of two benchmarks, 10 samples each, whose
// lines are written by line(benchmark index, sample index).
func gateText(line func(b, i int) string) string {
	var s strings.Builder
	s.WriteString("goos: linux\ngoarch: amd64\ncpu: Test CPU\nkernels: avx2\n")
	for i := range 10 {
		for b := range 2 {
			fmt.Fprintf(&s, "BenchmarkAttention/variant=flash/n=%d-2 20 %s\n", 256<<b, line(b, i))
		}
	}
	return s.String()
}

// TestGateFailsClosed: a measurement that vanished (missing on one side,
// zero, negative) is bad input, never a pass.
func TestGateFailsClosed(t *testing.T) {
	normal := func(b, i int) string {
		return fmt.Sprintf("%d ns/op 5 GFLOP/s %d peak-B/op 0 B/op 0 allocs/op 1e-7 relerr", 1000000+1000*i, 4096<<b)
	}
	base := writeTemp(t, "base.txt", gateText(normal))
	for _, c := range []struct {
		name, units string
		new         func(b, i int) string
		want        string
	}{
		{"NEW timings all 0", "", func(b, i int) string { return fmt.Sprintf("0 ns/op %d peak-B/op", 4096<<b) }, "new.txt:5: Attention/variant=flash/n=256-2: 0 sec/op"},
		{"one 0 timing in NEW", "", func(b, i int) string {
			if i == 7 && b == 1 {
				return "0 ns/op 8192 peak-B/op"
			}
			return normal(b, i)
		}, "new.txt:20: Attention/variant=flash/n=512-2: 0 sec/op"},
		{"negative timing", "", func(b, i int) string { return fmt.Sprintf("-5 ns/op %d peak-B/op", 4096<<b) }, "-5e-09 sec/op"},
		{"peak-B/op vanished", "", func(b, i int) string { return fmt.Sprintf("%d ns/op", 1000000+i) }, "has no peak-B/op, though"},
		{"sec/op vanished", "", func(b, i int) string { return fmt.Sprintf("%d peak-B/op", 4096<<b) }, "has no sec/op, though"},
		{"negative count", "B/op", func(b, i int) string { return "1000000 ns/op -64 B/op" }, "-64 B/op: a count or an error cannot be negative"},
		{"zero rate", "GFLOP/s", func(b, i int) string { return "1000000 ns/op 0 GFLOP/s" }, "0 GFLOP/s: a time or rate must be positive"},
		{"unit in neither file", "sec/op,maxerr", normal, "unit maxerr is in neither"},
	} {
		t.Run(c.name, func(t *testing.T) {
			opt := DefaultOptions()
			if c.units != "" {
				opt.Units = strings.Split(c.units, ",")
			}
			rep, err := CompareFiles(base, writeTemp(t, "new.txt", gateText(c.new)), opt)
			if err == nil {
				t.Fatalf("passed: %d rows, warnings %q", len(rep.Rows), rep.Warnings)
			}
			if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line containing %q", msg, c.want)
			}
		})
	}
	// Zeros on both sides: an error naming the file, not "sec/op is in
	// neither file".
	zeros := writeTemp(t, "zeros.txt", gateText(func(b, i int) string { return "0 ns/op" }))
	opt := DefaultOptions()
	opt.Units = []string{"sec/op"}
	if _, err := CompareFiles(zeros, zeros, opt); err == nil || !strings.Contains(err.Error(), "zeros.txt:5: ") || !strings.Contains(err.Error(), "0 sec/op") {
		t.Errorf("zeros on both sides: %v", err)
	}
	// Zero counts are counts, and a unit measured on neither side for a
	// benchmark (relerr at large n) is left out: both compare.
	sparse := func(b, i int) string {
		if b == 1 {
			return fmt.Sprintf("%d ns/op 0 allocs/op", 1000000+1000*i)
		}
		return fmt.Sprintf("%d ns/op 0 allocs/op 1e-7 relerr", 1000000+1000*i)
	}
	opt.Units = []string{"sec/op", "allocs/op", "relerr"}
	rep, err := CompareFiles(writeTemp(t, "a.txt", gateText(sparse)), writeTemp(t, "b.txt", gateText(sparse)), opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 5 || len(rep.Regressions()) != 0 {
		t.Errorf("%d rows, %d regressions; want 2 sec/op + 2 allocs/op + 1 relerr rows, no regression", len(rep.Rows), len(rep.Regressions()))
	}
}

// TestAttnbenchUnitsWithoutUnitLines: every unit attnbench writes has a
// direction and a range the gate knows when a file lacks its Unit lines
// (vocab.Units): a drop of coverage, cosine or GB/s is a regression, a
// negative cosine is a value (cosine similarity is signed), a negative
// coverage is not.
func TestAttnbenchUnitsWithoutUnitLines(t *testing.T) {
	line := func(cov, cos, gbs float64) func(b, i int) string {
		return func(b, i int) string {
			e := float64(i) * 1e-3
			return fmt.Sprintf("%d ns/op %g coverage %g cosine %g GB/s", 1000000+i, cov+e, cos+e, gbs+e)
		}
	}
	opt := DefaultOptions()
	opt.Units = []string{"coverage", "cosine", "GB/s"}
	rep, err := CompareFiles(writeTemp(t, "base.txt", gateText(line(0.9, -0.2, 50))), writeTemp(t, "new.txt", gateText(line(0.5, -0.6, 25))), opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range opt.Units {
		if got := verdicts(rep, u); got[Regressed] != 2 {
			t.Errorf("%s dropped: verdicts %v, want 2 regressions", u, got)
		}
	}
	_, err = CompareFiles(writeTemp(t, "base.txt", gateText(line(0.9, -0.2, 50))), writeTemp(t, "new.txt", gateText(line(-0.5, -0.6, 25))), opt)
	if err == nil || !strings.Contains(err.Error(), "coverage: a count or an error cannot be negative") {
		t.Errorf("negative coverage: %v", err)
	}
}
