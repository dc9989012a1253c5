package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// scaled writes v with 4 significant digits in the largest unit not above
// it; units run from the smallest up, with factor the size of each.
func scaled(v float64, units []string, factors []float64) string {
	i := 0
	for i+1 < len(factors) && math.Abs(v) >= factors[i+1] {
		i++
	}
	return strconv.FormatFloat(v/factors[i], 'g', 4, 64) + " " + units[i]
}

var (
	timeUnits   = []string{"ns", "µs", "ms", "s"}
	timeFactors = []float64{1e-9, 1e-6, 1e-3, 1}
	byteUnits   = []string{"B", "kB", "MB", "GB", "TB"}
	byteFactors = []float64{1, 1e3, 1e6, 1e9, 1e12}
)

// fmtTime writes seconds, e.g. "1.235 ms".
func fmtTime(sec float64) string { return scaled(sec, timeUnits, timeFactors) }

// fmtBytes writes bytes with decimal prefixes, e.g. "12.58 MB".
func fmtBytes(b float64) string { return scaled(b, byteUnits, byteFactors) }

// fmtInterval writes the 95% interval as ± the larger side, in percent of
// the median, as benchstat does; ±∞ when there were too few samples.
func fmtInterval(st Stat) string {
	if math.IsInf(st.Lo, 0) || math.IsInf(st.Hi, 0) || st.Median == 0 {
		return "±∞"
	}
	d := math.Max(st.Hi-st.Median, st.Median-st.Lo) / math.Abs(st.Median) * 100
	return fmt.Sprintf("±%.1f%%", d)
}

func fmtRelErr(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

func fmtN(n float64) string { return strconv.FormatFloat(math.Round(n), 'f', 0, 64) }

// fmtTick labels a decade tick compactly: 1e-06, 0.001, 1, 1000, 1e+06.
func fmtTick(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// fmtNTick labels a sequence length: 512, 4096, 64k for multiples of 1024
// from 16384 on, where plain digits crowd the axis.
func fmtNTick(n float64) string {
	if n >= 16384 && math.Mod(n, 1024) == 0 {
		return fmtN(n/1024) + "k"
	}
	return fmtN(n)
}

func fmtParams(ps []Param) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.Key + "=" + p.Value)
	}
	return b.String()
}
