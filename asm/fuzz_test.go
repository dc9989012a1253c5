package asm

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
)

// Fuzz targets, one per kernel: every kernel set against the float64
// reference of kernels_test.go. Elementwise kernels take raw float32 bits
// (NaN, ±Inf, denormals included); the GEMM-shaped ones take values of
// moderate size (int16/256), whose sums have a meaningful error bound.

// rawFloats reads 4-byte little-endian float32 bit patterns.
func rawFloats(data []byte) []float32 {
	x := make([]float32, len(data)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return x
}

// smallFloats reads 2-byte values as int16/256.
func smallFloats(data []byte, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		if 2*i+1 < len(data) {
			x[i] = float32(int16(binary.LittleEndian.Uint16(data[2*i:]))) / 256
		} else {
			x[i] = float32(i%7) - 3
		}
	}
	return x
}

func sameFloat(a, b float32) bool { return a == b || (a != a && b != b) }

func FuzzScale(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 192, 127, 1, 0, 0, 0}, float32(0.5))
	f.Fuzz(func(t *testing.T, data []byte, a float32) {
		x := rawFloats(data)
		for _, k := range Impls() {
			y := append([]float32(nil), x...)
			k.Scale(y, a)
			for i := range y {
				if want := x[i] * a; !sameFloat(y[i], want) {
					t.Fatalf("%s: %v·%v = %v, want %v", k.Name, x[i], a, y[i], want)
				}
			}
		}
	})
}

func FuzzScaleTo(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 192, 127, 1, 0, 0, 0, 9, 9, 9, 9}, float32(-3))
	f.Fuzz(func(t *testing.T, data []byte, a float32) {
		x := rawFloats(data)
		for _, k := range Impls() {
			for _, n := range []int{len(x), len(x) / 2} {
				dst := make([]float32, n)
				k.ScaleTo(dst, x, a)
				for i := range dst {
					if want := x[i] * a; !sameFloat(dst[i], want) {
						t.Fatalf("%s: %v·%v = %v, want %v", k.Name, x[i], a, dst[i], want)
					}
				}
			}
		}
	})
}

// FuzzDot: finite inputs of moderate size, whose float32 sums cannot
// overflow, against the float64 sum within n·u·Σ|x·y| and the underflow
// of the products.
func FuzzDot(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 64, 1, 0, 0, 0, 0, 0, 64, 192, 7, 7, 7, 7, 1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		x := rawFloats(data)
		for i, v := range x {
			if math.IsNaN(float64(v)) || math.Abs(float64(v)) > 1e15 {
				x[i] = 1
			}
		}
		y := make([]float32, len(x))
		for i := range y {
			y[i] = x[len(x)-1-i]
		}
		var want, abs float64
		for i := range x {
			want += float64(x[i]) * float64(y[i])
			abs += math.Abs(float64(x[i]) * float64(y[i]))
		}
		for _, k := range Impls() {
			// Plus the products' underflow, 2⁻¹⁵⁰ each at most.
			if got, tol := k.Dot(x, y), float64(len(x)+1)*(eps32*abs+0x1p-150); math.Abs(float64(got)-want) > tol {
				t.Fatalf("%s n=%d: Dot = %v, want %v ± %.3g", k.Name, len(x), got, want, tol)
			}
		}
	})
}

func FuzzAxpy(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, float32(-2))
	f.Fuzz(func(t *testing.T, data []byte, a float32) {
		if math.IsNaN(float64(a)) || math.Abs(float64(a)) > 1e6 {
			return
		}
		n := len(data) / 4
		x, y := smallFloats(data, n), smallFloats(data[min(len(data), 2*n):], n)
		for _, k := range Impls() {
			got := append([]float32(nil), y...)
			k.Axpy(got, a, x)
			for i := range got {
				ax := float64(a) * float64(x[i])
				want := float64(y[i]) + ax
				if !close64(got[i], want, 2*eps32*(math.Abs(float64(y[i]))+math.Abs(ax))) {
					t.Fatalf("%s: y[%d] = %v, want %v", k.Name, i, got[i], want)
				}
			}
		}
	})
}

