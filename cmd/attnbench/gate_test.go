package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gateFile writes a results file with two benchmarks, `count` samples
// each: ns/op spread ±1% around median·scale (a fixed, symmetric pattern,
// so the truth is known), and a constant peak-B/op.
func gateFile(t *testing.T, name, cpu string, scale, peak float64, count int) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "goos: linux\ngoarch: amd64\ncpu: %s\nkernels: avx2\n", cpu)
	b.WriteString("Unit ns/op better=lower\nUnit peak-B/op better=lower\n")
	for i := range count {
		jitter := 1 + 0.01*float64(i%5-2)/2
		for j, median := range []float64{1e6, 4e6} {
			fmt.Fprintf(&b, "BenchmarkAttention/variant=flash/n=%d-2  20  %.1f ns/op  %.0f peak-B/op\n", 256<<j, median*scale*jitter, peak*float64(j+1))
		}
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const gateCPU = "Intel(R) Xeon(R) Processor @ 2.10GHz"

func runGateCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb strings.Builder
	code = run(append([]string{"gate"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestGateCLIExitCodes(t *testing.T) {
	base := gateFile(t, "base.txt", gateCPU, 1, 1<<20, 10)
	same := gateFile(t, "same.txt", gateCPU, 1, 1<<20, 10)
	slower := gateFile(t, "slower.txt", gateCPU, 1.2, 1<<20, 10)
	faster := gateFile(t, "faster.txt", gateCPU, 0.8, 1<<20, 10)
	bigger := gateFile(t, "bigger.txt", gateCPU, 1, 1.5*(1<<20), 10)
	otherCPU := gateFile(t, "amd.txt", "AMD EPYC 7B13", 1, 1<<20, 10)
	few := gateFile(t, "few.txt", gateCPU, 1, 1<<20, 3)
	fewSlower := gateFile(t, "few-slower.txt", gateCPU, 1.2, 1<<20, 3)
	garbage := filepath.Join(t.TempDir(), "garbage.txt")
	os.WriteFile(garbage, []byte("BenchmarkX-2 ten 5 ns/op\n"), 0o644)
	zeros := gateFile(t, "zeros.txt", gateCPU, 0, 1<<20, 10) // 0.0 ns/op
	empty := filepath.Join(t.TempDir(), "empty.txt")
	os.WriteFile(empty, nil, 0o644)

	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		wantOut    string // in stdout
		wantStderr string // in stderr
	}{
		{"identical", []string{base, same}, 0, "0 regression(s)", ""},
		{"slowdown", []string{base, slower}, 1, "REGRESSION", "2 regression(s) beyond 5%"},
		{"speed-up", []string{base, faster}, 0, "improved", ""},
		{"memory", []string{base, bigger}, 1, "peak-B/op", "peak-B/op +50.0%"},
		{"flags after files", []string{base, slower, "-threshold", "25%"}, 0, "within 25%", ""},
		{"flags before files", []string{"-threshold", "0.25", base, slower}, 0, "within 25%", ""},
		{"flags between files", []string{base, "-threshold=25%", slower}, 0, "within 25%", ""},
		{"units", []string{base, slower, "-units", "peak-B/op"}, 0, "0 regression(s)", ""},
		{"ns/op is sec/op", []string{base, slower, "-units", "ns/op"}, 1, "sec/op", ""},
		{"alpha", []string{base, slower, "-alpha", "0.00001"}, 0, "unchanged", ""},
		{"too few samples", []string{few, fewSlower}, 0, "too few samples", "-count ≥ 4"},
		{"cpu mismatch", []string{base, otherCPU}, 2, "", "refusing to compare"},
		{"cpu mismatch allowed", []string{base, otherCPU, "-allow-mismatch"}, 0, "0 regression(s)", "different machines"},
		{"missing file", []string{base, filepath.Join(t.TempDir(), "none.txt")}, 2, "", "no such file"},
		{"empty file", []string{empty, base}, 2, "", "no benchmark results"},
		{"garbage", []string{base, garbage}, 2, "", "garbage.txt:1: parsing iteration count"},
		{"one file", []string{base}, 2, "", "want two results files"},
		{"three files", []string{base, same, slower}, 2, "", "got 3"},
		{"bad threshold", []string{base, same, "-threshold", "5"}, 2, "", "write 5% for a percentage"},
		{"bad alpha", []string{base, same, "-alpha", "2"}, 2, "", "-alpha 2"},
		{"garbage alpha", []string{base, same, "-alpha", "x"}, 2, "", "-alpha"},
		{"garbage threshold", []string{base, same, "-threshold", "x"}, 2, "", "-threshold"},
		{"NEW timings all zero", []string{base, zeros}, 2, "", "zeros.txt:7: "},
		{"zeros on both sides", []string{zeros, zeros}, 2, "", "0 sec/op"},
		{"unknown flag", []string{base, same, "-thresold", "5%"}, 2, "", "flag provided but not defined"},
		{"empty units", []string{base, same, "-units", ","}, 2, "", "no unit given"},
		{"help", []string{"-h"}, 0, "", "usage: attnbench gate BASE NEW"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runGateCLI(tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out, tc.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantOut, out)
			}
			if !strings.Contains(errOut, tc.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantStderr, errOut)
			}
			if lines := strings.Split(strings.TrimSpace(errOut), "\n"); tc.code == 2 && tc.name != "help" && len(lines) != 1 {
				t.Errorf("stderr is not one line: %q", errOut)
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
				t.Errorf("stderr shows a panic:\n%s", errOut)
			}
		})
	}
}

// A "--" ends the flags: a file whose name starts with "-" can be given.
func TestGateCLIDoubleDash(t *testing.T) {
	dir := t.TempDir()
	base := gateFile(t, "base.txt", gateCPU, 1, 1<<20, 10)
	data, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	dashed := filepath.Join(dir, "-new.txt")
	if err := os.WriteFile(dashed, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if code, out, errOut := runGateCLI("-threshold", "5%", "--", base, "-new.txt"); code != 0 {
		t.Errorf("exit %d, want 0\n%s%s", code, out, errOut)
	}
}
