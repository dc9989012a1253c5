package main

import (
	"fmt"
	"io"

	"github.com/attnbench/attnbench/reports"
)

func init() {
	register(command{
		name:    "report",
		summary: "plots (PNG, SVG), index.html and summary.md from result files",
		run:     runReport,
	})
}

func runReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stderr)
	out := fs.String("o", "reports/latest", "output `directory`")
	paretoN := fs.Int("pareto-n", 0, "`n` of the error-vs-time plot (default: the largest n where the most variants have time and relerr)")
	quiet := fs.Bool("q", false, "do not list the notes (what was left out and why)")
	merge := fs.Bool("merge", false, "pool the samples of different files under one label, or of one machine's same benchmarks (shards, repeated runs); refused otherwise")
	fs.Usage = func() {
		if !helpAsked {
			return // a bad flag gets one line, printed by run
		}
		fmt.Fprintln(stderr, "usage: attnbench report [-o DIR] [-pareto-n N] [-merge] FILE... (FILE may be label=FILE)")
		fmt.Fprintln(stderr, "\nFiles from different cpu, goarch, kernels or labels are drawn side by side, never mixed.")
		fs.PrintDefaults()
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return badInput("no result files given (usage: attnbench report [-o DIR] FILE...)")
	}
	if *paretoN < 0 {
		return badInput("-pareto-n %d: must be ≥ 0", *paretoN)
	}
	if err := reports.CheckInputs(*out, files); err != nil {
		return badInput("%w", err)
	}
	res, err := reports.Generate(*out, files, reports.Options{ParetoN: *paretoN, Merge: *merge})
	if err != nil {
		return badInput("%w", err)
	}
	if !*quiet {
		for _, n := range res.Notes {
			fmt.Fprintln(stderr, "note:", n)
		}
	}
	fmt.Fprintf(stdout, "wrote %s (%d groups, %d plots as PNG and SVG, summary.md)\n", res.Files[0], len(res.Report.Groups), res.Plots)
	return nil
}
