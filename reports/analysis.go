package reports

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/attnbench/attnbench/internal/vocab"
)

// speedup is a series' time against its baseline's, at the n both have.
type speedup struct {
	baseline *Series
	ns       []float64
	ratios   []float64 // baseline time / series time: > 1 is faster
	cross    []float64 // n where the ratio crosses 1
}

// baselineFor is the series a series' speed-up is measured against: flash
// with the same problem (context keys), or full when there is no such
// flash; of several, the one with the fewest knobs set. It is nil when
// there is none, or when s is the baseline itself.
func (g *Group) baselineFor(s *Series) *Series {
	for _, v := range []string{"flash", "full"} {
		var best *Series
		for _, o := range g.Series {
			if o.Variant == v && sameContext(o, s) && (best == nil || len(o.Params) < len(best.Params)) {
				best = o
			}
		}
		if best != nil {
			if best == s {
				return nil
			}
			return best
		}
	}
	return nil
}

func sameContext(a, b *Series) bool {
	for _, k := range contextKeys {
		va, _ := a.Param(k)
		vb, _ := b.Param(k)
		if va != vb {
			return false
		}
	}
	return true
}

// isBaseline reports whether s is the series others in its context are
// measured against.
func (g *Group) isBaseline(s *Series) bool {
	return (s.Variant == "flash" || s.Variant == "full") && g.baselineFor(s) == nil
}

// speedupOf compares s with its baseline at every n both have with a
// positive median time.
func (g *Group) speedupOf(s *Series) *speedup {
	b := g.baselineFor(s)
	if b == nil {
		return nil
	}
	sp := &speedup{baseline: b}
	for i, p := range s.Points {
		j := b.point(p.N)
		if j < 0 {
			continue
		}
		ts, ok1 := s.stat(i, vocab.SecPerOp)
		tb, ok2 := b.stat(j, vocab.SecPerOp)
		if ok1 && ok2 && ts.Median > 0 && tb.Median > 0 {
			sp.ns = append(sp.ns, float64(p.N))
			sp.ratios = append(sp.ratios, tb.Median/ts.Median)
		}
	}
	sp.cross = crossovers(sp.ns, sp.ratios)
	return sp
}

// timeSlope is the fitted exponent of time in n.
func (s *Series) timeSlope() (float64, bool) {
	var xs, ys []float64
	for i, p := range s.Points {
		if st, ok := s.stat(i, vocab.SecPerOp); ok {
			xs = append(xs, float64(p.N))
			ys = append(ys, st.Median)
		}
	}
	return logLogSlope(xs, ys)
}

// threads names a series' thread setting: "" for the default (all
// threads), else the count.
func (s *Series) threads() string {
	v, _ := s.Param("threads")
	return v
}

// peakFor is the FMA peak a series' GFLOP/s should be held against: the
// 1-thread peak for threads=1, the all-thread peak at the default thread
// count, and k times the 1-thread peak (at most the all-thread peak) for
// threads=k. It returns 0 when the files give no peak for that case.
func (m Machine) peakFor(threads string) (peak float64, label string) {
	switch threads {
	case "":
		if m.PeakGFLOPSAll == 0 && m.GOMAXPROCS == "1" {
			return m.PeakGFLOPS, "FMA peak (1 thread)"
		}
		return m.PeakGFLOPSAll, "FMA peak, all threads"
	case "1":
		return m.PeakGFLOPS, "FMA peak, 1 thread"
	}
	k, err := strconv.Atoi(threads)
	if err != nil || k <= 0 || m.PeakGFLOPS == 0 {
		return 0, ""
	}
	p := float64(k) * m.PeakGFLOPS
	if m.PeakGFLOPSAll > 0 {
		p = math.Min(p, m.PeakGFLOPSAll)
	}
	return p, fmt.Sprintf("FMA peak, %d threads (scaled)", k)
}

// Row is one line of the summary table; every value is formatted.
type Row struct {
	Series    string
	N         string // the largest n of the series, where the next columns are
	Time      string // median time per op and its 95% interval
	Memory    string // median peak workspace bytes per op
	Slope     string // fitted exponent of time in n
	Crossover string // n where the series becomes faster (or slower) than the baseline
	PctPeak   string
	RelErr    string
	Coverage  string // exact attention mass the candidate sets keep, where computed
}

const none = "—"

