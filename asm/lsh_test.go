package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// maskMatchesRef is MaskMatches column by column: the expected tile.
func maskMatchesRef(rows, width int, codes, own, prev []int32, s0 []float32) []float32 {
	want := append([]float32(nil), s0...)
	for i := range width {
		for j := range rows {
			for _, c := range [2]int32{own[i], prev[i]} {
				if codes[j] == c {
					want[j*width+i] = float32(math.Inf(-1))
				}
			}
		}
	}
	return want
}

func randCodes(r *rand.Rand, n, span int) []int32 {
	c := make([]int32, n)
	for i := range c {
		c[i] = int32(r.IntN(span)) - 1 // −1 included: LSH codes are ≥ 0, the kernel must not care
	}
	return c
}

func TestMaskMatches(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	var widths []int
	for w := 0; w <= 72; w++ {
		widths = append(widths, w)
	}
	widths = append(widths, 96, 128, 130, 200)
	for _, kern := range Impls() {
		for _, rows := range []int{0, 1, 2, 3, 7, 58} {
			for _, width := range widths {
				off := (rows + width) % 4
				// Few distinct codes: most rows match some columns, and
				// own == prev in about half the columns (unshared LSH).
				span := 1 + r.IntN(12)
				codes := randCodes(r, rows+1, span)[1:]
				own, prev := randCodes(r, width+off, span)[off:], randCodes(r, width+1, span)[1:]
				for i := range prev {
					if r.IntN(2) == 0 {
						prev[i] = own[i]
					}
				}
				vals := randVec(r, rows*width, -10, 10)
				for i := range vals {
					switch r.IntN(16) {
					case 0:
						vals[i] = float32(math.NaN())
					case 1:
						vals[i] = float32(math.Inf(1))
					case 2:
						vals[i] = float32(math.Copysign(0, -1))
					}
				}
				want := maskMatchesRef(rows, width, codes, own, prev, vals)
				buf, view := guarded(vals, off)
				kern.MaskMatches(rows, width, codes, own, prev, view)
				what := fmt.Sprintf("%s rows=%d width=%d", kern.Name, rows, width)
				sameBits(t, what, view, want)
				checkGuards(t, what, buf, off, rows*width)
				// Against the generic twin too.
				gen := append([]float32(nil), vals...)
				genericKernels.MaskMatches(rows, width, codes, own, prev, gen)
				sameBits(t, what+" vs generic", view, gen)
			}
		}
	}
}

// argMaxPlusMinusRef builds [v; −v] explicitly and returns the index of its
// first maximum, skipping NaNs, or 0 when v[0] is NaN: the scalar scan's
// documented answer, derived independently of it.
func argMaxPlusMinusRef(v []float32) int {
	if v[0] != v[0] {
		return 0
	}
	w := append([]float32(nil), v...)
	for _, x := range v {
		w = append(w, -x)
	}
	best := 0
	for k, x := range w {
		if x > w[best] {
			best = k
		}
	}
	return best
}

// argMaxInput fills segs segments of half values in one of several
// patterns: random, few distinct values (ties, -lo == hi, ±0), ±Inf, and
// NaNs at the first or later positions.
func argMaxInput(r *rand.Rand, segs, half, pattern int) []float32 {
	x := make([]float32, segs*half)
	negZero := float32(math.Copysign(0, -1))
	for i := range x {
		switch pattern {
		case 0:
			x[i] = float32(r.NormFloat64())
		default:
			x[i] = float32(r.IntN(7) - 3)
			if x[i] == 0 && r.IntN(2) == 0 {
				x[i] = negZero
			}
		}
	}
	for g := range segs {
		v := x[g*half : (g+1)*half]
		switch pattern {
		case 2: // ±Inf, sometimes both
			v[r.IntN(half)] = float32(math.Inf(1))
			v[r.IntN(half)] = float32(math.Inf(-1))
		case 3: // NaN later
			v[r.IntN(half)] = float32(math.NaN())
		case 4: // NaN first (in every other segment)
			if g%2 == 0 {
				v[0] = float32(math.NaN())
			}
		case 5: // all ±0 or ±1: -lo == hi everywhere
			for t := range v {
				v[t] = float32(1 - 2*r.IntN(2))
				if r.IntN(3) == 0 {
					v[t] = 0
					if r.IntN(2) == 0 {
						v[t] = negZero
					}
				}
			}
		}
	}
	return x
}

