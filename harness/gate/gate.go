// Package gate decides whether benchmark results NEW regressed against
// results BASE, both in Go benchmark format (docs/design.md §5).
//
// # Statistics
//
// Benchmark timings are skewed and often multi-modal, not normal, so each
// (benchmark, unit) pair is summarised by its median with a distribution-free
// 95% confidence interval and the two sides are compared with the
// Mann–Whitney U test: benchmath.AssumeNothing, what benchstat does.
//
// A row is a regression only when the difference is significant (p < alpha)
// AND the median moved by more than the threshold in the unit's bad
// direction. Significance alone would fail on real but negligible shifts
// (with enough samples 0.5% is significant); a threshold alone would fail on
// noise. The change is relative to BASE's median, in the unit's own terms:
// +5% sec/op is a regression, and so is -5% GFLOP/s.
//
// The bad direction comes from `Unit X better=higher|lower` lines in either
// file. Without one, the units whose meaning is fixed have a default
// (knownUnits: Go's ns/op, B/op, allocs/op, MB/s and attnbench's units of
// docs/design.md §4, vocab.Units); any other selected unit is an error, because a gate that
// cannot tell a regression from an improvement must not guess.
//
// Deterministic units: a unit such as peak-B/op is often identical in every
// sample. When both sides have at least two samples and none varies, or the
// unit is declared `Unit X assume=exact`, the samples are not noisy
// measurements of a distribution but the value itself, and the U test
// answers the wrong question (with equal values on both sides it cannot run;
// with few samples it cannot reach significance although the change is
// certain). Such rows are compared exactly (benchmath.AssumeExact): any change
// beyond the threshold is a definite change. A single sample per side is not
// enough to call a unit deterministic, unless it is declared so.
//
// Sample size: the U test on n and m samples cannot give p below
// MinPValue(n, m) = 2/C(n+m, n); with 3+3 samples that is 0.1, so nothing
// could ever be significant at alpha 0.05. Such rows are marked
// inconclusive and warned about instead of being reported as unchanged.
//
// Every row is tested at alpha, so with many rows some are significant by
// chance; the threshold is what keeps false alarms rare. TestAAFalseAlarmRate
// measures it on A/A pairs (both sides from one distribution, 10 samples a
// side): with 3% lognormal noise 4.3% of rows are significant but only 0.1%
// are regressions, and 0.45% of four-row gate runs fail.
package gate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchunit"

	"github.com/attnbench/attnbench/internal/setting"
	"github.com/attnbench/attnbench/internal/vocab"
)

// Options configure a comparison. Start from DefaultOptions.
type Options struct {
	// Threshold is the smallest relative change of the median, in the
	// unit's bad direction, that counts as a regression (0.05 = 5%).
	Threshold float64
	// Alpha is the significance level: p < Alpha is significant.
	Alpha float64
	// Confidence is the level of the median's confidence interval.
	Confidence float64
	// Units are the units compared, as written in results files or tidied
	// (ns/op and sec/op are the same unit).
	Units []string
	// AllowMismatch compares files from different cpu, goarch or kernels
	// (with a warning) instead of refusing.
	AllowMismatch bool
}

// DefaultUnits are compared when Options.Units is empty: time per op and
// peak workspace memory per op.
var DefaultUnits = []string{vocab.SecPerOp, vocab.PeakBytes}

// DefaultOptions returns a 5% threshold, alpha 0.05, 95% confidence
// intervals and DefaultUnits.
func DefaultOptions() Options {
	return Options{
		Threshold:  0.05,
		Alpha:      0.05,
		Confidence: 0.95,
		Units:      slices.Clone(DefaultUnits),
	}
}

// knownUnits are the units whose meaning is fixed, by their names as
// benchfmt tidies them: Go's testing units (ns/op becomes sec/op, MB/s
// becomes B/s) and attnbench's own (vocab.Units, the directions its files
// declare). Their direction is used when no `Unit X better=` line says
// otherwise, and their range rejects values no measurement can take.
var knownUnits = func() map[string]vocab.Unit {
	known := map[string]vocab.Unit{
		"B/s": {Name: "B/s", Better: vocab.Higher, Range: vocab.Positive}, // b.SetBytes
	}
	for _, u := range vocab.Units() {
		_, u.Name = benchunit.Tidy(1, u.Name)
		known[u.Name] = u
	}
	return known
}()

// Verdict is the outcome of one row.
type Verdict int

const (
	// Unchanged: no significant difference.
	Unchanged Verdict = iota
	// WithinThreshold: a significant difference no larger than the
	// threshold, in either direction.
	WithinThreshold
	// Improved: significant and beyond the threshold in the good direction.
	Improved
	// Regressed: significant and beyond the threshold in the bad direction.
	Regressed
	// Inconclusive: too few samples for the test ever to reach p < alpha.
	Inconclusive
)