// Rows is the summary table of a group, one row per series.
func (g *Group) Rows() []Row {
	var rows []Row
	for _, s := range g.Series {
		if len(s.Points) == 0 {
			continue
		}
		last := len(s.Points) - 1
		r := Row{Series: s.Label, N: strconv.Itoa(s.Points[last].N),
			Time: none, Memory: none, Slope: none, Crossover: none, PctPeak: none, RelErr: none, Coverage: none}
		if st, ok := s.stat(last, vocab.SecPerOp); ok {
			r.Time = fmtTime(st.Median) + " " + fmtInterval(st)
		}
		if st, ok := s.stat(last, vocab.PeakBytes); ok {
			r.Memory = fmtBytes(st.Median)
		}
		if slope, ok := s.timeSlope(); ok {
			r.Slope = fmt.Sprintf("%.2f", slope)
		}
		r.Crossover = g.crossoverCell(s)
		if st, ok := s.stat(last, vocab.PctPeak); ok {
			r.PctPeak = fmt.Sprintf("%.1f%%", st.Median)
		} else if st, ok := s.stat(last, vocab.GFLOPS); ok {
			if peak, _ := g.Machine.peakFor(s.threads()); peak > 0 {
				r.PctPeak = fmt.Sprintf("%.1f%%", st.Median/peak*100)
			}
		}
		// Errors are often computed only up to some n (sweep -err-max-n):
		// show the largest n that has one, and say which when it is not
		// the row's n.
		for i := last; i >= 0; i-- {
			if st, ok := s.stat(i, vocab.RelErr); ok {
				r.RelErr = fmtRelErr(st.Median)
				if i != last {
					r.RelErr += fmt.Sprintf(" (n=%d)", s.Points[i].N)
				}
				if cv, ok := s.stat(i, vocab.Coverage); ok {
					r.Coverage = fmt.Sprintf("%.3f", cv.Median)
				}
				break
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func (g *Group) crossoverCell(s *Series) string {
	sp := g.speedupOf(s)
	if sp == nil {
		if g.isBaseline(s) {
			return "baseline"
		}
		return none
	}
	if len(sp.ns) == 0 {
		return none
	}
	var cell string
	if len(sp.cross) == 0 {
		switch {
		case !slices.ContainsFunc(sp.ratios, func(r float64) bool { return r <= 1 }):
			cell = "none (faster)"
		case !slices.ContainsFunc(sp.ratios, func(r float64) bool { return r >= 1 }):
			cell = "none (slower)"
		default:
			cell = "none"
		}
	} else {
		var ns []string
		for _, x := range sp.cross {
			ns = append(ns, "≈"+fmtN(x))
		}
		cell = strings.Join(ns, ", ")
	}
	if sp.baseline.Variant != "flash" {
		cell += " (vs " + sp.baseline.Variant + ")"
	}
	return cell
}

// paretoN picks the n of the error-vs-time plot: want when given, else the
// n at which the most variants have a time and a positive relerr, the
// largest of those on a tie. It returns 0 when no n has both.
func (g *Group) paretoN(want int) int {
	if want > 0 {
		return want
	}
	variants := map[int]map[string]bool{}
	for _, s := range g.Series {
		for i, p := range s.Points {
			_, okT := s.stat(i, vocab.SecPerOp)
			e, okE := s.stat(i, vocab.RelErr)
			if okT && okE && e.Median > 0 {
				if variants[p.N] == nil {
					variants[p.N] = map[string]bool{}
				}
				variants[p.N][s.Variant] = true
			}
		}
	}
	best, count := 0, 0
	for n, vs := range variants {
		if len(vs) > count || len(vs) == count && n > best {
			best, count = n, len(vs)
		}
	}
	return best
}

// knobs are the numeric name keys that vary between series of one variant
// with relerr: the x axes of the relerr-vs-knob plots.
func (g *Group) knobs() []string {
	values := map[string]map[string]map[string]bool{} // knob → variant → values
	var keys []string
	for _, s := range g.Series {
		if !s.hasUnit(vocab.RelErr) {
			continue
		}
		for _, p := range s.Params {
			if isContextKey(p.Key) || p.Key == "seed" {
				continue
			}
			if _, err := strconv.ParseFloat(p.Value, 64); err != nil {
				continue
			}
			if values[p.Key] == nil {
				values[p.Key] = map[string]map[string]bool{}
				keys = append(keys, p.Key)
			}
			if values[p.Key][s.Variant] == nil {
				values[p.Key][s.Variant] = map[string]bool{}
			}
			values[p.Key][s.Variant][p.Value] = true
		}
	}
	var knobs []string
	for _, k := range keys {
		for _, vals := range values[k] {
			if len(vals) > 1 {
				knobs = append(knobs, k)
				break
			}
		}
	}
	slices.SortStableFunc(knobs, func(a, b string) int { return vocab.KeyRank(a) - vocab.KeyRank(b) })
	return knobs
}

func (s *Series) hasUnit(unit string) bool {
	for _, p := range s.Points {
		if _, ok := p.Stats[unit]; ok {
			return true
		}
	}
	return false
}
