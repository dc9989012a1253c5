package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attnbench/attnbench/harness/npy"
)

// craftNpy builds a version 1.0 .npy file by hand: header text as given,
// then data.
func craftNpy(header string, data []byte) []byte {
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), byte(len(header)>>8))
	return append(append(b, header...), data...)
}

// float32Bytes is n float32 values 0.25, 0.5, … little-endian.
func float32Bytes(n int) []byte {
	b := make([]byte, 0, 4*n)
	for i := range n {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(i+1)/4))
	}
	return b
}

// runFiles writes valid 8×4 q, k and v files into a new directory.
func runFiles(t *testing.T) (dir, q, k, v string) {
	dir = t.TempDir()
	rng := rand.New(rand.NewPCG(7, 8))
	q, k, v = filepath.Join(dir, "q.npy"), filepath.Join(dir, "k.npy"), filepath.Join(dir, "v.npy")
	for _, p := range []string{q, k, v} {
		if err := npy.Save(p, randomTensor(rng, 1, 1, 8, 4, 1), []int{8, 4}); err != nil {
			t.Fatal(err)
		}
	}
	return dir, q, k, v
}

// assertOneLine checks that stderr is one line starting with prefix and
// containing part.
func assertOneLine(t *testing.T, what, stderr, prefix, part string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, prefix) || !strings.Contains(stderr, part) {
		t.Errorf("%s: stderr %q, want one line starting %q containing %q", what, stderr, prefix, part)
	}
}

// TestRunRefusesHostileFiles: each hostile file of issue 13, given as -q
// or -k, ends in exit 2 and one line naming the flag, the file and the
// problem, and writes no output.
func TestRunRefusesHostileFiles(t *testing.T) {
	dir, q, k, v := runFiles(t)
	valid, err := os.ReadFile(q)
	if err != nil {
		t.Fatal(err)
	}
	pad := func(dict string) string { return dict + strings.Repeat(" ", 117-len(dict)) + "\n" }
	claim := func(shape string) []byte {
		return craftNpy(pad("{'descr': '<f4', 'fortran_order': False, 'shape': "+shape+", }"), make([]byte, 64))
	}
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"first 40 bytes", valid[:40], "ends inside its 118-byte header"},
		{"no braces", craftNpy(pad("'descr': '<f4', 'fortran_order': False, 'shape': (8, 4)"), float32Bytes(32)), "header cannot be parsed"},
		{"'shape': ,", craftNpy(pad("{'descr': '<f4', 'fortran_order': False, 'shape': , }"), float32Bytes(32)), "header cannot be parsed"},
		{"truncated data", valid[:len(valid)-12], "truncated"},
		{"header only", valid[:128], "truncated"},
		{"claims (2000000, 16)", claim("(2000000, 16)"), "needs 128000000 bytes"},
		{"claims (100000000, 64)", claim("(100000000, 64)"), "needs 25600000000 bytes"},
		{"v2.0 header length 0xFFFFFFF0", []byte("\x93NUMPY\x02\x00\xF0\xFF\xFF\xFF"), "over NumPy's limit"},
		{"shape (2^32, 2^32)", claim("(4294967296, 4294967296)"), "overflows"},
		{"shape (2^62+1, 2)", claim("(4611686018427387905, 2)"), "overflows"},
		{"negative dimension", claim("(-1, 4)"), "negative"},
	}
	out := filepath.Join(dir, "o.npy")
	bad := filepath.Join(dir, "bad.npy")
	for _, c := range cases {
		if err := os.WriteFile(bad, c.file, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, flag := range []string{"q", "k"} {
			args := []string{"run", "-variant", "flash", "-q", q, "-k", k, "-v", v, "-o", out}
			if flag == "q" {
				args[4] = bad
			} else {
				args[6] = bad
			}
			code, _, stderr := runCLI(args...)
			if code != 2 {
				t.Errorf("%s as -%s: exit %d, want 2 (%q)", c.name, flag, code, stderr)
			}
			assertOneLine(t, c.name, stderr, "attnbench run: -"+flag+" "+bad+": ", c.want)
			if _, err := os.Stat(out); err == nil {
				t.Fatalf("%s as -%s: an output was written", c.name, flag)
			}
		}
	}
}