func (v Verdict) String() string {
	switch v {
	case Unchanged:
		return "~"
	case WithinThreshold:
		return "within threshold"
	case Improved:
		return "improved"
	case Regressed:
		return "REGRESSION"
	case Inconclusive:
		return "too few samples"
	}
	return "Verdict(" + strconv.Itoa(int(v)) + ")"
}

// Side summarises one side of a row.
type Side struct {
	N int
	// Summary is the median and its confidence interval (for exact rows,
	// the value itself with Lo = Hi).
	Summary benchmath.Summary
}

// Row is the comparison of one benchmark in one unit.
type Row struct {
	Name string // full benchmark name, without the "Benchmark" prefix
	Unit string // tidied unit
	// Better is +1 when higher values are better, -1 when lower are.
	Better    int
	Base, New Side
	// Delta is the relative change of the median, (new-base)/|base|; ±Inf
	// when BASE's median is 0 and NEW's is not.
	Delta float64
	// P is the U test's p-value; 0 for an exact row that changed, 1 for
	// one that did not.
	P float64
	// Exact is set when both sides are deterministic (see package doc).
	Exact bool
	// MinP is the smallest p the U test could give with these sample
	// sizes (0 for exact rows).
	MinP    float64
	Verdict Verdict
}

// Report is the result of a comparison.
type Report struct {
	Options  Options
	BasePath string
	NewPath  string
	// Rows are ordered by unit (Options.Units order), then by the order the
	// benchmarks appear in BASE.
	Rows []Row
	// Warnings are things a reader must know that did not stop the
	// comparison: machine mismatch (when allowed), too few samples,
	// benchmarks or units present on one side only.
	Warnings []string
}

// Regressions returns the rows whose verdict is Regressed.
func (r *Report) Regressions() []Row {
	var out []Row
	for _, row := range r.Rows {
		if row.Verdict == Regressed {
			out = append(out, row)
		}
	}
	return out
}

// CompareFiles reads BASE and NEW and compares them. Every error is a
// problem with the input (unreadable, malformed or empty files, files from
// different machines, nothing in common to compare) and is one line.
func CompareFiles(basePath, newPath string, opt Options) (*Report, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	base, err := readFile(basePath)
	if err != nil {
		return nil, err
	}
	new, err := readFile(newPath)
	if err != nil {
		return nil, err
	}
	return compare(base, new, opt)
}

func (opt *Options) validate() error {
	if math.IsNaN(opt.Threshold) || opt.Threshold < 0 || math.IsInf(opt.Threshold, 0) {
		return &setting.Error{Name: "threshold", Value: fmt.Sprint(opt.Threshold), Reason: "want a fraction ≥ 0, such as 5% or 0.05"}
	}
	if !(opt.Alpha > 0 && opt.Alpha < 1) {
		return &setting.Error{Name: "alpha", Value: fmt.Sprint(opt.Alpha), Reason: "want a level between 0 and 1, such as 0.05"}
	}
	if !(opt.Confidence > 0 && opt.Confidence < 1) {
		return fmt.Errorf("confidence %v: want a level between 0 and 1, such as 0.95", opt.Confidence)
	}
	if len(opt.Units) == 0 {
		opt.Units = slices.Clone(DefaultUnits)
	}
	for _, u := range opt.Units {
		if u == "" || strings.ContainsAny(u, " \t") {
			return &setting.Error{Name: "units", Reason: fmt.Sprintf("%q is not a unit", u)}
		}
	}
	return nil
}