func TestArgMaxPlusMinus(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	var halves []int
	for h := 1; h <= 70; h++ {
		halves = append(halves, h)
	}
	halves = append(halves, 96, 128, 136, 256, 512)
	for _, kern := range Impls() {
		for _, half := range halves {
			for _, segs := range []int{0, 1, 2, 5, 17} {
				for pattern := range 6 {
					x := argMaxInput(r, segs, half, pattern)
					// The segments ld apart, the gaps holding values
					// that would win if they were read.
					ld := half + (segs+pattern)%3
					xs := make([]float32, 0, segs*ld)
					for g := range segs {
						xs = append(xs, x[g*half:(g+1)*half]...)
						for range ld - half {
							xs = append(xs, float32(math.Inf(1)))
						}
					}
					off := 1 + (segs+half)%3 // unaligned
					xb := make([]float32, off+len(xs))
					copy(xb[off:], xs)
					out := make([]int32, segs+8)
					for g := range out {
						out[g] = -7
					}
					kern.ArgMaxPlusMinus(segs, half, ld, xb[off:off+len(xs)], out[:segs])
					gen := make([]int32, segs)
					genericKernels.ArgMaxPlusMinus(segs, half, ld, xs, gen)
					for g := range segs {
						v := x[g*half : (g+1)*half]
						if want := argMaxPlusMinusRef(v); int(out[g]) != want || gen[g] != out[g] {
							t.Fatalf("%s half=%d segs=%d pattern=%d: out[%d] = %d, generic %d, want %d (v = %v)", kern.Name, half, segs, pattern, g, out[g], gen[g], want, v)
						}
					}
					for g := segs; g < len(out); g++ {
						if out[g] != -7 {
							t.Fatalf("%s half=%d segs=%d: wrote out[%d] = %d", kern.Name, half, segs, g, out[g])
						}
					}
					if !sameSlice(xs, xb[off:]) {
						t.Fatalf("%s half=%d segs=%d: x changed", kern.Name, half, segs)
					}
					// The same with the runner-up.
					second := make([]float32, segs+8)
					for g := range out {
						out[g], second[g] = -7, -7
					}
					kern.ArgMaxPlusMinusMargin(segs, half, ld, xb[off:off+len(xs)], out[:segs], second[:segs])
					for g := range segs {
						v := x[g*half : (g+1)*half]
						want := argMaxPlusMinusRef(v)
						if ws := runnerUpRef(v, want); int(out[g]) != want || math.Float32bits(second[g]) != math.Float32bits(ws) {
							t.Fatalf("%s half=%d segs=%d pattern=%d: margin out[%d] = %d, second %v, want %d, %v (v = %v)", kern.Name, half, segs, pattern, g, out[g], second[g], want, ws, v)
						}
					}
					for g := segs; g < len(out); g++ {
						if out[g] != -7 || second[g] != -7 {
							t.Fatalf("%s half=%d segs=%d: margin wrote past segs at %d", kern.Name, half, segs, g)
						}
					}
				}
			}
		}
	}
}

// runnerUpRef is the largest |v_t| over the columns t other than the
// winner's (winner mod len(v)), NaN never the largest, 0 when there is none.
func runnerUpRef(v []float32, winner int) float32 {
	best := 0.0
	for t, x := range v {
		if a := math.Abs(float64(x)); t != winner%len(v) && a > best {
			best = a
		}
	}
	return float32(best)
}

func sameSlice(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}

// TestArgMaxPlusMinusTies pins the tie rules on hand-made segments.
func TestArgMaxPlusMinusTies(t *testing.T) {
	nan, inf, nz := float32(math.NaN()), float32(math.Inf(1)), float32(math.Copysign(0, -1))
	cases := []struct {
		v    []float32
		want int
	}{
		{[]float32{1, 3, 3, -2}, 1},      // first of repeated maxima
		{[]float32{1, -3, 2, -3}, 4 + 1}, // −min wins, first minimum
		{[]float32{2, -2, 1, 0}, 0},      // −lo == hi: v's side
		{[]float32{-2, 2, 1, 0}, 1},      // −lo == hi, max later
		{[]float32{nz, 0, nz, 0}, 0},     // all zeros of both signs
		{[]float32{0, nz, 0, nz}, 0},
		{[]float32{-1, -1, -1, -1}, 4}, // constant negative: the first of −v
		{[]float32{nan, 5, -9, 1}, 0},  // NaN first: stays hi and lo
		{[]float32{1, nan, -9, 5}, 4 + 2},
		{[]float32{1, -inf, inf, 5}, 2}, // +Inf == −(−Inf): v's side
		{[]float32{1, -inf, 3, 5}, 4 + 1},
	}
	for _, k := range Impls() {
		for _, c := range cases {
			// Repeat the segment to reach every set's vector width, then
			// pad: the answer moves with the copies only through half.
			for _, reps := range []int{1, 2, 4, 8, 16} {
				half := reps * len(c.v)
				v := make([]float32, 0, half)
				for range reps {
					v = append(v, c.v...)
				}
				want := c.want
				if want >= len(c.v) {
					want += half - len(c.v)
				}
				out := make([]int32, 2)
				k.ArgMaxPlusMinus(2, half, half, append(append([]float32(nil), v...), v...), out)
				if int(out[0]) != want || int(out[1]) != want || argMaxPlusMinusRef(v) != want {
					t.Fatalf("%s %v ×%d: got %v, want %d (reference %d)", k.Name, c.v, reps, out, want, argMaxPlusMinusRef(v))
				}
			}
		}
	}
}
