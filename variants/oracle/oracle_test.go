package oracle

import (
	"math"
	"testing"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
)

func TestApproximateByHand(t *testing.T) {
	// Two rows of d=2: exact = [1 0 | 0 1], out = [1 0 | 0 2].
	a := Approximate([]float32{1, 0, 0, 2}, []float64{1, 0, 0, 1}, 2)
	if want := 1 / math.Sqrt(2); math.Abs(a.RelErr-want) > 1e-15 {
		t.Errorf("relerr %v, want %v", a.RelErr, want)
	}
	if a.MaxErr != 1 || a.Cosine != 1 {
		t.Errorf("maxerr %v cosine %v, want 1 and 1", a.MaxErr, a.Cosine)
	}
	// An orthogonal row has cosine 0; a zero row against a zero row counts 1.
	a = Approximate([]float32{0, 1, 0, 0}, []float64{1, 0, 0, 0}, 2)
	if a.Cosine != 0.5 {
		t.Errorf("cosine %v, want 0.5", a.Cosine)
	}
	if d := MaxAbsDiff([]float32{1, float32(math.NaN())}, []float64{1, 1}); !math.IsInf(d, 1) {
		t.Errorf("NaN output gave max error %v, want +Inf", d)
	}
}

// TestPeakedInputsAcrossSeeds: with logits in the thousands, a correct
// exact kernel passes the rule for every seed and every kernel set, while
// the injected bugs fail it.
func TestPeakedInputsAcrossSeeds(t *testing.T) {
	prev := asm.Active().Name
	defer asm.Select(prev)
	s := variants.Shape{B: 1, H: 1, N: 160, M: 160, D: 64}
	for _, k := range asm.Impls() {
		asm.Select(k.Name)
		for _, name := range []string{"full", "flash"} {
			v, _ := variants.Lookup(name)
			for seed := uint64(1); seed <= 25; seed++ {
				for _, causal := range []bool{false, true} {
					q, kk, vv, _ := inputs.Generate("peaked", s, seed)
					opt := variants.DefaultOptions()
					opt.Causal = causal
					r, _, err := CheckFastPath(v, q, kk, vv, opt)
					if err != nil {
						t.Fatal(err)
					}
					if !r.Pass {
						t.Errorf("%s %s seed %d causal=%v: error %.3g > tolerance %.3g (naive %.3g, max logit %.0f)",
							k.Name, name, seed, causal, r.MaxErr, r.Tol, r.NaiveErr, r.MaxLogit)
					}
				}
			}
		}
	}
}

// brokenRows wraps full and zeroes the last output row: a dropped row must
// fail on any input kind, peaked included.
type brokenRows struct{ variants.Full }

func (b brokenRows) Forward(q, k, v, out variants.Tensor, opt variants.Options, ws *variants.Workspace) error {
	if err := b.Full.Forward(q, k, v, out, opt, ws); err != nil {
		return err
	}
	clear(out.Data[len(out.Data)-out.D:])
	return nil
}

func TestDroppedRowFailsOnEveryInputKind(t *testing.T) {
	s := variants.Shape{B: 1, H: 2, N: 50, M: 50, D: 16}
	for _, kind := range inputs.Kinds {
		q, k, vv, _ := inputs.Generate(kind, s, 4)
		r, _, err := CheckFastPath(brokenRows{}, q, k, vv, variants.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if r.Pass {
			t.Errorf("%s: a dropped output row passed (error %.3g, tolerance %.3g)", kind, r.MaxErr, r.Tol)
		}
	}
}
