package results

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/attnbench/attnbench/internal/vocab"
)

var testSchema = Schema{
	Config: []KV{
		{"goos", "linux"}, {"goarch", "amd64"}, {"cpu", "Test CPU @ 2.10GHz"}, {"kernels", "generic"},
		{"go", "go1.26.8"}, {"attnbench", "v0.0.0-devel"}, {"peak-gflops", "12.5"}, {"peak-gflops-all", "25"},
		{"command", "attnbench sweep -n 16,32"},
	},
	KeyColumns:    []string{"variant", "n", "causal", "window"},
	ConfigColumns: []string{"cpu", "kernels"},
}

func testRow(name string, iters int, ns float64, withErr bool) Row {
	r := Row{
		Name:  name,
		Iters: iters,
		Values: []Value{
			{"ns/op", ns}, {"GFLOP/s", 28.6}, {"%peak", 17.3}, {"peak-B/op", 1048576}, {"B/op", 0}, {"allocs/op", 0},
		},
		Keys: map[string]string{"variant": "flash", "n": "16", "causal": "false"},
	}
	if withErr {
		r.Values = append(r.Values, Value{"relerr", 2.1e-07}, Value{"maxerr", 3e-06})
	}
	return r
}

// parse reads a text file back with benchfmt, as benchstat does.
func parse(t *testing.T, b []byte) ([]*benchfmt.Result, benchfmt.UnitMetadataMap) {
	t.Helper()
	r := benchfmt.NewReader(bytes.NewReader(b), "test.txt")
	var out []*benchfmt.Result
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Errorf("syntax error: %v", rec)
		case *benchfmt.Result:
			out = append(out, rec.Clone())
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out, r.Units()
}

func TestTextRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	o := NewOutput(&buf, Text, testSchema)
	o.Comment("skipped: Attention/variant=full/n=1048576: needs 4.0 TiB > -max-mem 8.0 GiB")
	rows := []Row{
		testRow("Attention/variant=flash/causal=false/batch=1/heads=8/n=4096/d=64-2", 5, 1.2e8, true),
		testRow("Attention/variant=flash/causal=false/batch=1/heads=8/n=4096/d=64-2", 5, 1.3e8, true),
		testRow("Attention/variant=window/causal=true/batch=1/heads=8/n=8192/d=64/window=256-2", 3, 9.5e7, false),
	}
	for _, r := range rows {
		if err := o.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Finish(); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	// The layout of docs/design.md §5: configuration, Unit lines, then results.
	wantStart := "goos: linux\ngoarch: amd64\ncpu: Test CPU @ 2.10GHz\nkernels: generic\ngo: go1.26.8\n" +
		"attnbench: v0.0.0-devel\npeak-gflops: 12.5\npeak-gflops-all: 25\ncommand: attnbench sweep -n 16,32\n" +
		"Unit ns/op better=lower\nUnit GFLOP/s better=higher\nUnit %peak better=higher\nUnit GB/s better=higher\nUnit %bandwidth better=higher\nUnit peak-B/op better=lower\n" +
		"Unit B/op better=lower\nUnit allocs/op better=lower\nUnit relerr better=lower\nUnit maxerr better=lower\n" +
		"Unit cosine better=higher\nUnit coverage better=higher\n" +
		"# skipped: Attention/variant=full/n=1048576: needs 4.0 TiB > -max-mem 8.0 GiB\n" +
		"BenchmarkAttention/variant=flash/causal=false/batch=1/heads=8/n=4096/d=64-2 5 1.2e+08 ns/op 28.6 GFLOP/s 17.3 %peak 1.048576e+06 peak-B/op 0 B/op 0 allocs/op 2.1e-07 relerr 3e-06 maxerr\n"
	if !strings.HasPrefix(text, wantStart) {
		t.Errorf("file starts\n%s\nwant\n%s", text, wantStart)
	}

	got, units := parse(t, buf.Bytes())
	if len(got) != len(rows) {
		t.Fatalf("read %d results, want %d", len(got), len(rows))
	}
	for i, r := range got {
		if string(r.Name) != rows[i].Name || r.Iters != rows[i].Iters {
			t.Errorf("result %d: %s %d, want %s %d", i, r.Name, r.Iters, rows[i].Name, rows[i].Iters)
		}
		if len(r.Values) != len(rows[i].Values) {
			t.Fatalf("result %d: %d values, want %d", i, len(r.Values), len(rows[i].Values))
		}
		for j, v := range r.Values {
			want := rows[i].Values[j]
			if v.Unit == "sec/op" { // benchfmt tidies ns/op
				v.Value, v.Unit = v.Value*1e9, "ns/op"
			}
			if v.Unit != want.Unit || math.Abs(v.Value-want.Value) > 1e-9*math.Abs(want.Value) {
				t.Errorf("result %d value %d: %v %s, want %v %s", i, j, v.Value, v.Unit, want.Value, want.Unit)
			}
		}
		for _, kv := range testSchema.Config {
			if g := r.GetConfig(kv.Key); g != kv.Value {
				t.Errorf("result %d: config %s = %q, want %q", i, kv.Key, g, kv.Value)
			}
		}
	}
	for _, u := range vocab.Units() {
		better := units.GetBetter(u.Name)
		if (u.Better == vocab.Higher) != (better == 1) || better == 0 {
			t.Errorf("unit %s: better = %d, want %s", u.Name, better, u.Better)
		}
	}
}

