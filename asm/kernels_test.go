package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// Every kernel of every set this CPU can run (generic included) is checked
// against a float64 reference written here, independently of the kernels:
// lengths 0..257 and a few larger, starts one float off alignment, guard
// values around the output that must stay untouched, NaN and ±Inf, and
// tolerances that grow with the length of each sum.

const guardVal = float32(-7.75e30) // no kernel under test writes this value

var eps32 = math.Ldexp(1, -24) // float32 unit roundoff

// testLengths are the vector lengths of the elementwise tests.
func testLengths() []int {
	var ns []int
	for n := 0; n <= 257; n++ {
		ns = append(ns, n)
	}
	return append(ns, 1000, 1024, 4099)
}

// guarded returns vals copied into a buffer at offset off with guard values
// on both sides, and the view holding vals.
func guarded(vals []float32, off int) (buf, view []float32) {
	buf = make([]float32, off+len(vals)+9)
	for i := range buf {
		buf[i] = guardVal
	}
	view = buf[off : off+len(vals)]
	copy(view, vals)
	return buf, view
}

// checkGuards fails unless buf holds guard values outside [off, off+n).
func checkGuards(t testing.TB, what string, buf []float32, off, n int) {
	t.Helper()
	for i, v := range buf {
		if (i < off || i >= off+n) && v != guardVal {
			t.Fatalf("%s: wrote %v at %d, outside [%d, %d)", what, v, i-off, 0, n)
		}
	}
}

func randVec(r *rand.Rand, n int, lo, hi float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return x
}

// close64 reports whether got is want within tol (absolute), treating NaN
// and infinities exactly.
func close64(got float32, want, tol float64) bool {
	g := float64(got)
	switch {
	case math.IsNaN(want):
		return math.IsNaN(g)
	case math.IsInf(want, 0):
		return g == want
	}
	return math.Abs(g-want) <= tol
}

// ulpDiff is the distance between got and want in float32 ulps of want.
func ulpDiff(got float32, want float64) float64 {
	if float64(got) == want {
		return 0
	}
	w := float32(want)
	ulp := float64(math.Nextafter32(float32(math.Abs(float64(w))), float32(math.Inf(1)))) - math.Abs(float64(w))
	return math.Abs(float64(got)-want) / ulp
}

var offsets = []int{0, 1, 3}

// TestScaleTo: dst = a·src with the plain float32 multiply, into a
// separate guarded destination; Scale covers dst = src.
func TestScaleTo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 3))
	for _, k := range Impls() {
		for _, n := range testLengths() {
			for _, off := range offsets {
				src := randVec(r, n+off, -4, 4)[off:] // src off alignment too
				buf, dst := guarded(make([]float32, n), off)
				k.ScaleTo(dst, src, -1.37)
				for i, v := range dst {
					if want := src[i] * -1.37; v != want {
						t.Fatalf("%s n=%d off=%d: dst[%d] = %v, want %v", k.Name, n, off, i, v, want)
					}
				}
				checkGuards(t, k.Name+" ScaleTo", buf, off, n)
			}
		}
	}
}

// TestDot holds Σ x·y to the float64 sum within the bound of any summation
// order, n·u·Σ|x·y|, and checks that a NaN or an infinity anywhere
// reaches the result.
func TestDot(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 4))
	for _, k := range Impls() {
		for _, n := range testLengths() {
			for _, off := range offsets {
				x := randVec(r, n+off, -4, 4)[off:]
				y := randVec(r, n, -4, 4)
				var want, abs float64
				for i := range x {
					want += float64(x[i]) * float64(y[i])
					abs += math.Abs(float64(x[i]) * float64(y[i]))
				}
				got := k.Dot(x, y)
				if tol := float64(n+1) * eps32 * abs; !close64(got, want, tol) {
					t.Fatalf("%s n=%d off=%d: Dot = %v, want %v ± %.3g", k.Name, n, off, got, want, tol)
				}
				if n == 0 {
					continue
				}
				at := r.IntN(n)
				for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
					old := x[at]
					x[at] = bad
					y[at] = 1
					if got, want := k.Dot(x, y), bad; !sameFloat(got, want) && !(math.IsInf(float64(want), 1) && math.IsNaN(float64(got))) {
						t.Fatalf("%s n=%d: Dot with %v at %d = %v", k.Name, n, bad, at, got)
					}
					x[at] = old
				}
			}
		}
	}
}