// TestRunReadsWhatNumpyReads: keys in another order and a header without
// its newline (both loaded by NumPy, both panics before) run to the same
// output as the writer's own file.
func TestRunReadsWhatNumpyReads(t *testing.T) {
	dir, q, k, v := runFiles(t)
	want := filepath.Join(dir, "want.npy")
	if code, _, stderr := runCLI("run", "-variant", "full", "-q", q, "-k", k, "-v", v, "-o", want); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	valid, _ := os.ReadFile(q)
	data := valid[128:]
	for name, header := range map[string]string{
		"keys reordered": "{'shape': (8, 4), 'fortran_order': False, 'descr': '<f4', }",
		"no newline":     "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 4), }",
		"data unaligned": "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 4), }  \n",
	} {
		q2 := filepath.Join(dir, "q2.npy")
		os.WriteFile(q2, craftNpy(header, data), 0o644)
		out := filepath.Join(dir, "o.npy")
		if code, _, stderr := runCLI("run", "-variant", "full", "-q", q2, "-k", k, "-v", v, "-o", out); code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		got, _ := os.ReadFile(out)
		exp, _ := os.ReadFile(want)
		if !bytes.Equal(got, exp) {
			t.Errorf("%s: output differs from the one for the writer's file", name)
		}
	}
}

// TestRunRefusesOutputOverInput: -o naming an input, however spelled or
// linked, ends in exit 2 and one line, and leaves the input as it was.
func TestRunRefusesOutputOverInput(t *testing.T) {
	dir, q, k, v := runFiles(t)
	hard := filepath.Join(dir, "hard.npy")
	if err := os.Link(v, hard); err != nil {
		t.Fatal(err)
	}
	soft := filepath.Join(dir, "soft.npy")
	if err := os.Symlink(q, soft); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, p := range []string{q, k, v} {
		before[p], _ = os.ReadFile(p)
	}
	for _, c := range []struct{ out, flag string }{
		{q, "q"},
		{filepath.Join(dir, "sub", "..", "k.npy"), "k"},
		{hard, "v"},
		{soft, "q"},
	} {
		if c.out == filepath.Join(dir, "sub", "..", "k.npy") {
			os.Mkdir(filepath.Join(dir, "sub"), 0o755)
		}
		code, _, stderr := runCLI("run", "-variant", "flash", "-q", q, "-k", k, "-v", v, "-o", c.out)
		if code != 2 {
			t.Errorf("-o %s: exit %d, want 2", c.out, code)
		}
		assertOneLine(t, "-o "+c.out, stderr, "attnbench run: -o "+c.out, "is also the -"+c.flag+" input")
	}
	for p, b := range before {
		if got, _ := os.ReadFile(p); !bytes.Equal(got, b) {
			t.Errorf("input %s changed", p)
		}
	}
}

// TestRunFailedWriteKeepsOldOutput: when -o cannot be written the old
// output stays as it was; a successful run replaces it and leaves no
// temporary file.
func TestRunFailedWriteKeepsOldOutput(t *testing.T) {
	dir, q, k, v := runFiles(t)
	// A 250-byte name is legal but the temporary file beside it is not, so
	// the write fails whoever runs the test (root ignores a read-only
	// directory).
	long := filepath.Join(dir, strings.Repeat("o", 246)+".npy")
	if err := os.WriteFile(long, []byte("old output"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI("run", "-variant", "flash", "-q", q, "-k", k, "-v", v, "-o", long)
	if code != 2 {
		t.Errorf("unwritable -o: exit %d, want 2", code)
	}
	assertOneLine(t, "unwritable -o", stderr, "attnbench run: -o "+long+": ", "")
	if got, _ := os.ReadFile(long); string(got) != "old output" {
		t.Errorf("old output became %q after a failed write", got)
	}

	missing := filepath.Join(dir, "no", "o.npy")
	code, _, stderr = runCLI("run", "-variant", "flash", "-q", q, "-k", k, "-v", v, "-o", missing)
	if code != 2 {
		t.Errorf("-o in a missing directory: exit %d, want 2", code)
	}
	assertOneLine(t, "missing directory", stderr, "attnbench run: -o "+missing, "does not exist")

	code, _, stderr = runCLI("run", "-variant", "flash", "-q", q, "-k", k, "-v", v, "-o", dir)
	if code != 2 {
		t.Errorf("-o a directory: exit %d, want 2", code)
	}
	assertOneLine(t, "-o a directory", stderr, "attnbench run: -o "+dir, "not a regular file")

	out := filepath.Join(dir, "o.npy")
	os.WriteFile(out, []byte("old output"), 0o644)
	if code, _, stderr := runCLI("run", "-variant", "flash", "-q", q, "-k", k, "-v", v, "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := npy.Load(out); err != nil {
		t.Errorf("the new output does not load: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