func FuzzMax(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 192, 127, 0, 0, 128, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		x := rawFloats(data)
		want, nan := float32(math.Inf(-1)), false
		for _, v := range x {
			want = max(want, v)
			nan = nan || v != v
		}
		for _, k := range Impls() {
			got := k.Max(x)
			if nan && got == got || !nan && got != want {
				t.Fatalf("%s: Max = %v, want %v (NaN present: %v)", k.Name, got, want, nan)
			}
		}
	})
}

func FuzzMaxInto(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64})
	f.Fuzz(func(t *testing.T, data []byte) {
		n := len(data) / 4
		x := smallFloats(data, 2*n)
		for _, k := range Impls() {
			dst := append([]float32(nil), x[:n]...)
			k.MaxInto(dst, x[n:])
			for i := range dst {
				if want := max(x[i], x[n+i]); dst[i] != want {
					t.Fatalf("%s: dst[%d] = %v, want %v", k.Name, i, dst[i], want)
				}
			}
		}
	})
}

func FuzzExpSum(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 192, 127, 0, 0, 128, 255, 0, 0, 200, 194}, float32(1))
	f.Fuzz(func(t *testing.T, data []byte, m float32) {
		x := rawFloats(data)
		for _, k := range Impls() {
			y := append([]float32(nil), x...)
			k.ExpSum(y, m)
			for i, v := range y {
				arg := x[i] - m
				want := expRef(arg)
				switch {
				case arg != arg:
					if v == v {
						t.Fatalf("%s: exp(NaN) = %v", k.Name, v)
					}
				case arg > 88.3 || want == 0:
					// The top of the range may overflow early (see exp in
					// asm/_gen); below ExpMin every set gives 0.
					if want == 0 && v != 0 {
						t.Fatalf("%s: exp(%v) = %v, want 0", k.Name, arg, v)
					}
				default:
					if d := ulpDiff(v, want); d > ExpULPBound {
						t.Fatalf("%s: exp(%v) = %v, want %v (%.1f ulp)", k.Name, arg, v, want, d)
					}
				}
			}
		}
	})
}

// fuzzDims maps three bytes to small matrix sizes.
func fuzzDims(a, b, c uint8) (int, int, int) { return int(a % 21), int(b % 70), int(c % 70) }

func FuzzGemmNT(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint8(5), uint8(17), uint8(33))
	f.Fuzz(func(t *testing.T, data []byte, mb, nb, kb uint8) {
		m, n, k := fuzzDims(mb, nb, kb)
		a, b := smallFloats(data, m*k), smallFloats(data[min(len(data), 7):], n*k)
		for _, kern := range Impls() {
			c := make([]float32, m*n)
			kern.GemmNT(m, n, k, a, k, b, k, c, n)
			for i := range m {
				for j := range n {
					var want, abs float64
					for p := range k {
						x := float64(a[i*k+p]) * float64(b[j*k+p])
						want += x
						abs += math.Abs(x)
					}
					if !close64(c[i*n+j], want, 2*float64(k+1)*eps32*abs) {
						t.Fatalf("%s %d×%d×%d: c[%d][%d] = %v, want %v", kern.Name, m, n, k, i, j, c[i*n+j], want)
					}
				}
			}
		}
	})
}

func FuzzGemmNNAcc(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint8(7), uint8(40), uint8(9))
	f.Fuzz(func(t *testing.T, data []byte, mb, nb, kb uint8) {
		m, n, k := fuzzDims(mb, nb, kb)
		a, b := smallFloats(data, m*k), smallFloats(data[min(len(data), 5):], k*n)
		c0 := smallFloats(data[min(len(data), 3):], m*n)
		for _, kern := range Impls() {
			c := append([]float32(nil), c0...)
			kern.GemmNNAcc(m, n, k, a, k, b, n, c, n)
			for i := range m {
				for j := range n {
					want := float64(c0[i*n+j])
					abs := math.Abs(want)
					for p := range k {
						x := float64(a[i*k+p]) * float64(b[p*n+j])
						want += x
						abs += math.Abs(x)
					}
					if !close64(c[i*n+j], want, 2*float64(k+1)*eps32*abs) {
						t.Fatalf("%s %d×%d×%d: c[%d][%d] = %v, want %v", kern.Name, m, n, k, i, j, c[i*n+j], want)
					}
				}
			}
		}
	})
}

