package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

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
