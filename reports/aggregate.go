package reports

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchproc"

	"github.com/attnbench/attnbench/internal/vocab"
)

// confidence is the level of every interval in the report.
const confidence = 0.95

// minSamplesForInterval is how many samples AssumeNothing needs for a
// finite 95% interval on the median.
const minSamplesForInterval = 6

// Stat summarises the samples of one unit at one point.
type Stat struct {
	Median float64
	// Lo and Hi bound the 95% confidence interval of the median; they are
	// ±Inf with fewer than 6 samples.
	Lo, Hi  float64
	Samples int
}

// Point is one n of a series.
type Point struct {
	N     int
	Stats map[string]Stat // by unit
}

// Param is one name key of a series.
type Param struct{ Key, Value string }

// Series is one setting of every name key except n.
type Series struct {
	Variant string
	Params  []Param // name keys other than variant and n, in name order
	// Label names the series in legends and tables: the variant and the
	// keys that vary between the series of its group.
	Label  string
	Points []Point // by ascending n

	id    string // base name and name keys except n
	style style
}

// Param returns the value of a name key and whether the series has it.
func (s *Series) Param(key string) (string, bool) {
	for _, p := range s.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// stat returns the summary of unit at point i.
func (s *Series) stat(i int, unit string) (Stat, bool) {
	st, ok := s.Points[i].Stats[unit]
	return st, ok
}

// point returns the index of the point at n, or -1.
func (s *Series) point(n int) int {
	for i, p := range s.Points {
		if p.N == n {
			return i
		}
	}
	return -1
}

// Machine is the configuration that a group's results share.
type Machine struct {
	GOOS, GOARCH, CPU, Kernels, Version, GOMAXPROCS string
	Label                                           string // from a label=path argument
	// PeakGFLOPS and PeakGFLOPSAll are the measured FMA peaks, 1 thread and
	// all threads (0 when the files do not say).
	PeakGFLOPS, PeakGFLOPSAll float64
	// PeakBandwidth is the measured memory bandwidth, GB/s (0: not given).
	PeakBandwidth float64
	Commands      []string // distinct command: lines, in order
}

// Group is results from one configuration: never mixed with another.
type Group struct {
	// Prefix starts the name of each of the group's plot files ("" when
	// the report has a single group).
	Prefix  string
	Title   string
	Machine Machine
	// Common holds the name keys every series of the group shares.
	Common []Param
	Series []*Series
	Notes  []string

	patterns []string // attention-map files the results name (patternsPathKey)
}

// Report is the aggregated results, ready to draw.
type Report struct {
	Groups []*Group
	Notes  []string
	opt    Options
}

// Options tune a report.
type Options struct {
	// ParetoN is the n of the error-vs-time plot; 0 picks, per group, the
	// largest n at which the most variants have both time and relerr.
	ParetoN int
	// Merge pools the samples of different files under one label or from
	// one machine (see LoadMerge); Generate refuses them otherwise.
	Merge bool
}

type seriesAcc struct {
	id     string
	points map[int]map[string][]float64
}

type groupAcc struct {
	key      benchproc.Key
	machine  Machine
	series   map[benchproc.Key]*seriesAcc
	order    []benchproc.Key
	residues []benchproc.Key
	peaks    map[string]bool // distinct peak lines seen, to note a change
	patterns []string        // distinct attention-map files named, in order
	dropped  int             // non-finite values
}

// Build groups the results with benchproc and summarises each point's
// samples with benchmath.
func Build(d *Data, opt Options) (*Report, error) {
	var pp benchproc.ProjectionParser
	groupBy, err := pp.Parse("goos,goarch,cpu,kernels,attnbench,/gomaxprocs,"+labelKey, nil)
	if err != nil {
		return nil, err
	}
	byN, err := pp.Parse("/n@num", nil)
	if err != nil {
		return nil, err
	}
	// .fullname leaves out the name keys other projections take (n,
	// gomaxprocs), so it is exactly "every name key except n", whatever
	// knobs a variant has.
	bySeries, err := pp.Parse(".fullname", nil)
	if err != nil {
		return nil, err
	}
	residue := pp.Residue()
	nField, seriesField := byN.Fields()[0], bySeries.Fields()[0]

	groups := map[benchproc.Key]*groupAcc{}
	var groupKeys []benchproc.Key
	for _, res := range d.results {
		gk := groupBy.Project(res)
		g := groups[gk]
		if g == nil {
			g = &groupAcc{key: gk, machine: machineOf(res), series: map[benchproc.Key]*seriesAcc{}, peaks: map[string]bool{}}
			groups[gk] = g
			groupKeys = append(groupKeys, gk)
		}
		g.observe(res)
		g.residues = append(g.residues, residue.Project(res))

		n, err := strconv.Atoi(byN.Project(res).Get(nField))
		if err != nil || n <= 0 {
			file, line := res.Pos()
			return nil, fmt.Errorf("%s:%d: benchmark %s has no positive integer /n= key", file, line, res.Name)
		}
		sk := bySeries.Project(res)
		s := g.series[sk]
		if s == nil {
			s = &seriesAcc{id: sk.Get(seriesField), points: map[int]map[string][]float64{}}
			g.series[sk] = s
			g.order = append(g.order, sk)
		}
		units := s.points[n]
		if units == nil {
			units = map[string][]float64{}
			s.points[n] = units
		}
		for _, v := range res.Values {
			if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
				g.dropped++
				continue
			}
			units[v.Unit] = append(units[v.Unit], v.Value)
		}
	}
	benchproc.SortKeys(groupKeys)

	r := &Report{Notes: d.Notes, opt: opt}
	for i, gk := range groupKeys {
		g := groups[gk].finish()
		if len(groupKeys) > 1 {
			g.Prefix = fmt.Sprintf("g%d-", i+1)
		}
		r.Groups = append(r.Groups, g)
	}
	distinctTitles(r.Groups)
	assignStyles(r.Groups)
	return r, nil
}

