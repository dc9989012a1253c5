package reports

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// kindText is the heading and the explanation of each kind of plot.
func kindText(kind string) (heading, caption string) {
	switch {
	case kind == "time":
		return "Time per op vs n", "Median wall time of one forward pass, log-log; bars: 95% interval of the median. The legend gives each series' fitted slope (least squares of log time on log n): 2 for quadratic attention, 1 for cost linear in n."
	case kind == "memory":
		return "Peak memory vs n", "Median peak workspace bytes during one forward pass (peak-B/op, measured), log-log."
	case kind == "gflops":
		return "Throughput vs n", "Model GFLOP/s (docs/design.md §4). Horizontal lines: the machine's measured FMA peak for the kernel set in use, for the thread setting of the rows (1 thread or all threads)."
	case kind == "relerr-n":
		return "Approximation error vs n", "Relative Frobenius error ‖O−O*‖/‖O*‖ against exact softmax attention in float64, log-log."
	case strings.HasPrefix(kind, "relerr-"):
		knob := strings.TrimPrefix(kind, "relerr-")
		return "Approximation error vs " + knob, "Relative error against the " + knob + " knob, at the n where it has the most values; one line per setting of the other keys."
	case kind == "coverage-n":
		return "Coverage vs n", "Share of exact softmax attention mass (float64) that each candidate-set variant's keys keep, mean over queries: 1 means the pattern misses nothing. It explains relerr: the mass outside the set is what the variant cannot see."
	case strings.HasPrefix(kind, "coverage-"):
		knob := strings.TrimPrefix(kind, "coverage-")
		return "Coverage vs " + knob, "Coverage against the " + knob + " knob, at the n where it has the most values; one line per setting of the other keys."
	case kind == "patterns":
		return "Attention maps", "One head at small n: exact softmax attention beside each approximate variant's effective weights (candidate-set variants: softmax renormalised over their keys; linear: its implicit weights φ(q)ᵀφ(k)/den), query i down, key j across, one log colour scale. White cells are keys outside the query's candidate set: the mass there is what the variant drops."
	case kind == "time-m":
		return "Time per op vs m", "For sweeps that fix n and vary m (decode, prefill chunks against a growing KV cache): median time of one forward pass against the number of keys, one line per setting of the other keys, log-log."
	case kind == "bandwidth-m":
		return "K/V read bandwidth vs m", "For rows with n ≤ 16: K and V bytes read per second (2·B·Hkv·m·d·4 / time) against m; the horizontal line is the memory bandwidth attnbench peak measured (a read stream far beyond the last-level cache)."
	case kind == "bandwidth-share-m":
		return "Share of the memory bandwidth vs m", "For rows with n ≤ 16 whose K and V exceed the last-level cache: GB/s as a share of the streaming read bandwidth the sweep measured on all cores just before each sample (%bandwidth), so a machine whose memory bandwidth moves with other tenants' load is compared with itself at that moment."
	case kind == "pareto":
		return "Error vs time (Pareto front)", "Each series at one n: time against relative error, both log. Ringed points joined by the dashed staircase are the Pareto front: no other series is both faster and more accurate."
	case kind == "speedup":
		return "Speed-up vs flash", "Baseline time / series time (above 1: faster than the baseline). The baseline is flash with the same causal, batch, heads, d, threads and inputs, or full where no flash ran. Rings mark crossovers, interpolated in log n–log ratio."
	}
	return kind, ""
}

type pageData struct {
	Groups []pageGroup
	Rows   []pageRow
	Notes  []string
}

type pageGroup struct {
	Title    string
	Machine  Machine
	Peak     string
	Common   string
	Rows     []Row
	Notes    []string
	Infinite bool // some interval is ±∞
}

type pageRow struct {
	Heading, Caption string
	Cells            []pageCell
}

type pageCell struct {
	Title, PNG, SVG, Missing string
	Data                     template.URL
	Notes                    []string
}

func peakText(m Machine) string {
	var parts []string
	if m.PeakGFLOPS > 0 {
		parts = append(parts, fmt.Sprintf("%.1f GFLOP/s (1 thread)", m.PeakGFLOPS))
	}
	if m.PeakGFLOPSAll > 0 {
		parts = append(parts, fmt.Sprintf("%.1f GFLOP/s (all threads)", m.PeakGFLOPSAll))
	}
	if len(parts) == 0 {
		return "unknown (no peak-gflops line; run attnbench peak)"
	}
	return strings.Join(parts, ", ")
}

