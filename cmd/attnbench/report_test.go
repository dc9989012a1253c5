package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reportFixture writes a small results file: full and flash at three n,
// 6 samples each, time growing as n².
func reportFixture(t *testing.T, dir, name, cpu string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "goos: linux\ngoarch: amd64\ncpu: %s\nkernels: generic\npeak-gflops: 10\npeak-gflops-all: 20\ncommand: attnbench sweep\n", cpu)
	for _, v := range []struct {
		name string
		coef float64
	}{{"full", 2}, {"flash", 1}} {
		for _, n := range []int{256, 512, 1024} {
			for i := range 6 {
				ns := v.coef * float64(n*n) * (1 + 0.01*float64(i))
				fmt.Fprintf(&b, "BenchmarkAttention/variant=%s/causal=false/batch=1/heads=1/n=%d/d=16-2 1 %g ns/op %g GFLOP/s %d peak-B/op\n",
					v.name, n, ns, 64*float64(n*n)/ns, n*64)
			}
		}
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runReportCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(append([]string{"report"}, args...), &o, &e)
	return code, o.String(), e.String()
}

func TestReportCLIExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := reportFixture(t, dir, "good.txt", "CPU one")
	again := reportFixture(t, dir, "again.txt", "CPU one") // a second run of the same sweep
	other := reportFixture(t, dir, "other.txt", "CPU two")
	os.Mkdir(filepath.Join(dir, "victim"), 0o755)
	victim := reportFixture(t, filepath.Join(dir, "victim"), "summary.md", "CPU one")
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, []byte("goos: linux\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.txt")
	if err := os.WriteFile(broken, []byte("BenchmarkAttention/variant=full/n=256-2 1 x ns/op\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	cases := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"ok", []string{"-o", out, good}, 0, ""},
		{"flags after files", []string{good, "-o", out, other}, 0, ""},
		{"labels", []string{"-o", filepath.Join(dir, "labels"), "old=" + good, "new=" + again}, 0, ""},
		{"same file twice", []string{"-o", out, good, good}, 2, "good.txt: given twice"},
		{"same file under two labels", []string{"-o", out, "a=" + good, "b=" + good}, 2, "given twice"},
		{"one label, two files", []string{"-o", out, "x=" + good, "x=" + again}, 2, "-merge"},
		{"one machine, two files", []string{"-o", out, good, again}, 2, "-merge"},
		{"merged", []string{"-o", out, "-merge", "x=" + good, "x=" + again}, 0, ""},
		{"input the report would overwrite", []string{"-o", filepath.Dir(victim), victim}, 2, "summary.md: the report in"},
		{"output is a file", []string{"-o", good, other}, 2, "good.txt"},
		{"pareto-n garbage", []string{"-o", out, "-pareto-n", "x", good}, 2, "-pareto-n"},
		{"double dash", []string{"-o", out, "--", good}, 0, ""},
		{"no files", []string{"-o", out}, 2, "no result files given"},
		{"missing file", []string{"-o", out, filepath.Join(dir, "nope.txt")}, 2, "nope.txt"},
		{"no benchmarks", []string{"-o", out, empty}, 2, "empty.txt: no benchmark lines"},
		{"syntax error", []string{"-o", out, broken}, 2, "broken.txt:1: syntax error"},
		{"bad flag", []string{"-bogus", good}, 2, "flag provided but not defined"},
		{"negative pareto n", []string{"-o", out, "-pareto-n", "-1", good}, 2, "-pareto-n"},
		{"help", []string{"-h"}, 0, "usage: attnbench report"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runReportCLI(c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, stdout, stderr)
			}
			if c.wantErr != "" && !strings.Contains(stderr, c.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr, c.wantErr)
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
				t.Errorf("stderr has a panic trace: %s", stderr)
			}
			if lines := strings.Split(strings.TrimSpace(stderr), "\n"); c.code == 2 && len(lines) != 1 {
				t.Errorf("stderr is not one line: %q", stderr)
			}
			if c.code == 0 && c.name != "help" && !strings.Contains(stdout, "index.html") {
				t.Errorf("stdout %q does not say where the report is", stdout)
			}
		})
	}
	// The labelled run wrote two groups side by side.
	if _, err := os.Stat(filepath.Join(dir, "labels", "g2-time.png")); err != nil {
		t.Errorf("labelled files should give two groups: %v", err)
	}
}
