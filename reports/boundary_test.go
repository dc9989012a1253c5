package reports

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attnbench/attnbench/internal/vocab"
)

// twoPoints is a small results file: one series at n=256 and n=512, count
// samples each.
func twoPoints(cpu, extraKey string, count int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "goos: linux\ngoarch: amd64\ncpu: %s\nkernels: generic\n", cpu)
	for _, n := range []int{256, 512} {
		for i := range count {
			fmt.Fprintf(&b, "BenchmarkAttention/variant=full/causal=false/n=%d/d=16%s-2 1 %d ns/op %d peak-B/op\n", n, extraKey, n*n+i, n*64)
		}
	}
	return b.String()
}

func TestSameFileTwiceRefused(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "base.txt", twoPoints("CPU", "", 3))
	sym := filepath.Join(dir, "sym.txt")
	if err := os.Symlink(path, sym); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.txt")
	if err := os.Link(path, hard); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	t.Chdir(dir)
	for _, args := range [][]string{
		{"base.txt", "base.txt", "base.txt"},
		{path, "./sub/../base.txt"},
		{path, sym},
		{path, hard},
		{"old=" + path, "new=" + path},
	} {
		for _, merge := range []bool{false, true} {
			_, err := load(args, merge)
			if err == nil {
				t.Errorf("%q (merge %v): accepted", args, merge)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, "given twice") || strings.Contains(msg, "\n") {
				t.Errorf("%q: error %q, want one line saying the file is given twice", args, msg)
			}
		}
	}
}

// TestPoolingNeedsMerge: samples of different files are pooled only with
// -merge; with it, the point holds every sample of both files.
func TestPoolingNeedsMerge(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.txt", twoPoints("CPU", "", 3))
	b := writeFile(t, dir, "b.txt", twoPoints("CPU", "", 4))
	for _, args := range [][]string{{"x=" + a, "x=" + b}, {a, b}} {
		_, err := Load(args)
		if err == nil || !strings.Contains(err.Error(), "-merge") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line naming -merge", args, err)
		}
		d, err := LoadMerge(args)
		if err != nil {
			t.Fatalf("%q with -merge: %v", args, err)
		}
		r, err := Build(d, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Groups) != 1 || len(r.Groups[0].Series) != 1 {
			t.Fatalf("%q: %d groups, want one series in one group", args, len(r.Groups))
		}
		for _, p := range r.Groups[0].Series[0].Points {
			if got := p.Stats[vocab.SecPerOp].Samples; got != 7 {
				t.Errorf("%q: n=%d has %d samples, want 3+4", args, p.N, got)
			}
		}
	}
	// Shards: unlabelled files with different benchmarks are not pooled
	// samples, so they need no -merge.
	s1 := writeFile(t, dir, "s1.txt", twoPoints("CPU", "/window=8", 3))
	if _, err := Load([]string{a, s1}); err != nil {
		t.Errorf("disjoint shards refused: %v", err)
	}
	// Other machines are other groups, never pooled.
	c := writeFile(t, dir, "c.txt", twoPoints("Other CPU", "", 3))
	if _, err := Load([]string{a, c}); err != nil {
		t.Errorf("two machines refused: %v", err)
	}
}

// Hostile strings in a results file and a label: each is copied into
// summary.md as plain text and into index.html escaped.
const (
	hostileCPU     = "<script>alert(1)</script> | `tick` [x](javascript:alert(1)) *b* _i_ ~~s~~ # &amp; <img src=x onerror=alert(2)>"
	hostileCommand = "attnbench sweep -variants `x` ``y`` <b>bold</b> | [x](javascript:alert(3))"
	hostileKey     = "<script>|`k`[y](javascript:alert(4))*z*"
	hostileLabel   = "l<script>|x\n## injected [z](javascript:alert(5))"
)

