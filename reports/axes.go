package reports

import (
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
)

// nAxis makes a log axis ticked at the sequence lengths present, which are
// usually powers of two (plot.LogTicks only labels powers of ten).
func nAxis(ax *plot.Axis, ns []float64, label string) {
	ns = slices.Clone(ns)
	slices.Sort(ns)
	ns = slices.Compact(ns)
	ax.Scale = plot.LogScale{}
	ax.Label.Text = label
	// Label every other tick when many would crowd the axis.
	every := 1 + len(ns)/10
	ticks := make(plot.ConstantTicks, len(ns))
	for i, n := range ns {
		ticks[i] = plot.Tick{Value: n}
		if i%every == 0 {
			ticks[i].Label = fmtNTick(n)
		}
	}
	ax.Tick.Marker = ticks
	// Pad so that markers at the ends stay inside, and so that a single n
	// still makes a range.
	ax.Min, ax.Max = ns[0]/1.2, ns[len(ns)-1]*1.2
}

// decadeAxis makes a log axis over whole decades covering [lo, hi] (both
// positive), so that at least two labelled ticks show however narrow the
// data; format labels the decades.
func decadeAxis(ax *plot.Axis, lo, hi float64, format func(float64) string) {
	a, b := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	if b <= a {
		b = a + 1
	}
	ax.Scale = plot.LogScale{}
	ax.Min, ax.Max = decade(a), decade(b)
	ax.Tick.Marker = decadeTicks{format: format, labelEvery: 1 + (b-a)/9, minor: b-a <= 8}
}

// decade is 10^e, exact as the literal 1eE is (math.Pow is not always).
func decade(e int) float64 {
	v, _ := strconv.ParseFloat("1e"+strconv.Itoa(e), 64)
	return v
}

// decadeTicks labels powers of ten with format (only every labelEvery-th
// when there are many), with minor ticks between when the axis spans few
// decades.
type decadeTicks struct {
	format     func(float64) string
	labelEvery int
	minor      bool
}

func (t decadeTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	lo, hi := int(math.Floor(math.Log10(min))), int(math.Ceil(math.Log10(max)))
	for e := lo; e <= hi; e++ {
		d := decade(e)
		if d >= min*(1-1e-9) && d <= max*(1+1e-9) && (e-lo)%t.labelEvery == 0 {
			ticks = append(ticks, plot.Tick{Value: d, Label: t.format(d)})
		}
		for m := 2; t.minor && m < 10; m++ {
			if v := float64(m) * d; v > min && v < max {
				ticks = append(ticks, plot.Tick{Value: v})
			}
		}
	}
	return ticks
}

func fmtTimeTick(v float64) string { return trimUnit(fmtTime(v)) }

func fmtBytesTick(v float64) string { return trimUnit(fmtBytes(v)) }

// trimUnit drops the space in "10 ms" for a tighter axis.
func trimUnit(s string) string {
	for i := range len(s) {
		if s[i] == ' ' {
			return s[:i] + s[i+1:]
		}
	}
	return s
}
