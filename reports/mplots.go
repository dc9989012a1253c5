package reports

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/attnbench/attnbench/internal/vocab"
)

// Language-model shapes (decode, prefill chunks): a sweep that fixes n and
// varies m (attnbench sweep -n 1 -m 1024,4096,…) makes one series per m
// with a single point, which the plots against n cannot show. These plots
// put m on the x axis instead: one curve per setting of the other keys
// (n included), time per op and, where the rows carry it, GB/s against the
// bandwidth the files give (peak-bandwidth).

// mCurves returns one curve of unit against m per family (every name key
// but m, at one n), keeping only families with at least two m values. A
// row without an m key has m = n.
func (g *Group) mCurves(unit string) []curve {
	varies := g.varyingKeys()
	type family struct {
		c  curve
		ms map[float64]bool
	}
	byID := map[string]*family{}
	var order []string
	for _, s := range g.Series {
		mStr, hasM := s.Param("m")
		for i, p := range s.Points {
			st, ok := s.stat(i, unit)
			if !ok {
				continue
			}
			m := float64(p.N)
			if hasM {
				v, err := strconv.Atoi(mStr)
				if err != nil {
					continue
				}
				m = float64(v)
			}
			id := fmt.Sprintf("%s n=%d", seriesLabel(s, varies, "m"), p.N)
			f := byID[id]
			if f == nil {
				f = &family{c: curve{label: id, style: s.style}, ms: map[float64]bool{}}
				byID[id] = f
				order = append(order, id)
			}
			f.ms[m] = true
			f.c.pts = append(f.c.pts, pt{m, st.Median, st.Lo, st.Hi})
			f.c.what = append(f.c.what, fmt.Sprintf("%s m=%g (%g)", id, m, st.Median))
		}
	}
	var out []curve
	for _, id := range order {
		f := byID[id]
		if len(f.ms) < 2 {
			continue
		}
		slices.SortFunc(f.c.pts, func(a, b pt) int { return cmp.Compare(a.x, b.x) })
		out = append(out, f.c)
	}
	return out
}

// mPanels draws time vs m, and GB/s vs m when the rows carry GB/s; none
// when no family varies m.
func (g *Group) mPanels() []panel {
	times := g.mCurves(vocab.SecPerOp)
	if len(times) == 0 {
		return nil
	}
	ps := []panel{mLogLogPanel("time-m", "time per op vs m (n fixed)", "time per op", times, fmtTimeTick)}
	if gb := g.mCurves(vocab.GBs); len(gb) > 0 {
		ps = append(ps, g.bandwidthPanel(gb))
	}
	if sh := g.mCurves(vocab.PctBandwidth); len(sh) > 0 {
		ps = append(ps, bandwidthSharePanel(sh))
	}
	return ps
}

// addLevel draws a horizontal reference line at y across the x range set
// so far, in the legend as label.
func (f *figure) addLevel(y float64, label string) {
	line, _ := plotter.NewLine(plotter.XYs{{X: f.plot.X.Min, Y: y}, {X: f.plot.X.Max, Y: y}})
	line.LineStyle = draw.LineStyle{Color: color.Gray{Y: 60}, Width: vg.Points(1.5), Dashes: roofDashes(0)}
	f.plot.Add(line)
	f.legend.Add(label, line)
}

// bandwidthSharePanel draws %bandwidth (GB/s as a share of the bandwidth
// measured just before each sample) against m, with 100% as a line.
func bandwidthSharePanel(curves []curve) panel {
	pn := panel{kind: "bandwidth-share-m", title: "share of the memory bandwidth vs m"}
	f, hi := mLinearFigure(&pn, "% of the bandwidth measured beside", curves)
	if f == nil {
		return pn
	}
	f.addLevel(100, "100%: the streaming read measured before each sample")
	f.plot.Y.Min, f.plot.Y.Max = 0, math.Max(hi, 100)*1.08
	pn.fig = f
	return pn
}

// mLinearFigure draws curves against m on a linear y axis for panel pn and
// returns the figure and the highest y; nil (pn.missing set) when they
// cannot be drawn.
func mLinearFigure(pn *panel, ylabel string, curves []curve) (*figure, float64) {
	f := newFigure(pn.title, "m (keys)", ylabel)
	_, hi, err := f.addCurves(curves, true)
	if err != nil {
		pn.missing = err.Error()
		return nil, 0
	}
	nAxis(&f.plot.X, curveXs(curves), "m (keys)")
	return f, hi
}

func mLogLogPanel(kind, title, ylabel string, curves []curve, yfmt func(float64) string) panel {
	pn := panel{kind: kind, title: title}
	kept, _, notes := positiveCurves(curves, true)
	pn.notes = notes
	if len(kept) == 0 {
		pn.missing = "no positive values to draw"
		return pn
	}
	f := newFigure(title, "m (keys)", ylabel)
	lo, hi, err := f.addCurves(kept, true)
	if err != nil {
		pn.missing = err.Error()
		return pn
	}
	nAxis(&f.plot.X, curveXs(kept), "m (keys)")
	decadeAxis(&f.plot.Y, lo, hi, yfmt)
	pn.fig = f
	return pn
}

// bandwidthPanel draws GB/s (K and V bytes read per second) against m,
// with the measured memory bandwidth as a horizontal line.
func (g *Group) bandwidthPanel(curves []curve) panel {
	pn := panel{kind: "bandwidth-m", title: "K/V bytes read per second vs m"}
	f, hi := mLinearFigure(&pn, "GB/s", curves)
	if f == nil {
		return pn
	}
	if bw := g.Machine.PeakBandwidth; bw > 0 {
		f.addLevel(bw, fmt.Sprintf("memory bandwidth (attnbench peak): %.1f", bw))
		hi = math.Max(hi, bw)
	} else {
		pn.notes = append(pn.notes, "the files give no measured memory bandwidth (peak-bandwidth): run attnbench peak")
	}
	f.plot.Y.Min, f.plot.Y.Max = 0, hi*1.08
	pn.fig = f
	return pn
}
