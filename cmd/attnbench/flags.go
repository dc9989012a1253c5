package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/attnbench/attnbench/harness/sweep"
	"github.com/attnbench/attnbench/variants"
)

// knobFlags registers every variant parameter of variants.Params as a flag
// of fs. Each flag takes one value, or a comma-separated list where the
// command sweeps over it. Values are checked as they are parsed.
type knobFlags struct {
	lists   bool
	values  map[string][]string // parameter name → values given, in order
	ordered []string            // parameter names in the order first given
	bad     error               // the value that stopped the parse (see parseError)
}

func addKnobFlags(fs *flag.FlagSet, lists bool) *knobFlags {
	kf := &knobFlags{lists: lists, values: map[string][]string{}}
	for _, p := range variants.Params() {
		usage := p.Usage + " (default " + p.Default + ")"
		if lists && !p.Bool {
			usage += "; a comma-separated list sweeps it"
		}
		set := func(s string) error {
			vals := []string{s}
			if lists && !p.Bool {
				vals = strings.Split(s, ",")
			}
			for _, v := range vals {
				var o variants.Options
				if err := o.Set(p.Name, strings.TrimSpace(v)); err != nil {
					kf.bad = err
					return err
				}
			}
			if _, seen := kf.values[p.Name]; !seen {
				kf.ordered = append(kf.ordered, p.Name)
			}
			for _, v := range vals {
				kf.values[p.Name] = append(kf.values[p.Name], strings.TrimSpace(v))
			}
			return nil
		}
		if p.Bool {
			fs.BoolFunc(p.Name, usage, set)
		} else {
			fs.Func(p.Name, usage, set)
		}
	}
	return kf
}

// parseError is the error to report when fs.Parse returned err: a bad
// parameter value as Options.Set names it, which flagMessage words as
// "-window x: not an integer" (the flag package's text would repeat the
// flag and value around it, and lose the value's place in a list).
func (kf *knobFlags) parseError(err error) error {
	if kf.bad != nil {
		return kf.bad
	}
	return err
}

// checkApplies reports a parameter given on the command line that none of
// the named variants reads (sweep.CheckApplies).
func (kf *knobFlags) checkApplies(names []string) error {
	var vs []variants.Variant
	for _, n := range names {
		v, err := variants.Lookup(n)
		if err != nil {
			return err
		}
		vs = append(vs, v)
	}
	for _, p := range kf.ordered {
		if err := sweep.CheckApplies(p, vs); err != nil {
			return err
		}
	}
	return nil
}

// single returns the options with every given parameter set to its one
// value (commands that do not sweep).
func (kf *knobFlags) single(base variants.Options) (variants.Options, error) {
	for _, p := range kf.ordered {
		vals := kf.values[p]
		if len(vals) != 1 {
			return base, fmt.Errorf("-%s given %d times; this command takes one value", p, len(vals))
		}
		if err := base.Set(p, vals[0]); err != nil {
			return base, err
		}
	}
	return base, nil
}

// sweepKnobs returns the parameters given, with their values, as a sweep
// grid takes them.
func (kf *knobFlags) sweepKnobs() []sweep.Knob {
	var knobs []sweep.Knob
	for _, name := range kf.ordered {
		knobs = append(knobs, sweep.Knob{Name: name, Values: kf.values[name]})
	}
	return knobs
}

// splitList parses a comma-separated flag value.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseInts parses a comma-separated list of integers ≥ min for flag name.
func parseInts(name, s string, min int) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		var v int
		if _, err := fmt.Sscan(f, &v); err != nil || fmt.Sprint(v) != f {
			return nil, fmt.Errorf("-%s %s: %q is not an integer", name, s, f)
		}
		if v < min && f == s {
			return nil, fmt.Errorf("-%s %s: must be ≥ %d", name, s, min)
		}
		if v < min { // name the bad value of a list
			return nil, fmt.Errorf("-%s %s: %d must be ≥ %d", name, s, v, min)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-%s: no values given", name)
	}
	return out, nil
}

// parseBools parses a comma-separated list of booleans.
func parseBools(name, s string) ([]bool, error) {
	var out []bool
	for _, f := range splitList(s) {
		switch f {
		case "true", "1":
			out = append(out, true)
		case "false", "0":
			out = append(out, false)
		default:
			return nil, fmt.Errorf("-%s %s: %q is not true or false", name, s, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-%s: no values given", name)
	}
	return out, nil
}