// tidyUnits maps units as users write them (ns/op) to the tidied units
// benchfmt stores (sec/op), dropping duplicates.
func tidyUnits(units []string) []string {
	var out []string
	for _, u := range units {
		_, t := benchunit.Tidy(1, u)
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func compare(base, new *resultSet, opt Options) (*Report, error) {
	rep := &Report{Options: opt, BasePath: base.path, NewPath: new.path}

	if diffs := machineDiffs(base, new); len(diffs) > 0 {
		msg := fmt.Sprintf("BASE %s and NEW %s were measured on different machines (%s)", base.path, new.path, strings.Join(diffs, "; "))
		if !opt.AllowMismatch {
			return nil, fmt.Errorf("%s: refusing to compare (-allow-mismatch to compare anyway)", msg)
		}
		rep.Warnings = append(rep.Warnings, msg+": compared anyway, differences may be the machine's")
	}

	var common, onlyBase, onlyNew []string
	for _, name := range base.names {
		if _, ok := new.samples[name]; ok {
			common = append(common, name)
		} else {
			onlyBase = append(onlyBase, name)
		}
	}
	for _, name := range new.names {
		if _, ok := base.samples[name]; !ok {
			onlyNew = append(onlyNew, name)
		}
	}
	if len(common) == 0 {
		return nil, fmt.Errorf("no benchmark is in both %s and %s (BASE has e.g. %s, NEW has e.g. %s)",
			base.path, new.path, base.names[0], new.names[0])
	}
	if len(onlyBase) > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d benchmark(s) only in BASE, not compared: %s", len(onlyBase), listSome(onlyBase)))
	}
	if len(onlyNew) > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d benchmark(s) only in NEW, not compared: %s", len(onlyNew), listSome(onlyNew)))
	}

	// Rows that can never reach significance, counted by sample sizes.
	tooFew := map[[2]int]int{}
	var tooFewKeys [][2]int
	for _, unit := range tidyUnits(opt.Units) {
		if !base.unitsSeen[unit] && !new.unitsSeen[unit] {
			return nil, fmt.Errorf("unit %s is in neither %s nor %s: nothing to gate on; leave it out of -units", unit, base.path, new.path)
		}
		better, err := direction(unit, base, new)
		if err != nil {
			return nil, err
		}
		assumeExact, err := declaredExact(unit, base, new)
		if err != nil {
			return nil, err
		}
		for _, name := range common {
			bv, nv := base.samples[name][unit], new.samples[name][unit]
			if len(bv) == 0 && len(nv) == 0 {
				continue // measured on neither side (relerr at large n)
			}
			// A value that vanished is not a pass: fail closed.
			for _, side := range []struct {
				set  *resultSet
				vals []float64
			}{{base, bv}, {new, nv}} {
				if len(side.vals) == 0 {
					other := base.path
					if side.set == base {
						other = new.path
					}
					return nil, fmt.Errorf("%s: %s has no %s, though %s has: a measurement that vanished cannot pass the gate", side.set.path, name, unit, other)
				}
				if why := side.set.invalid[[2]string{name, unit}]; why != "" {
					return nil, errors.New(why)
				}
			}
			row, warn := compareRow(name, unit, better, assumeExact, bv, nv, opt)
			if warn != "" {
				rep.Warnings = append(rep.Warnings, warn)
			}
			if row.Verdict == Inconclusive {
				key := [2]int{row.Base.N, row.New.N}
				if tooFew[key] == 0 {
					tooFewKeys = append(tooFewKeys, key)
				}
				tooFew[key]++
			}
			rep.Rows = append(rep.Rows, row)
		}
	}
	for _, key := range tooFewKeys {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf(
			"%d row(s) have n=%d+%d samples: the smallest p the U test can give is %.3g ≥ alpha %v, so no change can be detected; use -count ≥ %d on both sides (10 or more to detect small changes)",
			tooFew[key], key[0], key[1], MinPValue(key[0], key[1]), opt.Alpha, SamplesNeeded(opt.Alpha)))
	}
	if len(rep.Rows) == 0 {
		return nil, fmt.Errorf("nothing to compare: no benchmark in both %s and %s has any of the units %s", base.path, new.path, strings.Join(opt.Units, ","))
	}
	return rep, nil
}

// compareRow compares one benchmark in one unit. It may return a warning
// about the row.
func compareRow(name, unit string, better int, assumeExact bool, baseVals, newVals []float64, opt Options) (Row, string) {
	thresholds := &benchmath.Thresholds{CompareAlpha: opt.Alpha}
	bs := benchmath.NewSample(slices.Clone(baseVals), thresholds)
	ns := benchmath.NewSample(slices.Clone(newVals), thresholds)
	row := Row{Name: name, Unit: unit, Better: better, Base: Side{N: len(baseVals)}, New: Side{N: len(newVals)}}

	constant := !spread(bs.Values) && !spread(ns.Values)
	var warn string
	if assumeExact && !constant {
		warn = fmt.Sprintf("%s %s: declared assume=exact but values vary; compared with the U test", name, unit)
	}
	row.Exact = constant && (assumeExact || len(bs.Values) >= 2 && len(ns.Values) >= 2)

	if row.Exact {
		row.Base.Summary = benchmath.AssumeExact.Summary(bs, opt.Confidence)
		row.New.Summary = benchmath.AssumeExact.Summary(ns, opt.Confidence)
		row.P = 1
		if bs.Values[0] != ns.Values[0] {
			row.P = 0 // benchmath.AssumeExact.Compare: a certain difference
		}
	} else {
		row.Base.Summary = benchmath.AssumeNothing.Summary(bs, opt.Confidence)
		row.New.Summary = benchmath.AssumeNothing.Summary(ns, opt.Confidence)
		// The U test errs (and benchmath reports p = 1) when every value
		// on both sides is the same: then there is nothing to detect.
		row.P = benchmath.AssumeNothing.Compare(bs, ns).P
		row.MinP = MinPValue(len(bs.Values), len(ns.Values))
	}
	row.Delta = relativeChange(row.Base.Summary.Center, row.New.Summary.Center)

	allEqual := constant && bs.Values[0] == ns.Values[0]
	switch {
	case !row.Exact && !allEqual && row.MinP >= opt.Alpha:
		row.Verdict = Inconclusive
	case row.P >= opt.Alpha:
		row.Verdict = Unchanged
	case math.Abs(row.Delta) <= opt.Threshold:
		row.Verdict = WithinThreshold
	case (row.Delta > 0) == (better > 0):
		row.Verdict = Improved
	default:
		row.Verdict = Regressed
	}
	return row, warn
}

