package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/attnbench/attnbench/harness/npy"
)

// tinySweep is a sweep that runs in milliseconds.
var tinySweep = []string{"sweep", "-variants", "full,flash", "-n", "16,32", "-d", "8", "-heads", "1", "-count", "2", "-benchtime", "2x"}

// isolatePeakCache points the peak cache at an empty directory, so tests
// neither read nor write the user's.
func isolatePeakCache(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
}

func readResults(t *testing.T, path string) ([]*benchfmt.Result, benchfmt.UnitMetadataMap) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := benchfmt.NewReader(f, path)
	var out []*benchfmt.Result
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.Result:
			out = append(out, rec.Clone())
		case *benchfmt.SyntaxError:
			t.Errorf("%v", rec)
		}
	}
	return out, r.Units()
}

func countNames(res []*benchfmt.Result) map[string]int {
	m := map[string]int{}
	for _, r := range res {
		m[string(r.Name)]++
	}
	return m
}

func TestSweepBadInput(t *testing.T) {
	isolatePeakCache(t)
	dir := t.TempDir()
	existing := filepath.Join(dir, "r.txt")
	old := []byte("goos: linux\nBenchmarkAttention/variant=full-2 1 5 ns/op\n")
	os.WriteFile(existing, old, 0o644)
	notDir := filepath.Join(dir, "plain")
	os.WriteFile(notDir, nil, 0o644)

	cases := map[string][]string{
		"n -5":                 {"-n", "-5"},
		"n 0":                  {"-n", "0"},
		"n garbage":            {"-n", "512,lots"},
		"d 0":                  {"-d", "0"},
		"heads 0":              {"-heads", "0"},
		"threads -1":           {"-threads", "-1"},
		"causal maybe":         {"-causal", "maybe"},
		"unknown variant":      {"-variants", "full,nope"},
		"unknown knob":         {"-frob", "3"},
		"knob out of range":    {"-buckets", "3"},
		"knob for no variant":  {"-variants", "full", "-window", "64"},
		"shard 3/2":            {"-shard", "3/2"},
		"shard garbage":        {"-shard", "half"},
		"empty shard":          {"-variants", "full", "-n", "16", "-shard", "2/2"},
		"garbage benchtime":    {"-benchtime", "garbage"},
		"zero benchtime":       {"-benchtime", "0s"},
		"count 0":              {"-count", "0"},
		"max-mem garbage":      {"-max-mem", "lots"},
		"err-max-n":            {"-err-max-n", "-1"},
		"pattern-n -1":         {"-pattern-n", "-1"},
		"pattern-n huge":       {"-pattern-n", "5000"},
		"inputs":               {"-inputs", "uniform"},
		"npy missing":          {"-inputs", "npy:" + filepath.Join(dir, "none")},
		"npy with -n":          {"-inputs", "npy:" + dir, "-n", "16"},
		"positional":           {"extra"},
		"format":               {"-format", "xml"},
		"resume to stdout":     {"-o", "-", "-resume"},
		"unwritable -o":        {"-o", filepath.Join(notDir, "r.txt")},
		"-o is a directory":    {"-o", dir},
		"resume other columns": {"-o", existing, "-format", "csv", "-resume"},
	}
	for what, args := range cases {
		full := append([]string{"sweep", "-o", existing}, args...)
		code, out, errOut := runCLI(full...)
		if code != 2 {
			t.Errorf("%s: exit %d, want 2 (stderr %q)", what, code, errOut)
		}
		if lines := strings.Split(strings.TrimSpace(errOut), "\n"); len(lines) != 1 || lines[0] == "" || strings.Contains(errOut, "goroutine") {
			t.Errorf("%s: stderr is not one clear line: %q", what, errOut)
		}
		if out != "" {
			t.Errorf("%s: stdout %q", what, out)
		}
		if b, _ := os.ReadFile(existing); !bytes.Equal(b, old) {
			t.Fatalf("%s: the existing results file was changed to %q", what, b)
		}
	}
	// The messages name the flag.
	for args, want := range map[string]string{
		"-n -5": "-n", "-d 0": "-d", "-buckets 3": "-buckets", "-shard 3/2": "-shard 3/2", "-benchtime garbage": "-benchtime",
	} {
		_, _, errOut := runCLI(append([]string{"sweep", "-o", existing}, strings.Fields(args)...)...)
		if !strings.Contains(errOut, want) {
			t.Errorf("%s: %q does not name %s", args, errOut, want)
		}
	}
}

