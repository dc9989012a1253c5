package variants

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/attnbench/attnbench/asm"
)

// TestLSHHashTies checks the vectorised argmax of lshHash against a direct
// reading of argmax([v; −v]) (first index of the maximum) on every kernel
// set, with the projections made exact (identity rotations) and drawn from
// a few values so that ties, ±0 and a NaN occur.
func TestLSHHashTies(t *testing.T) {
	const half, rounds, n = 24, 2, 150
	d := half
	rot := make([]float32, rounds*half*d)
	for r := range rounds {
		for c := range half {
			rot[c*rounds*half+r*half+c] = float32(1 - 2*r) // round 1 sees −x
		}
	}
	values := []float32{-2, -1, float32(math.Copysign(0, -1)), 0, 1, 2}
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = values[rng.IntN(len(values))]
	}
	x[7*d+3] = float32(math.NaN())
	x[9*d] = float32(math.NaN())
	want := func(v []float32) int {
		both := make([]float32, 0, 2*len(v))
		both = append(both, v...)
		for _, e := range v {
			both = append(both, -e)
		}
		best := 0
		for t, e := range both {
			if e > both[best] {
				best = t
			}
		}
		return best
	}
	for _, kern := range asm.Impls() {
		t.Run(kern.Name, func(t *testing.T) {
			h := lshHasher{kern: kern, d: d, half: half, rounds: rounds, width: lshRotWidth(half, rounds), rot: rot}
			bkt := h.bucketsOf(x, n)
			for r := range rounds {
				for i := range n {
					v := make([]float32, d)
					nan := false
					for c, e := range x[i*d : (i+1)*d] {
						v[c] = e * float32(1-2*r)
						nan = nan || e != e
					}
					if nan { // the GEMM spreads it: every projection is NaN
						for c := range v {
							v[c] = float32(math.NaN())
						}
					}
					if got, w := int(bkt[r*n+i]), want(v); got != w {
						t.Errorf("round %d row %d %v: bucket %d, want %d", r, i, fmt.Sprint(v), got, w)
					}
				}
			}
		})
	}
}

// TestLSHInt16HashingMatchesFloat: the certified int16 path must give the
// float path's buckets bit for bit, on every kernel set (the generic one
// runs the same logic on its Go int16 kernels), for odd and even d, rounds
// sharing a product or not, Gaussian rows, rows built to nearly tie two
// projections (which it must leave to the float path), and rows it cannot
// quantise (zero, tiny, huge, NaN, ±Inf). On Gaussian rows at d = 64 it
// must certify most rows, or it is not a fast path.
func TestLSHInt16HashingMatchesFloat(t *testing.T) {
	cases := []struct{ d, half, rounds, n int }{
		{64, 128, 2, 700}, {64, 64, 3, 300}, {64, 16, 2, 200}, {7, 64, 2, 130}, {33, 24, 1, 260}, {1, 2, 4, 50}, {128, 64, 1, 127},
	}
	for _, kern := range asm.Impls() {
		for _, c := range cases {
			name := fmt.Sprintf("%s/d=%d/half=%d/rounds=%d", kern.Name, c.d, c.half, c.rounds)
			nf, ni := lshHashSizes(c.d, c.half, c.rounds)
			float := newLSHHasher(kern, c.d, c.half, c.rounds, 9, make([]float32, nf), make([]int32, ni), false)
			float.useInt = false
			quant := newLSHHasher(kern, c.d, c.half, c.rounds, 9, make([]float32, nf), make([]int32, ni), true)
			x := lshHashTestRows(c.d, c.n, &float)
			want := float.bucketsOf(x, c.n)
			sc := newLSHHashScratch(c.d, c.half, c.rounds)
			got := make([]int32, c.rounds*c.n)
			quant.hash(x, c.n, got, &sc)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s: round %d row %d (%v): int16 path bucket %d, float path %d", name, i/c.n, i%c.n, x[(i%c.n)*c.d : (i%c.n+1)*c.d][:min(c.d, 4)], got[i], want[i])
				}
			}
			// The last 12 rows are the special ones, the 40 before them
			// near-ties: at least those go to the float path (12 of them
			// in every round).
			if sc.fallbacks < 12*c.rounds {
				t.Errorf("%s: %d fallbacks, want at least the %d unquantisable rows", name, sc.fallbacks, 12*c.rounds)
			}
			if c.d == 64 && c.half >= 64 {
				if frac := float64(sc.fallbacks) / float64(c.rounds*c.n); frac > 0.25 {
					t.Errorf("%s: %.0f%% of rows left to the float path", name, 100*frac)
				}
			}
		}
	}
}

