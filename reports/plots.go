package reports

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/attnbench/attnbench/internal/vocab"
)

// panel is one plot of a group, or the reason there is none.
type panel struct {
	kind    string // row of the page and file stem: "time", "relerr-window", …
	title   string
	fig     *figure // nil: missing says why
	missing string
	notes   []string // values left out or clamped

	png, svg string // file names, once written
	pngData  []byte
}

// figure is a plot and the legend drawn beside it.
type figure struct {
	plot   *plot.Plot
	legend plot.Legend

	// custom, when set, draws the whole figure of width × height instead
	// (the patterns plot: a grid of heat maps).
	custom        func(dc draw.Canvas)
	width, height vg.Length
	colors        []color.Color // the custom figure's colour scale, for its PNG
}

// pt is one point with its 95% interval (lo, hi may be ±Inf: no bar).
type pt struct{ x, y, lo, hi float64 }

type curve struct {
	label string
	style style
	pts   []pt
	what  []string // what each point is, to name dropped values
}

func newFigure(title, xlabel, ylabel string) *figure {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font.Size = vg.Points(11)
		ax.Tick.Label.Font.Size = vg.Points(10)
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 225}
	grid.Horizontal.Color = color.Gray{Y: 225}
	p.Add(grid)
	leg := plot.NewLegend()
	leg.TextStyle.Font.Size = vg.Points(10)
	leg.Top, leg.Left = true, true
	leg.Padding = vg.Points(2)
	return &figure{plot: p, legend: leg}
}

// positive keeps the points a log y axis can show: it drops points whose
// value is not positive and clamps interval ends that are not (or are
// infinite) to the value. It returns what was dropped, and how many
// interval ends were clamped.
func positive(c curve, logX bool) (kept curve, dropped []string, clamped int) {
	kept = curve{label: c.label, style: c.style}
	for i, p := range c.pts {
		if p.y <= 0 || logX && p.x <= 0 {
			dropped = append(dropped, c.what[i])
			continue
		}
		if p.lo <= 0 && !math.IsInf(p.lo, -1) {
			p.lo = p.y
			clamped++
		}
		kept.pts = append(kept.pts, p)
		kept.what = append(kept.what, c.what[i])
	}
	return kept, dropped, clamped
}

// addCurves draws each curve as a line with markers and, where the
// interval is finite, error bars; it returns the y range drawn.
func (f *figure) addCurves(curves []curve, bars bool) (lo, hi float64, err error) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, c := range curves {
		if len(c.pts) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(c.pts))
		var errs plotter.YErrors
		hasBars := false
		for i, p := range c.pts {
			xys[i] = plotter.XY{X: p.x, Y: p.y}
			low, high := p.y-p.lo, p.hi-p.y
			if math.IsInf(p.lo, 0) || low < 0 {
				low = 0
			}
			if math.IsInf(p.hi, 0) || high < 0 {
				high = 0
			}
			hasBars = hasBars || low > 0 || high > 0
			errs = append(errs, struct{ Low, High float64 }{low, high})
			lo, hi = math.Min(lo, p.y-low), math.Max(hi, p.y+high)
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", c.label, err)
		}
		line.LineStyle = c.style.line()
		points.GlyphStyle = c.style.glyph()
		f.plot.Add(line, points)
		if bars && hasBars {
			eb, err := plotter.NewYErrorBars(struct {
				plotter.XYs
				plotter.YErrors
			}{xys, errs})
			if err != nil {
				return 0, 0, fmt.Errorf("%s: %w", c.label, err)
			}
			eb.LineStyle = draw.LineStyle{Color: c.style.color, Width: vg.Points(1)}
			eb.CapWidth = vg.Points(5)
			f.plot.Add(eb)
		}
		f.legend.Add(c.label, line, points)
	}
	return lo, hi, nil
}