func TestConfigRules(t *testing.T) {
	for _, kv := range []KV{{"Cpu", "x"}, {"peak gflops", "1"}, {"", "x"}, {"cpu", "two\nlines"}, {"a:b", "x"}} {
		if checkConfig(kv) == nil {
			t.Errorf("checkConfig(%q) accepted", kv)
		}
	}
	var buf bytes.Buffer
	o := NewOutput(&buf, Text, Schema{Config: []KV{{"Bad Key", "x"}}})
	if err := o.Write(testRow("Attention/variant=full-2", 1, 1, false)); err == nil {
		t.Error("a bad configuration key was written")
	}
	o = NewOutput(&buf, Text, testSchema)
	if err := o.Write(testRow("Attention/has space", 1, 1, false)); err == nil {
		t.Error("a name with a space was written")
	}
}

func TestCSVColumns(t *testing.T) {
	var buf bytes.Buffer
	o := NewOutput(&buf, CSV, testSchema)
	o.Comment("skipped: left out of CSV")
	if err := o.Write(testRow("Attention/variant=flash/n=16-2", 5, 1.25e6, true)); err != nil {
		t.Fatal(err)
	}
	r := testRow("Attention/variant=flash/n=16-2", 6, 1.5e6, false)
	r.Keys["window"] = "256"
	if err := o.Write(r); err != nil {
		t.Fatal(err)
	}
	if err := o.Finish(); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"name", "iters", "variant", "n", "causal", "window", "ns/op", "GFLOP/s", "%peak", "GB/s", "%bandwidth", "peak-B/op", "B/op", "allocs/op", "relerr", "maxerr", "cosine", "coverage", "cpu", "kernels"}
	if !slices.Equal(recs[0], want) {
		t.Fatalf("header %q, want %q", recs[0], want)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want header + 2 rows", len(recs))
	}
	col := func(rec []string, name string) string { return rec[slices.Index(want, name)] }
	if col(recs[1], "ns/op") != "1.25e+06" || col(recs[1], "relerr") != "2.1e-07" || col(recs[1], "window") != "" ||
		col(recs[1], "cpu") != "Test CPU @ 2.10GHz" || col(recs[1], "iters") != "5" || col(recs[1], "variant") != "flash" {
		t.Errorf("row 1: %q", recs[1])
	}
	if col(recs[2], "relerr") != "" || col(recs[2], "window") != "256" {
		t.Errorf("row 2: %q", recs[2])
	}
}

func TestJSONLines(t *testing.T) {
	var buf bytes.Buffer
	o := NewOutput(&buf, JSON, testSchema)
	row := testRow("Attention/variant=flash/n=16-2", 5, 1.25e6, true)
	row.Values[len(row.Values)-1].Value = math.Inf(1) // a diverged output
	if err := o.Write(row); err != nil {
		t.Fatal(err)
	}
	if err := o.Write(testRow("Attention/variant=flash/n=16-2", 6, 1.5e6, false)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"name": "Attention/variant=flash/n=16-2", "iters": 5.0, "variant": "flash", "n": 16.0,
		"causal": false, "ns/op": 1.25e6, "relerr": 2.1e-07, "maxerr": nil, "cpu": "Test CPU @ 2.10GHz"} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if !strings.HasPrefix(lines[0], `{"name":`) {
		t.Errorf("fields not in schema order: %s", lines[0])
	}
	if strings.Contains(lines[1], "relerr") || strings.Contains(lines[1], "window") {
		t.Errorf("absent values written: %s", lines[1])
	}
}

func TestFormatFor(t *testing.T) {
	for _, c := range []struct{ path, flag, want string }{
		{"r.txt", "", "txt"}, {"r.csv", "", "csv"}, {"r.JSON", "", "json"}, {"r.jsonl", "", "json"},
		{"results/latest", "", "txt"}, {"r.csv", "txt", "txt"}, {"r.txt", "csv", "csv"},
	} {
		if got, err := FormatFor(c.path, c.flag); err != nil || string(got) != c.want {
			t.Errorf("FormatFor(%q, %q) = %v, %v; want %s", c.path, c.flag, got, err, c.want)
		}
	}
	if _, err := FormatFor("r.txt", "xml"); err == nil {
		t.Error("-format xml accepted")
	}
}