func TestSweepWritesBenchstatFile(t *testing.T) {
	isolatePeakCache(t)
	path := filepath.Join(t.TempDir(), "results", "r.txt")
	code, _, errOut := runCLI(append(tinySweep, "-o", path)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	res, units := readResults(t, path)
	names := countNames(res)
	if len(res) != 8 || len(names) != 4 {
		t.Fatalf("%d rows of %d cases, want 8 of 4: %v", len(res), len(names), names)
	}
	for _, u := range []string{"sec/op", "GFLOP/s", "%peak", "peak-B/op", "B/op", "allocs/op", "relerr", "maxerr"} {
		if units.GetBetter(u) == 0 {
			t.Errorf("no Unit metadata for %s", u)
		}
	}
	r := res[0]
	for _, k := range []string{"goos", "goarch", "cpu", "kernels", "go", "attnbench"} {
		if r.GetConfig(k) == "" {
			t.Errorf("no %s: line", k)
		}
	}
	// -count and -o say how the sweep ran, not what it measured.
	if got, want := r.GetConfig("command"), "attnbench sweep -benchtime 2x -d 8 -heads 1 -n 16,32 -variants full,flash"; got != want {
		t.Errorf("command: %q, want %q", got, want)
	}
	if r.GetConfig("peak-gflops") != "" {
		t.Error("peak-gflops without a measured peak")
	}
	for _, v := range r.Values {
		if v.Unit == "%peak" {
			t.Errorf("a %%peak value without a measured peak")
		}
	}
	if !strings.Contains(errOut, "4 cases") {
		t.Errorf("summary line: %q", errOut)
	}

	// Run again without -resume: the file is replaced, not appended to.
	if code, _, errOut := runCLI(append(tinySweep, "-o", path)...); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, errOut)
	}
	if res, _ := readResults(t, path); len(res) != 8 {
		t.Errorf("second run without -resume: %d rows, want 8", len(res))
	}
}

// TestSweepResume cuts a results file short, as a kill does, and resumes.
func TestSweepResume(t *testing.T) {
	isolatePeakCache(t)
	path := filepath.Join(t.TempDir(), "r.txt")
	if code, _, errOut := runCLI(append(tinySweep, "-o", path)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(b), "\n")
	// Drop the last 3 rows and leave half of the one before (up to a
	// value without its unit).
	half := strings.Join(strings.Fields(lines[len(lines)-5])[:5], " ")
	cut := strings.Join(lines[:len(lines)-5], "") + half
	os.WriteFile(path, []byte(cut), 0o644)

	code, _, errOut := runCLI(append(tinySweep, "-o", path, "-resume")...)
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "2 already done") {
		t.Errorf("summary %q: want 2 cases already done", errOut)
	}
	if !strings.Contains(errOut, "leaving out the unfinished last line of "+path+": "+strconv.Quote(half[:40])[:40]) {
		t.Errorf("stderr %q does not say which cut line is left out", errOut)
	}
	f, _ := os.ReadFile(path)
	r := benchfmt.NewReader(bytes.NewReader(f), path)
	count := map[string]int{}
	bad := 0
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.Result:
			count[string(rec.Name)]++
		case *benchfmt.SyntaxError:
			bad++
		}
	}
	if len(count) != 4 || bad != 0 || strings.Contains(string(f), half) {
		t.Errorf("%d cases, %d bad lines; want 4 and no trace of the cut line", len(count), bad)
	}
	for name, n := range count {
		if n != 2 {
			t.Errorf("%s: %d rows after resume, want 2", name, n)
		}
	}
	// Resuming a complete file runs nothing.
	code, _, errOut = runCLI(append(tinySweep, "-o", path, "-resume")...)
	if code != 0 || !strings.Contains(errOut, "4 already done") || !strings.Contains(errOut, "0 rows") {
		t.Errorf("resume of a complete file: exit %d, %q", code, errOut)
	}
}

func TestSweepShardsMergeByConcatenation(t *testing.T) {
	isolatePeakCache(t)
	dir := t.TempDir()
	var merged []byte
	for _, k := range []string{"1/3", "2/3", "3/3"} {
		path := filepath.Join(dir, strings.ReplaceAll(k, "/", "-of-")+".txt")
		if code, _, errOut := runCLI(append(tinySweep, "-o", path, "-shard", k)...); code != 0 {
			t.Fatalf("shard %s: exit %d: %s", k, code, errOut)
		}
		b, _ := os.ReadFile(path)
		merged = append(merged, b...)
	}
	all := filepath.Join(dir, "all.txt")
	os.WriteFile(all, merged, 0o644)
	res, _ := readResults(t, all)
	count := countNames(res)
	if len(count) != 4 {
		t.Errorf("merged shards hold %d cases, want 4", len(count))
	}
	for name, n := range count {
		if n != 2 {
			t.Errorf("%s: %d rows, want 2", name, n)
		}
	}
	// All shards share one command line, so benchstat keeps one table.
	for _, r := range res {
		if r.GetConfig("command") != res[0].GetConfig("command") {
			t.Errorf("command lines differ between shards: %q, %q", r.GetConfig("command"), res[0].GetConfig("command"))
		}
	}
}

