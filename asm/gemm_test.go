package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gemmShapes are the (m, n, k) of the GEMM tests: below, at and past every
// register tile and vector width.
func gemmShapes() [][3]int {
	var shapes [][3]int
	for _, m := range []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 64} {
		for _, n := range []int{0, 1, 3, 4, 5, 8, 15, 16, 17, 32, 33, 48, 64, 65, 130} {
			for _, k := range []int{0, 1, 7, 8, 16, 17, 64, 100} {
				shapes = append(shapes, [3]int{m, n, k})
			}
		}
	}
	return shapes
}

// matrix returns rows×cols values at stride ld in a guarded buffer.
type matrix struct {
	buf, view     []float32
	off, rows, ld int
	cols          int
}

func newMatrix(r *rand.Rand, rows, cols, ld, off int) *matrix {
	vals := make([]float32, max(0, (rows-1)*ld+cols))
	for i := range vals {
		vals[i] = guardVal // the gaps between rows are guards too
	}
	for i := range rows {
		for j := range cols {
			vals[i*ld+j] = float32(r.Float64()*4 - 2)
		}
	}
	mt := &matrix{off: off, rows: rows, ld: ld, cols: cols}
	mt.buf, mt.view = guarded(vals, off)
	return mt
}

func (m *matrix) at(i, j int) float32 { return m.view[i*m.ld+j] }

// check fails if a value outside the rows×cols window changed.
func (m *matrix) check(t testing.TB, what string) {
	t.Helper()
	for i, v := range m.buf {
		p := i - m.off
		inside := p >= 0 && p < len(m.view) && p%m.ld < m.cols
		if !inside && v != guardVal {
			t.Fatalf("%s: wrote %v outside the matrix (offset %d)", what, v, p)
		}
	}
}

func TestGemmNT(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, kern := range Impls() {
		for _, sh := range gemmShapes() {
			m, n, k := sh[0], sh[1], sh[2]
			off := (m + n + k) % 2
			a, b := newMatrix(r, m, k, k+1, off), newMatrix(r, n, k, k+3, 1-off)
			c := newMatrix(r, m, n, n+2, off)
			kern.GemmNT(m, n, k, a.view, a.ld, b.view, b.ld, c.view, c.ld)
			for i := range m {
				for j := range n {
					var want, abs float64
					for p := range k {
						x := float64(a.at(i, p)) * float64(b.at(j, p))
						want += x
						abs += math.Abs(x)
					}
					if !close64(c.at(i, j), want, 2*float64(k+1)*eps32*abs) {
						t.Fatalf("%s m,n,k=%d,%d,%d: c[%d][%d] = %v, want %v", kern.Name, m, n, k, i, j, c.at(i, j), want)
					}
				}
			}
			c.check(t, fmt.Sprintf("%s GemmNT %v", kern.Name, sh))
		}
	}
}

func TestGemmNNAcc(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, kern := range Impls() {
		for _, sh := range gemmShapes() {
			m, n, k := sh[0], sh[1], sh[2]
			off := (m + n + k) % 2
			a, b := newMatrix(r, m, k, k+1, off), newMatrix(r, k, n, n+3, 1-off)
			c := newMatrix(r, m, n, n+2, off)
			c0 := append([]float32(nil), c.view...)
			kern.GemmNNAcc(m, n, k, a.view, a.ld, b.view, b.ld, c.view, c.ld)
			for i := range m {
				for j := range n {
					want := float64(c0[i*c.ld+j])
					abs := math.Abs(want)
					for p := range k {
						x := float64(a.at(i, p)) * float64(b.at(p, j))
						want += x
						abs += math.Abs(x)
					}
					if !close64(c.at(i, j), want, 2*float64(k+1)*eps32*abs) {
						t.Fatalf("%s m,n,k=%d,%d,%d: c[%d][%d] = %v, want %v", kern.Name, m, n, k, i, j, c.at(i, j), want)
					}
				}
			}
			c.check(t, fmt.Sprintf("%s GemmNNAcc %v", kern.Name, sh))
		}
	}
}

