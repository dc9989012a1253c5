package reports

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The patterns plot: attention maps that a sweep writes beside its results
// (harness/sweep/patterns.go writes the file; docs/accuracy.md describes
// it). This package reads the file format on its own, so that a report
// needs nothing but files.

const (
	// patternsKey is the configuration line naming the maps file: a value
	// starting with "." replaces the results file's extension (the sweep
	// writes ".patterns.json.gz", the same in every file, so the line does
	// not split benchstat tables); any other is a path relative to the
	// results file's directory.
	patternsKey = "patterns"
	// patternsPathKey is where Load puts that file's path, resolved; its
	// leading dot keeps it apart from keys a file can set.
	patternsPathKey = ".patterns-path"
	// patternOutside marks a key outside the query's candidate set.
	patternOutside = math.MinInt16
	// patternLow is the bottom of the colour scale, log10 of a weight:
	// smaller weights take the lowest colour.
	patternLow = -6.0
	// patternMaxSide bounds the maps a report accepts (n, m).
	patternMaxSide = 4096
)

// patternsPath resolves a patterns: line against its results file.
func patternsPath(resultsPath, name string) string {
	switch {
	case strings.HasPrefix(name, "."):
		return strings.TrimSuffix(resultsPath, filepath.Ext(resultsPath)) + name
	case filepath.IsAbs(name):
		return name
	}
	return filepath.Join(filepath.Dir(resultsPath), name)
}

// patternMaxBytes bounds a maps file's uncompressed size (a variable so a
// test can lower it).
var patternMaxBytes int64 = 256 << 20

// patternsFile is the maps file: gzip-compressed JSON.
type patternsFile struct {
	Format int    `json:"format"`
	Inputs string `json:"inputs"`
	Seed   uint64 `json:"seed"`
	H      int    `json:"h"`
	N      int    `json:"n"`
	M      int    `json:"m"`
	D      int    `json:"d"`
	Head   int    `json:"head"`
	Causal bool   `json:"causal"`
	Maps   []struct {
		Name     string   `json:"name"`
		Options  string   `json:"options"`
		Coverage *float64 `json:"coverage"`
		Log10    []int16  `json:"log10"` // 100·log10(weight), or patternOutside
	} `json:"maps"`
	Notes []string `json:"notes"`
}

// readPatterns reads and checks a maps file.
func readPatterns(path string) (*patternsFile, error) {
	// The path comes from a results file: a device or a pipe would block
	// or never end.
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not a gzip file: %v", path, err)
	}
	// A hostile file may decompress without end (a gzip bomb): no real
	// maps file comes near this cap (8 maps at the largest side are ~50 MB).
	lr := &io.LimitedReader{R: zr, N: patternMaxBytes + 1}
	var p patternsFile
	if err := json.NewDecoder(lr).Decode(&p); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("%s: more than %d MiB uncompressed, not a maps file attnbench writes", path, patternMaxBytes>>20)
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	switch {
	case p.Format != 1:
		return nil, fmt.Errorf("%s: format %d, want 1", path, p.Format)
	case p.N < 1 || p.M < 1 || p.N > patternMaxSide || p.M > patternMaxSide:
		return nil, fmt.Errorf("%s: maps of %d×%d, want sides from 1 to %d", path, p.N, p.M, patternMaxSide)
	case len(p.Maps) == 0:
		return nil, fmt.Errorf("%s: no maps", path)
	}
	for _, m := range p.Maps {
		if len(m.Log10) != p.N*p.M {
			return nil, fmt.Errorf("%s: map %q has %d cells, want %d×%d", path, m.Name, len(m.Log10), p.N, p.M)
		}
	}
	return &p, nil
}

// patternGrid is one map as a heat map grid: column c is key c, row r is
// query N−1−r (query 0 at the top); Z is log10 of the weight, NaN outside
// the candidate set.
type patternGrid struct {
	n, m  int
	log10 []int16
}

