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
	"sync"
	"syscall"
	"time"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/harness/machine"
	"github.com/attnbench/attnbench/harness/npy"
	"github.com/attnbench/attnbench/harness/results"
	"github.com/attnbench/attnbench/harness/sweep"
	"github.com/attnbench/attnbench/harness/timing"
	"github.com/attnbench/attnbench/internal/atomicfile"
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
var sweepLogistics = []string{"o", "format", "resume", "shard", "v", "peak", "max-mem", "count", "err-max-n", "report", "pattern-n"}

// sweepContext returns the context a sweep runs under: cancelled by the
// first Ctrl-C or SIGTERM, after which the sweep stops after the sample in
// progress and keeps every finished row. A second signal does not wait for
// that sample: salvage saves the finished rows and says where they are,
// and the process exits at once (128 + the signal's number). stop ends the
// signal handling.
func sweepContext(stderr io.Writer, salvage func() string) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case sig := <-sigs:
			signal.Stop(sigs)
			fmt.Fprintf(stderr, "attnbench sweep: %v again: stopped at once; %s\n", sig, salvage())
			code := 130
			if sig == syscall.SIGTERM {
				code = 143
			}
			os.Exit(code)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			cancel()
		})
	}
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
	inputKind := fs.String("inputs", "gaussian", "inputs: gaussian, local, peaked, llm, or npy:DIR (q.npy, k.npy, v.npy; they fix the shape); when not given, cases are timed on gaussian inputs and their error figures computed on llm inputs (name key err-inputs=llm)")
	inputSeed := fs.Uint64("input-seed", 1, "seed of the generated inputs")
	maxMem := fs.String("max-mem", "50%", "skip cases estimated to need more memory: a size (8GiB) or a share of memory (50%)")
	errMaxN := fs.Int("err-max-n", 2048, "compute relerr, maxerr, cosine and coverage for cases with n and m up to this (the float64 reference costs O(n·m·d) per head)")
	outPath := fs.String("o", "results/latest.txt", "results file (- for standard output)")
	format := fs.String("format", "", "txt (Go benchmark format), csv or json (JSON lines); default from the -o extension, else txt")
	resume := fs.Bool("resume", false, "keep the rows already in -o and run only the missing samples")
	shard := fs.String("shard", "", "run only one slice of the cases, given as `k/n`: the k-th of n (1 ≤ k ≤ n)")
	measurePeak := fs.Bool("peak", false, "measure the FMA peak now when none is cached, for %peak")
	verbose := fs.Bool("v", false, "print a progress line per case even when stderr is not a terminal")
	patternN := fs.Int("pattern-n", 256, "n of the attention maps written beside the results for the report's patterns plot (0: none)")
	reportDir := fs.String("report", "", "after the sweep, draw the report of the -o file into this `directory` (as attnbench report does)")
	knobs := addKnobFlags(fs, true)
	if err := parseSweepFlags(fs, args, stderr); err != nil {
		return knobs.parseError(err)
	}
	if *reportDir != "" && !reportable(*outPath, *format) {
		return badInput("-report needs the results in a Go benchmark format file (-o FILE.txt, not -format csv/json or -)")
	}
	if fs.NArg() > 0 {
		return unexpectedArgs(fs, args, " (every setting is a flag)")
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
	if !set["inputs"] {
		// Error on gaussian inputs means nothing (docs/accuracy.md): by
		// default the error figures come from llm inputs.
		spec.ErrInputs = defaultErrInputs
	}
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
				return badInput("%w", err)
			}
		}
		if *mList != "" {
			if spec.M, err = parseInts("m", *mList, 1); err != nil {
				return badInput("%w", err)
			}
		}
		if *kvHeadList != "" {
			if spec.KVHeads, err = parseInts("kv-heads", *kvHeadList, 1); err != nil {
				return badInput("%w", err)
			}
		}
	}
	if spec.Causal, err = parseBools("causal", *causalList); err != nil {
		return badInput("%w", err)
	}
	if spec.Threads, err = parseInts("threads", *threadList, 0); err != nil {
		return badInput("%w", err)
	}
	spec.Knobs = knobs.sweepKnobs()
	if *count < 1 {
		return badInput("-count %d: must be ≥ 1", *count)
	}
	if *errMaxN < 0 {
		return badInput("-err-max-n %d: must be ≥ 0", *errMaxN)
	}
	if *patternN < 0 || *patternN > maxPatternN {
		return badInput("-pattern-n %d: must be between 0 and %d (the maps cost O(n²) memory per variant)", *patternN, maxPatternN)
	}
	bt, err := timing.ParseBenchTime(*benchTime)
	if err != nil {
		return badInput("%w", err)
	}
	memory, _ := machine.Memory()
	limit, err := sweep.ParseMaxMem(*maxMem, memory)
	if err != nil {
		return badInput("%w", err)
	}
	cases, unsupported, err := sweep.Expand(spec)
	if err != nil {
		return badInput("%w", err)
	}
	total := len(cases)
	if *shard != "" {
		k, n, err := sweep.ParseShard(*shard)
		if err != nil {
			return badInput("%w", err)
		}
		cases = sweep.Shard(cases, k, n)
		if len(cases) == 0 {
			return badInput("-shard %s: the grid has only %d cases, so this shard is empty", *shard, total)
		}
	}
	fmtName, err := results.FormatFor(*outPath, *format)
	if err != nil {
		return badInput("%w", err)
	}

	peak, err := sweepPeak(*measurePeak, stderr)
	if err != nil {
		return badInput("%w", err)
	}
	schema := sweep.Schema(peak, sweepCommandLine(fs, knobs))
	if err := checkSweepFiles(*outPath, *inputKind, *reportDir); err != nil {
		return badInput("%w", err)
	}
	// The attention maps are computed now (a bad -pattern-n costs
	// nothing) and written once the results file is open.
	var patterns *sweep.Patterns
	if *patternN > 0 && *outPath != "-" {
		if patterns, err = sweep.MakePatterns(cases, *patternN); err != nil {
			return badInput("-pattern-n %d: %v", *patternN, err)
		}
		if patterns != nil {
			schema.Config = append(schema.Config, results.KV{Key: sweep.PatternsConfigKey, Value: sweep.PatternsSuffix})
		}
	}
	var out *results.Output
	if *outPath == "-" {
		if *resume {
			return badInput("-resume needs an output file (-o FILE), not the standard output")
		}
		out = results.NewOutput(stdout, fmtName, schema)
	} else if out, err = results.Prepare(*outPath, fmtName, schema, *resume); err != nil {
		return badInput("%w", err)
	}
	defer out.Close()
	if a := out.Adopted; a != "" {
		fmt.Fprintf(stderr, "attnbench sweep: -resume: continuing from %s, the rows of a sweep that was killed before it could save them in %s\n", a, *outPath)
	}
	for _, l := range out.Leftovers {
		fmt.Fprintf(stderr, "attnbench sweep: note: %s was left by a sweep that was killed before it could save its rows in %s (-resume continues from the newest such file when it is newer than %s)\n", l, *outPath, *outPath)
	}
	if d := out.Dropped(); d != "" {
		fmt.Fprintf(stderr, "attnbench sweep: -resume: leaving out the unfinished last line of %s: %s\n", *outPath, shortQuote(d))
	}
	if patterns != nil {
		if err := sweep.WritePatterns(sweep.PatternsPath(*outPath), patterns); err != nil {
			// The sweep is worth more than its maps: go on, say so.
			fmt.Fprintf(stderr, "attnbench sweep: the attention maps are not written: %v\n", err)
		}
	}

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
		out.Comment(fmt.Sprintf("unsupported: %s: %s", s.Name, flagMessage(s.Err)))
		fmt.Fprintf(stderr, "attnbench sweep: unsupported, not run: %s: %s\n", s.Name, flagMessage(s.Err))
	}

	where := *outPath
	if where == "-" {
		where = "the standard output"
	}
	ctx, stop := sweepContext(stderr, func() string {
		if err := out.Close(); err != nil {
			return err.Error()
		}
		return fmt.Sprintf("the %d rows measured are in %s; run the same command with -resume to finish", out.Rows(), where)
	})
	defer stop()
	began := time.Now()
	cfg := sweep.Config{
		Count:     *count,
		BenchTime: bt,
		MaxMem:    limit,
		ErrMaxN:   *errMaxN,
		Peak:      peak,
		Progress:  prog,
	}
	if sweep.HasGBs(cases) {
		cfg.Bandwidth, cfg.BandwidthBytes = streamBandwidth()
		cfg.BandwidthMinKV = float64(asm.CacheBytes())
	}
	sum, err := sweep.Run(ctx, cases, out, cfg)
	stop()
	switch {
	case errors.Is(err, sweep.ErrInterrupted):
		if cerr := out.Close(); cerr != nil {
			return fmt.Errorf("%v: %v", err, cerr)
		}
		if sum.Rows == 0 && !out.Saved() {
			return fmt.Errorf("%v before a row was measured: %s is as it was", err, where)
		}
		return fmt.Errorf("%v: the %d rows measured are in %s; run the same command with -resume to finish", err, sum.Rows, where)
	case err != nil && !errors.Is(err, sweep.ErrFailed):
		if cerr := out.Close(); cerr != nil {
			return fmt.Errorf("%w; %v", err, cerr)
		}
		return fmt.Errorf("%w (the %d rows measured before are in %s)", err, sum.Rows, where)
	}
	if ferr := out.Finish(); ferr != nil {
		return ferr
	}
	if sum.Rows == 0 && *outPath != "-" && !out.Saved() {
		where += " (nothing measured: the file is as it was)"
	}
	fmt.Fprintf(stderr, "attnbench sweep: %d cases (%d already done, %d skipped for memory, %d failed), %d rows written to %s in %s\n",
		len(cases), sum.Resumed, sum.Skipped, sum.Failed, sum.Rows, where, time.Since(began).Round(time.Second))
	if *reportDir != "" {
		if _, serr := os.Stat(*outPath); serr != nil || sum.Rows == 0 && !*resume {
			// The file, if any, holds an earlier sweep's rows.
			fmt.Fprintf(stderr, "attnbench sweep: no rows measured: no report drawn in %s\n", *reportDir)
		} else if rerr := reportAfterSweep(*reportDir, *outPath, stderr); rerr != nil {
			return rerr
		}
	}
	if err != nil {
		return checkFailed("%v (their errors are above)", err)
	}
	return nil
}