func FuzzScoresT(f *testing.F) {
	f.Add([]byte{9, 8, 7}, uint8(7), uint8(64), uint8(64))
	f.Fuzz(func(t *testing.T, data []byte, rb, wb, db uint8) {
		rows, width, d := fuzzDims(rb, wb, db)
		k, qt := smallFloats(data, rows*d), smallFloats(data[min(len(data), 3):], d*width)
		cm0 := smallFloats(data[min(len(data), 1):], width)
		for _, kern := range Impls() {
			s, cm := make([]float32, rows*width), append([]float32(nil), cm0...)
			kern.ScoresT(rows, width, d, k, d, qt, width, s, cm)
			for i := range width {
				wantMax := cm0[i]
				for j := range rows {
					var want, abs float64
					for p := range d {
						x := float64(k[j*d+p]) * float64(qt[p*width+i])
						want += x
						abs += math.Abs(x)
					}
					if !close64(s[j*width+i], want, 2*float64(d+1)*eps32*abs) {
						t.Fatalf("%s: s[%d][%d] = %v, want %v", kern.Name, j, i, s[j*width+i], want)
					}
					wantMax = max(wantMax, s[j*width+i])
				}
				if cm[i] != wantMax {
					t.Fatalf("%s: colMax[%d] = %v, want %v", kern.Name, i, cm[i], wantMax)
				}
			}
		}
	})
}

func FuzzSoftmaxT(f *testing.F) {
	f.Add([]byte{9, 8, 7, 200, 100}, uint8(5), uint8(64))
	f.Fuzz(func(t *testing.T, data []byte, rb, wb uint8) {
		rows, width, _ := fuzzDims(rb, wb, 0)
		s0 := smallFloats(data, rows*width)
		a0 := smallFloats(data[min(len(data), 1):], width)
		m := make([]float32, width)
		for i := range m {
			m[i] = a0[i] + 1
			for j := range rows {
				m[i] = max(m[i], s0[j*width+i])
			}
		}
		for _, kern := range Impls() {
			s, alpha, l := append([]float32(nil), s0...), append([]float32(nil), a0...), make([]float32, width)
			for i := range l {
				l[i] = 1
			}
			kern.SoftmaxT(rows, width, s, m, alpha, l)
			for i := range width {
				sum := 0.0
				for j := range rows {
					want := exp2Ref((s0[j*width+i] - m[i]) * log2e)
					if d := ulpDiff(s[j*width+i], want); d > Exp2ULPBound && !(want == 0 && s[j*width+i] == 0) {
						t.Fatalf("%s: p[%d][%d] = %v, want %v", kern.Name, j, i, s[j*width+i], want)
					}
					sum += want
				}
				wantA := exp2Ref((a0[i] - m[i]) * log2e)
				wantL := wantA + sum
				if ulpDiff(alpha[i], wantA) > Exp2ULPBound || !close64(l[i], wantL, float64(rows+4)*eps32*(1+Exp2ULPBound)*wantL) {
					t.Fatalf("%s: alpha, l[%d] = %v, %v, want %v, %v", kern.Name, i, alpha[i], l[i], wantA, wantL)
				}
			}
		}
	})
}