func TestSweepCSVAndJSON(t *testing.T) {
	isolatePeakCache(t)
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "r.csv")
	if code, _, errOut := runCLI(append(tinySweep, "-o", csvPath)...); code != 0 {
		t.Fatalf("csv: exit %d: %s", code, errOut)
	}
	f, _ := os.Open(csvPath)
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 9 {
		t.Fatalf("%d CSV records, want header + 8", len(recs))
	}
	for _, col := range []string{"name", "iters", "variant", "causal", "batch", "heads", "n", "m", "d", "threads", "inputs", "block-q", "window", "ns/op", "GFLOP/s", "peak-B/op", "B/op", "allocs/op", "relerr", "maxerr", "cpu", "kernels"} {
		if !slices.Contains(recs[0], col) {
			t.Errorf("CSV has no %s column: %v", col, recs[0])
		}
	}

	code, out, errOut := runCLI(append(tinySweep, "-o", "-", "-format", "json")...)
	if code != 0 {
		t.Fatalf("json: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 8 {
		t.Fatalf("%d JSON lines, want 8", len(lines))
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &row); err != nil {
		t.Fatal(err)
	}
	if pb, _ := row["peak-B/op"].(float64); row["variant"] != "full" || row["n"] != 16.0 || row["d"] != 8.0 || row["ns/op"] == nil || pb < 4*16*16 {
		t.Errorf("JSON row %v", row)
	}
}

func TestCPUAndPeak(t *testing.T) {
	isolatePeakCache(t)
	code, out, errOut := runCLI("cpu")
	if code != 0 || !strings.Contains(out, "kernels:") || !strings.Contains(out, "in use:") {
		t.Errorf("cpu: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI("peak", "-time", "10ms")
	if code != 0 || !strings.Contains(out, "GFLOP/s") || !strings.Contains(out, "GB/s") {
		t.Errorf("peak: exit %d\n%s", code, out)
	}
	// The sweep now finds the cached peak and reports %peak.
	path := filepath.Join(t.TempDir(), "r.txt")
	if code, _, errOut := runCLI(append(tinySweep, "-o", path)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	res, _ := readResults(t, path)
	if res[0].GetConfig("peak-gflops") == "" || res[0].GetConfig("peak-gflops-all") == "" {
		t.Error("no peak config lines with a cached peak")
	}
	if !slices.ContainsFunc(res[0].Values, func(v benchfmt.Value) bool { return v.Unit == "%peak" && v.Value > 0 }) {
		t.Errorf("no %%peak: %v", res[0].Values)
	}
	if code, _, _ := runCLI("peak", "-kernels", "nope"); code != 2 {
		t.Errorf("peak -kernels nope: exit %d, want 2", code)
	}
}

func TestSweepNPYInputs(t *testing.T) {
	isolatePeakCache(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 6))
	for name, s := range map[string][]int{"q.npy": {2, 24, 8}, "k.npy": {2, 40, 8}, "v.npy": {2, 40, 8}} {
		if err := npy.Save(filepath.Join(dir, name), randomTensor(rng, 1, s[0], s[1], s[2], 1), s); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "r.txt")
	code, _, errOut := runCLI("sweep", "-variants", "full,flash", "-inputs", "npy:"+dir, "-count", "1", "-benchtime", "1x", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	res, _ := readResults(t, out)
	if len(res) != 2 {
		t.Fatalf("%d rows, want 2", len(res))
	}
	want := "/heads=2/n=24/m=40/d=8/inputs=npy:" + filepath.Base(dir)
	for _, r := range res {
		if !strings.Contains(string(r.Name), want) {
			t.Errorf("%s does not carry the files' shape and name %s", r.Name, want)
		}
	}
}

// Without -inputs, cases are timed on gaussian inputs and their error
// figures come from llm inputs: every name says err-inputs=llm, and the
// attention maps are written beside the results and named in a config
// line. With -inputs gaussian there is neither key nor change of inputs.
func TestSweepErrorInputsAndPatterns(t *testing.T) {
	isolatePeakCache(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "r.txt")
	args := []string{"sweep", "-variants", "full,window", "-n", "32", "-d", "8", "-heads", "2", "-count", "1", "-benchtime", "1x", "-pattern-n", "24", "-o", path}
	if code, _, errOut := runCLI(args...); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	res, units := readResults(t, path)
	for _, r := range res {
		if !strings.Contains(string(r.Name), "/err-inputs=llm") {
			t.Errorf("%s: no err-inputs=llm key", r.Name)
		}
		if got := r.GetConfig("patterns"); got != ".patterns.json.gz" {
			t.Errorf("%s: patterns config %q", r.Name, got)
		}
		if strings.Contains(string(r.Name), "variant=window") {
			if _, ok := r.Value("coverage"); !ok {
				t.Errorf("%s: no coverage", r.Name)
			}
		}
	}
	if md := units.Get("coverage", "better"); md == nil || md.Value != "higher" {
		t.Errorf("coverage's direction %v, want higher", md)
	}
	if _, err := os.Stat(filepath.Join(dir, "r.patterns.json.gz")); err != nil {
		t.Errorf("no attention-map file: %v", err)
	}

	gauss := filepath.Join(dir, "g.txt")
	if code, _, errOut := runCLI(append(args[:len(args)-1], gauss, "-inputs", "gaussian")...); code != 0 {
		t.Fatalf("-inputs gaussian: exit %d: %s", code, errOut)
	}
	res, _ = readResults(t, gauss)
	for _, r := range res {
		if strings.Contains(string(r.Name), "err-inputs") || strings.Contains(string(r.Name), "inputs=") {
			t.Errorf("-inputs gaussian: %s has an inputs key", r.Name)
		}
	}
}
