package reports

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	imagedraw "image/draw"
	"image/png"

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
// A PNG of a custom figure is written with a colour table (f.colors plus
// greys for text and lines) when it has one: heat maps of noisy data
// compress poorly as full colour.
func renderCustom(f *figure, format string) ([]byte, error) {
	var c vg.CanvasWriterTo
	var img *vgimg.Canvas
	switch format {
	case "png":
		img = vgimg.NewWith(vgimg.UseWH(f.width, f.height), vgimg.UseDPI(pngDPI))
		c = vgimg.PngCanvas{Canvas: img}
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
	if img != nil && len(f.colors) > 0 {
		pal := append(color.Palette{}, f.colors...)
		for g := 0; g < 256 && len(pal) < 256; g += 4 {
			pal = append(pal, color.Gray{Y: uint8(g)})
		}
		pal = append(pal[:min(len(pal), 255)], color.White)
		src := img.Image()
		dst := image.NewPaletted(src.Bounds(), pal)
		imagedraw.Draw(dst, dst.Bounds(), src, src.Bounds().Min, imagedraw.Src)
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(&buf, dst); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
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
