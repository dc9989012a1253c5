package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
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
