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
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: attnbench report [-o DIR] [-pareto-n N] FILE... (FILE may be label=FILE)")
		fmt.Fprintln(stderr, "\nFiles from different cpu, goarch, kernels or labels are drawn side by side, never mixed.")
		fs.PrintDefaults()
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fs.Usage()
		return badInput("no result files given")
	}
	if *paretoN < 0 {
		return badInput("-pareto-n must not be negative")
	}
	res, err := reports.Generate(*out, files, reports.Options{ParetoN: *paretoN})
	if err != nil {
		return badInput("%v", err)
	}
	if !*quiet {
		for _, n := range res.Notes {
			fmt.Fprintln(stderr, "note:", n)
		}
	}
	fmt.Fprintf(stdout, "wrote %s (%d groups, %d plots as PNG and SVG, summary.md)\n", res.Files[0], len(res.Report.Groups), res.Plots)
	return nil
}