func (r *Report) pageData(panels [][]panel) pageData {
	var d pageData
	d.Notes = r.Notes
	var kinds []string
	seen := map[string]bool{}
	for gi, g := range r.Groups {
		rows := g.Rows()
		pg := pageGroup{Title: g.Title, Machine: g.Machine, Peak: peakText(g.Machine), Common: fmtParams(g.Common), Rows: rows, Notes: g.Notes}
		for _, row := range rows {
			pg.Infinite = pg.Infinite || strings.Contains(row.Time, "∞")
		}
		d.Groups = append(d.Groups, pg)
		for _, p := range panels[gi] {
			if !seen[p.kind] {
				seen[p.kind] = true
				kinds = append(kinds, p.kind)
			}
		}
	}
	for _, kind := range kinds {
		heading, caption := kindText(kind)
		row := pageRow{Heading: heading, Caption: caption}
		for gi := range r.Groups {
			cell := pageCell{Missing: "not in this group's results"}
			for _, p := range panels[gi] {
				if p.kind != kind {
					continue
				}
				cell = pageCell{Title: p.title, PNG: p.png, SVG: p.svg, Missing: p.missing, Notes: p.notes}
				if p.pngData != nil {
					cell.Data = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(p.pngData))
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		d.Rows = append(d.Rows, row)
	}
	return d
}

var page = template.Must(template.New("index.html").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>attnbench report</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { margin-top: 0; }
.cols { display: grid; grid-template-columns: repeat({{len .Groups}}, minmax(0, 1fr)); gap: 1.5em; }
.cols > div { min-width: 0; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 13px; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
.scroll { overflow-x: auto; }
.note, .missing { color: #8a4b00; }
.missing { border: 1px dashed #c90; padding: 1em; }
code { background: #f4f4f4; padding: 0 3px; }
dl { margin: 0; } dt { font-weight: 600; float: left; clear: left; width: 6.5em; } dd { margin-left: 7em; }
.caption { color: #555; max-width: 70em; }
</style>
</head>
<body>
<h1>attnbench report</h1>
{{range .Notes}}<p class="note">Note: {{.}}</p>
{{end}}
<h2>Machines and summary</h2>
<div class="cols">
{{range .Groups}}<div>
<h3>{{.Title}}</h3>
<dl>
<dt>cpu</dt><dd>{{or .Machine.CPU "unknown"}}</dd>
<dt>kernels</dt><dd>{{or .Machine.Kernels "unknown"}}</dd>
<dt>goos/arch</dt><dd>{{.Machine.GOOS}}/{{.Machine.GOARCH}}{{with .Machine.GOMAXPROCS}}, GOMAXPROCS {{.}}{{end}}</dd>
<dt>FMA peak</dt><dd>{{.Peak}}</dd>
{{with .Machine.Version}}<dt>attnbench</dt><dd>{{.}}</dd>{{end}}
{{with .Machine.Label}}<dt>label</dt><dd>{{.}}</dd>{{end}}
{{range .Machine.Commands}}<dt>command</dt><dd><code>{{.}}</code></dd>{{end}}
{{with .Common}}<dt>every row</dt><dd>{{.}}</dd>{{end}}
</dl>
<div class="scroll"><table>
<tr><th>series</th><th>n</th><th>time/op</th><th>peak mem</th><th>slope</th><th>crossover n (vs flash)</th><th>%peak</th><th>relerr</th><th>coverage</th></tr>
{{range .Rows}}<tr><td>{{.Series}}</td><td>{{.N}}</td><td>{{.Time}}</td><td>{{.Memory}}</td><td>{{.Slope}}</td><td>{{.Crossover}}</td><td>{{.PctPeak}}</td><td>{{.RelErr}}</td><td>{{.Coverage}}</td></tr>
{{end}}</table></div>
<p class="caption">At each series' largest n: median time with the 95% interval of the median{{if .Infinite}} (±∞: fewer than 6 samples){{end}}, median peak workspace bytes, %peak; relerr and coverage (share of exact attention mass the candidate sets keep) at the largest n that has one. Slope: fitted exponent of time in n. Crossover: n where the series' time crosses the baseline's.</p>
{{range .Notes}}<p class="note">Note: {{.}}</p>
{{end}}</div>
{{end}}</div>
{{range .Rows}}
<h2>{{.Heading}}</h2>
<p class="caption">{{.Caption}}</p>
<div class="cols">
{{range .Cells}}<div>
{{if .Data}}<figure style="margin:0"><img src="{{.Data}}" alt="{{.Title}}">
<figcaption>{{.Title}}: <a href="{{.PNG}}">{{.PNG}}</a> · <a href="{{.SVG}}">{{.SVG}}</a></figcaption></figure>
{{else}}<p class="missing">No plot{{with .Title}} of {{.}}{{end}}: {{.Missing}}.</p>
{{end}}{{range .Notes}}<p class="note">Note: {{.}}</p>
{{end}}</div>
{{end}}</div>
{{end}}
</body>
</html>
`))

func (r *Report) writeHTML(w io.Writer, panels [][]panel) error {
	return page.Execute(w, r.pageData(panels))
}
