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
		fmt.Fprintf(&b, "\n> Note: %s\n", mdEscape(n))
	}
	for _, g := range r.Groups {
		m := g.Machine
		fmt.Fprintf(&b, "\n## %s\n\n", mdEscape(g.Title))
		fmt.Fprintf(&b, "cpu: %s · kernels: %s · goarch: %s · FMA peak: %s\n",
			mdEscape(or(m.CPU, "unknown")), mdEscape(or(m.Kernels, "unknown")), mdEscape(or(m.GOARCH, "unknown")), peakText(m))
		for _, c := range m.Commands {
			fmt.Fprintf(&b, "\ncommand: %s\n", codeSpan(c))
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

// mdEscape makes s plain text in Markdown (CommonMark and GitHub's)
// wherever it does not start a line (a summary never puts a copied string
// first on a line): every character that could start emphasis, code, a
// link, a table cell, strikethrough, an HTML tag or an entity is escaped,
// and line breaks, which could end a table row or start a block, become
// spaces. Every string a summary copies from result files
// or the command line (labels, cpu, name keys, notes) goes through it, so
// a hostile file cannot inject links, HTML or table cells into a pull
// request comment.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r < ' ' || r == 0x7f || r == '\u0085' || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		case strings.ContainsRune("\\`*_[]|~#", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// codeSpan writes s as a Markdown code span, which shows it verbatim (no
// markup, no HTML): the fence is one backtick longer than the longest run
// of backticks in s, and line breaks become spaces.
func codeSpan(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '\u0085' || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	run, longest := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.TrimSpace(s) == "" {
		s = " " + s + " "
	}
	return fence + s + fence
}