func TestScale(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range Impls() {
		for _, n := range testLengths() {
			for _, off := range offsets {
				x := randVec(r, n, -4, 4)
				buf, view := guarded(x, off)
				k.Scale(view, 0.37)
				for i, v := range view {
					if want := x[i] * 0.37; v != want {
						t.Fatalf("%s n=%d off=%d: x[%d] = %v, want %v", k.Name, n, off, i, v, want)
					}
				}
				checkGuards(t, k.Name+" Scale", buf, off, n)
			}
		}
	}
}

func TestAxpy(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range Impls() {
		for _, n := range testLengths() {
			for _, off := range offsets {
				y, x := randVec(r, n, -4, 4), randVec(r, n+2, -4, 4)
				buf, view := guarded(y, off)
				k.Axpy(view, -1.3, x[1:])
				for i, v := range view {
					ax := float64(float32(-1.3)) * float64(x[i+1])
					want := float64(y[i]) + ax
					if !close64(v, want, 2*eps32*(math.Abs(float64(y[i]))+math.Abs(ax))) {
						t.Fatalf("%s n=%d: y[%d] = %v, want %v", k.Name, n, i, v, want)
					}
				}
				checkGuards(t, k.Name+" Axpy", buf, off, n)
			}
		}
	}
}

func TestMax(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, k := range Impls() {
		if got := k.Max(nil); !math.IsInf(float64(got), -1) {
			t.Fatalf("%s: Max(empty) = %v, want -Inf", k.Name, got)
		}
		for _, n := range testLengths()[1:] {
			for _, off := range offsets {
				x := randVec(r, n, -100, 100)
				buf, view := guarded(x, off)
				want := float32(math.Inf(-1))
				for _, v := range x {
					want = max(want, v)
				}
				if got := k.Max(view); got != want {
					t.Fatalf("%s n=%d off=%d: Max = %v, want %v", k.Name, n, off, got, want)
				}
				checkGuards(t, k.Name+" Max", buf, off, n)
				// A NaN anywhere, and ±Inf, propagate.
				at := r.IntN(n)
				view[at] = float32(math.Inf(1))
				if got := k.Max(view); !math.IsInf(float64(got), 1) {
					t.Fatalf("%s n=%d: Max with +Inf at %d = %v", k.Name, n, at, got)
				}
				view[at] = float32(math.NaN())
				if got := k.Max(view); !math.IsNaN(float64(got)) {
					t.Fatalf("%s n=%d: Max with NaN at %d = %v, want NaN", k.Name, n, at, got)
				}
			}
		}
	}
}

func TestMaxInto(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range Impls() {
		for _, n := range testLengths() {
			for _, off := range offsets {
				d, s := randVec(r, n, -10, 10), randVec(r, n+1, -10, 10)
				buf, view := guarded(d, off)
				k.MaxInto(view, s[1:])
				for i, v := range view {
					if want := max(d[i], s[i+1]); v != want {
						t.Fatalf("%s n=%d: dst[%d] = %v, want %v", k.Name, n, i, v, want)
					}
				}
				checkGuards(t, k.Name+" MaxInto", buf, off, n)
			}
		}
	}
}

// expRef is the float64 exp the kernels are measured against, with ExpSum's
// documented flush: 0 where the float32 result would be denormal.
func expRef(x float32) float64 {
	if x < ExpMin {
		return 0
	}
	return math.Exp(float64(x))
}

func exp2Ref(x float32) float64 {
	if x < Exp2Min {
		return 0
	}
	return math.Exp2(float64(x))
}

func TestExpSum(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, k := range Impls() {
		for _, n := range testLengths() {
			for _, off := range offsets {
				x := randVec(r, n, -95, 3)
				const m = 1.5
				buf, view := guarded(x, off)
				sum := k.ExpSum(view, m)
				var want, abs float64
				for i, v := range view {
					e := expRef(x[i] - m)
					if d := ulpDiff(v, e); d > ExpULPBound && !(e == 0 && v == 0) {
						t.Fatalf("%s n=%d: exp(%v) = %v, want %v (%.1f ulp)", k.Name, n, x[i]-m, v, e, d)
					}
					want += e
					abs += e
				}
				if !close64(sum, want, float64(n+2)*eps32*abs*(1+ExpULPBound)) {
					t.Fatalf("%s n=%d: sum = %v, want %v", k.Name, n, sum, want)
				}
				checkGuards(t, k.Name+" ExpSum", buf, off, n)
			}
		}
	}
}

