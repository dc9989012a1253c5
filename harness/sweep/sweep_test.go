package sweep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/attnbench/attnbench/harness/machine"
	"github.com/attnbench/attnbench/harness/results"
	"github.com/attnbench/attnbench/harness/timing"
	"github.com/attnbench/attnbench/internal/setting"
	"github.com/attnbench/attnbench/variants"
)

// fakeNow is the clock the fake variant advances.
var fakeNow time.Duration

func fakeClock() time.Duration { return fakeNow }

// fakeCost is the fake variant's time per Forward: 40µs per (query, key)
// pair, so that a sample of a few hundred fake milliseconds takes a few
// real calls.
func fakeCost(s variants.Shape) time.Duration {
	return time.Duration(s.B*s.H*s.N*s.M) * 40 * time.Microsecond
}

// fakeVariant has a known cost on the fake clock, takes 4·N·M bytes of
// workspace, reads the window parameter and does not support m ≠ n.
type fakeVariant struct{}

func init() { variants.Register("fake", func() variants.Variant { return fakeVariant{} }) }

func (fakeVariant) Name() string     { return "fake" }
func (fakeVariant) Exact() bool      { return false }
func (fakeVariant) Params() []string { return []string{"window"} }
func (fakeVariant) Validate(s variants.Shape, opt variants.Options) error {
	if s.M != s.N {
		return fmt.Errorf("m ≠ n: %w", variants.ErrUnsupported)
	}
	if opt.Window > 1000 {
		return fmt.Errorf("-window %d: larger than the fake allows", opt.Window)
	}
	return s.Check()
}
func (fakeVariant) Forward(q, k, v, out variants.Tensor, opt variants.Options, ws *variants.Workspace) error {
	s := variants.Shape{B: q.B, H: q.H, N: q.S, M: k.S, D: q.D}
	buf := ws.Float32s(s.N * s.M)
	copy(out.Data, v.Data[:len(out.Data)]) // output = V: a known, wrong answer
	ws.PutFloat32s(buf)
	fakeNow += fakeCost(s)
	return nil
}
func (fakeVariant) Reference(q, k, v variants.Tensor, opt variants.Options) ([]float64, error) {
	return nil, errors.New("fake")
}
func (fakeVariant) Naive(q, k, v variants.Tensor, opt variants.Options) ([]float32, error) {
	return nil, errors.New("fake")
}
func (fakeVariant) Flops(s variants.Shape, opt variants.Options) float64 {
	return float64(2 * s.B * s.H * s.N * s.M * s.D)
}
func (fakeVariant) WorkspaceBytes(s variants.Shape, opt variants.Options) int64 {
	return 4 * int64(s.N) * int64(s.M)
}

func baseSpec(vs ...string) Spec {
	return Spec{Variants: vs, N: []int{16}, D: []int{8}, Heads: []int{1}, Batch: []int{1},
		Causal: []bool{false}, Threads: []int{0}, Inputs: "gaussian", InputSeed: 1}
}

func names(cases []Case) []string {
	var out []string
	for _, c := range cases {
		out = append(out, c.Name)
	}
	return out
}

func procs() string {
	if p := runtime.GOMAXPROCS(0); p != 1 {
		return fmt.Sprintf("-%d", p)
	}
	return ""
}