// tileShapes are (rows, width, d) of the fused tile kernels.
func tileShapes() [][3]int {
	var shapes [][3]int
	for _, rows := range []int{0, 1, 2, 5, 6, 7, 9, 16, 33} {
		for _, width := range []int{1, 7, 8, 16, 24, 32, 48, 64, 65, 128, 130} {
			for _, d := range []int{1, 5, 16, 32, 64, 65, 128} {
				shapes = append(shapes, [3]int{rows, width, d})
			}
		}
	}
	return shapes
}

func TestScoresT(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, kern := range Impls() {
		for _, sh := range tileShapes() {
			rows, width, d := sh[0], sh[1], sh[2]
			k := newMatrix(r, rows, d, d+1, 1)
			// A query tile inside a wider matrix (ldq > width) on odd shapes.
			ldq := width + (rows+d)%3
			qt := newMatrix(r, d, width, ldq, 0)
			s := newMatrix(r, rows, width, width, 1)
			cm := newMatrix(r, 1, width, width, 0)
			cm0 := append([]float32(nil), cm.view...)
			kern.ScoresT(rows, width, d, k.view, k.ld, qt.view, qt.ld, s.view, cm.view)
			for i := range width {
				wantMax := cm0[i]
				for j := range rows {
					var want, abs float64
					for p := range d {
						x := float64(k.at(j, p)) * float64(qt.at(p, i))
						want += x
						abs += math.Abs(x)
					}
					if !close64(s.at(j, i), want, 2*float64(d+1)*eps32*abs) {
						t.Fatalf("%s %v: s[%d][%d] = %v, want %v", kern.Name, sh, j, i, s.at(j, i), want)
					}
					wantMax = max(wantMax, s.at(j, i))
				}
				if cm.view[i] != wantMax {
					t.Fatalf("%s %v: colMax[%d] = %v, want %v", kern.Name, sh, i, cm.view[i], wantMax)
				}
			}
			s.check(t, fmt.Sprintf("%s ScoresT s %v", kern.Name, sh))
			cm.check(t, fmt.Sprintf("%s ScoresT colMax %v", kern.Name, sh))
		}
	}
}

func TestAccumulatePV(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	for _, kern := range Impls() {
		for _, sh := range tileShapes() {
			rows, width, d := sh[0], sh[1], sh[2]
			for _, scaled := range []bool{false, true} {
				// Every row of o, or only the first few (a padded tile
				// accumulating into the caller's rows): the rest are guards.
				outRows := width
				if scaled {
					outRows = width - (rows+d)%(width+1)
				}
				pt := newMatrix(r, rows, width, width, 1)
				v := newMatrix(r, rows, d, d+2, 0)
				o := newMatrix(r, outRows, d, d+1, 1)
				var alpha []float32
				if scaled {
					alpha = randVec(r, outRows, 0, 1)
				}
				o0 := append([]float32(nil), o.view...)
				kern.AccumulatePV(rows, width, outRows, d, pt.view, v.view, v.ld, o.view, o.ld, alpha)
				for i := range outRows {
					for c := range d {
						want := float64(o0[i*o.ld+c])
						if scaled {
							want *= float64(alpha[i])
						}
						abs := math.Abs(want)
						for j := range rows {
							x := float64(pt.at(j, i)) * float64(v.at(j, c))
							want += x
							abs += math.Abs(x)
						}
						if !close64(o.at(i, c), want, 2*float64(rows+2)*eps32*abs) {
							t.Fatalf("%s %v scaled=%v outRows=%d: o[%d][%d] = %v, want %v", kern.Name, sh, scaled, outRows, i, c, o.at(i, c), want)
						}
					}
				}
				o.check(t, fmt.Sprintf("%s AccumulatePV %v", kern.Name, sh))
			}
		}
	}
}
