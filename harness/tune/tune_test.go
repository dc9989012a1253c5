package tune

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/variants"
)

// fakeMachine is a clock that only the timed operations move: each call of
// a candidate's op advances it by that candidate's cost, so the tuner's
// measurements are exact and known in advance.
type fakeMachine struct {
	now  time.Duration
	cost func(c Case, t variants.Tiles, call int) time.Duration
	// calls counts each candidate's op calls (the timer's warm-up
	// included), so a cost can vary from sample to sample.
	calls map[Case]map[variants.Tiles]int
}

func newFakeMachine(cost func(c Case, t variants.Tiles, call int) time.Duration) *fakeMachine {
	return &fakeMachine{cost: cost, calls: map[Case]map[variants.Tiles]int{}}
}

func (m *fakeMachine) clock() time.Duration { return m.now }

func (m *fakeMachine) run(c Case, t variants.Tiles) (func() error, error) {
	if m.calls[c] == nil {
		m.calls[c] = map[variants.Tiles]int{}
	}
	return func() error {
		m.now += m.cost(c, t, m.calls[c][t])
		m.calls[c][t]++
		return nil
	}, nil
}

func fakeConfig(m *fakeMachine, budget time.Duration) Config {
	return Config{Kernels: []string{"generic"}, Ds: []int{64}, N: 4096, Time: budget, Rounds: 3,
		MinGain: DefaultMinGain, Clock: m.clock, Run: m.run}
}

func choiceOf(t *testing.T, out []Choice, e variants.Engine, causal bool) Choice {
	t.Helper()
	for _, c := range out {
		if c.Engine == e && c.Causal == causal {
			return c
		}
	}
	t.Fatalf("no choice for %s causal=%t in %v", e, causal, out)
	return Choice{}
}

// TestWinnerChosen: a candidate 20% faster than the default in every
// sample wins; with several faster ones the fastest wins; a loop order
// (flash's pass) wins like a tile size.
func TestWinnerChosen(t *testing.T) {
	m := newFakeMachine(func(c Case, tl variants.Tiles, _ int) time.Duration {
		switch {
		case c.Engine == variants.EngineFlash && !c.Causal && tl == (variants.Tiles{BQ: 128, BK: 512, Pass: 1}):
			return 800 * time.Microsecond
		case c.Engine == variants.EngineFlash && !c.Causal && tl == (variants.Tiles{BQ: 32, BK: 256, Pass: 1}):
			return 900 * time.Microsecond
		case c.Engine == variants.EngineFlash && c.Causal && tl.Pass == 4:
			return 850 * time.Microsecond
		case c.Engine == variants.EngineBlock && tl.BK == 128:
			return 700 * time.Microsecond
		}
		return time.Millisecond
	})
	var log strings.Builder
	cfg := fakeConfig(m, time.Minute)
	cfg.Progress = &log
	out, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 5 {
		t.Fatalf("%d choices, want 5 (flash and full × causal, block)", len(out))
	}
	flash := choiceOf(t, out, variants.EngineFlash, false)
	if want := (variants.Tiles{BQ: 128, BK: 512, Pass: 1}); flash.Tiles != want {
		t.Errorf("flash: chose %v, want %v (20%% faster)", flash.Tiles, want)
	}
	if g := flash.Gain(); g < 0.249 || g > 0.251 {
		t.Errorf("flash: gain %.4f, want 0.25 (1 ms / 0.8 ms − 1)", g)
	}
	if b := choiceOf(t, out, variants.EngineBlock, false); b.Tiles != (variants.Tiles{BK: 128}) {
		t.Errorf("block: chose %v, want bk=128", b.Tiles)
	}
	if c := choiceOf(t, out, variants.EngineFlash, true); c.Tiles != (variants.Tiles{BQ: 64, BK: 256, Pass: 4}) {
		t.Errorf("causal flash: chose %v, want 4 query tiles a pass (15%% faster)", c.Tiles)
	}
	for _, c := range []Choice{choiceOf(t, out, variants.EngineFull, true), choiceOf(t, out, variants.EngineFull, false)} {
		if c.Tiles != c.Default {
			t.Errorf("%s: chose %v although every candidate costs the same as the default %v", c.Case, c.Tiles, c.Default)
		}
	}
	if !strings.Contains(log.String(), "[1/5] generic flash d=64 causal=false") {
		t.Errorf("progress lacks a line per case:\n%s", log.String())
	}
}

