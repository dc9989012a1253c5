package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/attnbench/attnbench/harness/gate"
)

func init() {
	register(command{
		name:    "gate",
		summary: "compare two results files; exit 1 on a significant regression",
		run:     runGate,
	})
}

// thresholdFlag accepts "5%" or "0.05".
// thresholdFlag is -threshold, parsed by gate.ParseThreshold. A refused
// value is kept in bad, so that it is reported in the flag's own words
// rather than inside the flag package's.
type thresholdFlag struct {
	value *float64
	bad   *error
}

func (t thresholdFlag) String() string {
	if t.value == nil {
		return ""
	}
	return fmt.Sprintf("%g%%", 100**t.value)
}

func (t thresholdFlag) Set(s string) error {
	v, err := gate.ParseThreshold(s)
	if err != nil {
		*t.bad = err
		return err
	}
	*t.value = v
	return nil
}

func runGate(args []string, stdout, stderr io.Writer) error {
	opt := gate.DefaultOptions()
	fs := newFlagSet("gate", stderr)
	var badThreshold error
	fs.Var(thresholdFlag{&opt.Threshold, &badThreshold}, "threshold", "smallest change of the median, in the unit's bad direction, that is a regression: 5% or 0.05")
	fs.Float64Var(&opt.Alpha, "alpha", opt.Alpha, "significance level of the Mann–Whitney U test")
	units := fs.String("units", strings.Join(gate.DefaultUnits, ","), "comma-separated units to compare (ns/op = sec/op; e.g. sec/op,peak-B/op,GFLOP/s)")
	fs.BoolVar(&opt.AllowMismatch, "allow-mismatch", false, "compare files whose cpu, goarch or kernels differ (with a warning) instead of refusing")
	fs.Usage = func() {
		if !helpAsked {
			return // a bad flag gets one line, printed by run
		}
		fmt.Fprintln(stderr, "usage: attnbench gate BASE NEW [-threshold 5%] [-alpha 0.05] [-units sec/op,peak-B/op] [-allow-mismatch]")
		fmt.Fprintln(stderr, "Exit 1 when NEW is significantly (p < alpha) worse than BASE by more than the threshold in some unit, 0 otherwise, 2 on bad input.")
		fs.PrintDefaults()
	}
	files, err := parseInterspersed(fs, args)
	if badThreshold != nil {
		return badThreshold
	}
	if err != nil {
		return err
	}
	if len(files) != 2 {
		return badInput("want two results files, BASE and NEW; got %d argument(s) (usage: attnbench gate BASE NEW [flags])", len(files))
	}
	opt.Units = nil
	for _, u := range strings.Split(*units, ",") {
		if u = strings.TrimSpace(u); u != "" {
			opt.Units = append(opt.Units, u)
		}
	}
	if len(opt.Units) == 0 {
		return badInput("-units: no unit given")
	}

	rep, err := gate.CompareFiles(files[0], files[1], opt)
	if err != nil {
		return badInput("%w", err)
	}
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(stderr, "attnbench gate: warning: %s\n", w)
	}
	fmt.Fprintln(stdout, rep.Summary())
	if regs := rep.Regressions(); len(regs) > 0 {
		const most = 3
		var worst []string
		for _, r := range regs[:min(most, len(regs))] {
			worst = append(worst, fmt.Sprintf("%s %s %+.1f%%", r.Name, r.Unit, 100*r.Delta))
		}
		if len(regs) > most {
			worst = append(worst, fmt.Sprintf("and %d more", len(regs)-most))
		}
		return checkFailed("%d regression(s) beyond %s: %s", len(regs), fs.Lookup("threshold").Value, strings.Join(worst, "; "))
	}
	return nil
}
