package results

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tempFiles lists the temporary files beside path.
func tempFiles(t *testing.T, path string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNoRowLeavesFileAsItWas(t *testing.T) {
	for _, f := range []Format{Text, CSV, JSON} {
		for _, resume := range []bool{false, true} {
			dir := t.TempDir()
			path := filepath.Join(dir, "keep."+string(f))
			// Rows of the right format, so that -resume accepts them.
			old := map[Format]string{
				Text: "goos: linux\nBenchmarkAttention/variant=full-2 1 5 ns/op\n",
				CSV:  strings.Join(testSchema.columns(), ",") + "\n" + csvLine(map[string]string{"name": "x-2", "iters": "1", "variant": "full", "n": "16", "causal": "false", "ns/op": "5", "cpu": "cpu", "kernels": "generic"}),
				JSON: `{"name":"x-2","iters":1,"ns/op":5}` + "\n",
			}[f]
			os.WriteFile(path, []byte(old), 0o644)
			before, _ := os.Stat(path)
			o, err := Prepare(path, f, testSchema, resume)
			if err != nil {
				t.Fatalf("%s resume=%v: %v", f, resume, err)
			}
			o.Comment("skipped: every case, for memory")
			if err := o.Finish(); err != nil {
				t.Fatal(err)
			}
			after, _ := os.Stat(path)
			if b, _ := os.ReadFile(path); string(b) != old || !after.ModTime().Equal(before.ModTime()) || !os.SameFile(before, after) {
				t.Errorf("%s resume=%v: a run without rows changed the file to %q", f, resume, b)
			}
			if tmp := tempFiles(t, path); len(tmp) != 0 {
				t.Errorf("%s resume=%v: temporary files left: %v", f, resume, tmp)
			}
		}
	}
	// No file, no row: no file.
	path := filepath.Join(t.TempDir(), "none.txt")
	o, _ := Prepare(path, Text, testSchema, false)
	o.Comment("skipped")
	o.Finish()
	if _, err := os.Stat(path); err == nil {
		t.Error("a run without rows created the file")
	}
}

// Rows go to a temporary file beside the target as they are written, and
// replace the target only on Close.
func TestRowsReplaceTheFileOnClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.txt")
	old := []byte("goos: linux\nBenchmarkOld-2 1 5 ns/op\n")
	os.WriteFile(path, old, 0o644)
	o, err := Prepare(path, Text, testSchema, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []float64{100, 200} {
		if err := o.Write(testRow("Attention/variant=full-2", 1, ns, false)); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, old) {
		t.Fatalf("the target changed before Close: %q", b)
	}
	tmp := tempFiles(t, path)
	if len(tmp) != 1 {
		t.Fatalf("temporary files %v, want one", tmp)
	}
	// Each row is in the temporary file as soon as it is written.
	if b, _ := os.ReadFile(tmp[0]); bytes.Count(b, []byte("BenchmarkAttention/variant=full-2 1 ")) != 2 || !bytes.HasSuffix(b, []byte("\n")) {
		t.Errorf("temporary file holds %q, want both rows", b)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	res, _ := parse(t, mustRead(t, path))
	if len(res) != 2 || res[0].Name.String() != "Attention/variant=full-2" {
		t.Errorf("after Close: %d results, want the 2 new rows", len(res))
	}
	if left := tempFiles(t, path); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if err := o.Write(testRow("Attention/variant=full-2", 1, 1, false)); err == nil {
		t.Error("Write after Close accepted")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResumeDropsTheUnfinishedLastLine resumes hand-built files whose last
// line was cut short, in each format: the cut line is neither counted nor
// kept.
func TestResumeDropsTheUnfinishedLastLine(t *testing.T) {
	header := strings.Join(testSchema.columns(), ",") + "\n"
	csvRow := func(name, ns string) string {
		return csvLine(map[string]string{"name": name, "iters": "2", "variant": "full", "n": "16", "causal": "false",
			"ns/op": ns, "peak-B/op": "2304", "B/op": "0", "allocs/op": "0", "cpu": "cpu", "kernels": "generic"})
	}
	const a, b = "Attention/variant=full/n=16-2", "Attention/variant=full/n=32-2"
	for _, c := range []struct {
		name   string
		format Format
		whole  string // complete rows
		cut    string // the last line
	}{
		{"text, no newline: a unit 'allo'", Text,
			"goos: linux\nUnit ns/op better=lower\nBenchmark" + a + " 2 4812 ns/op 2304 peak-B/op\nBenchmark" + a + " 2 3415 ns/op 2304 peak-B/op\n",
			"Benchmark" + b + " 2 9000 ns/op 2304 peak-B/op 0 B/op 0 allo"},
		{"text, newline, does not parse", Text,
			"goos: linux\nBenchmark" + a + " 2 4812 ns/op\nBenchmark" + a + " 2 3415 ns/op\n",
			"Benchmark" + b + " 2 90\n"},
		{"csv, no newline", CSV, header + csvRow(a, "4812") + csvRow(a, "3415"), b + ",2,fu"},
		{"csv, no newline, parses", CSV, header + csvRow(a, "4812") + csvRow(a, "3415"), strings.TrimSuffix(csvRow(b, "9000"), "ric\n")},
		{"csv, newline, does not parse", CSV, header + csvRow(a, "4812") + csvRow(a, "3415"), b + ",2,full\n"},
		{"json, no newline", JSON, `{"name":"` + a + `","iters":2,"ns/op":4812}` + "\n" + `{"name":"` + a + `","iters":2,"ns/op":3415}` + "\n",
			`{"name":"` + b + `","iters":2,"ns/o`},
		{"json, no newline, parses", JSON, `{"name":"` + a + `","iters":2,"ns/op":4812}` + "\n" + `{"name":"` + a + `","iters":2,"ns/op":3415}` + "\n",
			`{"name":"` + b + `","iters":2}`},
		{"json, newline, does not parse", JSON, `{"name":"` + a + `","iters":2,"ns/op":4812}` + "\n" + `{"name":"` + a + `","iters":2,"ns/op":3415}` + "\n",
			`{"name":"` + b + `","iters":2,"ns` + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r."+string(c.format))
			os.WriteFile(path, []byte(c.whole+c.cut), 0o644)
			ex, err := ReadExisting(path, c.format, testSchema)
			if err != nil {
				t.Fatal(err)
			}
			if ex.Done[a] != 2 || ex.Done[b] != 0 || len(ex.Done) != 1 {
				t.Errorf("done %v, want %s: 2 only", ex.Done, a)
			}
			if ex.Keep != int64(len(c.whole)) || ex.Dropped != strings.TrimSuffix(c.cut, "\n")+map[bool]string{true: "\n"}[strings.HasSuffix(c.cut, "\n")] {
				t.Errorf("keep %d, dropped %q; want %d and %q", ex.Keep, ex.Dropped, len(c.whole), c.cut)
			}
			o, err := Prepare(path, c.format, testSchema, true)
			if err != nil {
				t.Fatal(err)
			}
			row := testRow(b, 2, 9100, false)
			if err := o.Write(row); err != nil {
				t.Fatal(err)
			}
			if err := o.Close(); err != nil {
				t.Fatal(err)
			}
			got := string(mustRead(t, path))
			if !strings.HasPrefix(got, c.whole) || strings.Contains(got, c.cut) {
				t.Errorf("resumed file %q: want the whole rows, then the new row, without the cut line", got)
			}
			ex, err = ReadExisting(path, c.format, testSchema)
			if err != nil || ex.Done[a] != 2 || ex.Done[b] != 1 || ex.Dropped != "" {
				t.Errorf("after the resume: %+v, %v; want %s: 2, %s: 1, nothing dropped", ex, err, a, b)
			}
			if c.format == Text {
				res, _ := parse(t, []byte(got))
				for _, r := range res {
					for _, v := range r.Values {
						if v.Unit == "allo" {
							t.Errorf("unit %q in %s", v.Unit, r.Name)
						}
					}
				}
			}
		})
	}
}

// TestResumeRefusesOtherFiles: -resume appends to results files only; the
// error is one line naming the file.
func TestResumeRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	header := strings.Join(testSchema.columns(), ",") + "\n"
	row := "BenchmarkAttention/variant=full-2 1 5 ns/op\n"
	for _, c := range []struct {
		name, file, content string
		format              Format
		want                string
	}{
		{"npy", "q.npy", "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }\n\x00\x00", Text, "binary data"},
		{"prose", "notes.txt", "# Notes\n\nThese are not results.\nSee the README.\n", Text, "not a Go benchmark format results file"},
		{"bad row before the last", "mid.txt", "goos: linux\n" + row + "BenchmarkAttention/variant=full-2 1 x ns/op\n" + row, Text, "mid.txt:3: "},
		{"text as json", "r.json", "goos: linux\n" + row, JSON, "r.json:1: "},
		{"one junk json line", "junk.json", "[1,2,3]\n", JSON, "junk.json:1: not a JSON object"},
		{"csv without header", "r.csv", "a,b,c\n1,2,3\n", CSV, "not a CSV results file"},
		{"csv other columns", "other.csv", "name,iters,other\n", CSV, "columns differ"},
		{"csv bad row before the last", "mid.csv", header + csvLine(map[string]string{"name": "x-2", "iters": "one", "ns/op": "5"}) + csvLine(map[string]string{"name": "x-2", "iters": "1", "ns/op": "5"}), CSV, "mid.csv:2: iters"},
	} {
		path := filepath.Join(dir, c.file)
		os.WriteFile(path, []byte(c.content), 0o644)
		_, err := Prepare(path, c.format, testSchema, true)
		if err == nil {
			t.Errorf("%s: resumed", c.name)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.want) || !strings.Contains(msg, path) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q: want one line naming %s and saying %q", c.name, msg, path, c.want)
		}
		if b := mustRead(t, path); string(b) != c.content {
			t.Errorf("%s: the file changed", c.name)
		}
	}
	// The header of a file whose first row was never written is a
	// results file: there is nothing to keep but nothing to refuse.
	path := filepath.Join(dir, "header.txt")
	os.WriteFile(path, []byte("goos: linux\nUnit ns/op better=lower\n# skipped: all\n"), 0o644)
	if _, err := Prepare(path, Text, testSchema, true); err != nil {
		t.Errorf("header-only file: %v", err)
	}
}

// A temporary file left by a run that was killed outright is reported by
// the next Prepare.
func TestLeftoversReported(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r[1].txt")
	left := filepath.Join(dir, ".r[1].txt.tmp-12345")
	os.WriteFile(left, []byte("BenchmarkX-2 1 5 ns/op\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".other.txt.tmp-1"), nil, 0o644)
	o, err := Prepare(path, Text, testSchema, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Leftovers) != 1 || o.Leftovers[0] != left {
		t.Errorf("leftovers %v, want [%s]", o.Leftovers, left)
	}
}

// A link given as -o is written through: the file it points to is
// replaced, the link stays.
func TestOutputThroughALink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "run-42.txt")
	os.WriteFile(real, []byte("goos: linux\nBenchmarkOld-2 1 5 ns/op\n"), 0o644)
	link := filepath.Join(dir, "latest.txt")
	if err := os.Symlink("run-42.txt", link); err != nil {
		t.Fatal(err)
	}
	o, err := Prepare(link, Text, testSchema, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Write(testRow("Attention/variant=full-2", 1, 100, false)); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v", err)
	}
	ex, err := ReadExisting(real, Text, testSchema)
	if err != nil || ex.Done["Old-2"] != 1 || ex.Done["Attention/variant=full-2"] != 1 {
		t.Errorf("the linked file holds %v, %v; want the old row and the new one", ex.Done, err)
	}
}

// TestResumeAdoptsWhatAKilledRunLeft: -resume continues from the newest
// leftover newer than the target (a run killed outright), so its rows are
// kept; a stale leftover is not adopted.
func TestResumeAdoptsWhatAKilledRunLeft(t *testing.T) {
	const a = "Attention/variant=full/n=16-2"
	oldRows := "goos: linux\nBenchmark" + a + " 1 5 ns/op\n"
	killed := "goos: linux\nBenchmark" + a + " 1 6 ns/op\nBenchmark" + a + " 1 7 ns/op\nBenchmark" + a + " 1 8 ns/op\nBenchmark" + a + " 1 9 n"
	for _, newRow := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "r.txt")
		left := filepath.Join(dir, ".r.txt.tmp-777")
		os.WriteFile(path, []byte(oldRows), 0o644)
		os.WriteFile(left, []byte(killed), 0o644)
		past := time.Now().Add(-time.Hour)
		os.Chtimes(path, past, past)
		o, err := Prepare(path, Text, testSchema, true)
		if err != nil {
			t.Fatal(err)
		}
		if o.Adopted != left || len(o.Leftovers) != 0 || o.Done()[a] != 3 {
			t.Fatalf("adopted %q, leftovers %v, done %v; want %s adopted with 3 rows", o.Adopted, o.Leftovers, o.Done(), left)
		}
		want := 3
		if newRow {
			if err := o.Write(testRow(a, 1, 10, false)); err != nil {
				t.Fatal(err)
			}
			want = 4
		}
		if err := o.Finish(); err != nil {
			t.Fatal(err)
		}
		got := string(mustRead(t, path))
		if !strings.HasPrefix(got, killed[:strings.LastIndexByte(killed, '\n')+1]) || strings.Contains(got, " 1 9 n") {
			t.Errorf("target %q: want the killed run's whole rows", got)
		}
		if ex, err := ReadExisting(path, Text, testSchema); err != nil || ex.Done[a] != want {
			t.Errorf("target holds %v, %v; want %d rows", ex.Done, err, want)
		}
		if _, err := os.Stat(left); err == nil {
			t.Error("the adopted leftover is still there")
		}
	}
	// A leftover older than the target is stale: reported, not adopted.
	dir := t.TempDir()
	path := filepath.Join(dir, "r.txt")
	left := filepath.Join(dir, ".r.txt.tmp-1")
	os.WriteFile(left, []byte(killed), 0o644)
	past := time.Now().Add(-time.Hour)
	os.Chtimes(left, past, past)
	os.WriteFile(path, []byte(oldRows), 0o644)
	o, err := Prepare(path, Text, testSchema, true)
	if err != nil {
		t.Fatal(err)
	}
	if o.Adopted != "" || len(o.Leftovers) != 1 || o.Done()[a] != 1 {
		t.Errorf("stale leftover: adopted %q, leftovers %v, done %v", o.Adopted, o.Leftovers, o.Done())
	}
	o.Finish()
	checkBytes(t, path, oldRows)
}

