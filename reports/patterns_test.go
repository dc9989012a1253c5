package reports

import (
	"bytes"
	"compress/gzip"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixtureMaps is a hand-written attention-map file: 3 queries, 4 keys; the
// window map leaves keys out (-32768) of rows 0 and 2.
const fixtureMaps = `{"format":1,"inputs":"llm","seed":7,"b":1,"h":2,"n":3,"m":4,"d":8,"head":0,"causal":false,
"maps":[
 {"name":"exact","options":"","log10":[-30,-60,-90,-300, -10,-20,-150,-700, 0,-400,-500,-600]},
 {"name":"window","options":"window=1","coverage":0.75,"log10":[-20,-40,-32768,-32768, -10,-20,-150,-32768, -32768,-32768,-50,-5]}
],
"notes":["lsh: no map at n=3: test note"]}`

// fixtureResults names the map file and carries coverage values.
const fixtureResults = `cpu: Fixture CPU
kernels: generic
patterns: maps.json.gz
Unit coverage better=higher
BenchmarkAttention/variant=window/causal=false/batch=1/heads=2/n=64/d=8/err-inputs=llm/window=1-2 1 2000 ns/op 0.5 relerr 0.625 coverage
BenchmarkAttention/variant=window/causal=false/batch=1/heads=2/n=128/d=8/err-inputs=llm/window=1-2 1 4000 ns/op 0.6 relerr 0.5 coverage
BenchmarkAttention/variant=window/causal=false/batch=1/heads=2/n=64/d=8/err-inputs=llm/window=2-2 1 3000 ns/op 0.3 relerr 0.875 coverage
BenchmarkAttention/variant=window/causal=false/batch=1/heads=2/n=128/d=8/err-inputs=llm/window=2-2 1 5000 ns/op 0.4 relerr 0.75 coverage
`

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The report draws the patterns plot from the map file its results name,
// resolved beside the results file, and shows coverage in the summary and
// in its own plots.
func TestPatternsFromFixtureFile(t *testing.T) {
	// As a sweep names it (a suffix replacing the results file's
	// extension), and as a path relative to the results file.
	for _, form := range []struct{ line, file string }{{".patterns.json.gz", "r.patterns.json.gz"}, {"maps.json.gz", "maps.json.gz"}} {
		t.Run(form.line, func(t *testing.T) { testPatternsFromFixture(t, form.line, form.file) })
	}
}

func testPatternsFromFixture(t *testing.T, line, file string) {
	dir := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), gzipped(t, fixtureMaps), 0o644); err != nil {
		t.Fatal(err)
	}
	results := writeFile(t, dir, "r.txt", strings.Replace(fixtureResults, "patterns: maps.json.gz", "patterns: "+line, 1))
	out := t.TempDir()
	res, err := Generate(out, []string{results}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"patterns.png", "patterns.svg", "coverage-n.png", "coverage-window.png"} {
		if !slices.Contains(res.Files, filepath.Join(out, name)) {
			t.Errorf("no %s among %v (notes %q)", name, res.Files, res.Notes)
		}
	}
	checkImages(t, out)
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "lsh: no map at n=3: test note") }) {
		t.Errorf("the map file's note is not in the report's notes %q", res.Notes)
	}
	svg := readFile(t, filepath.Join(out, "patterns.svg"))
	for _, want := range []string{"exact softmax", "window (window=1)", "coverage 0.750", "head 0 of 2, n=3, d=8, non-causal, llm inputs (seed 7)"} {
		if !strings.Contains(svg, want) {
			t.Errorf("patterns.svg lacks %q", want)
		}
	}
	md := readFile(t, filepath.Join(out, "summary.md"))
	if !strings.Contains(md, "| coverage |") || !strings.Contains(md, "| 0.500 |") || !strings.Contains(md, "| 0.750 |") {
		t.Errorf("summary.md lacks the coverage column with 0.500 and 0.750:\n%s", md)
	}
	html := readFile(t, filepath.Join(out, "index.html"))
	if !strings.Contains(html, "Attention maps") || !strings.Contains(html, "patterns.png") {
		t.Error("index.html has no attention-maps row")
	}
	img, err := png.Decode(bytes.NewReader(readBytes(t, filepath.Join(out, "patterns.png"))))
	if err != nil {
		t.Fatal(err)
	}
	// Two maps side by side: wider than tall.
	if b := img.Bounds(); b.Dx() <= b.Dy() {
		t.Errorf("patterns.png is %v: want two maps side by side", b)
	}
}

