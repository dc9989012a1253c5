package gate

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"golang.org/x/perf/benchunit"
)

// WriteTable writes the rows as a benchstat-like table: per benchmark and
// unit, each side's median ± the half-width of its confidence interval (as
// a percentage of the median; ∞ when there are too few samples for one),
// the change of the median, the U test's p-value ("exact" for
// deterministic rows), the sample sizes and the verdict.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tunit\tbase\tnew\tdelta\tp\tn\tverdict")
	for _, row := range r.Rows {
		scale := benchunit.CommonScale([]float64{row.Base.Summary.Center, row.New.Summary.Center}, benchunit.ClassOf(row.Unit))
		p := "exact"
		if !row.Exact {
			p = fmt.Sprintf("%.3f", row.P)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d+%d\t%s\n",
			row.Name, row.Unit,
			formatSide(row.Base, scale), formatSide(row.New, scale),
			formatDelta(row.Delta), p, row.Base.N, row.New.N, r.verdictText(row))
	}
	return tw.Flush()
}

func formatSide(s Side, scale benchunit.Scaler) string {
	return scale.Format(s.Summary.Center) + " ± " + s.Summary.PctRangeString()
}

func formatDelta(d float64) string {
	switch {
	case math.IsInf(d, 1):
		return "+∞"
	case math.IsInf(d, -1):
		return "-∞"
	case d == 0:
		return "0.0%"
	}
	return fmt.Sprintf("%+.1f%%", 100*d)
}

func (r *Report) verdictText(row Row) string {
	if row.Verdict == WithinThreshold {
		return "within " + formatPercent(r.Options.Threshold)
	}
	return row.Verdict.String()
}

func formatPercent(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", 100*f), "0"), ".") + "%"
}

// Summary is a one-line account of the verdicts, for the end of the table.
func (r *Report) Summary() string {
	counts := map[Verdict]int{}
	for _, row := range r.Rows {
		counts[row.Verdict]++
	}
	parts := []string{fmt.Sprintf("%d regression(s)", counts[Regressed])}
	for _, v := range []struct {
		verdict Verdict
		words   string
	}{{Improved, "improved"}, {WithinThreshold, "within threshold"}, {Unchanged, "unchanged"}, {Inconclusive, "too few samples"}} {
		if counts[v.verdict] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v.verdict], v.words))
		}
	}
	return fmt.Sprintf("%d comparison(s): %s (threshold %s, alpha %v)",
		len(r.Rows), strings.Join(parts, ", "), formatPercent(r.Options.Threshold), r.Options.Alpha)
}