func checkBytes(t *testing.T, path, want string) {
	t.Helper()
	if got := string(mustRead(t, path)); got != want {
		t.Errorf("%s holds %q, want %q", path, got, want)
	}
}

// A resume that measures nothing still drops the unfinished last line it
// left out, and says it saved the file.
func TestResumeWithoutRowsDropsTheCutLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.txt")
	whole := "goos: linux\nBenchmarkAttention/variant=full-2 1 5 ns/op\n"
	os.WriteFile(path, []byte(whole+"BenchmarkAttention/variant=full-2 1 6 ns/op 0 allo"), 0o644)
	o, err := Prepare(path, Text, testSchema, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Finish(); err != nil {
		t.Fatal(err)
	}
	checkBytes(t, path, whole)
	if !o.Saved() {
		t.Error("Saved() = false after the file was rewritten")
	}
	// Nothing to drop, nothing measured: not saved, not touched.
	o, _ = Prepare(path, Text, testSchema, true)
	o.Finish()
	if o.Saved() {
		t.Error("Saved() = true for a file left as it was")
	}
	checkBytes(t, path, whole)
}

// csvLine is one CSV row of testSchema with the given columns set and the
// others empty, so the rows follow the schema's columns as they grow.
func csvLine(cols map[string]string) string {
	var cells []string
	for _, c := range testSchema.columns() {
		cells = append(cells, cols[c])
	}
	return strings.Join(cells, ",") + "\n"
}