// logLogPanel draws curves against n on log-log axes, or says why not.
func logLogPanel(kind, title, unit, ylabel string, curves []curve, bars bool, yfmt func(float64) string) panel {
	pn := panel{kind: kind, title: title}
	kept, dropped, notes := positiveCurves(curves, true)
	pn.notes = notes
	if len(kept) == 0 {
		if len(dropped) > 0 {
			pn.missing = "every " + unit + " value is zero or negative, which a log scale cannot show"
		} else {
			pn.missing = "no " + unit + " values in these results"
		}
		return pn
	}
	f := newFigure(title, "n (sequence length)", ylabel)
	lo, hi, err := f.addCurves(kept, bars)
	if err != nil {
		pn.missing = err.Error()
		return pn
	}
	nAxis(&f.plot.X, curveXs(kept), "n (sequence length)")
	decadeAxis(&f.plot.Y, lo, hi, yfmt)
	pn.fig = f
	return pn
}

// positiveCurves applies positive to every curve: the curves left with
// points, the points dropped, and the notes that say so.
func positiveCurves(curves []curve, logX bool) (kept []curve, dropped, notes []string) {
	clamped := 0
	for _, c := range curves {
		k, d, cl := positive(c, logX)
		dropped, clamped = append(dropped, d...), clamped+cl
		if len(k.pts) > 0 {
			kept = append(kept, k)
		}
	}
	return kept, dropped, droppedNotes(dropped, clamped)
}

func droppedNotes(dropped []string, clamped int) []string {
	var notes []string
	if len(dropped) > 0 {
		shown := dropped
		if len(shown) > 8 {
			shown = append(slices.Clone(shown[:8]), fmt.Sprintf("and %d more", len(dropped)-8))
		}
		notes = append(notes, fmt.Sprintf("%d zero or negative values cannot go on the log scale and are left out: %s",
			len(dropped), strings.Join(shown, ", ")))
	}
	if clamped > 0 {
		notes = append(notes, fmt.Sprintf("%d error bars reach zero or below: drawn only above the median", clamped))
	}
	return notes
}

func curveXs(curves []curve) []float64 {
	var xs []float64
	for _, c := range curves {
		for _, p := range c.pts {
			xs = append(xs, p.x)
		}
	}
	return xs
}

// unitCurve is a series' medians of unit against n.
func unitCurve(s *Series, unit string) curve {
	c := curve{label: s.Label, style: s.style}
	for i, p := range s.Points {
		if st, ok := s.stat(i, unit); ok {
			c.pts = append(c.pts, pt{float64(p.N), st.Median, st.Lo, st.Hi})
			c.what = append(c.what, fmt.Sprintf("%s n=%d (%g)", s.Label, p.N, st.Median))
		}
	}
	return c
}

// panels draws every plot of a group.
func (g *Group) panels(opt Options) []panel {
	ps := []panel{g.timePanel(), g.memoryPanel(), g.gflopsPanel(), g.relerrNPanel()}
	for _, k := range g.knobs() {
		ps = append(ps, g.knobPanel(k, vocab.RelErr))
	}
	ps = append(ps, g.mPanels()...)
	if g.hasUnit(vocab.Coverage) {
		ps = append(ps, g.coverageNPanel())
		for _, k := range g.knobs() {
			ps = append(ps, g.knobPanel(k, vocab.Coverage))
		}
	}
	ps = append(ps, g.paretoPanel(opt.ParetoN), g.speedupPanel())
	if len(g.patterns) > 0 {
		ps = append(ps, g.patternsPanel())
	}
	return ps
}

func (g *Group) timePanel() panel {
	var curves []curve
	for _, s := range g.Series {
		c := unitCurve(s, vocab.SecPerOp)
		if slope, ok := s.timeSlope(); ok {
			c.label += fmt.Sprintf(" (slope %.2f)", slope)
		}
		curves = append(curves, c)
	}
	return logLogPanel("time", "time per op vs n", "ns/op", "time per op", curves, true, fmtTimeTick)
}

func (g *Group) memoryPanel() panel {
	var curves []curve
	for _, s := range g.Series {
		curves = append(curves, unitCurve(s, vocab.PeakBytes))
	}
	return logLogPanel("memory", "peak workspace memory vs n", vocab.PeakBytes, "peak bytes per op", curves, true, fmtBytesTick)
}

