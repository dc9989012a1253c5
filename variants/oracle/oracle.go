// Package oracle judges a variant's float32 output against float64
// definitions, docs/design.md §3's two questions: is the fast path right (Forward
// against the variant's own Reference, held to a tolerance set by a naive
// float32 evaluation, §3.1), and how far is it from exact softmax attention
// (reported, not gated, §3.2). It sits beside variants, below harness, so
// that variants' own tests and harness/parity's grid use one rule.
package oracle

import (
	"fmt"
	"math"

	"github.com/attnbench/attnbench/variants"
)

// FastPath is the outcome of the §3.1 check of one case.
type FastPath struct {
	MaxErr   float64 // max |Forward − Reference|
	NaiveErr float64 // max |Naive − Reference|
	MaxV     float64 // max |V|
	MaxLogit float64 // max |logit| the softmax can see
	Tol      float64 // Tolerance(NaiveErr, MaxV, MaxLogit)
	Pass     bool
}

// unitRoundoff is float32's u = 2⁻²⁴: round-to-nearest moves a value x by
// at most u·|x|.
const unitRoundoff = 1.0 / (1 << 24)

// Tolerance is docs/design.md §3.1's bound, as FlashAttention's tests set it: twice
// the error a naive float32 evaluation of the same definition makes, plus
// 1e-6 of the largest |V| so that an exactly-representable case still
// leaves room for reassociation — plus one term docs/design.md does not have, the
// rounding floor of the logits.
//
// Why the floor: any float32 evaluation rounds each logit l at least once,
// moving it by up to u·|l|; softmax turns logit shifts δl into an output
// shift Σ_j p_j(δl_j − Σ_k p_k δl_k)·v_j, at most 2·u·max|l|·max|V|. With
// logits in the thousands (peaked inputs) that floor is ~1e-4 and the error
// of any one evaluation is decided by where its roundings happen to fall
// near tied logits: a naive evaluation is sometimes lucky by 10× or more, and
// "2× naive" alone then fails a correct kernel. On N(0,1) inputs the floor is
// ~2e-6, so the rule stays tight where it matters, and the injected bugs the
// tests use (mask off by one, missing rescale, dropped tail) still miss it by
// orders of magnitude.
func Tolerance(naiveErr, maxV, maxLogit float64) float64 {
	return 2*naiveErr + 1e-6*maxV + 2*unitRoundoff*maxLogit*maxV
}

// CheckFastPath runs v's Forward, Reference and Naive on the same inputs and
// applies the tolerance rule. A NaN or Inf in the output fails the check.
func CheckFastPath(v variants.Variant, q, k, vv variants.Tensor, opt variants.Options) (FastPath, []float32, error) {
	r, out, _, err := CheckFastPathWithReference(v, q, k, vv, opt)
	return r, out, err
}

// CheckFastPathWithReference is CheckFastPath that also returns the
// Reference output, so a caller that goes on to §3.2 need not evaluate the
// definition twice.
func CheckFastPathWithReference(v variants.Variant, q, k, vv variants.Tensor, opt variants.Options) (FastPath, []float32, []float64, error) {
	var r FastPath
	out := variants.NewTensor(q.B, q.H, q.S, q.D)
	if err := v.Forward(q, k, vv, out, opt, variants.NewWorkspace()); err != nil {
		return r, nil, nil, err
	}
	ref, err := v.Reference(q, k, vv, opt)
	if err != nil {
		return r, nil, nil, err
	}
	naive, err := v.Naive(q, k, vv, opt)
	if err != nil {
		return r, nil, nil, err
	}
	r.MaxErr = MaxAbsDiff(out.Data, ref)
	r.NaiveErr = MaxAbsDiff(naive, ref)
	r.MaxV = MaxAbs(vv.Data)
	r.MaxLogit = variants.MaxLogit(v, q, k, opt)
	r.Tol = Tolerance(r.NaiveErr, r.MaxV, r.MaxLogit)
	r.Pass = r.MaxErr <= r.Tol // false for NaN
	return r, out.Data, ref, nil
}

// MaxAbsDiff returns max_i |a_i − b_i|, +Inf when some a_i is NaN or Inf.
func MaxAbsDiff(a []float32, b []float64) float64 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("oracle: length mismatch %d vs %d", len(a), len(b)))
	}
	var m float64
	for i, x := range a {
		d := math.Abs(float64(x) - b[i])
		if math.IsNaN(d) || math.IsInf(d, 0) {
			return math.Inf(1)
		}
		m = max(m, d)
	}
	return m
}

// MaxAbs returns max_i |x_i|.
func MaxAbs(x []float32) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

// Approximation is the §3.2 error of an output against exact attention.
type Approximation struct {
	RelErr float64 // ‖O − O*‖_F / ‖O*‖_F
	MaxErr float64 // max |O − O*|
	Cosine float64 // mean over rows of cos(O_i, O*_i)
}

// Approximate compares out with exact, both laid out [B,H,N,D] with head
// dimension d. A row where either side is all zero counts as cosine 1 when
// both are zero and 0 otherwise.
func Approximate(out []float32, exact []float64, d int) Approximation {
	if len(out) != len(exact) || d < 1 || len(out)%d != 0 {
		panic(fmt.Sprintf("oracle: bad lengths %d, %d for d=%d", len(out), len(exact), d))
	}
	var diff2, ref2, cosSum float64
	rows := len(out) / d
	for r := range rows {
		var dot, oo, ee float64
		for c := r * d; c < (r+1)*d; c++ {
			o, e := float64(out[c]), exact[c]
			diff2 += (o - e) * (o - e)
			ref2 += e * e
			dot += o * e
			oo += o * o
			ee += e * e
		}
		switch {
		case oo == 0 && ee == 0:
			cosSum++
		case oo == 0 || ee == 0:
		default:
			cosSum += dot / math.Sqrt(oo*ee)
		}
	}
	a := Approximation{MaxErr: MaxAbsDiff(out, exact), Cosine: cosSum / float64(rows)}
	switch {
	case ref2 > 0:
		a.RelErr = math.Sqrt(diff2 / ref2)
	case diff2 > 0:
		a.RelErr = math.Inf(1)
	}
	if math.IsInf(a.MaxErr, 0) {
		a.RelErr = math.Inf(1)
	}
	return a
}
