package main

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/attnbench/attnbench/harness/npy"
	"github.com/attnbench/attnbench/variants"
)

// TestMain lets a test run the command as a child process (the kernel set
// is chosen from ATTNBENCH_KERNELS at start-up, so only a fresh process
// sees a new value).
func TestMain(m *testing.M) {
	if os.Getenv("ATTNBENCH_TEST_AS_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// runChild runs attnbench args in a child process with extra environment.
func runChild(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "ATTNBENCH_TEST_AS_MAIN=1"), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// oneLine fails unless stderr is one line holding every want.
func oneLine(t *testing.T, what, stderr string, want ...string) {
	t.Helper()
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || lines[0] == "" || strings.Contains(stderr, "goroutine") {
		t.Errorf("%s: stderr is not one line:\n%s", what, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("%s: stderr %q does not contain %q", what, stderr, w)
		}
	}
}

// writeInputs writes q, k, v .npy files of shape [n, d] filled by fill.
func writeInputs(t *testing.T, n, d int, fill func(name string, i int) float32) (q, k, v string) {
	t.Helper()
	dir := t.TempDir()
	var paths [3]string
	for x, name := range []string{"q", "k", "v"} {
		tt := variants.NewTensor(1, 1, n, d)
		for i := range tt.Data {
			tt.Data[i] = fill(name, i)
		}
		paths[x] = filepath.Join(dir, name+".npy")
		if err := npy.Save(paths[x], tt, []int{n, d}); err != nil {
			t.Fatal(err)
		}
	}
	return paths[0], paths[1], paths[2]
}

func gaussianInputs(t *testing.T) (q, k, v string) {
	rng := rand.New(rand.NewPCG(7, 7))
	return writeInputs(t, 32, 8, func(string, int) float32 { return float32(rng.NormFloat64()) })
}

func TestKernelsEnvRefusedByEveryCommand(t *testing.T) {
	q, k, v := gaussianInputs(t)
	out := filepath.Join(t.TempDir(), "o.npy")
	for _, args := range [][]string{
		{"run", "-variant", "flash", "-q", q, "-k", k, "-v", v, "-o", out},
		{"parity", "-variants", "flash", "-n", "8", "-d", "4"},
		{"sweep", "-variants", "flash", "-n", "8", "-d", "4", "-o", "-"},
		{"peak", "-time", "1ms"},
		{"cpu"},
		{"list"},
	} {
		code, _, stderr := runChild(t, []string{"ATTNBENCH_KERNELS=bogus"}, args...)
		if code != exitBadInput {
			t.Errorf("%s: exit %d, want 2", args[0], code)
		}
		oneLine(t, args[0], stderr, "ATTNBENCH_KERNELS", `"bogus"`)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("run wrote its output under a bogus kernel set")
	}
}

func TestMaxMemBelowOnePage(t *testing.T) {
	q, k, v := gaussianInputs(t)
	out := filepath.Join(t.TempDir(), "o.npy")
	for _, args := range [][]string{
		{"run", "-variant", "flash", "-q", q, "-k", k, "-v", v, "-o", out, "-max-mem", "0.5"},
		{"parity", "-variants", "flash", "-n", "8", "-d", "4", "-max-mem", "1e-12%"},
		{"sweep", "-variants", "flash", "-n", "100000000", "-max-mem", "0.5", "-o", "-"},
	} {
		code, _, stderr := runCLI(args...)
		if code != exitBadInput {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		oneLine(t, args[0], stderr, "-max-mem", "below one page")
	}
}

// TestRunRefusesOverMemory: knobs that made run die of "fatal error: out of
// memory" are refused in one line with the estimate and the limit, without
// allocating the buffers.
func TestRunRefusesOverMemory(t *testing.T) {
	q, k, v := gaussianInputs(t)
	out := filepath.Join(t.TempDir(), "o.npy")
	for _, knobs := range [][]string{
		{"-variant", "linear", "-kernel", "favor", "-features", "1000000000"},
		{"-variant", "lsh", "-buckets", "1000000000"},
		{"-variant", "lsh", "-rounds", "1000000000"},
		{"-variant", "sparse", "-pattern", "bigbird", "-block", "4", "-random", "1000000000"},
		{"-variant", "lsh", "-buckets", "4611686018427387904", "-rounds", "4611686018427387904"},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		code, _, stderr := runCLI(append(append([]string{"run"}, knobs...), "-q", q, "-k", k, "-v", v, "-o", out, "-max-mem", "1GiB")...)
		runtime.ReadMemStats(&after)
		if code != exitBadInput {
			t.Errorf("%v: exit %d, want 2", knobs, code)
		}
		oneLine(t, strings.Join(knobs, " "), stderr, "refused before allocating")
		if !strings.Contains(stderr, "overflow") {
			oneLine(t, strings.Join(knobs, " "), stderr, "needs an estimated", "over -max-mem 1.0 GiB")
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
			t.Errorf("%v: allocated %d bytes before refusing", knobs, got)
		}
	}
}

func TestParityRefusesOverMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	code, stdout, stderr := runCLI("parity", "-variants", "full", "-n", "100000", "-max-mem", "8GiB")
	runtime.ReadMemStats(&after)
	if code != exitBadInput || stdout != "" {
		t.Errorf("exit %d, stdout %q; want 2 before any output", code, stdout)
	}
	oneLine(t, "parity", stderr, "full on", "N=100000", "needs an estimated", "over -max-mem 8.0 GiB")
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
		t.Errorf("allocated %d bytes before refusing", got)
	}
}

// TestSweepHugeSizes: sizes whose arithmetic overflows int64 used to panic
// in a worker; they are skipped, and said so.
func TestSweepHugeSizes(t *testing.T) {
	for _, args := range [][]string{
		{"-variants", "flash,lsh,linear", "-n", "4611686018427387904", "-d", "4"},
		{"-n", "65536", "-d", "65536", "-heads", "65536", "-batch", "65536"},
	} {
		code, stdout, stderr := runCLI(append([]string{"sweep", "-o", "-", "-count", "1"}, args...)...)
		if code != exitOK || strings.Contains(stderr, "panic") {
			t.Errorf("%v: exit %d\n%s", args, code, stderr)
		}
		// Nothing is measured, so nothing is written (the results files'
		// rule); the skips are said on stderr.
		if !strings.Contains(stderr, "skipped:") || !strings.Contains(stderr, "sizes overflow int64") || strings.Contains(stdout, "Benchmark") {
			t.Errorf("%v: want every case skipped for overflow, got\nstdout:\n%s\nstderr:\n%s", args, stdout, stderr)
		}
	}
}

// TestRunRefusesLogitOverflow: Q = K = 1e20 everywhere: every logit is
// equal, so exact attention is the mean of V, but the logits (8e40)
// overflow float32; full/flash/window/sparse used to write zeros and
// linear NaNs with exit 0.
func TestRunRefusesLogitOverflow(t *testing.T) {
	q, k, v := writeInputs(t, 64, 64, func(name string, i int) float32 {
		if name == "v" {
			return float32(i%7) / 7
		}
		return 1e20
	})
	out := filepath.Join(t.TempDir(), "o.npy")
	for _, knobs := range [][]string{
		{"-variant", "full"}, {"-variant", "flash"}, {"-variant", "window"}, {"-variant", "sparse"},
		{"-variant", "lsh", "-shared-qk=false"}, {"-variant", "linear"}, {"-variant", "linear", "-kernel", "favor"},
	} {
		code, _, stderr := runCLI(append(append([]string{"run"}, knobs...), "-q", q, "-k", k, "-v", v, "-o", out)...)
		if code != exitBadInput {
			t.Errorf("%v: exit %d, want 2", knobs, code)
		}
		oneLine(t, strings.Join(knobs, " "), stderr, "overflow float32")
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: wrote an output", knobs)
		}
	}
}

// TestRunRefusesNonFiniteOutput: V = 3e38 passes the logit check, but
// flash's unnormalised accumulator reaches +Inf: exit 2, no output file.
func TestRunRefusesNonFiniteOutput(t *testing.T) {
	q, k, v := writeInputs(t, 8, 4, func(name string, i int) float32 {
		if name == "v" {
			return 3e38
		}
		return 0
	})
	out := filepath.Join(t.TempDir(), "o.npy")
	code, _, stderr := runCLI("run", "-variant", "flash", "-q", q, "-k", k, "-v", v, "-o", out)
	if code != exitBadInput {
		t.Errorf("exit %d, want 2", code)
	}
	oneLine(t, "run", stderr, "output holds +Inf")
	if _, err := os.Stat(out); err == nil {
		t.Error("wrote an output")
	}
}