func (g *Group) relerrNPanel() panel {
	var curves []curve
	for _, s := range g.Series {
		curves = append(curves, unitCurve(s, vocab.RelErr))
	}
	return logLogPanel("relerr-n", "approximation error vs n", "relerr (approximation error)", "relative error ‖O−O*‖/‖O*‖", curves, true, fmtTick)
}

func (g *Group) gflopsPanel() panel {
	pn := panel{kind: "gflops", title: "throughput vs n"}
	var curves []curve
	threads := map[string]bool{}
	for _, s := range g.Series {
		if c := unitCurve(s, vocab.GFLOPS); len(c.pts) > 0 {
			curves = append(curves, c)
			threads[s.threads()] = true
		}
	}
	if len(curves) == 0 {
		pn.missing = "no GFLOP/s values in these results"
		return pn
	}
	f := newFigure(pn.title, "n (sequence length)", "GFLOP/s")
	_, hi, err := f.addCurves(curves, true)
	if err != nil {
		pn.missing = err.Error()
		return pn
	}
	xs := curveXs(curves)
	nAxis(&f.plot.X, xs, "n (sequence length)")
	// One horizontal line per thread setting plotted: the roof.
	settings := make([]string, 0, len(threads))
	for t := range threads {
		settings = append(settings, t)
	}
	slices.SortFunc(settings, compareValues)
	for i, t := range settings {
		peak, label := g.Machine.peakFor(t)
		if peak <= 0 {
			pn.notes = append(pn.notes, "the files give no measured FMA peak (peak-gflops, peak-gflops-all) for "+threadsText(t)+": run attnbench peak")
			continue
		}
		roof, _ := plotter.NewLine(plotter.XYs{{X: f.plot.X.Min, Y: peak}, {X: f.plot.X.Max, Y: peak}})
		roof.LineStyle = draw.LineStyle{Color: color.Gray{Y: 60}, Width: vg.Points(1.5), Dashes: roofDashes(i)}
		f.plot.Add(roof)
		f.legend.Add(fmt.Sprintf("%s: %.1f", label, peak), roof)
		hi = math.Max(hi, peak)
	}
	f.plot.Y.Min, f.plot.Y.Max = 0, hi*1.08
	pn.fig = f
	return pn
}

func threadsText(t string) string {
	if t == "" {
		return "the default (all) threads"
	}
	return "threads=" + t
}

func roofDashes(i int) []vg.Length {
	return [][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(2), vg.Points(2)}}[i%3]
}

// hasUnit reports whether some series of the group has values of unit.
func (g *Group) hasUnit(unit string) bool {
	return slices.ContainsFunc(g.Series, func(s *Series) bool { return s.hasUnit(unit) })
}

// coverageNPanel draws coverage against n: log n, linear coverage from 0
// to 1.
func (g *Group) coverageNPanel() panel {
	pn := panel{kind: "coverage-n", title: "coverage vs n"}
	var curves []curve
	for _, s := range g.Series {
		if c := unitCurve(s, vocab.Coverage); len(c.pts) > 0 {
			curves = append(curves, c)
		}
	}
	f := newFigure(pn.title, "n (sequence length)", "share of exact attention mass kept")
	if _, _, err := f.addCurves(curves, true); err != nil {
		pn.missing = err.Error()
		return pn
	}
	nAxis(&f.plot.X, curveXs(curves), "n (sequence length)")
	f.plot.Y.Min, f.plot.Y.Max = 0, 1.02
	pn.fig = f
	return pn
}