// distinctTitles adds the attnbench version, then GOMAXPROCS, to the group
// titles while two groups would otherwise read the same.
func distinctTitles(groups []*Group) {
	extras := []func(m Machine) string{
		func(m Machine) string { return "attnbench " + or(m.Version, "unknown") },
		func(m Machine) string { return "GOMAXPROCS " + or(m.GOMAXPROCS, "unknown") },
	}
	for _, extra := range extras {
		seen := map[string]bool{}
		unique := true
		for _, g := range groups {
			unique = unique && !seen[g.Title]
			seen[g.Title] = true
		}
		if unique {
			return
		}
		for _, g := range groups {
			g.Title += " · " + extra(g.Machine)
		}
	}
}

func configFloat(res *benchfmt.Result, key string) float64 {
	// Allow a trailing comment: "peak-gflops: 165.2  # 1 thread".
	f := strings.Fields(res.GetConfig(key))
	if len(f) == 0 {
		return 0
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) {
		return 0
	}
	return v
}

func machineOf(res *benchfmt.Result) Machine {
	return Machine{
		GOOS:          res.GetConfig("goos"),
		GOARCH:        res.GetConfig("goarch"),
		CPU:           res.GetConfig("cpu"),
		Kernels:       res.GetConfig("kernels"),
		Version:       res.GetConfig("attnbench"),
		GOMAXPROCS:    gomaxprocs(res.Name),
		Label:         res.GetConfig(labelKey),
		PeakGFLOPS:    configFloat(res, "peak-gflops"),
		PeakGFLOPSAll: configFloat(res, "peak-gflops-all"),
	}
}

func gomaxprocs(name benchfmt.Name) string {
	_, parts := name.Parts()
	if len(parts) > 0 {
		if last := parts[len(parts)-1]; len(last) > 1 && last[0] == '-' {
			return string(last[1:])
		}
	}
	return ""
}

