package reports

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot geometry: the legend gets a column of its own to the right, so it
// never covers data.
const (
	plotWidth  = 6.2 * vg.Inch
	plotHeight = 4.2 * vg.Inch
	margin     = 0.15 * vg.Inch
	titleSpace = 0.4 * vg.Inch // keeps the legend's top level with the axes
	pngDPI     = 120
)

// renderCustom draws a figure that draws itself.
func renderCustom(f *figure, format string) ([]byte, error) {
	var c vg.CanvasWriterTo
	switch format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(f.width, f.height), vgimg.UseDPI(pngDPI))}
	case "svg":
		c = vgsvg.New(f.width, f.height)
	default:
		return nil, fmt.Errorf("unknown plot format %q", format)
	}
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	f.custom(dc)
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// render draws the figure in format "png" or "svg".
func (f *figure) render(format string) (out []byte, err error) {
	// gonum/plot panics on data it cannot draw; the report says so instead.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("drawing a plot: %v", r)
		}
	}()
	if f.custom != nil {
		return renderCustom(f, format)
	}
	leg := f.legend.Rectangle(draw.Canvas{})
	legW, legH := leg.Max.X-leg.Min.X, leg.Max.Y-leg.Min.Y
	w := plotWidth + legW + 2*margin
	h := max(plotHeight, legH+titleSpace+margin)

	var c vg.CanvasWriterTo
	switch format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI))}
	case "svg":
		c = vgsvg.New(w, h)
	default:
		return nil, fmt.Errorf("unknown plot format %q", format)
	}
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	f.plot.Draw(draw.Crop(dc, 0, -(legW + 2*margin), h-plotHeight, -margin/2))
	f.legend.Draw(draw.Crop(dc, plotWidth+margin, -margin, margin, -titleSpace))

	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