// knobPanel draws unit (relerr, log scale, or coverage, 0 to 1) against
// one knob at the n where that knob has the most values, one line per
// setting of the other keys.
func (g *Group) knobPanel(knob, unit string) panel {
	type member struct {
		s *Series
		x float64
	}
	families := map[string][]member{}
	var order []string
	count := map[int]int{}
	for _, s := range g.Series {
		v, ok := s.Param(knob)
		if !ok || !s.hasUnit(unit) {
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			continue // a non-numeric setting cannot be placed on the axis
		}
		fam := familyID(s, knob)
		if families[fam] == nil {
			order = append(order, fam)
		}
		families[fam] = append(families[fam], member{s, x})
		for i, p := range s.Points {
			if _, ok := s.stat(i, unit); ok {
				count[p.N]++
			}
		}
	}
	n := 0
	for m, c := range count {
		if c > count[n] || c == count[n] && m > n {
			n = m
		}
	}
	what, ylabel := "approximation error", "relative error"
	if unit == vocab.Coverage {
		what, ylabel = "coverage", "share of exact attention mass kept"
	}
	pn := panel{kind: unit + "-" + slug(knob), title: fmt.Sprintf("%s vs %s at n=%d", what, knob, n)}
	varies := g.varyingKeys()
	var curves []curve
	logX := true
	for _, fam := range order {
		ms := families[fam]
		slices.SortFunc(ms, func(a, b member) int { return cmpFloat(a.x, b.x) })
		c := curve{label: seriesLabel(ms[0].s, varies, knob), style: ms[0].s.style}
		c.style.dashes = nil
		for _, m := range ms {
			i := m.s.point(n)
			if i < 0 {
				continue
			}
			if st, ok := m.s.stat(i, unit); ok {
				c.pts = append(c.pts, pt{m.x, st.Median, st.Lo, st.Hi})
				c.what = append(c.what, fmt.Sprintf("%s %s=%g (%g)", c.label, knob, m.x, st.Median))
				logX = logX && m.x > 0
			}
		}
		if len(c.pts) > 0 {
			curves = append(curves, c)
		}
	}
	kept, _, notes := positiveCurves(curves, logX)
	pn.notes = notes
	if len(kept) == 0 {
		pn.missing = "no positive " + unit + " values for " + knob
		return pn
	}
	f := newFigure(pn.title, knob, ylabel)
	lo, hi, err := f.addCurves(kept, true)
	if err != nil {
		pn.missing = err.Error()
		return pn
	}
	xs := curveXs(kept)
	if logX {
		nAxis(&f.plot.X, xs, knob)
	} else {
		ticks := plot.ConstantTicks{}
		for _, x := range slices.Compact(slices.Sorted(slices.Values(xs))) {
			ticks = append(ticks, plot.Tick{Value: x, Label: fmtTick(x)})
		}
		f.plot.X.Tick.Marker = ticks
	}
	if unit == vocab.Coverage {
		f.plot.Y.Min, f.plot.Y.Max = 0, 1.02
	} else {
		decadeAxis(&f.plot.Y, lo, hi, fmtTick)
	}
	pn.fig = f
	return pn
}

// familyID names a series without one knob: the series that differ only in
// that knob form one line of a relerr-vs-knob plot.
func familyID(s *Series, knob string) string {
	parts := []string{s.Variant}
	for _, p := range s.Params {
		if p.Key != knob {
			parts = append(parts, p.Key+"="+p.Value)
		}
	}
	return strings.Join(parts, "/")
}

func (g *Group) varyingKeys() func(string) bool {
	common := map[string]bool{}
	for _, p := range g.Common {
		common[p.Key] = true
	}
	return func(k string) bool { return !common[k] }
}

