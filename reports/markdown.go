package reports

import (
	"fmt"
	"io"
	"strings"
)

// writeMarkdown writes the summary tables, one section per group, fit for
// a pull request comment.
func (r *Report) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# attnbench summary\n")
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n> Note: %s\n", n)
	}
	for _, g := range r.Groups {
		m := g.Machine
		fmt.Fprintf(&b, "\n## %s\n\n", mdEscape(g.Title))
		fmt.Fprintf(&b, "cpu: %s · kernels: %s · goarch: %s · FMA peak: %s\n",
			mdEscape(or(m.CPU, "unknown")), mdEscape(or(m.Kernels, "unknown")), mdEscape(or(m.GOARCH, "unknown")), peakText(m))
		for _, c := range m.Commands {
			fmt.Fprintf(&b, "\ncommand: `%s`\n", strings.ReplaceAll(c, "`", "'"))
		}
		if len(g.Common) > 0 {
			fmt.Fprintf(&b, "\nevery row: %s\n", mdEscape(fmtParams(g.Common)))
		}
		b.WriteString("\n| series | n | time/op | peak mem | slope | crossover n (vs flash) | %peak | relerr | coverage |\n")
		b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, row := range g.Rows() {
			cells := []string{row.Series, row.N, row.Time, row.Memory, row.Slope, row.Crossover, row.PctPeak, row.RelErr, row.Coverage}
			for i := range cells {
				cells[i] = mdEscape(cells[i])
			}
			fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
		}
		b.WriteString("\nAt each series' largest n: median time ± the 95% interval of the median (±∞: fewer than 6 samples), median peak workspace bytes, %peak, relerr and coverage (at the largest n that has one; coverage: share of exact attention mass the candidate sets keep); slope: fitted exponent of time in n; crossover: n where the series' time crosses the baseline's (flash, or full where noted).\n")
		for _, n := range g.Notes {
			fmt.Fprintf(&b, "\n> Note: %s\n", mdEscape(n))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