func TestNames(t *testing.T) {
	spec := baseSpec("flash", "fake")
	spec.N, spec.M, spec.D, spec.Heads = []int{64}, []int{64, 32}, []int{16}, []int{8}
	spec.Causal, spec.Threads = []bool{true}, []int{0, 1}
	spec.Inputs = "local"
	spec.Knobs = []Knob{{"seed", []string{"7"}}, {"window", []string{"16"}}, {"block-q", []string{"32"}}}
	cases, skipped, err := Expand(spec)
	if err != nil {
		t.Fatal(err)
	}
	p := procs()
	want := []string{
		"Attention/variant=flash/causal=true/batch=1/heads=8/n=64/d=16/inputs=local/block-q=32/seed=7" + p,
		"Attention/variant=fake/causal=true/batch=1/heads=8/n=64/d=16/inputs=local/window=16/seed=7" + p,
		"Attention/variant=flash/causal=true/batch=1/heads=8/n=64/d=16/threads=1/inputs=local/block-q=32/seed=7" + p,
		"Attention/variant=fake/causal=true/batch=1/heads=8/n=64/d=16/threads=1/inputs=local/window=16/seed=7" + p,
		"Attention/variant=flash/causal=true/batch=1/heads=8/n=64/m=32/d=16/inputs=local/block-q=32/seed=7" + p,
		"Attention/variant=flash/causal=true/batch=1/heads=8/n=64/m=32/d=16/threads=1/inputs=local/block-q=32/seed=7" + p,
	}
	if got := names(cases); !slices.Equal(got, want) {
		t.Errorf("names:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// fake does not support m ≠ n: skipped by design, not an error.
	if len(skipped) != 2 || !strings.Contains(skipped[0].Name, "variant=fake") || !errors.Is(skipped[0].Err, variants.ErrUnsupported) {
		t.Errorf("skipped = %+v", skipped)
	}
	// The CSV/JSON keys: defaults filled in, parameters a variant does not
	// read left empty.
	k := cases[0].Keys
	if k["m"] != "64" || k["threads"] != fmt.Sprint(runtime.GOMAXPROCS(0)) || k["block-k"] != "0" || k["window"] != "" || k["seed"] != "7" || k["inputs"] != "local" {
		t.Errorf("keys of %s: %v", cases[0].Name, k)
	}
	// The default case has only the fixed keys.
	cases, _, _ = Expand(baseSpec("full"))
	if want := "Attention/variant=full/causal=false/batch=1/heads=1/n=16/d=8" + p; cases[0].Name != want {
		t.Errorf("default name %s, want %s", cases[0].Name, want)
	}
}

func TestKnobsOnlyForVariantsThatReadThem(t *testing.T) {
	spec := baseSpec("full", "flash", "fake")
	spec.N = []int{16, 32}
	spec.Knobs = []Knob{{"window", []string{"8", "16"}}, {"block-q", []string{"16", "32"}}, {"seed", []string{"0", "7"}}}
	cases, _, err := Expand(spec)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, c := range cases {
		count[c.Variant.Name()]++
		if c.Variant.Name() != "fake" && c.Opt.Window != variants.DefaultOptions().Window {
			t.Errorf("%s: window set on a variant that does not read it", c.Name)
		}
		if c.Variant.Name() != "flash" && strings.Contains(c.Name, "block-q") {
			t.Errorf("%s: block-q on a variant that does not read it", c.Name)
		}
	}
	// Per n: full 2 (seed), flash 2×2 (block-q, seed), fake 2×2 (window, seed).
	if count["full"] != 4 || count["flash"] != 8 || count["fake"] != 8 {
		t.Errorf("cases per variant %v, want full 4, flash 8, fake 8", count)
	}

	// The order of the knob flags does not change the case order.
	spec2 := spec
	spec2.Knobs = []Knob{spec.Knobs[2], spec.Knobs[0], spec.Knobs[1]}
	cases2, _, err := Expand(spec2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names(cases), names(cases2)) {
		t.Error("knob order changed the case order")
	}
}

func TestExpandErrors(t *testing.T) {
	for what, c := range map[string]struct {
		edit func(*Spec)
		want string
	}{
		"unknown variant":    {func(s *Spec) { s.Variants = []string{"full", "nope"} }, `unknown variant "nope"`},
		"variant twice":      {func(s *Spec) { s.Variants = []string{"full", "full"} }, "full given twice"},
		"no variant":         {func(s *Spec) { s.Variants = nil }, "variants: no variant given"},
		"n = 0":              {func(s *Spec) { s.N = []int{0} }, "n 0: must be ≥ 1"},
		"n = -5":             {func(s *Spec) { s.N = []int{512, -5} }, "n -5: must be ≥ 1"},
		"d = 0":              {func(s *Spec) { s.D = []int{0} }, "d 0: must be ≥ 1"},
		"m = 0":              {func(s *Spec) { s.M = []int{0} }, "m 0: must be ≥ 1"},
		"heads":              {func(s *Spec) { s.Heads = nil }, "heads: no value"},
		"threads":            {func(s *Spec) { s.Threads = []int{-1} }, "threads -1: must be ≥ 0"},
		"n twice":            {func(s *Spec) { s.N = []int{16, 16} }, "n: 16 given twice"},
		"unknown knob":       {func(s *Spec) { s.Knobs = []Knob{{"frob", []string{"1"}}} }, "frob: unknown parameter"},
		"knob out of range":  {func(s *Spec) { s.Knobs = []Knob{{"buckets", []string{"4", "3"}}} }, "buckets 3: must be an even number"},
		"knob for no one":    {func(s *Spec) { s.Knobs = []Knob{{"block-q", []string{"16"}}} }, "block-q: does not apply to full, fake"},
		"knob value twice":   {func(s *Spec) { s.Knobs = []Knob{{"window", []string{"8", "8"}}} }, "window: 8 given twice"},
		"invalid for a case": {func(s *Spec) { s.Knobs = []Knob{{"window", []string{"2000"}}} }, "larger than the fake allows"},
		"inputs":             {func(s *Spec) { s.Inputs = "uniform" }, "inputs uniform"},
		"npy without dir":    {func(s *Spec) { s.Inputs = "npy:" }, "no directory"},
		"all unsupported":    {func(s *Spec) { s.Variants = []string{"fake"}; s.M = []int{8} }, "no case to run"},
	} {
		spec := baseSpec("full", "fake")
		c.edit(&spec)
		_, _, err := Expand(spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", what, err, c.want)
		}
	}
}

func TestShardPartition(t *testing.T) {
	spec := baseSpec("full", "flash", "fake")
	spec.N = []int{16, 32, 48, 64, 80, 96, 112}
	spec.Causal = []bool{false, true}
	cases, _, err := Expand(spec)
	if err != nil {
		t.Fatal(err)
	}
	for shards := 1; shards <= len(cases)+2; shards++ {
		seen := map[string]int{}
		for k := 1; k <= shards; k++ {
			part := Shard(cases, k, shards)
			if len(part) < len(cases)/shards || len(part) > len(cases)/shards+1 {
				t.Errorf("%d/%d: %d cases of %d: unbalanced", k, shards, len(part), len(cases))
			}
			for _, c := range part {
				seen[c.Name]++
			}
		}
		if len(seen) != len(cases) {
			t.Errorf("%d shards cover %d of %d cases", shards, len(seen), len(cases))
		}
		for name, n := range seen {
			if n != 1 {
				t.Errorf("%d shards: %s in %d shards", shards, name, n)
			}
		}
	}
	for _, bad := range []string{"3/2", "0/2", "1/0", "2", "a/b", "1/2/3", "-1/2"} {
		if _, _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	if k, n, err := ParseShard("2/4"); err != nil || k != 2 || n != 4 {
		t.Errorf("ParseShard(2/4) = %d, %d, %v", k, n, err)
	}
}

// memSink collects rows in memory.
type memSink struct {
	rows     []results.Row
	comments []string
	done     map[string]int
	after    int // cancel after this many rows (0: never)
	cancel   context.CancelFunc
}

func (s *memSink) Write(r results.Row) error {
	s.rows = append(s.rows, r)
	if s.after > 0 && len(s.rows) == s.after {
		s.cancel()
	}
	return nil
}
func (s *memSink) Comment(line string)  { s.comments = append(s.comments, line) }
func (s *memSink) Done() map[string]int { return s.done }

func value(r results.Row, unit string) (float64, bool) { return r.Get(unit) }

func TestRunFakeVariantKnownCost(t *testing.T) {
	spec := baseSpec("fake")
	spec.N = []int{16, 32}
	cases, _, err := Expand(spec)
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{done: map[string]int{}}
	peak := &machine.Peak{Cores: runtime.GOMAXPROCS(0), GFLOPS1: 1e-5, GFLOPSAll: 2e-5}
	var notes bytes.Buffer
	sum, err := Run(context.Background(), cases, sink, Config{
		Count: 3, BenchTime: timing.BenchTime{D: 100 * time.Millisecond}, ErrMaxN: 16, Clock: fakeClock, Peak: peak,
		Progress: NewProgress(&notes, Quiet),
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 6 || len(sink.rows) != 6 || sum.Ran != 2 {
		t.Fatalf("summary %+v, %d rows; want 6 rows of 2 cases", sum, len(sink.rows))
	}
	for i, r := range sink.rows {
		c := cases[i/3]
		if r.Name != c.Name {
			t.Errorf("row %d: %s, want %s", i, r.Name, c.Name)
		}
		cost := float64(fakeCost(c.Shape).Nanoseconds())
		flops := fakeVariant{}.Flops(c.Shape, c.Opt)
		ns, _ := value(r, "ns/op")
		gf, _ := value(r, "GFLOP/s")
		pct, _ := value(r, "%peak")
		pb, _ := value(r, "peak-B/op")
		if ns != cost || math.Abs(gf-flops/cost) > 1e-3*gf || math.Abs(pct-100*gf/2e-5) > 1e-3*pct {
			t.Errorf("row %d: %v ns/op, %v GFLOP/s, %v %%peak; want %v, %v, %v", i, ns, gf, pct, cost, flops/cost, 100*flops/cost/2e-5)
		}
		if pb != float64(4*c.Shape.N*c.Shape.M) {
			t.Errorf("row %d: peak-B/op %v, want %d", i, pb, 4*c.Shape.N*c.Shape.M)
		}
		// Every sample lasts at least the benchmark time.
		if float64(r.Iters)*ns < 100e6 {
			t.Errorf("row %d: %d iterations of %v ns is under -benchtime", i, r.Iters, ns)
		}
		// The approximation error only where n ≤ ErrMaxN.
		_, hasErr := value(r, "relerr")
		if hasErr != (c.Shape.N <= 16) {
			t.Errorf("row %d (n=%d): relerr present = %v", i, c.Shape.N, hasErr)
		}
		if re, _ := value(r, "relerr"); hasErr && !(re > 0.1) {
			t.Errorf("row %d: relerr %v for an output that is V, not attention", i, re)
		}
	}
	// Above 100 %peak the peak must have been measured low: said once.
	if n := strings.Count(notes.String(), "the peak was measured too low"); n != 1 {
		t.Errorf("%d warnings about an impossible %%peak, want 1: %q", n, notes.String())
	}
}

func TestRunRealVariants(t *testing.T) {
	spec := baseSpec("full", "flash")
	// From n = 256 on, flash's tiles (64 × 256 at d = 8) no longer shrink
	// to fit n.
	spec.N, spec.Threads = []int{256, 512}, []int{1}
	cases, _, err := Expand(spec)
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{done: map[string]int{}}
	if _, err := Run(context.Background(), cases, sink, Config{Count: 1, BenchTime: timing.BenchTime{N: 2}, ErrMaxN: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	peak := map[string]float64{}
	for _, r := range sink.rows {
		re, ok := value(r, "relerr")
		if !ok || re > 1e-5 {
			t.Errorf("%s: relerr %v of an exact variant", r.Name, re)
		}
		if _, ok := value(r, "%peak"); ok {
			t.Errorf("%s: %%peak without a known peak", r.Name)
		}
		pb, _ := value(r, "peak-B/op")
		peak[r.Keys["variant"]+"/"+r.Keys["n"]] = pb
	}
	// Measured, not declared: full holds the N×M scores (plus tiles that
	// do not grow with n), flash a few tiles.
	if d := peak["full/512"] - peak["full/256"]; d != 4*(512*512-256*256) || peak["full/256"] < 4*256*256 {
		t.Errorf("full's peak-B/op %v, %v; want 4·n² plus a constant", peak["full/256"], peak["full/512"])
	}
	if peak["flash/256"] == 0 || peak["flash/256"] != peak["flash/512"] {
		t.Errorf("flash's peak-B/op %v, %v; want constant in n", peak["flash/256"], peak["flash/512"])
	}
}

func TestMemorySkip(t *testing.T) {
	spec := baseSpec("fake")
	spec.N = []int{16, 512}
	cases, _, err := Expand(spec)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	sink := &memSink{done: map[string]int{}}
	limit := EstimateBytes(cases[0], 0)
	sum, err := Run(context.Background(), cases, sink, Config{
		Count: 1, BenchTime: timing.BenchTime{N: 1}, MaxMem: limit, Clock: fakeClock, Progress: NewProgress(&progress, Quiet),
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 1 || len(sink.rows) != 1 || sink.rows[0].Name != cases[0].Name {
		t.Fatalf("summary %+v, rows %d", sum, len(sink.rows))
	}
	want := fmt.Sprintf("skipped: %s: needs %s > -max-mem %s", cases[1].Name, FormatBytes(EstimateBytes(cases[1], 0)), FormatBytes(limit))
	if len(sink.comments) != 1 || sink.comments[0] != want {
		t.Errorf("comments %q, want %q", sink.comments, want)
	}
	if !strings.Contains(progress.String(), want) {
		t.Errorf("stderr %q does not say why the case was skipped", progress.String())
	}
	// 512² pairs of 4 bytes is 1 MiB of workspace alone.
	if e := EstimateBytes(cases[1], 0); e < 1<<20 {
		t.Errorf("estimate %d for a 1 MiB workspace", e)
	}
}

// TestResumeAfterInterrupt stops a sweep after a few rows, as Ctrl-C
// does, then resumes it from the file: every case ends with exactly Count
// rows.
func TestResumeAfterInterrupt(t *testing.T) {
	spec := baseSpec("fake", "full")
	spec.N = []int{16, 24, 32}
	cases, _, err := Expand(spec)
	if err != nil {
		t.Fatal(err)
	}
	schema := Schema(nil, "attnbench sweep test")
	path := filepath.Join(t.TempDir(), "r.txt")
	cfg := Config{Count: 3, BenchTime: timing.BenchTime{N: 2}, Clock: fakeClock}

	out, err := results.Prepare(path, results.Text, schema, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopper := &stopAfter{Output: out, n: 7, cancel: cancel}
	_, err = Run(ctx, cases, stopper, cfg)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	out.Close()
	if n := countRows(t, path); n != 7 {
		t.Fatalf("%d rows after the interruption, want the 7 finished", n)
	}

	out, err = results.Prepare(path, results.Text, schema, true)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Run(context.Background(), cases, out, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Finish(); err != nil {
		t.Fatal(err)
	}
	if sum.Resumed != 2 || sum.Rows != 3*len(cases)-7 {
		t.Errorf("resume: %+v; want 2 cases complete and %d rows", sum, 3*len(cases)-7)
	}
	ex, err := results.ReadExisting(path, results.Text, schema)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if ex.Done[c.Name] != 3 {
			t.Errorf("%s: %d rows, want 3", c.Name, ex.Done[c.Name])
		}
	}
	if len(ex.Done) != len(cases) || ex.Dropped != "" {
		t.Errorf("%d names, unfinished line %q", len(ex.Done), ex.Dropped)
	}
}

type stopAfter struct {
	*results.Output
	n      int
	cancel context.CancelFunc
}

func (s *stopAfter) Write(r results.Row) error {
	if err := s.Output.Write(r); err != nil {
		return err
	}
	if s.n--; s.n == 0 {
		s.cancel()
	}
	return nil
}

func countRows(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := benchfmt.NewReader(f, path)
	n := 0
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.Result:
			n++
		case *benchfmt.SyntaxError:
			t.Errorf("%v", rec)
		}
	}
	return n
}

func TestNPYInputs(t *testing.T) {
	dir := t.TempDir()
	shapes := map[string][4]int{"q.npy": {1, 2, 12, 8}, "k.npy": {1, 2, 20, 8}, "v.npy": {1, 2, 20, 8}}
	var loaded []string
	spec := baseSpec("full", "fake")
	spec.Inputs = "npy:" + dir + "/acts"
	spec.LoadNPY = func(path string) (variants.Tensor, error) {
		loaded = append(loaded, filepath.Base(path))
		s := shapes[filepath.Base(path)]
		t := variants.NewTensor(s[0], s[1], s[2], s[3])
		for i := range t.Data {
			t.Data[i] = float32(i%7) / 7
		}
		return t, nil
	}
	cases, skipped, err := Expand(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(loaded, []string{"q.npy", "k.npy", "v.npy"}) {
		t.Errorf("loaded %v", loaded)
	}
	// The shape comes from the files; fake cannot do m ≠ n.
	want := "Attention/variant=full/causal=false/batch=1/heads=2/n=12/m=20/d=8/inputs=npy:acts" + procs()
	if len(cases) != 1 || cases[0].Name != want || len(skipped) != 1 {
		t.Fatalf("cases %v, skipped %v; want %s", names(cases), skipped, want)
	}
	sink := &memSink{done: map[string]int{}}
	if _, err := Run(context.Background(), cases, sink, Config{Count: 1, BenchTime: timing.BenchTime{N: 1}, ErrMaxN: 100}); err != nil {
		t.Fatal(err)
	}
	if re, ok := value(sink.rows[0], "relerr"); !ok || re > 1e-5 {
		t.Errorf("relerr %v on npy inputs", re)
	}

	spec.LoadNPY = func(string) (variants.Tensor, error) { return variants.Tensor{}, errors.New("no such file") }
	if _, _, err := Expand(spec); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("err = %v", err)
	}
}

func TestProgressLines(t *testing.T) {
	spec := baseSpec("fake")
	spec.N = []int{16, 32}
	cases, _, _ := Expand(spec)
	var buf bytes.Buffer
	sink := &memSink{done: map[string]int{cases[0].Name: 1}}
	_, err := Run(context.Background(), cases, sink, Config{
		Count: 1, BenchTime: timing.BenchTime{N: 1}, Clock: fakeClock, Progress: NewProgress(&buf, Lines),
	})
	if err != nil {
		t.Fatal(err)
	}
	// The first case was already done: only the second is announced.
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "[2/2] ") || !strings.HasSuffix(lines[0], cases[1].Name) {
		t.Errorf("progress %q", buf.String())
	}
	if got := shortNames(cases); !slices.Equal(got, []string{"n=16", "n=32"}) {
		t.Errorf("short names %q", got)
	}
	spec.Variants = []string{"full", "fake"}
	spec.N = []int{16}
	cases, _, _ = Expand(spec)
	if got := shortNames(cases); !slices.Equal(got, []string{"variant=full", "variant=fake"}) {
		t.Errorf("short names %q", got)
	}
	if clock(3725*time.Second) != "1:02:05" || clock(65*time.Second) != "1:05" {
		t.Error("clock format")
	}
}

func TestParseMaxMem(t *testing.T) {
	for in, want := range map[string]int64{
		"8GiB": 8 << 30, "512MiB": 512 << 20, "2G": 2e9, "1.5GB": 1.5e9, "100k": 1e5, "4096": 4096, "50%": 500 << 20, "100%": 1000 << 20, "12.5%": 125 << 20,
	} {
		if got, err := ParseMaxMem(in, 1000<<20); err != nil || got != want {
			t.Errorf("ParseMaxMem(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "-1G", "0", "0%", "150%", "1X", "GiB"} {
		if _, err := ParseMaxMem(bad, 1000); err == nil {
			t.Errorf("ParseMaxMem(%q) accepted", bad)
		}
	}
	if FormatBytes(512) != "512 B" || FormatBytes(1536) != "1.5 KiB" || FormatBytes(3<<30) != "3.0 GiB" {
		t.Error("FormatBytes")
	}
}

// fakeDataVariant is fakeVariant whose useful flops depend on the inputs
// (as LSH's do): the sweep must rate it by FlopsOn, not by the Flops model.
type fakeDataVariant struct{ fakeVariant }

func init() { variants.Register("fakedata", func() variants.Variant { return fakeDataVariant{} }) }

func (fakeDataVariant) Name() string { return "fakedata" }

// FlopsOn counts 1000 flops per positive query element.
func (fakeDataVariant) FlopsOn(q, k, v variants.Tensor, opt variants.Options) (float64, error) {
	n := 0
	for _, x := range q.Data {
		if x > 0 {
			n++
		}
	}
	return 1000 * float64(n), nil
}

func TestRunRatesByCountedFlops(t *testing.T) {
	cases, _, err := Expand(baseSpec("fakedata"))
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{done: map[string]int{}}
	if _, err := Run(context.Background(), cases, sink, Config{
		Count: 1, BenchTime: timing.BenchTime{D: 100 * time.Millisecond}, Clock: fakeClock,
		Progress: NewProgress(&bytes.Buffer{}, Quiet),
	}); err != nil {
		t.Fatal(err)
	}
	c := cases[0]
	q, k, v, err := c.src.make(c.Shape)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fakeDataVariant{}.FlopsOn(q, k, v, c.Opt)
	if want == (fakeDataVariant{}).Flops(c.Shape, c.Opt) {
		t.Fatal("the fake's counted flops equal its model; the test cannot tell them apart")
	}
	gf, _ := value(sink.rows[0], "GFLOP/s")
	if cost := float64(fakeCost(c.Shape).Nanoseconds()); math.Abs(gf-want/cost) > 1e-3*gf {
		t.Errorf("GFLOP/s %v, want the counted %v", gf, want/cost)
	}
}

// TestKVHeads: -kv-heads names the case when it differs from heads, a
// value that does not divide heads is an error naming the flag, and
// decode-like cases (n ≤ 16) carry GB/s = 2·B·Hkv·M·D·4 bytes / time.
func TestKVHeads(t *testing.T) {
	spec := baseSpec("flash")
	spec.N, spec.M, spec.D, spec.Heads, spec.KVHeads = []int{1, 32}, []int{64}, []int{8}, []int{4}, []int{4, 2}
	spec.Causal, spec.Threads = []bool{true}, []int{1}
	cases, _, err := Expand(spec)
	if err != nil {
		t.Fatal(err)
	}
	p := procs()
	want := []string{
		"Attention/variant=flash/causal=true/batch=1/heads=4/n=1/m=64/d=8/threads=1" + p,
		"Attention/variant=flash/causal=true/batch=1/heads=4/n=32/m=64/d=8/threads=1" + p,
		"Attention/variant=flash/causal=true/batch=1/heads=4/kv-heads=2/n=1/m=64/d=8/threads=1" + p,
		"Attention/variant=flash/causal=true/batch=1/heads=4/kv-heads=2/n=32/m=64/d=8/threads=1" + p,
	}
	if got := names(cases); !slices.Equal(got, want) {
		t.Errorf("names:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if cases[2].Keys["kv-heads"] != "2" || cases[0].Keys["kv-heads"] != "4" {
		t.Errorf("kv-heads keys %q, %q", cases[0].Keys["kv-heads"], cases[2].Keys["kv-heads"])
	}
	sink := &memSink{done: map[string]int{}}
	if _, err := Run(context.Background(), cases, sink, Config{Count: 1, BenchTime: timing.BenchTime{N: 2}}); err != nil {
		t.Fatal(err)
	}
	for _, r := range sink.rows {
		gbs, ok := value(r, "GB/s")
		if r.Keys["n"] == "32" {
			if ok {
				t.Errorf("%s: GB/s on a case with n > %d", r.Name, KVBoundN)
			}
			continue
		}
		ns, _ := value(r, "ns/op")
		kv := 4.0
		if r.Keys["kv-heads"] == "2" {
			kv = 2
		}
		if wantGB := 2 * kv * 64 * 8 * 4 / ns; !ok || math.Abs(gbs-wantGB) > 1e-3*wantGB {
			t.Errorf("%s: GB/s %v (present %v), want %v", r.Name, gbs, ok, wantGB)
		}
	}
	for _, kv := range []int{3, 8} {
		spec.KVHeads = []int{kv}
		var bad *setting.Error
		if _, _, err := Expand(spec); !errors.As(err, &bad) || bad.Name != "kv-heads" {
			t.Errorf("-kv-heads %d with -heads 4: err %v, want one naming -kv-heads", kv, err)
		}
	}
}

// TestBandwidthShare: the bandwidth is measured before each sample of a
// case that carries GB/s with K and V over BandwidthMinKV, never for the
// others; %bandwidth is GB/s over the measurement taken just before that
// sample; a case whose estimate plus the measurement's buffers exceeds
// -max-mem runs without it.
func TestBandwidthShare(t *testing.T) {
	spec := baseSpec("flash")
	spec.N, spec.M, spec.D, spec.Heads = []int{1, 32}, []int{64, 128}, []int{8}, []int{2}
	spec.Causal, spec.Threads = []bool{true}, []int{1}
	cases, _, err := Expand(spec)
	if err != nil {
		t.Fatal(err)
	}
	// Cases: n = 1 and 32 at m = 64 and 128; only n = 1, m = 128 (K and V:
	// 2·2·128·8·4 = 16384 bytes) is over the 10000 bytes of BandwidthMinKV.
	var gbs []Case
	for _, c := range cases {
		if HasGBs([]Case{c}) {
			gbs = append(gbs, c)
		}
	}
	if len(gbs) != 2 || gbs[0].Shape.N != 1 || gbs[1].Shape.N != 1 {
		t.Fatalf("HasGBs true for %d cases, want the 2 with n = 1", len(gbs))
	}
	calls := 0
	bandwidths := []float64{10, 20, 40}
	cfg := Config{Count: 3, BenchTime: timing.BenchTime{N: 2}, BandwidthMinKV: 10000, Bandwidth: func() float64 {
		calls++
		return bandwidths[(calls-1)%len(bandwidths)]
	}}
	sink := &memSink{done: map[string]int{}}
	if _, err := Run(context.Background(), cases, sink, cfg); err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Errorf("bandwidth measured %d times, want 3 (one per sample of the n = 1, m = 128 case)", calls)
	}
	i := 0
	for _, r := range sink.rows {
		share, ok := value(r, "%bandwidth")
		if r.Keys["n"] != "1" || r.Keys["m"] != "128" {
			if ok {
				t.Errorf("%s: %%bandwidth on a case without GB/s or with K and V in cache", r.Name)
			}
			continue
		}
		gbs, _ := value(r, "GB/s")
		if want := 100 * gbs / bandwidths[i]; !ok || math.Abs(share-want) > 1e-3*want {
			t.Errorf("%s sample %d: %%bandwidth %v (present %v), want %v", r.Name, i, share, ok, want)
		}
		i++
	}

	// With the buffers over -max-mem every case runs, none measures, and
	// a note says so.
	cfg.MaxMem, cfg.BandwidthBytes, cfg.Count, calls = 1<<30, 1<<30, 1, 0
	var notes bytes.Buffer
	cfg.Progress = NewProgress(&notes, Lines)
	sink = &memSink{done: map[string]int{}}
	sum, err := Run(context.Background(), cases, sink, cfg)
	if err != nil || sum.Skipped != 0 || len(sink.rows) != len(cases) || calls != 0 {
		t.Errorf("with the buffers over -max-mem: err %v, %d skipped, %d rows, %d measurements; want every case run, none measured", err, sum.Skipped, len(sink.rows), calls)
	}
	if n := strings.Count(notes.String(), "runs without %bandwidth"); n != 1 {
		t.Errorf("%d notes about the missing %%bandwidth, want 1:\n%s", n, notes.String())
	}
	for _, r := range sink.rows {
		if _, ok := value(r, "%bandwidth"); ok {
			t.Errorf("%s: %%bandwidth without a measurement", r.Name)
		}
	}
}