// TestExpULP sweeps the softmax range densely and measures both exps'
// worst error in ulps against float64.
func TestExpULP(t *testing.T) {
	ranges := []struct{ lo, hi float64 }{{-87, 0}, {-87.4, -86}, {-1, 1}, {0, 88}}
	for _, k := range Impls() {
		worst, worst2 := 0.0, 0.0
		for _, rg := range ranges {
			const n = 1 << 16
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rg.lo + (rg.hi-rg.lo)*float64(i)/n)
			}
			e := append([]float32(nil), x...)
			k.ExpSum(e, 0)
			for i, v := range e {
				worst = max(worst, ulpDiff(v, expRef(x[i])))
			}
			// SoftmaxT's 2^(x·log₂e) on a 64-wide tile with m = 0,
			// against the exact 2^ of the same float32 product.
			s := append([]float32(nil), x...)
			m, alpha, l := make([]float32, 64), make([]float32, 64), make([]float32, 64)
			k.SoftmaxT(n/64, 64, s, m, alpha, l)
			for i, v := range s {
				worst2 = max(worst2, ulpDiff(v, exp2Ref(x[i]*log2e)))
			}
		}
		t.Logf("%s: exp within %.2f ulp, 2^x within %.2f ulp", k.Name, worst, worst2)
		if worst > ExpULPBound || worst2 > Exp2ULPBound {
			t.Errorf("%s: exp %.2f ulp, 2^x %.2f ulp; bounds %g and %g", k.Name, worst, worst2, ExpULPBound, Exp2ULPBound)
		}
	}
}

func TestExpSpecials(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, k := range Impls() {
		for _, n := range []int{4, 17, 64, 300} {
			for at := 0; at+4 <= n; at += max(1, n/3) {
				x := make([]float32, n)
				copy(x[at:], []float32{nan, -inf, inf, -200})
				s := k.ExpSum(x, 0)
				if !math.IsNaN(float64(x[at])) || x[at+1] != 0 || x[at+2] != inf || x[at+3] != 0 {
					t.Fatalf("%s n=%d: exp(NaN, -Inf, +Inf, -200) = %v", k.Name, n, x[at:at+4])
				}
				if !math.IsNaN(float64(s)) {
					t.Fatalf("%s n=%d: sum with NaN = %v", k.Name, n, s)
				}
			}
		}
		// SoftmaxT: a masked (−Inf) score gives probability 0, a NaN stays.
		s := make([]float32, 3*64)
		s[5], s[64+6] = float32(math.Inf(-1)), nan
		m, alpha, l := make([]float32, 64), make([]float32, 64), make([]float32, 64)
		k.SoftmaxT(3, 64, s, m, alpha, l)
		if s[5] != 0 || !math.IsNaN(float64(s[64+6])) || s[7] != 1 || !math.IsNaN(float64(l[6])) || l[5] != 2 {
			t.Fatalf("%s: SoftmaxT specials: %v %v %v l=%v %v", k.Name, s[5], s[64+6], s[7], l[5], l[6])
		}
	}
}

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