// observe records the configuration lines that may change within a group.
func (g *groupAcc) observe(res *benchfmt.Result) {
	if p := res.GetConfig(patternsPathKey); p != "" && !slices.Contains(g.patterns, p) {
		g.patterns = append(g.patterns, p)
	}
	if c := res.GetConfig("command"); c != "" && !slices.Contains(g.machine.Commands, c) {
		g.machine.Commands = append(g.machine.Commands, c)
	}
	p1, pa := configFloat(res, "peak-gflops"), configFloat(res, "peak-gflops-all")
	if g.machine.PeakGFLOPS == 0 {
		g.machine.PeakGFLOPS = p1
	}
	if g.machine.PeakGFLOPSAll == 0 {
		g.machine.PeakGFLOPSAll = pa
	}
	if g.machine.PeakBandwidth == 0 {
		g.machine.PeakBandwidth = configFloat(res, "peak-bandwidth")
	}
	if p1 != 0 || pa != 0 {
		g.peaks[fmt.Sprint(p1, pa)] = true
	}
}

func (g *groupAcc) finish() *Group {
	out := &Group{Machine: g.machine, patterns: g.patterns}
	out.Title = groupTitle(g.machine)
	for _, sk := range g.order {
		out.Series = append(out.Series, newSeries(g.series[sk]))
	}
	slices.SortStableFunc(out.Series, compareSeries)
	labelSeries(out)

	if len(g.peaks) > 1 {
		out.Notes = append(out.Notes, fmt.Sprintf("the files give %d different measured peaks; the first (%.1f GFLOP/s 1 thread, %.1f all threads) is used",
			len(g.peaks), g.machine.PeakGFLOPS, g.machine.PeakGFLOPSAll))
	}
	if g.dropped > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d NaN or infinite values were left out", g.dropped))
	}
	var varying []string
	for _, f := range benchproc.NonSingularFields(g.residues) {
		if f.Name != ".file" && f.Name != "command" && f.Name != patternsKey && f.Name != patternsPathKey {
			varying = append(varying, f.Name)
		}
	}
	if len(varying) > 0 {
		out.Notes = append(out.Notes, "results merged in this group differ in "+strings.Join(varying, ", "))
	}
	if gaussianErrors(out.Series) {
		out.Notes = append(out.Notes, "relerr was measured on gaussian inputs (no inputs= or err-inputs= key): there exact attention averages almost uniformly over all n keys, so its output is tiny (~1/√n) and every local or sparse approximation shows relerr near or above 1. docs/design.md §3: error on gaussian inputs alone is not meaningful; sweep without -inputs (error then comes from llm inputs, docs/accuracy.md), or with -inputs llm, local or npy:DIR of real activations, to judge approximation quality")
	}
	for _, s := range out.Series {
		for _, p := range s.Points {
			if st, ok := p.Stats[vocab.SecPerOp]; ok && st.Samples < minSamplesForInterval {
				out.Notes = append(out.Notes, fmt.Sprintf("some points have fewer than %d samples: no 95%% interval there (±∞, no error bar); use -count ≥ %d", minSamplesForInterval, minSamplesForInterval))
				return out
			}
		}
	}
	return out
}

// gaussianErrors reports whether some approximate series (not full or
// flash) has relerr values measured on gaussian inputs (-inputs gaussian;
// a sweep without -inputs measures error on llm inputs, err-inputs=llm).
func gaussianErrors(series []*Series) bool {
	for _, s := range series {
		if s.Variant == "full" || s.Variant == "flash" || !s.hasUnit(vocab.RelErr) {
			continue
		}
		in, ok := s.Param("err-inputs") // error measured on other inputs than the timing
		if !ok {
			in, ok = s.Param("inputs")
		}
		if !ok || in == "gaussian" {
			return true
		}
	}
	return false
}

func groupTitle(m Machine) string {
	var parts []string
	if m.Label != "" {
		parts = append(parts, m.Label)
	}
	if m.CPU != "" {
		parts = append(parts, m.CPU)
	} else {
		parts = append(parts, "unknown cpu")
	}
	if m.Kernels != "" {
		parts = append(parts, m.Kernels)
	}
	if m.GOOS != "" || m.GOARCH != "" {
		parts = append(parts, strings.Trim(m.GOOS+"/"+m.GOARCH, "/"))
	}
	return strings.Join(parts, " · ")
}