// checkSweepFiles refuses, before anything is measured, an -o that is an
// input of the sweep or a file its -report writes, and a -report directory
// that cannot be written.
func checkSweepFiles(outPath, inputKind, reportDir string) error {
	if dir, ok := strings.CutPrefix(inputKind, "npy:"); ok && outPath != "-" {
		for _, name := range []string{"q.npy", "k.npy", "v.npy"} {
			if in := filepath.Join(dir, name); atomicfile.SameFile(outPath, in) {
				return fmt.Errorf("-o %s: it is the input %s of this sweep (-inputs %s); write the results elsewhere", outPath, in, inputKind)
			}
		}
	}
	if reportDir == "" {
		return nil
	}
	if reports.Writes(reportDir, outPath) {
		return fmt.Errorf("-o %s: the report in -report %s writes this file; write the results elsewhere", outPath, reportDir)
	}
	if err := reports.PrepareDir(reportDir); err != nil {
		return fmt.Errorf("-report: %v", err)
	}
	return nil
}

// shortQuote quotes s, cut to a length that fits a message line.
func shortQuote(s string) string {
	const most = 80
	if r := []rune(s); len(r) > most {
		return strconv.Quote(string(r[:most])) + "…"
	}
	return strconv.Quote(s)
}

// maxPatternN bounds -pattern-n: each map holds n² weights.
const maxPatternN = 1024

// defaultErrInputs is the input kind of the error figures when -inputs is
// not given.
const defaultErrInputs = "llm"

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
		return badInput("%w", err)
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

// bandwidthSampleTime is how long the sweep measures the memory bandwidth
// before each sample of a case that carries GB/s: a dozen or more passes
// over the two buffers, best of them as attnbench peak takes it.
const bandwidthSampleTime = 150 * time.Millisecond

// streamBandwidth returns sweep.Config's Bandwidth, whose buffers are
// allocated at its first call, and their size.
func streamBandwidth() (func() float64, int64) {
	var stream *asm.Stream
	return func() float64 {
		if stream == nil {
			stream = asm.NewStream()
		}
		return stream.Measure(bandwidthSampleTime)
	}, 2 * int64(asm.BandwidthBufferBytes())
}
