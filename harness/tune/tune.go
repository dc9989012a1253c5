// Package tune measures the tile choices of the fast paths on this machine
// and keeps the winners (`attnbench tune`, docs/design.md §6). For each kernel set,
// tile engine (flash, full, and the block engine of window/sparse/lsh),
// head dimension and causality it times a small set of candidate tile sizes
// against the built-in default, with the harness's own timer (timing), in
// rounds that bracket every candidate sample between two default samples,
// and keeps a candidate only when it beats the default by more than the
// noise in every round. The winners are cached per CPU
// model, core count, kernel set and attnbench version (cache.go); Forward
// reads them through variants.SetTuning.
package tune

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/harness/timing"
	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
)

// EngineDecode is the tuner's case of the kernels' prefetch distance, timed
// on a flash decode step whose K and V stream from memory (ForwardRunner):
// its Tiles carry the distance in rows as BK, and a cache's choice for it
// becomes variants.Tuning.PrefetchRows, not a tile size.
const EngineDecode variants.Engine = "decode"

// decodeD is the head dimension of the decode case.
const decodeD = 128

// Case is one tuned shape of one tile engine under one kernel set.
type Case struct {
	Kernels string
	Engine  variants.Engine
	D       int
	Causal  bool
}

func (c Case) String() string {
	return fmt.Sprintf("%s %s d=%d causal=%t", c.Kernels, c.Engine, c.D, c.Causal)
}

// Key is the case's key in a variants.Tuning.
func (c Case) Key() variants.TileKey {
	return variants.TileKey{Engine: c.Engine, D: c.D, Causal: c.Causal}
}

// Choice is the outcome of one case.
type Choice struct {
	Case
	Default variants.Tiles // the built-in tiles
	Tiles   variants.Tiles // the chosen tiles: Default when it was kept
	// DefaultNs and BestNs are the fastest sample (ns per Forward) of the
	// default and of the chosen tiles; Noise is the default's spread over
	// the rounds, median/min − 1; Candidates counts the tiles timed.
	DefaultNs, BestNs float64
	Noise             float64
	Candidates        int
}

// Gain is the chosen tiles' speed-up over the default, 0 when it was kept.
func (c Choice) Gain() float64 {
	if c.Tiles == c.Default || c.BestNs <= 0 {
		return 0
	}
	return c.DefaultNs/c.BestNs - 1
}

// Runner returns the operation timed for tiles t of case c: one Forward of
// the case's shape with t in effect. Each call of op must set up what it
// needs (the kernel set, the tuning), since other candidates run between
// its samples.
type Runner func(c Case, t variants.Tiles) (op func() error, err error)

// Config is what Run measures and how.
type Config struct {
	Kernels []string // kernel sets, the first tuned first
	Ds      []int    // head dimensions
	N       int      // sequence length of the timed Forward calls
	Time    time.Duration
	Rounds  int     // interleaved rounds per case (≥ 2 for a consistency check)
	MinGain float64 // least speed-up a candidate needs, beside the noise
	// Clock and Run may be replaced by tests; nil means the wall clock and
	// ForwardRunner(N).
	Clock    timing.Clock
	Run      Runner
	Progress io.Writer // one line per case; nil: none
	// Prefetches reports whether kernel set k's kernels prefetch, so that
	// it gets the decode case; nil means asm's Kernels.Prefetch.
	Prefetches func(k string) bool
}

// DefaultRounds and DefaultMinGain are the command's defaults.
const (
	DefaultRounds  = 3
	DefaultMinGain = 0.03
)

// Cases lists the cases of cfg in the order they are tuned: kernel set by
// kernel set, d by d, flash before the block engine before full.
// A kernel set whose kernels prefetch ends with the decode case
// (EngineDecode).
func Cases(cfg Config) []Case {
	prefetches := cfg.Prefetches
	if prefetches == nil {
		prefetches = func(k string) bool {
			kern, err := asm.Lookup(k)
			return err == nil && kern.Prefetch
		}
	}
	var cs []Case
	for _, k := range cfg.Kernels {
		for _, d := range cfg.Ds {
			for _, e := range []variants.Engine{variants.EngineFlash, variants.EngineBlock, variants.EngineFull} {
				cs = append(cs, Case{k, e, d, false})
				if e != variants.EngineBlock { // the block engine's key tile does not depend on causality
					cs = append(cs, Case{k, e, d, true})
				}
			}
		}
		if prefetches(k) {
			cs = append(cs, Case{k, EngineDecode, decodeD, true})
		}
	}
	return cs
}

