package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// packTShapes are (rows, width, d) of PackT: LSH's and flash's tiles (width
// rows rounded up to 16), and tails of every vector width.
func packTShapes() [][3]int {
	var shapes [][3]int
	for _, rows := range []int{0, 1, 2, 5, 7, 8, 9, 15, 16, 17, 24, 31, 43, 58, 64, 80, 100, 128} {
		widths := map[int]bool{rows: rows > 0, (rows + 7) &^ 7: rows > 0, (rows + 15) &^ 15: rows > 0, rows + 1: true, ((rows + 15) &^ 15) + 16: true, rows + 29: true}
		for width, ok := range widths {
			if !ok {
				continue
			}
			for _, d := range []int{1, 3, 7, 16, 32, 64, 65, 128} {
				shapes = append(shapes, [3]int{rows, width, d})
			}
		}
	}
	return shapes
}

// packTSpecial puts NaN, ±Inf, −0 and denormals at random places of the
// rows×cols window of m.
func packTSpecial(r *rand.Rand, m *matrix) {
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 0, 1e-40, -3e-39}
	for i := range m.rows {
		for j := range m.cols {
			if r.IntN(10) == 0 {
				m.view[i*m.ld+j] = specials[r.IntN(len(specials))]
			}
		}
	}
}

// samePackT fails unless got holds want's bits, any NaN matching any NaN
// (the payload of NaN × NaN depends on the operand order).
func samePackT(t testing.TB, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if want[i] != want[i] && got[i] != got[i] {
			continue
		}
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// packTRef is PackT element by element: the expected tile.
func packTRef(rows, width, d int, src []float32, ld int, perm []int32, scale float32, colScale []float32) []float32 {
	want := make([]float32, d*width)
	for p := range d {
		for i := range rows {
			r := i
			if perm != nil {
				r = int(perm[i])
			}
			f := scale
			if colScale != nil {
				f = colScale[i]
			}
			want[p*width+i] = f * src[r*ld+p]
		}
	}
	return want // the padding columns are the zeros of make
}

func TestPackT(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for _, kern := range Impls() {
		for _, sh := range packTShapes() {
			rows, width, d := sh[0], sh[1], sh[2]
			for _, permuted := range []bool{false, true} {
				srcRows, ld := rows, d+r.IntN(3)*d+r.IntN(2)*3
				var perm []int32
				if permuted {
					// Repeats allowed; the slice ends at rows, and what
					// lies past it (never to be read) is out of range.
					srcRows = max(1, rows+r.IntN(2*rows+3))
					pbuf := make([]int32, 1+rows+16)
					for i := range pbuf {
						pbuf[i] = 1 << 30
					}
					perm = pbuf[1 : 1+rows : 1+rows]
					for i := range perm {
						perm[i] = int32(r.IntN(srcRows))
					}
				}
				src := newMatrix(r, srcRows, d, ld, 1+r.IntN(3))
				packTSpecial(r, src)
				src0 := append([]float32(nil), src.buf...)
				scales := []float32{float32(1 / math.Sqrt(float64(d))), -0.7, 0.125}
				if r.IntN(8) == 0 {
					// The padding stays +0 even when scale·0 is not.
					scales = append(scales, float32(math.Inf(1)), float32(math.NaN()), float32(math.Copysign(0, -1)))
				}
				// Per-column factors: random, with the specials; the
				// entries past rows (read, not used) are NaN.
				colScale := randVec(r, width, -3, 3)
				for i := range colScale {
					if i >= rows {
						colScale[i] = float32(math.NaN())
					} else if r.IntN(8) == 0 {
						colScale[i] = []float32{float32(math.Inf(-1)), float32(math.NaN()), 0, float32(math.Copysign(0, -1)), 1e-39}[r.IntN(5)]
					}
				}
				for si, scale := range append(scales, 0) {
					var cs []float32
					if si == len(scales) {
						cs = colScale
					}
					want := packTRef(rows, width, d, src.view, ld, perm, scale, cs)
					off := r.IntN(4)
					buf, dst := guarded(randVec(r, d*width, -5, 5), off)
					kern.PackT(rows, width, d, src.view, ld, perm, scale, cs, dst)
					what := fmt.Sprintf("%s rows=%d width=%d d=%d ld=%d perm=%v scale=%v colScale=%v", kern.Name, rows, width, d, ld, permuted, scale, cs != nil)
					samePackT(t, what, dst, want)
					checkGuards(t, what, buf, off, d*width)
					gen := make([]float32, d*width)
					genericKernels.PackT(rows, width, d, src.view, ld, perm, scale, cs, gen)
					samePackT(t, what+" vs generic", dst, gen)
					if !sameSlice(src0, src.buf) {
						t.Fatalf("%s: src changed", what)
					}
				}
			}
		}
	}
}

// TestPackTFallbacks covers a row stride past int32 (64-bit row offsets)
// and the inputs every set must reject.
func TestPackTFallbacks(t *testing.T) {
	for _, kern := range Impls() {
		// One row, or every perm entry 0, with a stride no int32 holds.
		src := []float32{1, 2, 3, -4}
		for _, perm := range [][]int32{nil, {0, 0, 0}} {
			rows := max(1, len(perm))
			dst := make([]float32, 4*16)
			for i := range dst {
				dst[i] = 9
			}
			kern.PackT(rows, 16, 4, src, 1<<40, perm, 2, nil, dst)
			want := packTRef(rows, 16, 4, src, 0, perm, 2, nil)
			samePackT(t, fmt.Sprintf("%s huge ld perm=%v", kern.Name, perm), dst, want)
		}
		mustPanic := func(what string, call func()) { t.Helper(); expectPanic(t, kern.Name+": "+what, call) }
		src = make([]float32, 64*64)
		dst := make([]float32, 64*16)
		mustPanic("rows > width", func() { kern.PackT(17, 16, 64, src, 64, nil, 1, nil, dst) })
		mustPanic("negative perm", func() { kern.PackT(3, 16, 64, src, 64, []int32{0, -1, 2}, 1, nil, dst) })
		mustPanic("perm past src", func() { kern.PackT(3, 16, 64, src, 64, []int32{0, 64, 2}, 1, nil, dst) })
		mustPanic("short perm", func() { kern.PackT(3, 16, 64, src, 64, []int32{0, 1}, 1, nil, dst) })
		mustPanic("short src", func() { kern.PackT(16, 16, 64, src[:15*64+63], 64, nil, 1, nil, dst) })
		mustPanic("short dst", func() { kern.PackT(16, 16, 64, src, 64, nil, 1, nil, dst[:len(dst)-1]) })
		mustPanic("short colScale", func() { kern.PackT(3, 16, 64, src, 64, nil, 1, make([]float32, 15), dst) })
	}
}

// scatterRowsRef is ScatterRows element by element, in order of i.
func scatterRowsRef(rows, width int, src []float32, lds int, idx []int32, dst []float32, ldd int) {
	for i := range rows {
		for c := range width {
			dst[int(idx[i])*ldd+c] = src[i*lds+c]
		}
	}
}

// alignedGuarded is guarded with the view starting off floats past a
// 64-byte boundary, so that the streaming path runs (off 0) or must not
// (off not a multiple of the vector).
func alignedGuarded(vals []float32, off int) (buf, view []float32, start int) {
	raw := make([]float32, len(vals)+off+16+9)
	for i := range raw {
		raw[i] = guardVal
	}
	a := 0
	for uintptr(unsafe.Pointer(&raw[a]))%64 != 0 {
		a++
	}
	start = a + off
	copy(raw[start:], vals)
	return raw, raw[start : start+len(vals)], start
}

func TestScatterRows(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, kern := range Impls() {
		for _, width := range []int{1, 3, 7, 8, 15, 16, 24, 32, 40, 64, 65, 128} {
			for _, rows := range []int{0, 1, 2, 5, 16, 33} {
				for _, streaming := range []bool{false, true} {
					for _, off := range []int{0, 0, 1, 4, 8} {
						lds := width + r.IntN(3)*8 + r.IntN(2)
						ldd := width + []int{0, 16, 1, 3}[r.IntN(4)]
						dstRows := rows + r.IntN(4) + 1
						// A permutation, or (sometimes) repeats.
						idx := make([]int32, rows)
						for i, p := range r.Perm(dstRows)[:rows] {
							idx[i] = int32(p)
						}
						if r.IntN(4) == 0 {
							for i := range idx {
								idx[i] = int32(r.IntN(dstRows))
							}
						}
						src := randVec(r, max(0, (rows-1)*lds+width), -9, 9)
						packTSpecial(r, &matrix{view: src, rows: 1, cols: len(src), ld: len(src)})
						n := (dstRows-1)*ldd + width
						init := randVec(r, n, -5, 5)
						want := append([]float32(nil), init...)
						scatterRowsRef(rows, width, src, lds, idx, want, ldd)
						buf, dst, start := alignedGuarded(init, off)
						kern.ScatterRows(rows, width, src, lds, idx, dst, ldd, streaming)
						what := fmt.Sprintf("%s rows=%d width=%d lds=%d ldd=%d off=%d streaming=%v", kern.Name, rows, width, lds, ldd, off, streaming)
						samePackT(t, what, dst, want)
						checkGuards(t, what, buf, start, n)
					}
				}
			}
		}
		mustPanic := func(what string, call func()) { t.Helper(); expectPanic(t, kern.Name+": "+what, call) }
		_, src, _ := alignedGuarded(make([]float32, 4*64), 0)
		_, dst, _ := alignedGuarded(make([]float32, 4*64), 0)
		mustPanic("negative index", func() { kern.ScatterRows(2, 64, src, 64, []int32{0, -1}, dst, 64, true) })
		mustPanic("index past dst", func() { kern.ScatterRows(2, 64, src, 64, []int32{0, 4}, dst, 64, true) })
		mustPanic("short idx", func() { kern.ScatterRows(2, 64, src, 64, []int32{0}, dst, 64, true) })
		mustPanic("short src", func() { kern.ScatterRows(4, 64, src[:4*64-1], 64, []int32{0, 1, 2, 3}, dst, 64, true) })
	}
}