func FuzzAccumulatePV(f *testing.F) {
	f.Add([]byte{1, 5, 9}, uint8(9), uint8(64), uint8(64), true)
	f.Fuzz(func(t *testing.T, data []byte, rb, wb, db uint8, scaled bool) {
		rows, width, d := fuzzDims(rb, wb, db)
		pt, v := smallFloats(data, rows*width), smallFloats(data[min(len(data), 3):], rows*d)
		o0 := smallFloats(data[min(len(data), 5):], width*d)
		var alpha []float32
		if scaled {
			alpha = smallFloats(data[min(len(data), 2):], width)
		}
		for _, kern := range Impls() {
			o := append([]float32(nil), o0...)
			kern.AccumulatePV(rows, width, width, d, pt, v, d, o, d, alpha)
			for i := range width {
				for c := range d {
					want := float64(o0[i*d+c])
					if scaled {
						want *= float64(alpha[i])
					}
					abs := math.Abs(want)
					for j := range rows {
						x := float64(pt[j*width+i]) * float64(v[j*d+c])
						want += x
						abs += math.Abs(x)
					}
					if !close64(o[i*d+c], want, 2*float64(rows+2)*eps32*abs) {
						t.Fatalf("%s: o[%d][%d] = %v, want %v", kern.Name, i, c, o[i*d+c], want)
					}
				}
			}
		}
	})
}

func FuzzMaskMatches(f *testing.F) {
	f.Add([]byte{0, 1, 2, 1, 0, 3, 2, 2, 1, 0, 0, 1}, uint8(5), uint8(20), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, rb, wb, span uint8) {
		rows, width, _ := fuzzDims(rb, wb, 0)
		// Codes from the data bytes, folded into a few values so that
		// matches are common.
		code := func(i int) int32 {
			if len(data) == 0 {
				return 0
			}
			return int32(data[i%len(data)]) % (int32(span%8) + 1)
		}
		codes, own, prev := make([]int32, rows), make([]int32, width), make([]int32, width)
		for j := range codes {
			codes[j] = code(j)
		}
		for i := range own {
			own[i], prev[i] = code(rows+i), code(rows+width+i)
		}
		s0 := smallFloats(data[min(len(data), 1):], rows*width)
		want := maskMatchesRef(rows, width, codes, own, prev, s0)
		for _, k := range Impls() {
			s := append([]float32(nil), s0...)
			k.MaskMatches(rows, width, codes, own, prev, s)
			sameBits(t, k.Name, s, want)
		}
	})
}

func FuzzArgMaxPlusMinus(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 192, 127, 0, 0, 128, 255, 0, 0, 0, 128}, uint8(3), uint8(16))
	f.Fuzz(func(t *testing.T, data []byte, sb, hb uint8) {
		segs, half := int(sb%9), int(hb%70)+1
		// Raw float32 bits (NaN, ±Inf, ±0, denormals), repeated to fill
		// the segments: repeats make ties.
		raw := rawFloats(data)
		if len(raw) == 0 {
			raw = []float32{1}
		}
		x := make([]float32, segs*half)
		for i := range x {
			x[i] = raw[i%len(raw)]
		}
		for _, k := range Impls() {
			out := make([]int32, segs)
			k.ArgMaxPlusMinus(segs, half, half, x, out)
			for g := range segs {
				if want := argMaxPlusMinusRef(x[g*half : (g+1)*half]); int(out[g]) != want {
					t.Fatalf("%s half=%d: out[%d] = %d, want %d", k.Name, half, g, out[g], want)
				}
			}
			second := make([]float32, segs)
			k.ArgMaxPlusMinusMargin(segs, half, half, x, out, second)
			for g := range segs {
				v := x[g*half : (g+1)*half]
				want := argMaxPlusMinusRef(v)
				if ws := runnerUpRef(v, want); int(out[g]) != want || math.Float32bits(second[g]) != math.Float32bits(ws) {
					t.Fatalf("%s half=%d: margin out[%d] = %d, second %v, want %d, %v", k.Name, half, g, out[g], second[g], want, ws)
				}
			}
		}
	})
}

