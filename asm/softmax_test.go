package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

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
