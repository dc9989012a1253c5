package reports

import (
	"image/color"
	"slices"
	"strings"

	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/attnbench/attnbench/internal/vocab"
)

// The display order (vocab.VariantOrder) fixes each known variant's colour
// and marker, so that a variant looks the same in every plot of every
// report; unknown variants rank after every known one, at unlisted.
var unlisted = len(vocab.VariantOrder())

// style is how one series is drawn.
type style struct {
	color  color.Color
	shape  draw.GlyphDrawer
	dashes []vg.Length
}

func (st style) line() draw.LineStyle {
	return draw.LineStyle{Color: st.color, Width: vg.Points(1.5), Dashes: st.dashes}
}

func (st style) glyph() draw.GlyphStyle {
	return draw.GlyphStyle{Color: st.color, Radius: vg.Points(3), Shape: st.shape}
}

// variantColors picks, for each place in the display order and then for unknown
// variants, a plotutil colour: linear skips the sixth, a red too close to
// full's.
var variantColors = []int{0, 1, 2, 3, 4, 6, 5}

// variantStyle is the style of a variant's first series; index counts
// variants in display order, then unknown variants alphabetically.
func variantStyle(index int) style {
	c := index
	if index < len(variantColors) {
		c = variantColors[index]
	}
	return style{color: plotutil.Color(c), shape: plotutil.Shape(index)}
}

// knobStyle derives the style of a variant's ordinal-th series (0 is the
// variant's own style): the same marker, a darker or lighter shade of its
// colour, and a dash pattern of its own, so related series read as one
// family yet stay apart.
func knobStyle(base style, ordinal int) style {
	if ordinal == 0 {
		return base
	}
	// Alternate darker and lighter, further each round.
	amount := 0.3 + 0.15*float64((ordinal-1)/2)
	amount = min(amount, 0.75)
	target := color.RGBA{A: 255}
	if ordinal%2 == 0 {
		target = color.RGBA{R: 255, G: 255, B: 255, A: 255}
		amount *= 0.7 // pale lines vanish on white
	}
	return style{color: blend(base.color, target, amount), shape: base.shape, dashes: plotutil.Dashes(ordinal)}
}

func blend(c color.Color, to color.RGBA, t float64) color.Color {
	r, g, b, _ := c.RGBA()
	mix := func(x uint32, y uint8) uint8 {
		return uint8(float64(x>>8)*(1-t) + float64(y)*t + 0.5)
	}
	return color.RGBA{mix(r, to.R), mix(g, to.G), mix(b, to.B), 255}
}

// assignStyles gives each series its style: the colour and marker of its
// variant, shaded by its place among all series of that variant in every
// group, so the same series looks the same in side-by-side groups.
func assignStyles(groups []*Group) {
	var unknown []string
	ids := map[string][]*Series{} // variant → one series per distinct id
	for _, g := range groups {
		for _, s := range g.Series {
			if vocab.VariantRank(s.Variant) == unlisted && !slices.Contains(unknown, s.Variant) {
				unknown = append(unknown, s.Variant)
			}
			if !slices.ContainsFunc(ids[s.Variant], func(o *Series) bool { return o.id == s.id }) {
				ids[s.Variant] = append(ids[s.Variant], s)
			}
		}
	}
	slices.Sort(unknown)
	for v := range ids {
		slices.SortStableFunc(ids[v], compareSeries)
	}
	for _, g := range groups {
		for _, s := range g.Series {
			index := vocab.VariantRank(s.Variant)
			if index == unlisted {
				index += slices.Index(unknown, s.Variant)
			}
			ordinal := slices.IndexFunc(ids[s.Variant], func(o *Series) bool { return o.id == s.id })
			s.style = knobStyle(variantStyle(index), ordinal)
		}
	}
}

// slug makes a knob name safe in a file name.
func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, s)
}