// relativeChange returns (new-base)/|base|, ±Inf when base is 0 and new is
// not, 0 when both are 0.
func relativeChange(base, new float64) float64 {
	if base == new {
		return 0
	}
	if base == 0 {
		return math.Copysign(math.Inf(1), new)
	}
	return (new - base) / math.Abs(base)
}

// direction returns +1 if higher values of unit are better, -1 if lower are.
func direction(unit string, base, new *resultSet) (int, error) {
	parse := func(set *resultSet) (int, error) {
		md := set.units.Get(unit, "better")
		if md == nil {
			return 0, nil
		}
		if sign := vocab.Better(md.Value).Sign(); sign != 0 {
			return sign, nil
		}
		file, line := md.Pos()
		return 0, fmt.Errorf("%s:%d: Unit %s better=%s: want better=higher or better=lower", file, line, md.OrigUnit, md.Value)
	}
	b, err := parse(base)
	if err != nil {
		return 0, err
	}
	n, err := parse(new)
	if err != nil {
		return 0, err
	}
	switch {
	case b != 0 && n != 0 && b != n:
		return 0, fmt.Errorf("unit %s: BASE says better=%s, NEW says better=%s", unit, betterWord(b), betterWord(n))
	case b != 0:
		return b, nil
	case n != 0:
		return n, nil
	}
	if u, ok := knownUnits[unit]; ok {
		return u.Better.Sign(), nil
	}
	return 0, fmt.Errorf("unit %s: direction unknown; add a line \"Unit %s better=higher\" (or better=lower) to the results files, or leave the unit out of -units", unit, unit)
}

// declaredExact reports whether either file declares `Unit X assume=exact`.
func declaredExact(unit string, base, new *resultSet) (bool, error) {
	exact := false
	for _, set := range []*resultSet{base, new} {
		md := set.units.Get(unit, "assume")
		if md == nil {
			continue
		}
		switch md.Value {
		case "exact":
			exact = true
		case "nothing", "normal":
			// The gate always uses the U test for measured units.
		default:
			file, line := md.Pos()
			return false, fmt.Errorf("%s:%d: Unit %s assume=%s: want assume=exact, nothing or normal", file, line, md.OrigUnit, md.Value)
		}
	}
	return exact, nil
}

func betterWord(b int) vocab.Better {
	if b > 0 {
		return vocab.Higher
	}
	return vocab.Lower
}

// machineDiffs describes how the machine config lines of the two files
// differ; nil when they agree.
func machineDiffs(base, new *resultSet) []string {
	var diffs []string
	for _, key := range machineKeys {
		b, n := base.machine[key], new.machine[key]
		if sameSet(b, n) {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s: BASE %s, NEW %s", key, quoteAll(b), quoteAll(n)))
	}
	return diffs
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func quoteAll(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		if v == "" {
			q[i] = "(none)"
		} else {
			q[i] = strconv.Quote(v)
		}
	}
	return strings.Join(q, " and ")
}

// listSome names up to three items.
func listSome(names []string) string {
	const most = 3
	if len(names) <= most {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:most], ", ") + fmt.Sprintf(", and %d more", len(names)-most)
}

// ParseThreshold parses a threshold written as a percentage ("5%") or as a
// fraction ("0.05"). A bare number above 1 ("5") is refused: it is more
// likely a percentage without its sign than a 500% threshold.
func ParseThreshold(s string) (float64, error) {
	text := strings.TrimSpace(s)
	percent := strings.HasSuffix(text, "%")
	text = strings.TrimSuffix(text, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, &setting.Error{Name: "threshold", Value: s, Reason: "want a percentage such as 5% or a fraction such as 0.05"}
	}
	if percent {
		return v / 100, nil
	}
	if v > 1 {
		return 0, &setting.Error{Name: "threshold", Value: s, Reason: fmt.Sprintf("a fraction above 1; write %s%% for a percentage", text)}
	}
	return v, nil
}
