package variants

import (
	"fmt"
	"math"
	"math/rand/v2"
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
			bkt := make([]int32, rounds*n)
			lshHash(kern, x, n, d, rot, half, rounds, make([]float32, lshProjFloats(rounds, half)), bkt)
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
