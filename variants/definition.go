package variants

import (
	"math"
)

// This file holds the brute-force definitions the references are made of:
// exact softmax over a candidate set of keys per query, evaluated by direct
// enumeration in a chosen float type. float64 is the reference (docs/design.md
// §3.1); float32 is the naive evaluation whose error sets the tolerance.

// candidates appends the key positions query i of query head (b, h)
// attends to, in increasing order and without repeats, to buf and returns
// it. i is the query's row; its position is p_i = i + M − N
// (Shape.QueryPos), which every position rule uses.
type candidates func(b, h, i int, buf []int) []int

// allKeys is the candidate set of full attention: every key, or j ≤ p_i
// when causal.
func allKeys(s Shape, causal bool) candidates {
	return func(_, _, i int, buf []int) []int {
		end := s.M
		if causal {
			end = max(0, min(s.M, s.QueryPos(i)+1))
		}
		for j := range end {
			buf = append(buf, j)
		}
		return buf
	}
}

// float is the element type of a brute-force evaluation.
type float interface{ ~float32 | ~float64 }

// candidateAttention computes out_i = Σ_{j∈C(i)} softmax_j(scale·q_i·k_j)·v_j
// with every operation in T, subtracting the row max first. An empty
// candidate set gives a zero row.
func candidateAttention[T float](q, k, v Tensor, scale float64, cand candidates) []T {
	keys := make([]T, len(k.Data))
	for i, x := range k.Data {
		keys[i] = T(x)
	}
	return candidateAttentionKeys(q, keys, v, scale, cand)
}

// candidateAttentionKeys is candidateAttention with the keys given in T,
// laid out as v is ([B,Hkv,M,D]): for variants whose keys are computed from
// the inputs (LSH's normalised shared-QK keys) in the evaluation's type.
// Query head h reads K/V head h/(H/Hkv).
func candidateAttentionKeys[T float](q Tensor, keys []T, v Tensor, scale float64, cand candidates) []T {
	s := Shape{B: q.B, H: q.H, N: q.S, M: v.S, D: q.D, Hkv: v.H}
	out := make([]T, q.Len())
	logits := make([]T, s.M)
	var set []int
	sc := T(scale)
	for b := range s.B {
		for h := range s.H {
			kvh := s.KVHead(h)
			qh, vh := q.Head(b, h), v.Head(b, kvh)
			kh := keys[(b*v.H+kvh)*s.M*s.D:]
			oh := out[(b*s.H+h)*s.N*s.D:]
			for i := range s.N {
				set = cand(b, h, i, set[:0])
				if len(set) == 0 {
					continue
				}
				qi := qh[i*s.D : (i+1)*s.D]
				mx := T(math.Inf(-1))
				for t, j := range set {
					kj := kh[j*s.D : (j+1)*s.D]
					var dot T
					for d := range s.D {
						dot += T(qi[d]) * kj[d]
					}
					logits[t] = sc * dot
					mx = max(mx, logits[t])
				}
				var sum T
				for t := range set {
					logits[t] = T(math.Exp(float64(logits[t] - mx)))
					sum += logits[t]
				}
				oi := oh[i*s.D : (i+1)*s.D]
				for t, j := range set {
					p := logits[t] / sum
					vj := vh[j*s.D : (j+1)*s.D]
					for d := range s.D {
						oi[d] += p * T(vj[d])
					}
				}
			}
		}
	}
	return out
}

// SoftmaxAttention64 is exact softmax attention (full, causal as opt says)
// in float64: the target every approximation is measured against.
func SoftmaxAttention64(q, k, v Tensor, opt Options) ([]float64, error) {
	s, err := ShapeOf(q, k, v)
	if err != nil {
		return nil, err
	}
	return candidateAttention[float64](q, k, v, float64(opt.ScaleFor(s.D)), allKeys(s, opt.Causal)), nil
}

// softmaxAttention32 is SoftmaxAttention64 evaluated naively in float32.
func softmaxAttention32(q, k, v Tensor, opt Options) ([]float32, error) {
	s, err := ShapeOf(q, k, v)
	if err != nil {
		return nil, err
	}
	return candidateAttention[float32](q, k, v, float64(opt.ScaleFor(s.D)), allKeys(s, opt.Causal)), nil
}