func TestPrepareNeverTruncates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.txt")
	old := []byte("precious results\n")
	os.WriteFile(path, old, 0o644)

	o, err := Prepare(path, Text, testSchema, false)
	if err != nil {
		t.Fatal(err)
	}
	o.Comment("a comment alone does not open the file before Close")
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, old) {
		t.Fatalf("prepared and closed without rows: file is now %q", b)
	}
	// The first row replaces it.
	o, _ = Prepare(path, Text, testSchema, false)
	if err := o.Write(testRow("Attention/variant=full-2", 1, 1, false)); err != nil {
		t.Fatal(err)
	}
	o.Close()
	if b, _ := os.ReadFile(path); bytes.Contains(b, old) || !bytes.Contains(b, []byte("BenchmarkAttention/variant=full-2 1 1 ns/op")) {
		t.Errorf("after a row: %q", b)
	}

	// Paths that cannot be written are refused before anything runs.
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o644)
	for _, bad := range []string{dir, filepath.Join(notDir, "r.txt"), ""} {
		if _, err := Prepare(bad, Text, testSchema, false); err == nil {
			t.Errorf("Prepare(%q) accepted", bad)
		}
	}
	// A missing directory is created.
	if _, err := Prepare(filepath.Join(dir, "new", "sub", "r.txt"), Text, testSchema, false); err != nil {
		t.Errorf("missing directory: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "new", "sub")); len(entries) != 0 {
		t.Errorf("Prepare left files behind: %v", entries)
	}
}

func TestResumeText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.txt")
	o, _ := Prepare(path, Text, testSchema, false)
	a := "Attention/variant=flash/n=16-2"
	b := "Attention/variant=full/n=16-2"
	for _, name := range []string{a, a, b} {
		if err := o.Write(testRow(name, 1, 100, false)); err != nil {
			t.Fatal(err)
		}
	}
	o.Close()
	// A kill in the middle of a write leaves half a line.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("BenchmarkAttention/variant=full/n=16-2 1 1")
	f.Close()

	// The second run knows no peak: its rows must not inherit the first's.
	schema2 := testSchema
	schema2.Config = slices.DeleteFunc(slices.Clone(testSchema.Config), func(kv KV) bool { return strings.HasPrefix(kv.Key, "peak") })
	o, err := Prepare(path, Text, schema2, true)
	if err != nil {
		t.Fatal(err)
	}
	if d := o.Done(); d[a] != 2 || d[b] != 1 || len(d) != 2 {
		t.Errorf("done = %v, want %s:2 %s:1", d, a, b)
	}
	if err := o.Write(testRow(b, 1, 100, false)); err != nil {
		t.Fatal(err)
	}
	o.Close()

	data, _ := os.ReadFile(path)
	// The cut line is gone: benchfmt reads the file without an error.
	res, _ := parse(t, data)
	if len(res) != 4 {
		t.Fatalf("%d results after resume, want 4", len(res))
	}
	if res[2].GetConfig("peak-gflops") != "12.5" || res[3].GetConfig("peak-gflops") != "" {
		t.Errorf("peak-gflops: %q before, %q after the resume; want 12.5 and none", res[2].GetConfig("peak-gflops"), res[3].GetConfig("peak-gflops"))
	}
	ex, err := ReadExisting(path, Text, schema2)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Done[b] != 2 || ex.Dropped != "" {
		t.Errorf("after resume: done %v, dropped %q; want %s:2 and nothing to drop", ex.Done, ex.Dropped, b)
	}
}

func TestResumeCSVAndJSON(t *testing.T) {
	for _, f := range []Format{CSV, JSON} {
		path := filepath.Join(t.TempDir(), "r."+string(f))
		for run := range 2 {
			o, err := Prepare(path, f, testSchema, run > 0)
			if err != nil {
				t.Fatal(err)
			}
			if run > 0 && o.Done()["x-2"] != 2 {
				t.Errorf("%s: done %v, want x-2: 2", f, o.Done())
			}
			for range 2 {
				if err := o.Write(testRow("x-2", 1, 100, false)); err != nil {
					t.Fatal(err)
				}
			}
			o.Close()
		}
		ex, err := ReadExisting(path, f, testSchema)
		if err != nil || ex.Done["x-2"] != 4 || ex.Dropped != "" {
			t.Errorf("%s: %+v, %v; want 4 rows, one header", f, ex, err)
		}
	}
	// A CSV file with other columns cannot be appended to.
	path := filepath.Join(t.TempDir(), "r.csv")
	os.WriteFile(path, []byte("name,iters,other\n"), 0o644)
	if _, err := Prepare(path, CSV, testSchema, true); err == nil {
		t.Error("resumed a CSV file with different columns")
	}
	// A text file is not JSON lines.
	path = filepath.Join(t.TempDir(), "r.json")
	os.WriteFile(path, []byte("goos: linux\nBenchmarkX 1 1 ns/op\n"), 0o644)
	if _, err := Prepare(path, JSON, testSchema, true); err == nil {
		t.Error("resumed a text file as JSON")
	}
}
