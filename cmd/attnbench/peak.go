package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/harness/machine"
)

func init() {
	register(command{
		name:    "peak",
		summary: "measure FMA peak (GFLOP/s, 1 thread and all) and memory bandwidth; cache it for %peak",
		run:     runPeak,
	})
}

func runPeak(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("peak", stderr)
	kernels := fs.String("kernels", "", "kernel set to measure, or all (default: the one in use)")
	dur := fs.Duration("time", time.Second, "duration of each measurement")
	if err := parseSweepFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return unexpectedArgs(fs, args, "")
	}
	if *dur <= 0 {
		return badInput("-time %v: must be positive", *dur)
	}
	var sets []*asm.Kernels
	switch *kernels {
	case "":
		sets = []*asm.Kernels{asm.Active()}
	case "all":
		sets = asm.Impls()
	default:
		k, err := asm.Lookup(*kernels)
		if err != nil {
			return badInput("-kernels: %v", err)
		}
		sets = []*asm.Kernels{k}
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "kernels\tmethod\t1 thread\t%d threads\tbandwidth\tcached in\n", machine.Cores())
	for _, k := range sets {
		p := machine.MeasurePeak(k, *dur)
		path, err := machine.SavePeak(p)
		if err != nil {
			path = "not cached: " + err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4g GFLOP/s\t%.4g GFLOP/s\t%.4g GB/s\t%s\n", k.Name, p.Method, p.GFLOPS1, p.GFLOPSAll, p.Bandwidth, path)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nGFLOP/s counts a multiply-add as 2 flops; bandwidth is a streaming read of two buffers of %d MiB each (≥ 2× the %d MiB cache) on all cores.\n", asm.BandwidthBufferBytes()>>20, asm.CacheBytes()>>20)
	return nil
}