// lshHashTestRows returns n rows of dimension d: Gaussian rows, then 40
// rows moved to nearly tie their two largest projections under the first
// round's rotation, then 12 rows that cannot be quantised.
func lshHashTestRows(d, n int, h *lshHasher) []float32 {
	rng := rand.New(rand.NewPCG(uint64(d), uint64(n)))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	special := n - 12
	for i := max(0, special-40); i < special; i++ {
		row := x[i*d : (i+1)*d]
		// Projections in float64; move the row along R_a − R_b so that
		// the two largest |e_t| meet (same sign by choice of b's sign).
		proj := func(t int) float64 {
			var e float64
			for p, v := range row {
				e += float64(v) * float64(h.rot[p*h.width+t])
			}
			return e
		}
		a, b := 0, 1
		for t := range h.half {
			if math.Abs(proj(t)) > math.Abs(proj(a)) {
				a, b = t, a
			} else if t != a && (b == a || math.Abs(proj(t)) > math.Abs(proj(b))) {
				b = t
			}
		}
		if a == b {
			continue
		}
		sa, sb := math.Copysign(1, proj(a)), math.Copysign(1, proj(b))
		// f(x) = sa·e_a − sb·e_b; step along its gradient g = sa·R_a − sb·R_b.
		var gg float64
		g := make([]float64, d)
		for p := range d {
			g[p] = sa*float64(h.rot[p*h.width+a]) - sb*float64(h.rot[p*h.width+b])
			gg += g[p] * g[p]
		}
		f := sa*proj(a) - sb*proj(b)
		step := f / gg * (1 - 1e-7*rng.Float64())
		for p := range d {
			row[p] = float32(float64(row[p]) - step*g[p])
		}
	}
	odd := []float32{0, 1e-30, -3e-25, 1e25, -4e30, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45, 3e38, -2e-20, 5e21}
	for k, v := range odd {
		if i := special + k; i >= 0 {
			row := x[i*d : (i+1)*d]
			for p := range row {
				row[p] = v * float32(1+p%3)
			}
			if (v != v || math.IsInf(float64(v), 0)) && d > 1 {
				row[0] = 1 // one odd element among ordinary ones
			}
		}
	}
	return x
}

// TestLSHInt16ForwardSameBits: Forward with the int16 hashing forced gives
// the bits of Forward with the kernel set's own choice (the float path on
// sets without fast int16 kernels, or where nb/2 is not a multiple of 64),
// shared QK or not, causal or not, on 1 and 3 threads.
func TestLSHInt16ForwardSameBits(t *testing.T) {
	prev := asm.Active().Name
	defer asm.Select(prev)
	for _, kern := range asm.Impls() {
		if err := asm.Select(kern.Name); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			n, d, nb, chunk int
			shared, causal  bool
		}{{300, 64, 128, 16, true, false}, {300, 64, 8, 32, true, true}, {257, 33, 128, 8, false, false}, {200, 64, 12, 16, false, true}} {
			opt := DefaultOptions()
			opt.Buckets, opt.Chunk, opt.SharedQK, opt.Causal = c.nb, c.chunk, c.shared, c.causal
			q, k, v := NewTensor(1, 2, c.n, c.d), NewTensor(1, 2, c.n, c.d), NewTensor(1, 2, c.n, c.d)
			rng := rand.New(rand.NewPCG(uint64(c.n), 5))
			for _, x := range []Tensor{q, k, v} {
				for i := range x.Data {
					x.Data[i] = float32(rng.NormFloat64())
				}
			}
			for _, threads := range []int{1, 3} {
				opt.Threads = threads
				want, got := NewTensor(1, 2, c.n, c.d), NewTensor(1, 2, c.n, c.d)
				if err := (LSH{}).Forward(q, k, v, want, opt, NewWorkspace()); err != nil {
					t.Fatal(err)
				}
				if err := (LSH{fault: lshInt16Always}).Forward(q, k, v, got, opt, NewWorkspace()); err != nil {
					t.Fatal(err)
				}
				for i := range want.Data {
					if math.Float32bits(got.Data[i]) != math.Float32bits(want.Data[i]) {
						t.Fatalf("%s %+v threads=%d: element %d = %v with int16 hashing, %v without", kern.Name, c, threads, i, got.Data[i], want.Data[i])
					}
				}
			}
		}
	}
}

// TestLSHHashingSaysWhenInt16: what LSHHashing tells attnbench cpu is what
// the hasher does: on a kernel set it says hashes in int16, the int16 path
// is taken exactly where nb/2 is a multiple of 64 (as it says); elsewhere
// never.
func TestLSHHashingSaysWhenInt16(t *testing.T) {
	for _, kern := range asm.Impls() {
		int16, how := LSHHashing(kern)
		if int16 != kern.FastInt16 || int16 != strings.Contains(how, "int16 where nb/2 is a multiple of 64") {
			t.Errorf("%s (FastInt16 %v): %v, %q", kern.Name, kern.FastInt16, int16, how)
		}
		for _, half := range []int{1, 2, 16, 24, 32, 64, 96, 128, 192} {
			nf, ni := lshHashSizes(8, half, 1)
			h := newLSHHasher(kern, 8, half, 1, 1, make([]float32, nf), make([]int32, ni), false)
			if want := int16 && half%64 == 0; h.useInt != want {
				t.Errorf("%s, nb/2 = %d: int16 path %v, want %v", kern.Name, half, h.useInt, want)
			}
		}
	}
}