func (g *Group) paretoPanel(want int) panel {
	n := g.paretoN(want)
	pn := panel{kind: "pareto", title: fmt.Sprintf("error vs time at n=%d", n)}
	if n == 0 {
		pn.title = "error vs time"
		pn.missing = "no n has both a time and a positive relerr value"
		return pn
	}
	var members []*Series
	var cost, errs []float64
	for _, s := range g.Series {
		i := s.point(n)
		if i < 0 {
			continue
		}
		t, okT := s.stat(i, vocab.SecPerOp)
		e, okE := s.stat(i, vocab.RelErr)
		if !okT || !okE {
			continue
		}
		if t.Median <= 0 || e.Median <= 0 {
			pn.notes = append(pn.notes, fmt.Sprintf("%s is left out: its median time (%g s) or relerr (%g) is not positive, which the log scales cannot show", s.Label, t.Median, e.Median))
			continue
		}
		members = append(members, s)
		cost, errs = append(cost, t.Median), append(errs, e.Median)
	}
	if len(members) == 0 {
		pn.missing = fmt.Sprintf("no series has both a time and a positive relerr at n=%d", n)
		return pn
	}
	f := newFigure(pn.title, "time per op", "relative error")
	for i, s := range members {
		sc, err := plotter.NewScatter(plotter.XYs{{X: cost[i], Y: errs[i]}})
		if err != nil {
			pn.missing = err.Error()
			return pn
		}
		sc.GlyphStyle = s.style.glyph()
		sc.GlyphStyle.Radius = vg.Points(4)
		f.plot.Add(sc)
		f.legend.Add(s.Label, sc)
	}
	front := paretoFront(cost, errs)
	var fxy plotter.XYs
	for i := range members {
		if front[i] {
			fxy = append(fxy, plotter.XY{X: cost[i], Y: errs[i]})
		}
	}
	slices.SortFunc(fxy, func(a, b plotter.XY) int { return cmpFloat(a.X, b.X) })
	line, rings, err := plotter.NewLinePoints(fxy)
	if err != nil {
		pn.missing = err.Error()
		return pn
	}
	line.StepStyle = plotter.PostStep
	line.LineStyle = draw.LineStyle{Color: color.Gray{Y: 90}, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
	rings.GlyphStyle = draw.GlyphStyle{Color: color.Gray{Y: 40}, Radius: vg.Points(7), Shape: draw.RingGlyph{}}
	f.plot.Add(line, rings)
	f.legend.Add("Pareto front", line, rings)
	decadeAxis(&f.plot.X, slices.Min(cost), slices.Max(cost), fmtTimeTick)
	decadeAxis(&f.plot.Y, slices.Min(errs), slices.Max(errs), fmtTick)
	pn.fig = f
	return pn
}

func (g *Group) speedupPanel() panel {
	pn := panel{kind: "speedup", title: "speed-up vs flash"}
	var curves []curve
	var cross plotter.XYs
	baselines := map[string]bool{}
	for _, s := range g.Series {
		sp := g.speedupOf(s)
		if sp == nil || len(sp.ns) == 0 {
			continue
		}
		baselines[sp.baseline.Variant] = true
		c := curve{label: s.Label, style: s.style}
		if sp.baseline.Variant != "flash" {
			c.label += " (vs " + sp.baseline.Variant + ")"
		}
		// Crossovers go in the legend: labels in the plot would collide.
		var at []string
		for _, x := range sp.cross {
			cross = append(cross, plotter.XY{X: x, Y: 1})
			at = append(at, "≈"+fmtN(x))
		}
		if len(at) > 0 {
			c.label += ", crosses at n" + strings.Join(at, ", ")
		}
		for i := range sp.ns {
			c.pts = append(c.pts, pt{sp.ns[i], sp.ratios[i], math.Inf(-1), math.Inf(1)})
		}
		curves = append(curves, c)
	}
	if len(curves) == 0 {
		pn.missing = "no series to compare: it needs flash or full and another series of the same causal, batch, heads, d, threads and inputs"
		return pn
	}
	if !baselines["flash"] {
		pn.title = "speed-up vs full"
	}
	f := newFigure(pn.title, "n (sequence length)", "speed-up (baseline time / time)")
	lo, hi, err := f.addCurves(curves, false)
	if err != nil {
		pn.missing = err.Error()
		return pn
	}
	nAxis(&f.plot.X, curveXs(curves), "n (sequence length)")
	even, _ := plotter.NewLine(plotter.XYs{{X: f.plot.X.Min, Y: 1}, {X: f.plot.X.Max, Y: 1}})
	even.LineStyle = draw.LineStyle{Color: color.Gray{Y: 60}, Width: vg.Points(1)}
	f.plot.Add(even)
	if len(cross) > 0 {
		marks, _ := plotter.NewScatter(cross)
		marks.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(6), Shape: draw.RingGlyph{}}
		f.plot.Add(marks)
		f.legend.Add("crossover (ratio 1)", marks)
	}
	decadeAxis(&f.plot.Y, math.Min(lo, 1), math.Max(hi, 1), func(v float64) string { return fmtTick(v) + "×" })
	pn.fig = f
	return pn
}