// Candidates returns the tiles timed for case c, the default first. They
// cover both kinds of x86 core: query tiles of 32 (AVX-512: 8×2-vector
// register tiles, more broadcasts per FMA), 64 (6×4) and 128 (6×4 twice
// per key row, half the K/V traffic), for cores with two full 512-bit FMA
// ports and for double-pumped ones alike; key tiles of a quarter, half,
// once and twice the default, trading L1/L2 residency of the K, V and
// score tiles against the per-tile softmax and rescale overhead (with
// AVX2's 16-float-wide GEMMs at d = 64 the score tile of the default 256
// keys, 64 KB, outgrows L1; 64 keys measured up to 6% faster on Zen 4).
//
// Flash also has loop orders to choose from: 2, 4 and 8 query tiles
// sharing each pass over the keys (Tiles.Pass) at the default tile sizes,
// which read K and V from L3 or memory once per pass instead of once per
// query tile: the order for a core whose L3 is slow beside its FMAs or is
// shared with busy neighbours (on Zen 4 alone they measured within noise of
// the default).
//
// The decode case's candidates are prefetch distances: the default, half,
// twice and four times it (asm/prefetch.go has the measurements behind the
// default).
func Candidates(c Case) []variants.Tiles {
	if c.Engine == EngineDecode {
		def := asm.DefaultPrefetchRows
		return []variants.Tiles{{BK: def}, {BK: def / 2}, {BK: 2 * def}, {BK: 4 * def}}
	}
	def := variants.DefaultTiles(c.Engine, c.D)
	bks := []int{def.BK, max(32, def.BK/2), max(32, def.BK/4), min(1024, 2*def.BK)}
	bqs := []int{def.BQ}
	if c.Engine != variants.EngineBlock {
		bqs = append(bqs, 32, 128)
	}
	var out []variants.Tiles
	for _, bq := range bqs {
		for _, bk := range bks {
			t := variants.Tiles{BQ: bq, BK: bk, Pass: def.Pass}
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	if c.Engine == variants.EngineFlash {
		for _, pass := range []int{2, 4, 8} {
			out = append(out, variants.Tiles{BQ: def.BQ, BK: def.BK, Pass: pass})
		}
	}
	return out
}

// Run tunes the cases of cfg within cfg.Time and returns a choice per case
// it measured; the cases it had no time for are left out (their defaults
// stand). The kernel set in use and the active tuning are restored.
func Run(ctx context.Context, cfg Config) ([]Choice, error) {
	if cfg.Clock == nil {
		origin := time.Now()
		cfg.Clock = func() time.Duration { return time.Since(origin) }
	}
	if cfg.Run == nil {
		cfg.Run = ForwardRunner(cfg.N)
	}
	if cfg.Rounds < 1 {
		cfg.Rounds = DefaultRounds
	}
	prevKernels, prevTuning := asm.Active().Name, variants.ActiveTuning()
	defer func() {
		_ = asm.Select(prevKernels)
		variants.SetTuning(prevTuning)
	}()

	cases := Cases(cfg)
	deadline := cfg.Clock() + cfg.Time
	var out []Choice
	for i, c := range cases {
		left := deadline - cfg.Clock()
		if left <= 0 {
			progress(cfg.Progress, "tune: time is up: %d of %d cases left at their defaults\n", len(cases)-i, len(cases))
			break
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
		ch, done, err := tuneCase(ctx, cfg, c, left/time.Duration(len(cases)-i), deadline)
		if err != nil {
			return out, fmt.Errorf("%s: %w", c, err)
		}
		if !done {
			progress(cfg.Progress, "tune: time is up during %s: it and %d more cases left at their defaults\n", c, len(cases)-i-1)
			break
		}
		out = append(out, ch)
		verdict := "default kept"
		if ch.Tiles != ch.Default {
			verdict = fmt.Sprintf("%+.1f%% over the default", 100*ch.Gain())
		}
		progress(cfg.Progress, "tune: [%d/%d] %s: default %s %.4g ms, chosen %s (%s; noise %.1f%%)\n",
			i+1, len(cases), c, TilesText(c, ch.Default), ch.DefaultNs/1e6, TilesText(c, ch.Tiles), verdict, 100*ch.Noise)
	}
	return out, nil
}

func progress(w io.Writer, format string, a ...any) {
	if w != nil {
		fmt.Fprintf(w, format, a...)
	}
}

// TilesText writes case c's choice t: BQ×BK (with "pass P" when P query
// tiles share a pass over the keys), bk=BK for the block engine,
// "prefetch N" for the decode case.
func TilesText(c Case, t variants.Tiles) string {
	switch {
	case c.Engine == EngineDecode:
		return fmt.Sprintf("prefetch %d", t.BK)
	case t.BQ == 0:
		return fmt.Sprintf("bk=%d", t.BK)
	case t.Pass > 1:
		return fmt.Sprintf("%d×%d pass %d", t.BQ, t.BK, t.Pass)
	}
	return fmt.Sprintf("%d×%d", t.BQ, t.BK)
}

// tuneCase times every candidate of c in cfg.Rounds interleaved rounds
// within about share and chooses; done is false when the deadline passed
// before it could finish (a Forward slower than the budget foresaw).
func tuneCase(ctx context.Context, cfg Config, c Case, share, deadline time.Duration) (ch Choice, done bool, err error) {
	// Candidates that the shape cuts to the same tiles as an earlier one
	// (tiles longer than the sequence) are the same code: time each once.
	var cands []variants.Tiles
	seen := map[variants.Tiles]bool{}
	for _, t := range Candidates(c) {
		eff := variants.Tiles{BQ: min(t.BQ, cfg.N), BK: min(t.BK, cfg.N), Pass: t.Pass}
		if t.BQ > 0 {
			eff.Pass = min(t.Pass, ceilDiv(cfg.N, eff.BQ)) // no more tiles than the sequence has
		}
		if c.Engine == EngineDecode {
			eff = t // a distance, not a tile the shape cuts
		}
		if !seen[eff] {
			seen[eff] = true
			cands = append(cands, t)
		}
	}
	// A round takes 2·len(cands) − 1 samples of about 1.5× the sample time
	// (the timer aims 20% past it, and a sample's first batch may fall
	// short), and each candidate a warm-up call.
	sample := time.Duration(float64(share) / (float64(len(cands)) + 1.5*float64(cfg.Rounds*(2*len(cands)-1))))
	sample = max(sample, time.Millisecond)
	timers := make([]*timing.Timer, len(cands))
	for i, t := range cands {
		op, err := cfg.Run(c, t)
		if err != nil {
			return Choice{}, false, err
		}
		timers[i] = timing.New(op, timing.BenchTime{D: sample}, cfg.Clock)
	}
	// Each round times the default, then each candidate followed by the
	// default again (D C₁ D C₂ D …), so that every candidate sample is
	// bracketed by two default samples taken right before and after it: a
	// burst of load from elsewhere on a shared machine slows a bracket as
	// much as the candidate, or shows as noise in the default.
	var s samples
	s.cand = make([][]float64, len(cands))
	s.ref = make([][]float64, len(cands))
	take := func(i int) (float64, bool, error) {
		if cfg.Clock() > deadline {
			return 0, false, nil
		}
		x, err := timers[i].Sample(ctx)
		if err != nil {
			return 0, false, err
		}
		return x.NsPerOp(), true, nil
	}
	for r := range cfg.Rounds {
		before, ok, err := take(0)
		if !ok || err != nil {
			return Choice{}, false, err
		}
		s.def = append(s.def, before)
		// Rotate the order each round, so that no candidate always runs
		// at the same point of a round.
		for j := range len(cands) - 1 {
			i := 1 + (j+r)%(len(cands)-1)
			x, ok, err := take(i)
			if !ok || err != nil {
				return Choice{}, false, err
			}
			after, ok, err := take(0)
			if !ok || err != nil {
				return Choice{}, false, err
			}
			s.def = append(s.def, after)
			s.cand[i] = append(s.cand[i], x)
			s.ref[i] = append(s.ref[i], min(before, after))
			before = after
		}
	}
	return choose(c, cands, s, cfg.MinGain), true, nil
}

// samples are the measurements of one case, in ns per Forward: def every
// sample of the default (candidate 0); cand[i][r] candidate i's sample in
// round r, and ref[i][r] the faster of the two default samples around it.
type samples struct {
	def       []float64
	cand, ref [][]float64
}

// choose picks the winner of a case. The noise is the default's spread,
// the median of its samples over the fastest one (a robust measure, where
// the slowest would let one preempted sample veto every candidate). A
// candidate wins only if in every round it beat the faster of the default
// samples around it by more than minGain and more than the noise; of
// those, the one whose worst round is best wins, else the default is kept.
func choose(c Case, cands []variants.Tiles, s samples, minGain float64) Choice {
	defMin := slices.Min(s.def)
	noise := median(s.def)/defMin - 1
	bar := 1 - max(minGain, noise)
	ch := Choice{Case: c, Default: cands[0], Tiles: cands[0], DefaultNs: defMin, BestNs: defMin, Noise: noise, Candidates: len(cands)}
	bestWorst := bar
	for i := 1; i < len(cands); i++ {
		if len(s.cand[i]) == 0 {
			continue
		}
		worst := 0.0
		for r, x := range s.cand[i] {
			worst = max(worst, x/s.ref[i][r])
		}
		if worst < bestWorst && !math.IsNaN(worst) {
			bestWorst = worst
			ch.Tiles, ch.BestNs = cands[i], slices.Min(s.cand[i])
		}
	}
	return ch
}

// ForwardRunner times one Forward of the case's variant (flash, full, or
// window for the block engine, at its default window) on one head of n
// Gaussian queries, keys and values, on one thread, with the case's kernel
// set and the candidate's tiles as the only tuning. The decode case times
// a flash decode step instead (decodeShape, on every core), with the
// candidate's prefetch distance.
func ForwardRunner(n int) Runner {
	// The candidates of a case share its inputs.
	var (
		last       Case
		q, k, vv   variants.Tensor
		haveInputs bool
	)
	return func(c Case, t variants.Tiles) (func() error, error) {
		if c.Engine == EngineDecode {
			if !haveInputs || last != c {
				var err error
				if q, k, vv, err = inputs.Generate("gaussian", decodeShape(), 1); err != nil {
					return nil, err
				}
				last, haveInputs = c, true
			}
			return decodeOp(c, t.BK, q, k, vv)
		}
		name := string(c.Engine)
		if c.Engine == variants.EngineBlock {
			name = "window"
		}
		v, err := variants.Lookup(name)
		if err != nil {
			return nil, err
		}
		kern, err := asm.Lookup(c.Kernels)
		if err != nil {
			return nil, err
		}
		if !haveInputs || last != c {
			s := variants.Shape{B: 1, H: 1, N: n, M: n, D: c.D}
			if q, k, vv, err = inputs.Generate("gaussian", s, 1); err != nil {
				return nil, err
			}
			last, haveInputs = c, true
		}
		opt := variants.DefaultOptions()
		opt.Causal, opt.Threads = c.Causal, 1
		tun := &variants.Tuning{Name: "candidate", Kernels: kern.Name, Tiles: map[variants.TileKey]variants.Tiles{c.Key(): t}}
		return candidateOp(v, tun, q, k, vv, opt), nil
	}
}

// candidateOp is one Forward of v under tuning tun (its kernel set and
// choices set up at each call, since other candidates run between its
// samples), with its own output and workspace.
func candidateOp(v variants.Variant, tun *variants.Tuning, q, k, vv variants.Tensor, opt variants.Options) func() error {
	out := variants.NewTensor(q.B, q.H, q.S, q.D)
	ws := variants.NewWorkspace()
	return func() error {
		if err := asm.Select(tun.Kernels); err != nil {
			return err
		}
		variants.SetTuning(tun)
		return v.Forward(q, k, vv, out, opt, ws)
	}
}

// decodeShape is the decode case's step: one query position of 32 heads
// on 8 K/V heads, d = 128, against enough keys that K and V (at least
// 64 MiB, twice the last-level cache) stream from memory, as in decoding
// against a long KV cache.
func decodeShape() variants.Shape {
	const hkv = 8
	perKey := int64(2 * hkv * decodeD * 4) // K and V bytes per key
	m := max(8192, int(2*int64(asm.CacheBytes())/perKey))
	return variants.Shape{B: 1, H: 4 * hkv, Hkv: hkv, N: 1, M: m, D: decodeD}
}

// decodeOp is one causal flash decode step on every core, under case c's
// kernel set with prefetch distance rows.
func decodeOp(c Case, rows int, q, k, v variants.Tensor) (func() error, error) {
	flash, err := variants.Lookup("flash")
	if err != nil {
		return nil, err
	}
	kern, err := asm.Lookup(c.Kernels)
	if err != nil {
		return nil, err
	}
	opt := variants.DefaultOptions()
	opt.Causal = true
	tun := &variants.Tuning{Name: "candidate", Kernels: kern.Name, PrefetchRows: rows}
	return candidateOp(flash, tun, q, k, v, opt), nil
}

func median(x []float64) float64 {
	s := slices.Sorted(slices.Values(x))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
