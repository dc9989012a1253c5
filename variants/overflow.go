package variants

import (
	"fmt"
	"math"
)

// CheckRange reports inputs on which v's float32 fast path would overflow
// float32 and so give a wrong answer (zeros, NaN) where the float64
// definition has a right one. It is cheap — O((N+M)·D), bounds from row
// norms and column maxima, not from every pair — and conservative: a case
// it lets through cannot overflow in the logits.
//
// Softmax variants: every logit, and every partial sum of one in any
// order, is at most |scale|·Σ_d |q_id|·|k_jd|, which is at most both
// |scale|·‖q_i‖·‖k_j‖ (Cauchy–Schwarz) and |scale|·Σ_d max_i|q_id|·max_j|k_jd|;
// the smaller of the two, over each head, must fit in float32, and so must
// the scaled queries. For LSH in shared-QK mode the keys are unit vectors.
// Linear attention has no logits; its own bounds are in linearRange.
func CheckRange(v Variant, q, k, vv Tensor, opt Options) error {
	if l, ok := v.(Linear); ok {
		return l.linearRange(q, k, vv, opt)
	}
	unitKeys := false
	if _, ok := v.(LSH); ok && opt.SharedQK {
		unitKeys = true
	}
	scale := math.Abs(float64(opt.ScaleFor(q.D)))
	var bound float64
	for b := range q.B {
		for h := range q.H {
			qh := q.Head(b, h)
			qn, qmax := maxRowNorm(qh, q.D), maxAbs(qh)
			if unitKeys {
				bound = max(bound, scale*qn, scale*qmax)
				continue
			}
			kh := k.Head(b, h*k.H/q.H)
			cs := scale * qn * maxRowNorm(kh, k.D)
			bound = max(bound, min(cs, scale*columnBound(qh, kh, q.D)), scale*qmax)
		}
	}
	if bound > math.MaxFloat32 {
		return fmt.Errorf("logits overflow float32: max |scale·q·k| can reach %.3g, beyond float32's %.3g; scale the inputs down or set -scale", bound, math.MaxFloat32)
	}
	return nil
}

// maxAbs returns max |x_i| in float64.
func maxAbs(x []float32) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

// columnBound returns Σ_d max_i|q_id|·max_j|k_jd| over the rows of q and k
// (d wide), a bound on Σ_d |q_id·k_jd| for every pair.
func columnBound(q, k []float32, d int) float64 {
	var s float64
	for c := range d {
		var mq, mk float64
		for r := c; r < len(q); r += d {
			mq = max(mq, math.Abs(float64(q[r])))
		}
		for r := c; r < len(k); r += d {
			mk = max(mk, math.Abs(float64(k[r])))
		}
		s += mq * mk
	}
	return s
}

// maxRowNorm returns the largest Euclidean norm of the rows of x (d wide),
// in float64.
func maxRowNorm(x []float32, d int) float64 {
	var m float64
	for r := 0; r+d <= len(x); r += d {
		var ss float64
		for _, v := range x[r : r+d] {
			ss += float64(v) * float64(v)
		}
		m = max(m, ss)
	}
	return math.Sqrt(m)
}

// linearRange bounds linear attention's float32 intermediates.
//
// elu: φ(x) = elu(x)+1 is at most max(x,0)+1 elementwise, so every weight
// φ(q_i)·φ(k_j) is at most ‖φ(q_i)‖·‖φ(k_j)‖, and the normaliser, the state
// S = Σ_j φ(k_j)v_jᵀ and the numerator at most M times that (times max|v|):
// past float32's range the quotient becomes Inf/Inf = NaN, or finite/Inf
// = 0, where the definition is a weighted mean of V.
//
// favor: the features are stabilised to at most m^−½, but ω·x′ and
// ‖x′‖²/2 are formed first; |ω_f·x′| + ‖x′‖²/2 must stay in range.
func (Linear) linearRange(q, k, vv Tensor, opt Options) error {
	if opt.Kernel == "favor" {
		d := q.D
		omega := favorOmega(d, opt)
		var wn float64
		for f := range opt.Features {
			wn = max(wn, maxRowNorm(omega[f*d:(f+1)*d], d))
		}
		xs := math.Pow(float64(d), -0.25)
		xn := max(maxRowNorm(q.Data, d), maxRowNorm(k.Data, d)) * xs
		if bound := xn*xn/2 + wn*xn; bound > math.MaxFloat32 {
			return fmt.Errorf("favor feature exponents overflow float32: |ω·x′| + ‖x′‖²/2 can reach %.3g, beyond float32's %.3g; scale the inputs down", bound, math.MaxFloat32)
		}
		return nil
	}
	maxV := 1.0
	for _, x := range vv.Data {
		maxV = max(maxV, math.Abs(float64(x)))
	}
	var bound float64
	for b := range q.B {
		for h := range q.H {
			kh := h * k.H / q.H
			pq, pk := maxEluNorm(q.Head(b, h), q.D), maxEluNorm(k.Head(b, kh), k.D)
			bound = max(bound, float64(k.S)*pq*pk*maxV)
		}
	}
	if bound > math.MaxFloat32 {
		return fmt.Errorf("elu feature-map sums overflow float32: M·‖φ(q)‖·‖φ(k)‖·max|v| can reach %.3g, beyond float32's %.3g; scale the inputs down", bound, math.MaxFloat32)
	}
	return nil
}

// maxEluNorm returns the largest norm of max(x,0)+1 over the rows of x, a
// bound on ‖elu(x)+1‖.
func maxEluNorm(x []float32, d int) float64 {
	var m float64
	for r := 0; r+d <= len(x); r += d {
		var ss float64
		for _, v := range x[r : r+d] {
			p := max(float64(v), 0) + 1
			ss += p * p
		}
		m = max(m, ss)
	}
	return math.Sqrt(m)
}

// RangeCheckBytes is the memory CheckRange allocates (FAVOR+'s features).
func RangeCheckBytes(v Variant, s Shape, opt Options) int64 {
	if l, ok := v.(Linear); ok {
		return int64(l.maxLogitBytes(s, opt))
	}
	return 0
}
