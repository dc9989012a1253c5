package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCommitReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "new" {
		t.Fatalf("content %q, want new", got)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the old file's 0600", st.Mode().Perm())
	}
	assertNoTemp(t, filepath.Dir(path))
}

func TestAbortKeepsOld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	os.WriteFile(path, []byte("old"), 0o644)
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("half")
	f.Abort()
	got, _ := os.ReadFile(path)
	if string(got) != "old" {
		t.Fatalf("content %q after Abort, want old", got)
	}
	assertNoTemp(t, filepath.Dir(path))
}

func TestRefusesDirectory(t *testing.T) {
	if _, err := Create(t.TempDir()); err == nil {
		t.Fatal("Create accepted a directory as the target")
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only the target", names)
	}
}

func TestSameFile(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.npy")
	os.WriteFile(a, []byte("x"), 0o644)
	os.Symlink(a, filepath.Join(dir, "link.npy"))
	os.Link(a, filepath.Join(dir, "hard.npy"))
	os.WriteFile(filepath.Join(dir, "b.npy"), []byte("x"), 0o644)
	for _, c := range []struct {
		b    string
		same bool
	}{
		{a, true}, {filepath.Join(dir, "sub", "..", "a.npy"), true}, {filepath.Join(dir, "link.npy"), true},
		{filepath.Join(dir, "hard.npy"), true}, {filepath.Join(dir, "b.npy"), false}, {filepath.Join(dir, "missing.npy"), false},
	} {
		if got := SameFile(a, c.b); got != c.same {
			t.Errorf("SameFile(%s, %s) = %v, want %v", a, c.b, got, c.same)
		}
	}
	if !SameFile(filepath.Join(dir, "new.txt"), filepath.Join(dir, ".", "new.txt")) {
		t.Error("two spellings of one missing path are not the same file")
	}
}