func newSeries(acc *seriesAcc) *Series {
	s := &Series{id: acc.id}
	_, rest, _ := strings.Cut(acc.id, "/")
	for _, part := range strings.Split(rest, "/") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		if k == "variant" {
			s.Variant = v
			continue
		}
		s.Params = append(s.Params, Param{k, v})
	}
	for n, units := range acc.points {
		p := Point{N: n, Stats: map[string]Stat{}}
		for unit, vals := range units {
			p.Stats[unit] = summarize(vals)
		}
		s.Points = append(s.Points, p)
	}
	slices.SortFunc(s.Points, func(a, b Point) int { return a.N - b.N })
	return s
}

// summarize is the median and its 95% interval, making no assumption about
// the distribution (benchmath.AssumeNothing).
func summarize(vals []float64) Stat {
	sample := benchmath.NewSample(slices.Clone(vals), &benchmath.DefaultThresholds)
	sum := benchmath.AssumeNothing.Summary(sample, confidence)
	return Stat{Median: sum.Center, Lo: sum.Lo, Hi: sum.Hi, Samples: len(vals)}
}

// compareSeries orders series by variant (in the fixed order), then key by
// key in name-key order, a key at its default (absent) first and numbers
// numerically.
func compareSeries(a, b *Series) int {
	if c := vocab.CompareVariants(a.Variant, b.Variant); c != 0 {
		return c
	}
	var keys []string
	for _, p := range append(slices.Clone(a.Params), b.Params...) {
		if !slices.Contains(keys, p.Key) {
			keys = append(keys, p.Key)
		}
	}
	slices.SortStableFunc(keys, func(x, y string) int {
		if c := vocab.KeyRank(x) - vocab.KeyRank(y); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	for _, k := range keys {
		va, oka := a.Param(k)
		vb, okb := b.Param(k)
		switch {
		case oka != okb && !oka:
			return -1
		case oka != okb:
			return 1
		}
		if c := compareValues(va, vb); c != 0 {
			return c
		}
	}
	return 0
}

func compareValues(a, b string) int {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	switch {
	case errA == nil && errB == nil && x != y:
		if x < y {
			return -1
		}
		return 1
	case errA == nil && errB != nil:
		return -1
	case errA != nil && errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// contextKeys are the name keys that describe the problem rather than the
// variant's method: a speed-up compares series only when these match.
var contextKeys = []string{"causal", "batch", "heads", "kv-heads", "m", "d", "threads", "inputs"}

func isContextKey(k string) bool { return slices.Contains(contextKeys, k) }

// labelSeries names each series by its variant and the keys that vary
// between the group's series; keys every series shares go to Common.
func labelSeries(g *Group) {
	values := map[string]map[string]bool{} // key → distinct values ("" = absent)
	var keys []string
	for _, s := range g.Series {
		for _, p := range s.Params {
			if values[p.Key] == nil {
				values[p.Key] = map[string]bool{}
				keys = append(keys, p.Key)
			}
		}
	}
	for _, k := range keys {
		for _, s := range g.Series {
			v, _ := s.Param(k)
			values[k][v] = true
		}
	}
	varies := func(k string) bool { return len(values[k]) > 1 }
	for _, k := range keys {
		if !varies(k) {
			v, _ := g.Series[0].Param(k)
			g.Common = append(g.Common, Param{k, v})
		}
	}
	slices.SortStableFunc(g.Common, func(a, b Param) int { return vocab.KeyRank(a.Key) - vocab.KeyRank(b.Key) })
	for _, s := range g.Series {
		s.Label = seriesLabel(s, varies, "")
	}
}

// seriesLabel is the variant and its varying keys, leaving out skip.
func seriesLabel(s *Series, varies func(string) bool, skip string) string {
	parts := []string{s.Variant}
	for _, p := range s.Params {
		if !varies(p.Key) || p.Key == skip {
			continue
		}
		switch {
		case p.Key == "causal":
			if p.Value == "true" {
				parts = append(parts, "causal")
			}
		default:
			// docs/design.md §2's symbol where the knob has one keeps legends short.
			parts = append(parts, vocab.Symbol(p.Key)+"="+p.Value)
		}
	}
	return strings.Join(parts, " ")
}