func (g patternGrid) Dims() (c, r int) { return g.m, g.n }
func (g patternGrid) X(c int) float64  { return float64(c) }
func (g patternGrid) Y(r int) float64  { return float64(r) }
func (g patternGrid) Z(c, r int) float64 {
	v := g.log10[(g.n-1-r)*g.m+c]
	if v == patternOutside {
		return math.NaN()
	}
	return float64(v) / 100
}

// patternColors is the colour scale: Kindlmann's perceptually uniform
// black–purple–green–yellow, stopped short of white, over log10 weights
// from patternLow to 0. Keys outside the candidate set are white.
func patternColors() palette.Palette {
	cm := moreland.Kindlmann()
	cm.SetMin(patternLow)
	cm.SetMax(0.9) // the last tenth, near white, is left out
	const steps = 128
	cols := make(paletteColors, steps)
	for i := range cols {
		c, err := cm.At(patternLow + (0-patternLow)*float64(i)/(steps-1))
		if err != nil {
			c = color.Black
		}
		cols[i] = c
	}
	return cols
}

// barGrid is the colour bar: one column, rows of log10 weights from
// patternLow to 0, spread over [patternLow, 0] on the y axis.
type barGrid struct{ log10 []int16 }

func (g barGrid) Dims() (c, r int) { return 1, len(g.log10) }
func (g barGrid) X(c int) float64  { return 0 }
func (g barGrid) Y(r int) float64 {
	return patternLow + (0-patternLow)*float64(r)/float64(len(g.log10)-1)
}
func (g barGrid) Z(c, r int) float64 { return float64(g.log10[len(g.log10)-1-r]) / 100 }

type paletteColors []color.Color

func (p paletteColors) Colors() []color.Color { return p }

// patternsPanel draws the group's attention maps: one heat map per map in
// a grid, with a colour bar.
func (g *Group) patternsPanel() panel {
	pn := panel{kind: "patterns", title: "attention maps"}
	if len(g.patterns) > 1 {
		pn.notes = append(pn.notes, fmt.Sprintf("the results name %d attention-map files; the first, %s, is drawn", len(g.patterns), g.patterns[0]))
	}
	p, err := readPatterns(g.patterns[0])
	if err != nil {
		pn.missing = err.Error()
		return pn
	}
	pn.notes = append(pn.notes, p.Notes...)
	causal := "non-causal"
	if p.Causal {
		causal = "causal"
	}
	pn.title = fmt.Sprintf("attention maps: head %d of %d, n=%d, d=%d, %s, %s inputs (seed %d)", p.Head, p.H, p.N, p.D, causal, p.Inputs, p.Seed)
	title := pn.title
	pn.fig = &figure{custom: func(dc draw.Canvas) { drawPatterns(dc, p, title) }, colors: patternColors().Colors()}
	cols := min(3, len(p.Maps))
	rows := (len(p.Maps) + cols - 1) / cols
	pn.fig.width = vg.Length(cols)*patternTile + patternBar
	pn.fig.height = vg.Length(rows)*patternTile + patternTitle
	return pn
}

// Patterns plot geometry.
const (
	patternTile  = 3.3 * vg.Inch // one map with its axes
	patternBar   = 1.1 * vg.Inch // the colour bar
	patternTitle = 0.45 * vg.Inch
)