func FuzzPackT(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 192, 127, 0, 0, 128, 255, 0, 0, 0, 128, 3, 1, 2}, uint8(5), uint8(11), uint8(7), uint8(1), true)
	f.Fuzz(func(t *testing.T, data []byte, rb, wb, db, lb uint8, permuted bool) {
		rows, d := int(rb%70), int(db%70)
		width, ld := rows+int(wb%40), d+int(lb%5)
		// Raw float32 bits (NaN, ±Inf, ±0, denormals), the first the scale.
		raw := rawFloats(data)
		scale := float32(0.125)
		if len(raw) > 0 {
			scale, raw = raw[0], raw[1:]
		}
		if len(raw) == 0 {
			raw = []float32{1, -2}
		}
		srcRows := rows
		var perm []int32
		if permuted {
			srcRows = max(1, rows/2+int(lb%3))
			perm = make([]int32, rows)
			for i := range perm {
				perm[i] = int32(i*7) % int32(srcRows)
				if len(data) > 0 {
					perm[i] = int32(data[i%len(data)]) % int32(srcRows)
				}
			}
		}
		src := make([]float32, max(0, (srcRows-1)*ld+d))
		for i := range src {
			src[i] = raw[i%len(raw)]
		}
		// Per-column factors from the same raw floats, backwards.
		colScale := make([]float32, width)
		for i := range colScale {
			colScale[i] = raw[(len(raw) - 1 - i%len(raw))]
		}
		for _, cs := range [][]float32{nil, colScale} {
			want := packTRef(rows, width, d, src, ld, perm, scale, cs)
			for _, k := range Impls() {
				dst := make([]float32, d*width)
				for i := range dst {
					dst[i] = 7
				}
				k.PackT(rows, width, d, src, ld, perm, scale, cs, dst)
				samePackT(t, fmt.Sprintf("%s rows=%d width=%d d=%d ld=%d perm=%v colScale=%v", k.Name, rows, width, d, ld, permuted, cs != nil), dst, want)
			}
		}
	})
}

func FuzzColMax(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 192, 127, 0, 0, 128, 255, 0, 0, 200, 194, 1, 2, 3, 4}, uint8(3), uint8(17))
	f.Fuzz(func(t *testing.T, data []byte, rb, wb uint8) {
		rows, width, _ := fuzzDims(rb, wb, 0)
		x := rawFloats(data)
		if len(x) == 0 || width == 0 {
			return
		}
		at := func(i int) float32 { return x[i%len(x)] }
		s, m0 := make([]float32, rows*width), make([]float32, width)
		for i := range s {
			s[i] = at(i)
		}
		for i := range m0 {
			m0[i] = at(3*i + 1)
		}
		want := colMaxRef(rows, width, s, m0)
		for _, kern := range Impls() {
			m := append([]float32(nil), m0...)
			kern.ColMax(rows, width, s, m)
			for i := range m {
				if math.Float32bits(m[i]) != math.Float32bits(want[i]) && !(m[i] != m[i] && want[i] != want[i]) {
					t.Fatalf("%s: m[%d] = %v, want %v", kern.Name, i, m[i], want[i])
				}
			}
		}
	})
}

func FuzzScatterRows(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 192, 127, 0, 0, 128, 255, 0, 0, 0, 128, 3, 1, 2}, uint8(5), uint8(16), uint8(0), uint8(0), uint8(0), true)
	f.Fuzz(func(t *testing.T, data []byte, rb, wb, sb, db, ob uint8, streaming bool) {
		rows, width := int(rb%40), 1+int(wb%80)
		lds, ldd, off := width+int(sb%9), width+int(db%17), int(ob%17)
		raw := rawFloats(data)
		if len(raw) == 0 {
			raw = []float32{1, -2}
		}
		dstRows := rows + 1
		idx := make([]int32, rows)
		for i := range idx {
			idx[i] = int32((i*5 + 3) % dstRows)
			if len(data) > 0 {
				idx[i] = int32(data[i%len(data)]) % int32(dstRows)
			}
		}
		src := make([]float32, max(0, (rows-1)*lds+width))
		for i := range src {
			src[i] = raw[i%len(raw)]
		}
		n := (dstRows-1)*ldd + width
		want := make([]float32, n)
		scatterRowsRef(rows, width, src, lds, idx, want, ldd)
		for _, k := range Impls() {
			buf, dst, start := alignedGuarded(make([]float32, n), off)
			k.ScatterRows(rows, width, src, lds, idx, dst, ldd, streaming)
			what := fmt.Sprintf("%s rows=%d width=%d lds=%d ldd=%d off=%d", k.Name, rows, width, lds, ldd, off)
			samePackT(t, what, dst, want)
			checkGuards(t, what, buf, start, n)
		}
	})
}
