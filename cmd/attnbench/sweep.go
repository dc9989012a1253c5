package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/harness/machine"
	"github.com/attnbench/attnbench/harness/npy"
	"github.com/attnbench/attnbench/harness/results"
	"github.com/attnbench/attnbench/harness/sweep"
	"github.com/attnbench/attnbench/harness/timing"
	"github.com/attnbench/attnbench/reports"
	"github.com/attnbench/attnbench/variants"
)

func init() {
	register(command{
		name:    "sweep",
		summary: "time variants over a grid of shapes and parameters; write benchstat-ready results",
		run:     runSweep,
	})
}

// sweepLogistics are the flags that say where and how a sweep runs, not
// what it measures. They are left out of the results' command line, so
// that a resumed run, the shards of one sweep and runs with different
// -count share one command line, and benchstat one table.
var sweepLogistics = []string{"o", "format", "resume", "shard", "v", "peak", "max-mem", "count", "err-max-n", "report"}

// sweepContext returns the context a sweep runs under: cancelled by the
// first Ctrl-C or SIGTERM, after which the signals get their default
// effect again, so a second Ctrl-C ends the process at once.
func sweepContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

func runSweep(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sweep", stderr)
	variantList := fs.String("variants", strings.Join(variants.Names(), ","), "variants to run, comma-separated")
	nList := fs.String("n", "256,512,1024,2048,4096", "query lengths")
	mList := fs.String("m", "", "key lengths, for cross-attention (default: m = n)")
	dList := fs.String("d", "64", "head dimensions")
	headList := fs.String("heads", "4", "heads")
	kvHeadList := fs.String("kv-heads", "", "K/V heads, for grouped-query attention: each divides -heads (default: = heads)")
	batchList := fs.String("batch", "1", "batch sizes")
	causalList := fs.String("causal", "false", "causal settings: false, true or false,true")
	threadList := fs.String("threads", "0", "goroutines per Forward (0 = all cores)")
	count := fs.Int("count", 3, "samples per case; each is one result line")
	benchTime := fs.String("benchtime", "200ms", "minimum time per sample, or a fixed iteration count such as 100x")
	inputKind := fs.String("inputs", "gaussian", "inputs: gaussian, local, peaked, or npy:DIR (q.npy, k.npy, v.npy; they fix the shape)")
	inputSeed := fs.Uint64("input-seed", 1, "seed of the generated inputs")
	maxMem := fs.String("max-mem", "50%", "skip cases estimated to need more memory: a size (8GiB) or a share of memory (50%)")
	errMaxN := fs.Int("err-max-n", 2048, "compute relerr and maxerr for cases with n and m up to this (the float64 reference costs O(n·m·d) per head)")
	outPath := fs.String("o", "results/latest.txt", "results file (- for standard output)")
	format := fs.String("format", "", "txt (Go benchmark format), csv or json (JSON lines); default from the -o extension, else txt")
	resume := fs.Bool("resume", false, "keep the rows already in -o and run only the missing samples")
	shard := fs.String("shard", "", "run only one slice of the cases, given as `k/n`: the k-th of n (1 ≤ k ≤ n)")
	measurePeak := fs.Bool("peak", false, "measure the FMA peak now when none is cached, for %peak")
	verbose := fs.Bool("v", false, "print a progress line per case even when stderr is not a terminal")
	reportDir := fs.String("report", "", "after the sweep, draw the report of the -o file into this `directory` (as attnbench report does)")
	knobs := addKnobFlags(fs, true)
	if err := parseSweepFlags(fs, args, stderr); err != nil {
		return err
	}
	if *reportDir != "" && !reportable(*outPath, *format) {
		return badInput("-report needs the results in a Go benchmark format file (-o FILE.txt, not -format csv/json or -)")
	}
	if fs.NArg() > 0 {
		return unexpectedArgs(fs, args, " (every setting is a flag)")
	}
	if asm.EnvError != nil {
		return badInput("%v", asm.EnvError)
	}

	// Everything is parsed and checked before anything is measured or
	// written.
	spec := sweep.Spec{Inputs: *inputKind, InputSeed: *inputSeed, LoadNPY: npy.Load}
	var err error
	if spec.Variants = splitList(*variantList); len(spec.Variants) == 0 {
		return badInput("-variants: no variant given")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if strings.HasPrefix(*inputKind, "npy:") {
		for _, f := range []string{"n", "m", "d", "heads", "kv-heads", "batch"} {
			if set[f] {
				return badInput("-%s: with -inputs npy:DIR the shape comes from the .npy files", f)
			}
		}
	} else {
		for _, l := range []struct {
			flag string
			s    string
			dst  *[]int
		}{{"n", *nList, &spec.N}, {"d", *dList, &spec.D}, {"heads", *headList, &spec.Heads}, {"batch", *batchList, &spec.Batch}} {
			if *l.dst, err = parseInts(l.flag, l.s, 1); err != nil {
				return badInput("%v", err)
			}
		}
		if *mList != "" {
			if spec.M, err = parseInts("m", *mList, 1); err != nil {
				return badInput("%v", err)
			}
		}
		if *kvHeadList != "" {
			if spec.KVHeads, err = parseInts("kv-heads", *kvHeadList, 1); err != nil {
				return badInput("%v", err)
			}
		}
	}
	if spec.Causal, err = parseBools("causal", *causalList); err != nil {
		return badInput("%v", err)
	}
	if spec.Threads, err = parseInts("threads", *threadList, 0); err != nil {
		return badInput("%v", err)
	}
	spec.Knobs = knobs.sweepKnobs()
	if *count < 1 {
		return badInput("-count %d: must be ≥ 1", *count)
	}
	if *errMaxN < 0 {
		return badInput("-err-max-n %d: must be ≥ 0", *errMaxN)
	}
	bt, err := timing.ParseBenchTime(*benchTime)
	if err != nil {
		return badInput("%v", err)
	}
	memory, _ := machine.Memory()
	limit, err := sweep.ParseMaxMem(*maxMem, memory)
	if err != nil {
		return badInput("%v", err)
	}
	cases, unsupported, err := sweep.Expand(spec)
	if err != nil {
		return badInput("%v", err)
	}
	total := len(cases)
	if *shard != "" {
		k, n, err := sweep.ParseShard(*shard)
		if err != nil {
			return badInput("%v", err)
		}
		cases = sweep.Shard(cases, k, n)
		if len(cases) == 0 {
			return badInput("-shard %s: the grid has only %d cases, so this shard is empty", *shard, total)
		}
	}
	fmtName, err := results.FormatFor(*outPath, *format)
	if err != nil {
		return badInput("%v", err)
	}

	peak, err := sweepPeak(*measurePeak, stderr)
	if err != nil {
		return badInput("%v", err)
	}
	schema := sweep.Schema(peak, sweepCommandLine(fs, knobs))
	var out *results.Output
	if *outPath == "-" {
		if *resume {
			return badInput("-resume needs an output file (-o FILE), not the standard output")
		}
		out = results.NewOutput(stdout, fmtName, schema)
	} else if out, err = results.Prepare(*outPath, fmtName, schema, *resume); err != nil {
		return badInput("%v", err)
	}
	defer out.Close()

	mode := sweep.Quiet
	switch {
	case isTerminal(stderr):
		mode = sweep.Live
	case *verbose:
		mode = sweep.Lines
	}
	prog := sweep.NewProgress(stderr, mode)
	for _, s := range unsupported {
		// Cases a variant does not support by design (ErrUnsupported).
		out.Comment(fmt.Sprintf("unsupported: %s: %s", s.Name, s.Reason))
		fmt.Fprintf(stderr, "attnbench sweep: unsupported, not run: %s: %s\n", s.Name, s.Reason)
	}

	ctx, stop := sweepContext()
	defer stop()
	began := time.Now()
	sum, err := sweep.Run(ctx, cases, out, sweep.Config{
		Count:     *count,
		BenchTime: bt,
		MaxMem:    limit,
		ErrMaxN:   *errMaxN,
		Peak:      peak,
		Progress:  prog,
	})
	where := *outPath
	if where == "-" {
		where = "the standard output"
	}
	switch {
	case errors.Is(err, sweep.ErrInterrupted):
		out.Close()
		return fmt.Errorf("%v: the %d rows measured are in %s; run the same command with -resume to finish", err, sum.Rows, where)
	case err != nil && !errors.Is(err, sweep.ErrFailed):
		return err
	}
	if ferr := out.Finish(); ferr != nil {
		return ferr
	}
	fmt.Fprintf(stderr, "attnbench sweep: %d cases (%d already done, %d skipped for memory, %d failed), %d rows written to %s in %s\n",
		len(cases), sum.Resumed, sum.Skipped, sum.Failed, sum.Rows, where, time.Since(began).Round(time.Second))
	if *reportDir != "" {
		if rerr := reportAfterSweep(*reportDir, *outPath, stderr); rerr != nil {
			return rerr
		}
	}
	if err != nil {
		return checkFailed("%v (their errors are above)", err)
	}
	return nil
}

// reportable reports whether a results file can be drawn: reports read the
// Go benchmark format only.
func reportable(path, format string) bool {
	if path == "-" || format == "csv" || format == "json" {
		return false
	}
	return format == "txt" || !(strings.HasSuffix(path, ".csv") || strings.HasSuffix(path, ".json"))
}

// reportAfterSweep draws the report of a finished sweep's results file.
func reportAfterSweep(dir, resultsPath string, stderr io.Writer) error {
	res, err := reports.Generate(dir, []string{resultsPath}, reports.Options{})
	if err != nil {
		return badInput("-report: %v", err)
	}
	fmt.Fprintf(stderr, "attnbench sweep: report with %d plots in %s\n", res.Plots, filepath.Join(dir, "index.html"))
	return nil
}

// parseSweepFlags parses args, keeping the flag package's usage text for
// -h only: a bad flag is reported in one line, by the caller.
func parseSweepFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	var usage bytes.Buffer
	fs.SetOutput(&usage)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	if errors.Is(err, flag.ErrHelp) {
		stderr.Write(usage.Bytes())
		return err
	}
	if err != nil {
		return badInput("%v", err)
	}
	return nil
}