func drawPatterns(dc draw.Canvas, p *patternsFile, title string) {
	pal := patternColors()
	cols := min(3, len(p.Maps))
	rows := (len(p.Maps) + cols - 1) / cols
	plots := make([][]*plot.Plot, rows)
	for r := range plots {
		plots[r] = make([]*plot.Plot, cols)
	}
	for i, m := range p.Maps {
		pl := plot.New()
		pl.Title.Text = m.Name
		if m.Name == "exact" {
			pl.Title.Text = "exact softmax"
		}
		if m.Options != "" {
			pl.Title.Text += " (" + m.Options + ")"
		}
		if m.Coverage != nil {
			pl.Title.Text += fmt.Sprintf("\ncoverage %.3f", *m.Coverage)
		}
		pl.Title.TextStyle.Font.Size = vg.Points(10)
		hm := plotter.NewHeatMap(patternGrid{p.N, p.M, m.Log10}, pal)
		hm.Min, hm.Max = patternLow, 0
		hm.Underflow = pal.Colors()[0]
		hm.Overflow = pal.Colors()[len(pal.Colors())-1]
		hm.NaN = color.White
		hm.Rasterized = true
		pl.Add(hm)
		pl.X.Label.Text, pl.Y.Label.Text = "key j", "query i"
		for _, ax := range []*plot.Axis{&pl.X, &pl.Y} {
			ax.Label.TextStyle.Font.Size = vg.Points(9)
			ax.Tick.Label.Font.Size = vg.Points(8)
		}
		pl.X.Min, pl.X.Max = -0.5, float64(p.M)-0.5
		pl.Y.Min, pl.Y.Max = -0.5, float64(p.N)-0.5
		pl.X.Tick.Marker = indexTicks(p.M, false)
		pl.Y.Tick.Marker = indexTicks(p.N, true)
		plots[i/cols][i%cols] = pl
	}
	area := draw.Crop(dc, 0, -patternBar, 0, -patternTitle)
	canvases := plot.Align(plots, draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(6), PadY: vg.Points(6), PadTop: vg.Points(4), PadBottom: vg.Points(4)}, area)
	for r := range plots {
		for c, pl := range plots[r] {
			if pl != nil {
				pl.Draw(canvases[r][c])
			}
		}
	}

	// The bar is a one-column heat map of the same palette, so its colours
	// are exactly the maps'.
	bar := plot.New()
	steps := len(pal.Colors())
	scale := make([]int16, steps)
	for r := range scale {
		scale[steps-1-r] = int16(math.Round(100 * (patternLow + (0-patternLow)*float64(r)/float64(steps-1))))
	}
	bhm := plotter.NewHeatMap(barGrid{scale}, pal)
	bhm.Min, bhm.Max = patternLow, 0
	bhm.Rasterized = true
	bar.Add(bhm)
	bar.X.Min, bar.X.Max = -0.5, 0.5
	bar.Y.Min, bar.Y.Max = patternLow, 0
	bar.HideX()
	bar.Y.Label.Text = "weight (log scale); white: not attended"
	bar.Y.Label.TextStyle.Font.Size = vg.Points(9)
	bar.Y.Tick.Label.Font.Size = vg.Points(8)
	ticks := plot.ConstantTicks{}
	for e := int(patternLow); e <= 0; e++ {
		ticks = append(ticks, plot.Tick{Value: float64(e), Label: fmt.Sprintf("1e%d", e)})
	}
	ticks[0].Label = "≤" + ticks[0].Label
	bar.Y.Tick.Marker = ticks
	barArea := draw.Crop(dc, dc.Max.X-dc.Min.X-patternBar+vg.Points(8), -vg.Points(4), (dc.Max.Y-dc.Min.Y)/4, -(dc.Max.Y-dc.Min.Y)/4)
	bar.Draw(barArea)

	head := plot.New()
	sty := head.Title.TextStyle
	sty.Font.Size = vg.Points(12)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	dc.FillText(sty, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y - patternTitle/2}, title)
}

// indexTicks labels a query or key axis at 0, a quarter, half, three
// quarters and the last index; rows run top-down when reversed.
func indexTicks(n int, reversed bool) plot.ConstantTicks {
	var ticks plot.ConstantTicks
	last := -1
	for q := range 5 {
		i := (n - 1) * q / 4
		if i == last {
			continue
		}
		last = i
		pos := float64(i)
		if reversed {
			pos = float64(n - 1 - i)
		}
		ticks = append(ticks, plot.Tick{Value: pos, Label: fmt.Sprint(i)})
	}
	return ticks
}
