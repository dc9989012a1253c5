package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/harness/tune"
	"github.com/attnbench/attnbench/variants"
)

func init() {
	register(command{
		name:    "tune",
		summary: "measure the tile sizes of flash, full and the window/sparse/lsh engine, flash's loop order and the kernels' prefetch distance on this CPU; cache the fastest for Forward",
		run:     runTune,
	})
}

func runTune(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tune", stderr)
	dur := fs.Duration("time", time.Minute, "time for the whole tuning (the cases it has no time for keep their defaults)")
	kernelList := fs.String("kernels", "all", "kernel sets to tune, comma-separated, or all (the one in use first)")
	dList := fs.String("d", "64,128,32", "head dimensions")
	n := fs.Int("n", 2048, "sequence length of the timed Forward calls (1 head, 1 thread): long enough that K and V outgrow L2, as at the lengths that matter")
	rounds := fs.Int("rounds", tune.DefaultRounds, "interleaved rounds per case; a candidate must win every one")
	minGain := fs.Float64("min-gain", tune.DefaultMinGain, "least speed-up over the default a candidate needs (0.03 = 3%), beside the measured noise")
	if err := parseSweepFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return unexpectedArgs(fs, args, "")
	}
	if asm.EnvError != nil {
		return badInput("%v", asm.EnvError)
	}
	switch {
	case *dur <= 0:
		return badInput("-time %v: must be positive", *dur)
	case *n < 16 || *n > 1<<16:
		return badInput("-n %d: must be in 16..65536", *n)
	case *rounds < 2 || *rounds > 100:
		return badInput("-rounds %d: must be in 2..100 (the consistency check needs two)", *rounds)
	case !(*minGain >= 0 && *minGain < 1):
		return badInput("-min-gain %v: must be in [0, 1)", *minGain)
	}
	ds, err := parseInts("d", *dList, 1)
	if err != nil {
		return badInput("%w", err)
	}
	for _, d := range ds {
		if d > 1024 {
			return badInput("-d %d: must be ≤ 1024", d)
		}
	}
	sets, err := tuneKernelSets(*kernelList)
	if err != nil {
		return badInput("-kernels: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := tune.Config{Kernels: sets, Ds: ds, N: *n, Time: *dur, Rounds: *rounds, MinGain: *minGain, Progress: stderr}
	fmt.Fprintf(stderr, "tune: %d cases (kernel sets %s; d %s; n=%d, 1 head, 1 thread; and where the kernels prefetch, their prefetch distance on a decode step on every core) in at most %v\n",
		len(tune.Cases(cfg)), strings.Join(sets, ", "), *dList, *n, *dur)
	choices, runErr := tune.Run(ctx, cfg)

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "kernels\tengine\td\tcausal\tdefault\tms\tchosen\tms\tgain\tnoise")
	for _, c := range choices {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%t\t%s\t%.4g\t%s\t%.4g\t%+.1f%%\t%.1f%%\n", c.Kernels, c.Engine, c.D, c.Causal,
			tune.TilesText(c.Case, c.Default), c.DefaultNs/1e6, tune.TilesText(c.Case, c.Tiles), c.BestNs/1e6, 100*c.Gain(), 100*c.Noise)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	for _, k := range sets {
		cache := tune.NewCache(k, *n, choices)
		if len(cache.Choices) == 0 {
			fmt.Fprintf(stdout, "%s: not measured (no time left); its cache is left as it was\n", k)
			continue
		}
		path, err := tune.Save(cache)
		if err != nil {
			return fmt.Errorf("saving the tuning of %s: %v", k, err)
		}
		name := "none"
		if t := cache.Tuning(); t != nil {
			name = t.Name
		}
		fmt.Fprintf(stdout, "%s: %d of %d choices differ from the defaults (tuning: %s), cached in %s\n", k, cache.Changed(), len(cache.Choices), name, path)
	}
	if runErr != nil {
		return fmt.Errorf("stopped early, the cases measured so far are cached: %v", runErr)
	}
	return nil
}

// tuneKernelSets resolves -kernels: all (the set in use first), or a list.
func tuneKernelSets(list string) ([]string, error) {
	if list == "all" {
		// Then the others fastest first (Impls lists generic first), so
		// that a short -time spends itself on the sets that matter.
		sets := []string{asm.Active().Name}
		impls := asm.Impls()
		for i := len(impls) - 1; i >= 0; i-- {
			if k := impls[i]; k.Name != asm.Active().Name {
				sets = append(sets, k.Name)
			}
		}
		return sets, nil
	}
	var sets []string
	for _, name := range strings.Split(list, ",") {
		k, err := asm.Lookup(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		sets = append(sets, k.Name)
	}
	return sets, nil
}

// loadTuning makes the cached tuning of the kernel set in use the one
// Forward consults, and returns why a cache that exists is not used ("" when
// it is, or when there is none).
func loadTuning() (note string) {
	c, _, note := tune.Load(asm.Active().Name)
	variants.SetTuning(c.Tuning())
	return note
}

// tuningLine says whether a tuning of kernel set kernels is cached, and
// which.
func tuningLine(kernels string) string {
	c, path, note := tune.Load(kernels)
	switch {
	case note != "":
		return "none: " + note
	case c == nil:
		return "none cached for " + kernels + " (attnbench tune measures one)"
	}
	name := "none (every default kept)"
	if t := c.Tuning(); t != nil {
		name = t.Name
	}
	return fmt.Sprintf("%s: %d of %d choices differ from the defaults, measured %s at n=%d, cached in %s",
		name, c.Changed(), len(c.Choices), c.Measured.Format(time.DateOnly), c.N, path)
}
