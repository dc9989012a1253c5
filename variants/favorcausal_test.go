package variants_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
)

// replaceLaterKeys returns copies of k and v whose rows at positions ≥ t
// are new N(0,1) draws, with the key at position huge (≥ t) scaled to a
// huge norm.
func replaceLaterKeys(k, v variants.Tensor, t, huge int, seed uint64) (variants.Tensor, variants.Tensor) {
	rng := rand.New(rand.NewPCG(seed, 3))
	k2 := variants.Tensor{B: k.B, H: k.H, S: k.S, D: k.D, Data: append([]float32(nil), k.Data...)}
	v2 := variants.Tensor{B: v.B, H: v.H, S: v.S, D: v.D, Data: append([]float32(nil), v.Data...)}
	for b := range k.B {
		for h := range k.H {
			kh, vh := k2.Head(b, h), v2.Head(b, h)
			for j := t; j < k.S; j++ {
				for d := range k.D {
					kh[j*k.D+d] = float32(rng.NormFloat64())
					vh[j*k.D+d] = float32(rng.NormFloat64())
				}
				if j == huge {
					for d := range k.D {
						kh[j*k.D+d] *= 40
					}
				}
			}
		}
	}
	return k2, v2
}

// TestFavorCausalNoFuture: causal FAVOR+ (docs/design.md §2: the key stabiliser of
// query i is the max over keys j ≤ p_i) must not let a later key change an
// earlier output. Every key and value at positions ≥ t is replaced, one key
// by one of huge norm (which, under a max over all keys, would shrink every
// earlier key's features towards 0); the outputs of queries at positions
// < t must stay the same: bit-identical where the pieces of the
// computation are the same, within float32 rounding where a later key only
// changes how a block is cut.
func TestFavorCausalNoFuture(t *testing.T) {
	v, _ := variants.Lookup("linear")
	for _, s := range []variants.Shape{
		{B: 1, H: 2, N: 96, M: 96, D: 16},
		{B: 1, H: 4, Hkv: 2, N: 40, M: 100, D: 8},
	} {
		for _, cut := range []int{64, 70, 75} {
			opt := variants.DefaultOptions()
			opt.Kernel, opt.Features, opt.Causal, opt.Seed = "favor", 32, true, 5
			for _, threads := range []int{1, 2} {
				opt.Threads = threads
				label := fmt.Sprintf("%v t=%d threads=%d", s, cut, threads)
				q, k, vv, _ := inputs.Generate("gaussian", s, 13)
				k2, v2 := replaceLaterKeys(k, vv, cut, cut+2, 17)
				before, after := variants.NewTensor(s.B, s.H, s.N, s.D), variants.NewTensor(s.B, s.H, s.N, s.D)
				if err := v.Forward(q, k, vv, before, opt, variants.NewWorkspace()); err != nil {
					t.Fatal(err)
				}
				if err := v.Forward(q, k2, v2, after, opt, variants.NewWorkspace()); err != nil {
					t.Fatal(err)
				}
				var maxDiff float64
				var same, rows int
				for bh := range s.B * s.H {
					ob, oa := before.Head(bh/s.H, bh%s.H), after.Head(bh/s.H, bh%s.H)
					for i := range s.N {
						if i+s.M-s.N >= cut {
							continue
						}
						rows++
						identical := true
						for d := range s.D {
							x, y := ob[i*s.D+d], oa[i*s.D+d]
							maxDiff = math.Max(maxDiff, math.Abs(float64(x-y)))
							identical = identical && x == y
						}
						if identical {
							same++
						}
					}
				}
				if maxDiff > 2e-6 {
					t.Errorf("%s: outputs before t changed by %.3g when later keys changed", label, maxDiff)
				}
				if same < rows/2 {
					t.Errorf("%s: only %d of %d earlier rows are bit-identical", label, same, rows)
				}
				// The reference follows the same definition.
				refB, _ := v.Reference(q, k, vv, opt)
				refA, _ := v.Reference(q, k2, v2, opt)
				for bh := range s.B * s.H {
					for i := range s.N {
						if i+s.M-s.N >= cut {
							continue
						}
						for d := range s.D {
							x := bh*s.N*s.D + i*s.D + d
							if refB[x] != refA[x] {
								t.Fatalf("%s: Reference output (row %d) depends on later keys", label, i)
							}
						}
					}
				}
			}
		}
	}
}

// TestFavorOldDefinitionLeaks shows that the check above can fail: under
// the old definition (one key stabiliser, the max over all keys, for every
// query), written out here, the same change of later keys moves earlier
// outputs by far more than rounding, while the prefix-max definition does
// not move them at all.
func TestFavorOldDefinitionLeaks(t *testing.T) {
	s := variants.Shape{B: 1, H: 1, N: 64, M: 64, D: 16}
	opt := variants.DefaultOptions()
	opt.Kernel, opt.Features, opt.Causal, opt.Seed = "favor", 32, true, 5
	q, k, vv, _ := inputs.Generate("gaussian", s, 13)
	cut := 40
	k2, v2 := replaceLaterKeys(k, vv, cut, cut+2, 17)
	omega := variants.FavorFeatures(s.D, opt.Features, opt.Seed)
	oldB := bruteLinearGlobalStab(s, q, k, vv, opt, omega)
	oldA := bruteLinearGlobalStab(s, q, k2, v2, opt, omega)
	newB := bruteLinear(s, q, k, vv, opt, omega)
	newA := bruteLinear(s, q, k2, v2, opt, omega)
	var oldDiff, newDiff float64
	for x := range cut * s.D {
		oldDiff = math.Max(oldDiff, math.Abs(oldA[x]-oldB[x]))
		newDiff = math.Max(newDiff, math.Abs(newA[x]-newB[x]))
	}
	if oldDiff < 1e-2 {
		t.Errorf("the old definition moved earlier outputs by only %.3g: the test would not catch the leak", oldDiff)
	}
	if newDiff != 0 {
		t.Errorf("the prefix-max definition moved earlier outputs by %.3g", newDiff)
	}
	// And Forward follows the new definition, not the old one.
	out := variants.NewTensor(s.B, s.H, s.N, s.D)
	v, _ := variants.Lookup("linear")
	if err := v.Forward(q, k2, v2, out, opt, variants.NewWorkspace()); err != nil {
		t.Fatal(err)
	}
	var toNew, toOld float64
	for x := range cut * s.D {
		toNew = math.Max(toNew, math.Abs(float64(out.Data[x])-newA[x]))
		toOld = math.Max(toOld, math.Abs(float64(out.Data[x])-oldA[x]))
	}
	if toNew > 1e-4 || toOld < 1e-2 {
		t.Errorf("Forward is %.3g from the prefix-max definition and %.3g from the old one", toNew, toOld)
	}
}

// bruteLinearGlobalStab is causal FAVOR+ as docs/design.md §2 used to define it:
// one key stabiliser, the max of ω·k′ over every key of the head.
func bruteLinearGlobalStab(s variants.Shape, q, k, v variants.Tensor, opt variants.Options, omega []float32) []float64 {
	return bruteLinearStab(s, q, k, v, opt, omega, true)
}
