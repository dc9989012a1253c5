// Package tune measures the tile choices of the fast paths on this machine
// and keeps the winners (`attnbench tune`, DESIGN §6). For each kernel set,
// tile engine (flash, full, and the block engine of window/sparse/lsh),
// head dimension and causality it times a small set of candidate tile sizes
// against the built-in default, with the harness's own timer (timing), in
// interleaved rounds, and keeps a candidate only when it beats the default
// by more than the noise in every round. The winners are cached per CPU
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
	"github.com/attnbench/attnbench/harness/inputs"
	"github.com/attnbench/attnbench/harness/timing"
	"github.com/attnbench/attnbench/variants"
)

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
}

// DefaultRounds and DefaultMinGain are the command's defaults.
const (
	DefaultRounds  = 3
	DefaultMinGain = 0.03
)

// Cases lists the cases of cfg in the order they are tuned: kernel set by
// kernel set, d by d, flash before the block engine before full.
func Cases(cfg Config) []Case {
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
	}
	return cs
}

// Candidates returns the tiles timed for case c, the default first. They
// cover both kinds of x86 core: query tiles of 32 (AVX-512: 8×2-vector
// register tiles, more broadcasts per FMA), 64 (6×4) and 128 (6×4 twice
// per key row, half the K/V traffic), for cores with two full 512-bit FMA
// ports and for double-pumped ones alike; key tiles of half, once and twice
// the default, trading L1/L2 residency of the K and V tiles against the
// per-tile softmax and rescale overhead.
func Candidates(c Case) []variants.Tiles {
	def := variants.DefaultTiles(c.Engine, c.D)
	bks := []int{def.BK, max(32, def.BK/2), min(1024, 2*def.BK)}
	bqs := []int{def.BQ}
	if c.Engine != variants.EngineBlock {
		bqs = append(bqs, 32, 128)
	}
	var out []variants.Tiles
	for _, bq := range bqs {
		for _, bk := range bks {
			t := variants.Tiles{BQ: bq, BK: bk}
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
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
			i+1, len(cases), c, tilesString(ch.Default), ch.DefaultNs/1e6, tilesString(ch.Tiles), verdict, 100*ch.Noise)
	}
	return out, nil
}

func progress(w io.Writer, format string, a ...any) {
	if w != nil {
		fmt.Fprintf(w, format, a...)
	}
}

func tilesString(t variants.Tiles) string {
	if t.BQ == 0 {
		return fmt.Sprintf("bk=%d", t.BK)
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
		eff := variants.Tiles{BQ: min(t.BQ, cfg.N), BK: min(t.BK, cfg.N)}
		if !seen[eff] {
			seen[eff] = true
			cands = append(cands, t)
		}
	}
	// Each candidate costs a warm-up call and Rounds samples of about 1.2×
	// the sample time (the timer aims 20% past it).
	sample := time.Duration(float64(share) / (float64(len(cands)) * (1.2*float64(cfg.Rounds) + 1)))
	sample = max(sample, time.Millisecond)
	timers := make([]*timing.Timer, len(cands))
	for i, t := range cands {
		op, err := cfg.Run(c, t)
		if err != nil {
			return Choice{}, false, err
		}
		timers[i] = timing.New(op, timing.BenchTime{D: sample}, cfg.Clock)
	}
	ns := make([][]float64, len(cands)) // ns[candidate][round]
	for r := range cfg.Rounds {
		// Rotate the order each round, so that no candidate always runs
		// right after the same one (or first, on a cold cache).
		for j := range cands {
			if cfg.Clock() > deadline {
				return Choice{}, false, nil
			}
			i := (j + r) % len(cands)
			s, err := timers[i].Sample(ctx)
			if err != nil {
				return Choice{}, false, err
			}
			ns[i] = append(ns[i], s.NsPerOp())
		}
	}
	return choose(c, cands, ns, cfg.MinGain), true, nil
}

// choose picks the winner of a case from its samples (ns[i][r]: candidate
// i, round r; candidate 0 is the default). A candidate wins only if its
// fastest sample beats the default's by more than minGain and more than
// the default's own spread over the rounds, and it beat the default by
// more than minGain in every round; the fastest such candidate is chosen,
// else the default is kept. The spread is the default's median over its fastest
// sample: a robust measure, where the max would let one preempted sample
// (the machine is shared) veto every candidate.
func choose(c Case, cands []variants.Tiles, ns [][]float64, minGain float64) Choice {
	def := ns[0]
	defMin := slices.Min(def)
	noise := median(def)/defMin - 1
	bar := defMin * (1 - max(minGain, noise))
	ch := Choice{Case: c, Default: cands[0], Tiles: cands[0], DefaultNs: defMin, BestNs: defMin, Noise: noise, Candidates: len(cands)}
	for i := 1; i < len(cands); i++ {
		best := slices.Min(ns[i])
		if best >= bar || best >= ch.BestNs || math.IsNaN(best) {
			continue
		}
		consistent := true
		for r, x := range ns[i] {
			consistent = consistent && x < def[r]*(1-minGain)
		}
		if consistent {
			ch.Tiles, ch.BestNs = cands[i], best
		}
	}
	return ch
}

// ForwardRunner times one Forward of the case's variant (flash, full, or
// window for the block engine, at its default window) on one head of n
// Gaussian queries, keys and values, on one thread, with the case's kernel
// set and the candidate's tiles as the only tuning.
func ForwardRunner(n int) Runner {
	// The candidates of a case share its inputs.
	var (
		last       Case
		q, k, vv   variants.Tensor
		haveInputs bool
	)
	return func(c Case, t variants.Tiles) (func() error, error) {
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
		q, k, vv := q, k, vv
		out := variants.NewTensor(1, 1, n, c.D)
		opt := variants.DefaultOptions()
		opt.Causal, opt.Threads = c.Causal, 1
		tun := &variants.Tuning{Name: "candidate", Kernels: kern.Name, Tiles: map[variants.TileKey]variants.Tiles{c.Key(): t}}
		ws := variants.NewWorkspace()
		return func() error {
			if err := asm.Select(kern.Name); err != nil {
				return err
			}
			variants.SetTuning(tun)
			return v.Forward(q, k, vv, out, opt, ws)
		}, nil
	}
}

func median(x []float64) float64 {
	s := slices.Sorted(slices.Values(x))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