// TestDefaultKeptWithinNoise: candidates that beat the default by no more
// than the noise, or not in every round, lose to it.
func TestDefaultKeptWithinNoise(t *testing.T) {
	m := newFakeMachine(func(c Case, tl variants.Tiles, call int) time.Duration {
		def := variants.DefaultTiles(c.Engine, c.D)
		switch {
		case tl == def:
			return time.Millisecond
		case c.Engine == variants.EngineFlash && !c.Causal:
			return 980 * time.Microsecond // 2% faster: below the 3% bar
		case c.Engine == variants.EngineFlash && c.Causal && tl == (variants.Tiles{BQ: 128, BK: def.BK}):
			// 30% faster, except in a stretch of calls early on (the
			// first round), so not consistently faster.
			if call >= 4 && call < 40 {
				return 2 * time.Millisecond
			}
			return 700 * time.Microsecond
		}
		return 1100 * time.Microsecond // slower
	})
	out, err := Run(context.Background(), fakeConfig(m, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 5 {
		t.Fatalf("%d choices, want 5", len(out))
	}
	for _, c := range out {
		if c.Tiles != c.Default {
			t.Errorf("%s: chose %v over the default %v (samples: default %.4g ns, chosen %.4g ns)", c.Case, c.Tiles, c.Default, c.DefaultNs, c.BestNs)
		}
	}
}

// TestChooseRule checks the decision on hand-made samples: the default's
// (every one), and each candidate's per round beside the faster default
// sample around it.
func TestChooseRule(t *testing.T) {
	c := Case{Kernels: "generic", Engine: variants.EngineFlash, D: 64}
	cands := []variants.Tiles{{BQ: 64, BK: 256}, {BQ: 32, BK: 256}, {BQ: 128, BK: 256}}
	flat := []float64{100, 100, 100}
	for _, tc := range []struct {
		name       string
		def        []float64
		c1, c2     []float64 // candidates 1 and 2, per round
		ref1, ref2 []float64
		want       variants.Tiles
	}{
		{"clear winner", flat, []float64{90, 91, 90}, []float64{95, 95, 95}, flat, flat, cands[1]},
		{"best worst round of two winners", flat, []float64{90, 90, 90}, []float64{80, 85, 80}, flat, flat, cands[2]},
		{"below the 3% bar", flat, []float64{97.5, 97.5, 97.5}, []float64{101, 101, 101}, flat, flat, cands[0]},
		{"beaten in one round", flat, []float64{80, 80, 101}, []float64{101, 101, 101}, flat, flat, cands[0]},
		// The default's median is 10% above its fastest sample: a 7%
		// gain is within that noise, a 15% one beyond it.
		{"within the measured noise", []float64{100, 110, 130, 110, 120}, []float64{93, 93, 93}, []float64{101, 101, 101}, flat, flat, cands[0]},
		{"beyond the measured noise", []float64{100, 110, 130, 110, 120}, []float64{85, 86, 85}, []float64{101, 101, 101}, flat, flat, cands[1]},
		// A burst of load slowed round 2 for the default around the
		// candidate as much as for it: judged against its brackets, it
		// still won every round.
		{"burst in one round", []float64{100, 100, 100, 100, 200, 200, 100}, []float64{85, 170, 85}, []float64{101, 101, 101}, []float64{100, 200, 100}, flat, cands[1]},
		// ...but a candidate that only looks fast because the default
		// around it was slowed does not win.
		{"default slowed around it", []float64{100, 100, 100, 100, 200, 200, 100}, []float64{100, 170, 100}, []float64{101, 101, 101}, []float64{100, 200, 100}, flat, cands[0]},
	} {
		s := samples{def: tc.def, cand: [][]float64{nil, tc.c1, tc.c2}, ref: [][]float64{nil, tc.ref1, tc.ref2}}
		got := choose(c, cands, s, DefaultMinGain)
		if got.Tiles != tc.want {
			t.Errorf("%s: chose %v, want %v", tc.name, got.Tiles, tc.want)
		}
		if got.Default != cands[0] || got.DefaultNs != 100 {
			t.Errorf("%s: default %v at %v ns, want %v at 100", tc.name, got.Default, got.DefaultNs, cands[0])
		}
	}
}

// TestTimeBudget: the tuner stops when its time is spent, says so, and
// leaves the remaining cases out.
func TestTimeBudget(t *testing.T) {
	m := newFakeMachine(func(Case, variants.Tiles, int) time.Duration { return 10 * time.Millisecond })
	var log strings.Builder
	cfg := fakeConfig(m, 3*time.Second)
	cfg.Ds = []int{32, 64, 128}
	cfg.Progress = &log
	out, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	all := len(Cases(cfg))
	if len(out) == 0 || len(out) >= all {
		t.Fatalf("%d of %d cases measured in a budget that holds some but not all", len(out), all)
	}
	if !strings.Contains(log.String(), "time is up") {
		t.Errorf("progress does not say that time ran out:\n%s", log.String())
	}
	// Within the budget, give or take the last case's overrun.
	if m.now > cfg.Time+cfg.Time/time.Duration(all)*3 {
		t.Errorf("took %v of a %v budget", m.now, cfg.Time)
	}
}

// TestRunRestoresState: the kernel set and tuning in use before Run are
// in use after it.
func TestRunRestoresState(t *testing.T) {
	prev := asm.Active().Name
	defer asm.Select(prev)
	defer variants.SetTuning(nil)
	mine := &variants.Tuning{Name: "mine", Kernels: "generic"}
	variants.SetTuning(mine)
	if err := asm.Select("generic"); err != nil {
		t.Fatal(err)
	}
	// The real runner, on a tiny shape: it selects kernel sets and
	// tunings as it goes.
	cfg := Config{Kernels: []string{asm.Impls()[len(asm.Impls())-1].Name}, Ds: []int{16}, N: 32, Time: 200 * time.Millisecond, Rounds: 2, MinGain: DefaultMinGain}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if asm.Active().Name != "generic" || variants.ActiveTuning() != mine {
		t.Errorf("after Run: kernels %s, tuning %v; want generic and the tuning set before", asm.Active().Name, variants.ActiveTuning())
	}
}

// TestCandidates: the default comes first, every candidate is distinct,
// and both vendors' shapes are covered (query tiles 32 to 128).
func TestCandidates(t *testing.T) {
	for _, c := range []Case{{"avx512", variants.EngineFlash, 64, false}, {"avx2", variants.EngineFull, 32, true}, {"avx512", variants.EngineBlock, 128, false}} {
		cands := Candidates(c)
		if cands[0] != variants.DefaultTiles(c.Engine, c.D) {
			t.Errorf("%s: first candidate %v is not the default", c, cands[0])
		}
		seen := map[variants.Tiles]bool{}
		bqs := map[int]bool{}
		for _, x := range cands {
			if seen[x] {
				t.Errorf("%s: %v listed twice", c, x)
			}
			seen[x] = true
			bqs[x.BQ] = true
			if x.BK < 32 || x.BK > 1024 {
				t.Errorf("%s: key tile %d out of 32..1024", c, x.BK)
			}
		}
		if c.Engine != variants.EngineBlock && !(bqs[32] && bqs[64] && bqs[128]) {
			t.Errorf("%s: query tiles %v, want 32, 64 and 128", c, bqs)
		}
		// Loop orders: flash's passes of 1 (the default), 2, 4 and 8
		// query tiles; none for the other engines.
		passes := map[int]bool{}
		for _, x := range cands {
			passes[x.Pass] = true
		}
		if c.Engine == variants.EngineFlash && !(passes[1] && passes[2] && passes[4] && passes[8]) {
			t.Errorf("%s: passes %v, want 1, 2, 4 and 8", c, passes)
		}
		if c.Engine != variants.EngineFlash && (len(passes) != 1 || !passes[0]) {
			t.Errorf("%s: passes %v, want none (flash's only)", c, passes)
		}
	}
}

// TestSlowCaseCut: a case whose Forward is too slow for the budget is
// abandoned at the deadline (its default stands), not finished late.
func TestSlowCaseCut(t *testing.T) {
	const op = 400 * time.Millisecond
	m := newFakeMachine(func(Case, variants.Tiles, int) time.Duration { return op })
	var log strings.Builder
	cfg := fakeConfig(m, 3*time.Second)
	cfg.Progress = &log
	out, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 0 {
		t.Errorf("%d cases recorded, want none (each needs 36 calls of %v)", len(out), op)
	}
	// At most one sample, after a warm-up call, runs past the deadline.
	if m.now > cfg.Time+2*op {
		t.Errorf("took %v of a %v budget", m.now, cfg.Time)
	}
	if !strings.Contains(log.String(), "time is up during generic flash d=64 causal=false") {
		t.Errorf("progress does not say which case ran out of time:\n%s", log.String())
	}
}

// TestCandidatesCutToShape: tiles that the sequence length cuts to the same
// size are one candidate, timed once (the default among them).
func TestCandidatesCutToShape(t *testing.T) {
	m := newFakeMachine(func(Case, variants.Tiles, int) time.Duration { return time.Millisecond })
	cfg := fakeConfig(m, 10*time.Second)
	cfg.N = 48
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	flash := m.calls[Case{"generic", variants.EngineFlash, 64, false}]
	def := variants.DefaultTiles(variants.EngineFlash, 64)
	// 64×k and 128×k for every k are 48×48 at n = 48; 32×k is 32×48.
	if len(flash) != 2 || flash[def] == 0 || flash[variants.Tiles{BQ: 32, BK: def.BK, Pass: 1}] == 0 {
		t.Errorf("timed %v, want the default and 32×%d only", flash, def.BK)
	}
}

// TestPrefetchDistanceChosen: a kernel set whose kernels prefetch ends with
// the decode case; its faster distance is chosen, cached as the tuning's
// PrefetchRows (not as a tile), and SetTuning applies it to the kernels
// only under the kernel set it was measured with.
func TestPrefetchDistanceChosen(t *testing.T) {
	m := newFakeMachine(func(c Case, tl variants.Tiles, _ int) time.Duration {
		if c.Engine == EngineDecode && tl.BK == 2*asm.DefaultPrefetchRows {
			return 800 * time.Microsecond
		}
		return time.Millisecond
	})
	cfg := fakeConfig(m, time.Minute)
	cfg.N = 48 // tiles are cut to the shape; distances are not
	cfg.Prefetches = func(string) bool { return true }
	cases := Cases(cfg)
	if last := cases[len(cases)-1]; last.Engine != EngineDecode || last.D != decodeD {
		t.Fatalf("last case %v, want the decode case", last)
	}
	out, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	dec := choiceOf(t, out, EngineDecode, true)
	if want := (variants.Tiles{BK: 2 * asm.DefaultPrefetchRows}); dec.Tiles != want || dec.Default.BK != asm.DefaultPrefetchRows {
		t.Errorf("decode: chose %v from default %v, want %v", dec.Tiles, dec.Default, want)
	}
	if dec.Candidates != 4 {
		t.Errorf("decode: %d candidates timed, want 4 (a distance is not cut to n = 48)", dec.Candidates)
	}
	cache := NewCache("generic", cfg.N, out)
	if err := cache.check(); err != nil {
		t.Fatalf("cache with the decode choice: %v", err)
	}
	tun := cache.Tuning()
	if tun == nil || tun.PrefetchRows != 2*asm.DefaultPrefetchRows || len(tun.Tiles) != 0 {
		t.Fatalf("tuning %+v, want PrefetchRows %d and no tiles", tun, 2*asm.DefaultPrefetchRows)
	}

	defer variants.SetTuning(variants.ActiveTuning())
	tun.Kernels = asm.Active().Name
	variants.SetTuning(tun)
	if got := asm.PrefetchRows(); got != 2*asm.DefaultPrefetchRows {
		t.Errorf("after SetTuning under its kernel set: prefetch %d rows, want %d", got, 2*asm.DefaultPrefetchRows)
	}
	tun.Kernels = "another set"
	variants.SetTuning(tun)
	if got := asm.PrefetchRows(); got != asm.DefaultPrefetchRows {
		t.Errorf("after SetTuning under another kernel set: prefetch %d rows, want the default %d", got, asm.DefaultPrefetchRows)
	}
	variants.SetTuning(nil)
	if got := asm.PrefetchRows(); got != asm.DefaultPrefetchRows {
		t.Errorf("after SetTuning(nil): prefetch %d rows, want the default %d", got, asm.DefaultPrefetchRows)
	}

	good := Entry{Engine: EngineDecode, D: decodeD, Causal: true, BK: 64, DefaultBK: 32}
	for _, bad := range []Entry{
		{Engine: EngineDecode, D: decodeD, Causal: true, BK: 0, DefaultBK: 32},
		{Engine: EngineDecode, D: -5, Causal: true, BK: 64, DefaultBK: 32},
		{Engine: EngineDecode, D: decodeD, Causal: false, BK: 64, DefaultBK: 32},
		{Engine: EngineDecode, D: decodeD, Causal: true, BQ: 8, BK: 64, DefaultBK: 32},
		{Engine: EngineDecode, D: decodeD, Causal: true, BK: 64, DefaultBK: 32, Pass: 2},
		good, // a second decode choice
	} {
		c := Cache{Choices: []Entry{bad}}
		if bad == good {
			c.Choices = []Entry{good, good}
		}
		if err := c.check(); err == nil {
			t.Errorf("cache check passed %+v", c.Choices)
		}
	}
	if err := (&Cache{Choices: []Entry{good}}).check(); err != nil {
		t.Errorf("cache check refused a valid decode choice: %v", err)
	}
}
