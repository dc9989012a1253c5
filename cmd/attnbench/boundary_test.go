package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attnbench/attnbench/harness/npy"
)

// oldResults is a results file a sweep must not lose.
const oldResults = "goos: linux\nBenchmarkAttention/variant=full/n=16-2 1 5 ns/op\n"

func writeOld(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(oldResults), 0o644); err != nil {
		t.Fatal(err)
	}
}

func checkUnchanged(t *testing.T, what, path, want string) {
	t.Helper()
	if b, err := os.ReadFile(path); err != nil || string(b) != want {
		t.Errorf("%s: %s is now %q (%v), want it as it was", what, path, b, err)
	}
}

// A sweep that measures nothing (every case over -max-mem) leaves the
// file as it was, in every format, and draws no report from it.
func TestSweepMeasuringNothingKeepsTheFile(t *testing.T) {
	isolatePeakCache(t)
	dir := t.TempDir()
	for _, name := range []string{"keep.txt", "keep.csv"} {
		path := filepath.Join(dir, name)
		writeOld(t, path)
		args := []string{"sweep", "-variants", "full,flash", "-n", "4096", "-d", "64", "-heads", "4", "-max-mem", "1MB", "-o", path}
		if strings.HasSuffix(name, ".txt") {
			args = append(args, "-report", filepath.Join(dir, "rep"))
		}
		code, _, errOut := runCLI(args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, errOut)
		}
		checkUnchanged(t, "every case skipped", path, oldResults)
		for _, want := range []string{"2 skipped for memory", "0 rows", "nothing measured: the file is as it was", "no report drawn"} {
			if want == "no report drawn" && !strings.HasSuffix(name, ".txt") {
				continue
			}
			if !strings.Contains(errOut, want) {
				t.Errorf("%s: stderr %q lacks %q", name, errOut, want)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "rep", "index.html")); err == nil {
			t.Errorf("%s: a report was drawn from the old file", name)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".keep*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// -o may not name an input of the same sweep, nor a file its report
// writes; a -report directory that cannot be written is found before the
// sweep.
func TestSweepOutputChecksBeforeMeasuring(t *testing.T) {
	isolatePeakCache(t)
	dir := t.TempDir()
	npyDir := filepath.Join(dir, "acts")
	os.Mkdir(npyDir, 0o755)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, name := range []string{"q.npy", "k.npy", "v.npy"} {
		if err := npy.Save(filepath.Join(npyDir, name), randomTensor(rng, 1, 1, 8, 4, 1), []int{8, 4}); err != nil {
			t.Fatal(err)
		}
	}
	q, _ := os.ReadFile(filepath.Join(npyDir, "q.npy"))
	link := filepath.Join(dir, "link.npy")
	os.Symlink(filepath.Join(npyDir, "k.npy"), link)
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o644)
	results := filepath.Join(dir, "r.txt")
	writeOld(t, results)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"-o q.npy", []string{"-inputs", "npy:" + npyDir, "-o", filepath.Join(npyDir, "q.npy")}, "is the input"},
		{"-o through ..", []string{"-inputs", "npy:" + npyDir, "-o", filepath.Join(npyDir, "..", "acts", "q.npy")}, "is the input"},
		{"-o a link to k.npy", []string{"-inputs", "npy:" + npyDir, "-o", link}, "is the input"},
		{"-report a file", []string{"-o", results, "-report", plain}, "-report: report directory " + plain},
		{"-report under a file", []string{"-o", results, "-report", filepath.Join(plain, "sub")}, "-report"},
		{"-o the report's summary", []string{"-o", filepath.Join(dir, "rep", "summary.md"), "-format", "txt", "-report", filepath.Join(dir, "rep")}, "writes this file"},
	} {
		began := time.Now()
		code, out, errOut := runCLI(append([]string{"sweep", "-variants", "full", "-count", "1", "-benchtime", "1x"}, c.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", c.name, code, errOut, c.want)
		}
		oneLine(t, c.name, errOut)
		if d := time.Since(began); d > 2*time.Second {
			t.Errorf("%s: refused after %v: the sweep ran first", c.name, d)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(npyDir, "q.npy")); !bytes.Equal(b, q) {
		t.Error("q.npy was overwritten")
	}
	checkUnchanged(t, "refused sweeps", results, oldResults)
}

// TestSweepHelperProcess is the attnbench command for the signal tests:
// they run the test binary again with ATTNBENCH_HELPER_ARGS set.
func TestSweepHelperProcess(t *testing.T) {
	args := os.Getenv("ATTNBENCH_HELPER_ARGS")
	if args == "" {
		return // not a helper: nothing to do
	}
	os.Exit(run(strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
}

// slowSweep takes about 0.1 s a sample, for 2 cases × 40 samples.
var slowSweep = []string{"sweep", "-variants", "full", "-n", "32,64", "-d", "8", "-heads", "1", "-count", "40", "-benchtime", "100ms"}

// startSweep runs attnbench in a child process.
func startSweep(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSweepHelperProcess$")
	cmd.Env = append(os.Environ(), "ATTNBENCH_HELPER_ARGS="+strings.Join(args, "\x1f"),
		"XDG_CACHE_HOME="+t.TempDir(), "HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &stderr
}

// waitForRows waits until the temporary file beside path holds n whole
// rows, and returns its name.
func waitForRows(t *testing.T, path string, n int) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		tmp, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*"))
		if len(tmp) == 1 {
			if b, err := os.ReadFile(tmp[0]); err == nil && countRowLines(b) >= n {
				return tmp[0]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %d rows in a temporary file beside %s after 60 s", n, path)
	return ""
}

func countRowLines(b []byte) int {
	n := 0
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if strings.HasPrefix(l, "Benchmark") && strings.HasSuffix(l, "\n") {
			n++
		}
	}
	return n
}

func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return -int(ws.Signal())
			}
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(60 * time.Second):
		t.Fatal("the sweep did not stop within 60 s of the signal")
		return 0
	}
}

// TestSweepSignalsKeepRows: SIGTERM (as Ctrl-C) stops the sweep after the
// sample in progress; a second Ctrl-C stops it at once; either way every
// finished row is in the file and no temporary file is left.
func TestSweepSignalsKeepRows(t *testing.T) {
	for _, c := range []struct {
		name    string
		signals []os.Signal
		codes   []int // acceptable exit codes
	}{
		{"SIGTERM", []os.Signal{syscall.SIGTERM}, []int{2}},
		// The second signal may come after the first has already stopped
		// the sweep (exit 2); usually it comes first (130).
		{"Ctrl-C twice", []os.Signal{os.Interrupt, os.Interrupt}, []int{2, 130}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.txt")
			writeOld(t, path)
			cmd, stderr := startSweep(t, append(slowSweep, "-o", path)...)
			tmp := waitForRows(t, path, 2)
			checkUnchanged(t, "while the sweep runs", path, oldResults)
			seen := countRowLines(mustReadFile(t, tmp))
			for _, sig := range c.signals {
				cmd.Process.Signal(sig)
				time.Sleep(10 * time.Millisecond)
			}
			code := exitCode(t, cmd)
			t.Logf("exit %d; stderr %q", code, stderr)
			if !containsInt(c.codes, code) {
				t.Errorf("exit %d, want one of %v; stderr %q", code, c.codes, stderr)
			}
			if !strings.Contains(stderr.String(), "-resume") {
				t.Errorf("stderr %q does not say how to finish", stderr)
			}
			res, _ := readResults(t, path) // fails on a syntax error
			if len(res) < seen || strings.Contains(string(mustReadFile(t, path)), "BenchmarkAttention/variant=full/n=16-2 1 5 ns/op") {
				t.Errorf("%d rows in the file, want the %d seen before the signal, and the old rows replaced", len(res), seen)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".r.txt.tmp-*")); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// TestSweepKilledLeavesFileAsItWas: a sweep killed outright cannot rename
// its rows into place: the old file stays whole, the next sweep says where
// the killed one's rows are, and -resume continues from them.
func TestSweepKilledLeavesFileAsItWas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.txt")
	writeOld(t, path)
	cmd, _ := startSweep(t, append(slowSweep, "-o", path)...)
	tmp := waitForRows(t, path, 1)
	cmd.Process.Kill()
	if code := exitCode(t, cmd); code != -int(syscall.SIGKILL) {
		t.Errorf("exit %d, want killed by SIGKILL", code)
	}
	checkUnchanged(t, "after SIGKILL", path, oldResults)
	if countRowLines(mustReadFile(t, tmp)) < 1 {
		t.Errorf("the killed sweep's rows are not in %s", tmp)
	}
	isolatePeakCache(t)
	other := filepath.Join(filepath.Dir(path), "other")
	os.Mkdir(other, 0o755)
	// A fresh sweep to the same file names the leftover; -resume takes it.
	code, _, errOut := runCLI(append(tinySweep, "-o", path, "-report", other, "-n", "16")...)
	if code != 0 || !strings.Contains(errOut, tmp+" was left by a sweep that was killed") {
		t.Errorf("next sweep: stderr %q; want a note naming %s", errOut, tmp)
	}
	os.WriteFile(path, []byte(oldResults), 0o644)
	past := time.Now().Add(-time.Hour)
	os.Chtimes(path, past, past)
	killed := string(mustReadFile(t, tmp))
	killed = killed[:strings.LastIndexByte(killed, '\n')+1] // its whole lines
	code, _, errOut = runCLI(append(slowSweep[:len(slowSweep)-4], "-count", "1", "-benchtime", "1x", "-o", path, "-resume")...)
	if code != 0 || !strings.Contains(errOut, "continuing from "+tmp) {
		t.Fatalf("-resume: exit %d, stderr %q; want it to continue from %s", code, errOut, tmp)
	}
	res, _ := readResults(t, path)
	if got := string(mustReadFile(t, path)); !strings.HasPrefix(got, killed) || len(countNames(res)) != 2 {
		t.Errorf("after -resume: %q; want the killed sweep's rows, then the missing case", got)
	}
	if _, err := os.Stat(tmp); err == nil {
		t.Errorf("%s is still there after its rows were taken", tmp)
	}
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func containsInt(list []int, x int) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}