func TestSummaryEscapesHostileStrings(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "goos: linux\ngoarch: amd64\ncpu: %s\nkernels: generic\ncommand: %s\n", hostileCPU, hostileCommand)
	for _, tag := range []string{"plain", hostileKey} {
		for _, n := range []int{256, 512} {
			fmt.Fprintf(&b, "BenchmarkAttention/variant=full/causal=false/n=%d/d=16/tag=%s-2 1 %d ns/op 4096 peak-B/op\n", n, tag, n*n)
		}
	}
	path := writeFile(t, dir, "evil.txt", b.String())
	out := filepath.Join(dir, "out")
	if _, err := Generate(out, []string{hostileLabel + "=" + path}, Options{}); err != nil {
		t.Fatal(err)
	}
	md := readFile(t, filepath.Join(out, "summary.md"))

	// Markup the summary writes itself: two headings, one table (as many
	// cells in every row as in its header), one code span. Anything more
	// was injected.
	headings, tableRows, columns := 0, 0, 0
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "#") {
			headings++
		}
		if strings.HasPrefix(line, "|") {
			tableRows++
			if columns == 0 {
				columns = unescapedCount(line, '|') // the header, written by the summary itself
			}
			if cells := unescapedCount(line, '|'); cells != columns {
				t.Errorf("table row with %d unescaped pipes, want %d: %s", cells, columns, line)
			}
		}
		if strings.HasPrefix(line, "command: ") {
			if want := "command: ```" + hostileCommand + "```"; line != want {
				t.Errorf("command line %q, want the code span %q", line, want)
			}
			continue
		}
		for _, c := range "[]`*_~<>" {
			if n := unescapedCount(strings.TrimPrefix(line, "> Note: "), c); n > 0 {
				t.Errorf("unescaped %q in %q", c, line)
			}
		}
	}
	if headings != 2 || tableRows != 4 { // header, rule, two series
		t.Errorf("%d headings and %d table lines, want 2 and 4:\n%s", headings, tableRows, md)
	}
	// The escaped text reads back as the original.
	for _, want := range []string{hostileCPU, hostileKey, strings.ReplaceAll(hostileLabel, "\n", " ")} {
		if !strings.Contains(mdUnescape(md), want) {
			t.Errorf("summary.md does not show %q as text:\n%s", want, md)
		}
	}

	html := readFile(t, filepath.Join(out, "index.html"))
	for _, bad := range []string{"<script", "<img src=x", "<b>", `href="javascript:`} {
		if strings.Contains(html, bad) {
			t.Errorf("index.html holds %q", bad)
		}
	}
	if !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("index.html does not show the cpu as escaped text")
	}
}

// unescapedCount counts the occurrences of c not preceded by a backslash
// (itself not escaped).
func unescapedCount(s string, c rune) int {
	n, escaped := 0, false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r == c:
			n++
		}
	}
	return n
}

// mdUnescape undoes CommonMark's backslash escapes and the three entities,
// as a renderer shows the text.
func mdUnescape(s string) string {
	var b strings.Builder
	escaped := false
	for _, r := range s {
		if !escaped && r == '\\' {
			escaped = true
			continue
		}
		escaped = false
		b.WriteRune(r)
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(b.String())
}

func TestReportFilesAreReplacedWhole(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "r.txt", twoPoints("CPU", "", 3))
	out := filepath.Join(dir, "out")
	os.MkdirAll(out, 0o755)
	writeFile(t, out, "summary.md", "old summary")
	res, err := Generate(out, []string{path}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if md := readFile(t, filepath.Join(out, "summary.md")); !strings.HasPrefix(md, "# attnbench summary") {
		t.Errorf("summary.md not replaced: %q", md)
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	if len(entries) != len(res.Files) {
		t.Errorf("%d files in %s, want the %d written", len(entries), out, len(res.Files))
	}

	// An input the report would overwrite is refused before anything is
	// written.
	victim := writeFile(t, out, "summary.md", twoPoints("CPU", "", 3))
	_, err = Generate(out, []string{victim}, Options{})
	if err == nil || !strings.Contains(err.Error(), victim) {
		t.Errorf("report over its own input: %v", err)
	}
	if got := readFile(t, victim); got != twoPoints("CPU", "", 3) {
		t.Error("the input was overwritten")
	}
}

func TestPrepareDir(t *testing.T) {
	dir := t.TempDir()
	if err := PrepareDir(filepath.Join(dir, "a", "b")); err != nil {
		t.Errorf("a new directory: %v", err)
	}
	file := writeFile(t, dir, "file", "")
	for _, bad := range []string{file, filepath.Join(file, "sub"), ""} {
		err := PrepareDir(bad)
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), bad) {
			t.Errorf("PrepareDir(%q) = %v, want one line naming it", bad, err)
		}
	}
	if os.Getuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o555)
		if err := PrepareDir(ro); err == nil {
			t.Error("a read-only directory accepted")
		}
	}
}