func TestSoftmaxT(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, kern := range Impls() {
		for _, sh := range tileShapes() {
			rows, width := sh[0], sh[1]
			if sh[2] != 1 {
				continue
			}
			s := newMatrix(r, rows, width, width, 1)
			for i := range s.view {
				if s.view[i] != guardVal {
					s.view[i] *= 40
				}
			}
			m := newMatrix(r, 1, width, width, 0)
			alpha := newMatrix(r, 1, width, width, 1)
			l := newMatrix(r, 1, width, width, 0)
			for i := range width {
				m.view[i] = 60 + m.view[i]
				alpha.view[i] = m.view[i] - 3*float32(i%5)
				l.view[i] = 1 + l.view[i]*l.view[i]
			}
			s0, a0, l0 := append([]float32(nil), s.view...), append([]float32(nil), alpha.view...), append([]float32(nil), l.view...)
			kern.SoftmaxT(rows, width, s.view, m.view, alpha.view, l.view)
			for i := range width {
				var sum float64
				for j := range rows {
					want := exp2Ref((s0[j*width+i] - m.view[i]) * log2e)
					if d := ulpDiff(s.at(j, i), want); d > Exp2ULPBound && !(want == 0 && s.at(j, i) == 0) {
						t.Fatalf("%s %v: p[%d][%d] = %v, want %v", kern.Name, sh, j, i, s.at(j, i), want)
					}
					sum += want
				}
				wantA := exp2Ref((a0[i] - m.view[i]) * log2e)
				if d := ulpDiff(alpha.view[i], wantA); d > Exp2ULPBound {
					t.Fatalf("%s %v: alpha[%d] = %v, want %v", kern.Name, sh, i, alpha.view[i], wantA)
				}
				wantL := wantA*float64(l0[i]) + sum
				if !close64(l.view[i], wantL, float64(rows+4)*eps32*(1+Exp2ULPBound)*wantL) {
					t.Fatalf("%s %v: l[%d] = %v, want %v", kern.Name, sh, i, l.view[i], wantL)
				}
			}
			s.check(t, kern.Name+" SoftmaxT s")
			alpha.check(t, kern.Name+" SoftmaxT alpha")
			l.check(t, kern.Name+" SoftmaxT l")
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

func TestFMAPeakRuns(t *testing.T) {
	for _, k := range Impls() {
		if k.FlopsPerIter <= 0 || k.FMAPeak == nil {
			t.Fatalf("%s: no peak loop", k.Name)
		}
		k.FMAPeak(0)
		k.FMAPeak(1000)
	}
}

func TestLookup(t *testing.T) {
	impls := Impls()
	if impls[0].Name != "generic" {
		t.Fatalf("Impls()[0] = %s, want generic", impls[0].Name)
	}
	for _, k := range impls {
		if got, err := Lookup(k.Name); err != nil || got != k {
			t.Fatalf("Lookup(%s) = %v, %v", k.Name, got, err)
		}
	}
	if _, err := Lookup("nonesuch"); err == nil {
		t.Fatal("Lookup(nonesuch) succeeded")
	}
}

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

// sameBits fails unless got and want hold the same float32 bit patterns.
func sameBits(t testing.TB, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
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

// colMaxRef is ColMax read directly: m[i] takes s[j][i] only when it is
// greater, row after row.
func colMaxRef(rows, width int, s, m []float32) []float32 {
	want := append([]float32(nil), m[:width]...)
	for j := range rows {
		for i := range width {
			if v := s[j*width+i]; v > want[i] {
				want[i] = v
			}
		}
	}
	return want
}

func TestColMax(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, kern := range Impls() {
		for _, rows := range []int{0, 1, 2, 5, 17, 58} {
			for _, width := range []int{1, 7, 8, 15, 16, 24, 48, 64, 72, 80, 130} {
				for _, off := range offsets {
					s := randVec(r, rows*width, -10, 10)
					m0 := randVec(r, width, -12, 12)
					// Special values: NaN and ±Inf in s and m, ties.
					for x := 0; x < len(s); x += 7 {
						s[x] = []float32{nan, inf, -inf, float32(math.Copysign(0, -1)), 0}[x%5]
					}
					for x := 0; x < width; x += 5 {
						m0[x] = []float32{nan, -inf, 0}[x%3]
					}
					want := colMaxRef(rows, width, s, m0)
					buf, m := guarded(append([]float32(nil), m0...), off)
					kern.ColMax(rows, width, s, m)
					for i := range width {
						if math.Float32bits(m[i]) != math.Float32bits(want[i]) && !(m[i] != m[i] && want[i] != want[i]) {
							t.Fatalf("%s rows=%d width=%d: m[%d] = %v, want %v", kern.Name, rows, width, i, m[i], want[i])
						}
					}
					checkGuards(t, kern.Name+" ColMax", buf, off, width)
				}
			}
		}
	}
}

// expectPanic fails unless call panics.
func expectPanic(t *testing.T, what string, call func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatalf("%s did not panic", what)
		}
	}()
	call()
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