// sweepPeak returns the cached FMA peak of the active kernel set, measuring
// and caching it first when measure is set and none is cached; nil when
// unknown (%peak is then left out).
func sweepPeak(measure bool, stderr io.Writer) (*machine.Peak, error) {
	k := asm.Active()
	p, ok, err := machine.CachedPeak(k.Name)
	if err != nil {
		fmt.Fprintf(stderr, "attnbench sweep: ignoring the peak cache: %v\n", err)
	}
	if ok {
		return &p, nil
	}
	if !measure {
		return nil, nil
	}
	fmt.Fprintf(stderr, "attnbench sweep: measuring the FMA peak of kernel set %s (%s)...\n", k.Name, machine.Method(k.Name))
	p = machine.MeasurePeak(k, 500*time.Millisecond)
	if path, err := machine.SavePeak(p); err != nil {
		fmt.Fprintf(stderr, "attnbench sweep: could not cache the peak: %v\n", err)
	} else {
		fmt.Fprintf(stderr, "attnbench sweep: peak %.4g GFLOP/s (1 thread), %.4g GFLOP/s (%d threads), cached in %s\n", p.GFLOPS1, p.GFLOPSAll, p.Cores, path)
	}
	return &p, nil
}

// sweepCommandLine is the command line of the results' `command:` line:
// the flags given that change what is measured, in a fixed order (so the
// same sweep typed in another order gives the same line).
func sweepCommandLine(fs *flag.FlagSet, knobs *knobFlags) string {
	parts := []string{"attnbench", "sweep"}
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(sweepLogistics, f.Name) {
			return
		}
		v := f.Value.String()
		if vals, ok := knobs.values[f.Name]; ok {
			v = strings.Join(vals, ",")
		}
		if strings.ContainsAny(v, " \t\"'") || v == "" {
			v = strconv.Quote(v)
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			parts = append(parts, "-"+f.Name+"="+v)
			return
		}
		parts = append(parts, "-"+f.Name, v)
	})
	return strings.Join(parts, " ")
}

// isTerminal reports whether w is a terminal (a character device), without
// golang.org/x/term.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