// The grid puts query 0 at the top and marks keys outside the candidate
// set as NaN (drawn white), every other cell at log10 of its weight.
func TestPatternGrid(t *testing.T) {
	p := decodeFixtureMaps(t)
	g := patternGrid{p.N, p.M, p.Maps[1].Log10}
	if c, r := g.Dims(); c != 4 || r != 3 {
		t.Fatalf("dims %d×%d, want 4 columns (keys) × 3 rows (queries)", c, r)
	}
	// Row r = 2 is query 0: keys 0, 1 in, 2, 3 out.
	want := [][]float64{
		{math.NaN(), math.NaN(), -0.5, -0.05}, // query 2
		{-0.1, -0.2, -1.5, math.NaN()},        // query 1
		{-0.2, -0.4, math.NaN(), math.NaN()},  // query 0
	}
	for r := range 3 {
		for c := range 4 {
			got, w := g.Z(c, r), want[r][c]
			if math.IsNaN(w) != math.IsNaN(got) || !math.IsNaN(w) && math.Abs(got-w) > 1e-12 {
				t.Errorf("Z(%d, %d) = %v, want %v", c, r, got, w)
			}
		}
	}
}

// A map file that is missing or malformed costs the plot, not the report.
func TestPatternsBadFile(t *testing.T) {
	for name, content := range map[string][]byte{
		"missing":    nil,
		"not gzip":   []byte(fixtureMaps),
		"cell count": nil, // filled below
	} {
		dir := t.TempDir()
		switch name {
		case "not gzip":
			os.WriteFile(filepath.Join(dir, "maps.json.gz"), content, 0o644)
		case "cell count":
			os.WriteFile(filepath.Join(dir, "maps.json.gz"), gzipped(t, strings.Replace(fixtureMaps, "-30,-60,", "", 1)), 0o644)
		}
		results := writeFile(t, dir, "r.txt", fixtureResults)
		res, err := Generate(t.TempDir(), []string{results}, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "no patterns plot") }) {
			t.Errorf("%s: no note saying the patterns plot is missing (notes %q)", name, res.Notes)
		}
	}
}

func decodeFixtureMaps(t *testing.T) *patternsFile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.json.gz")
	if err := os.WriteFile(path, gzipped(t, fixtureMaps), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := readPatterns(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A maps file that decompresses without end (a gzip bomb) is refused once
// it passes the cap, without reading it all.
func TestPatternsGzipBombRefused(t *testing.T) {
	defer func(n int64) { patternMaxBytes = n }(patternMaxBytes)
	patternMaxBytes = 4 << 20
	path := filepath.Join(t.TempDir(), "bomb.patterns.json.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte(`{"format":1,"notes":["`))
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for range patternMaxBytes>>20 + 2 {
		zw.Write(chunk)
	}
	zw.Close()
	f.Close()
	if _, err := readPatterns(path); err == nil || !strings.Contains(err.Error(), "uncompressed") {
		t.Fatalf("readPatterns on a gzip bomb: %v, want the size refusal", err)
	}
}

// A maps path naming a device (it comes from a results file) is refused
// before it is opened.
func TestPatternsDeviceRefused(t *testing.T) {
	if _, err := readPatterns(os.DevNull); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("readPatterns(%s): %v, want a refusal", os.DevNull, err)
	}
}
