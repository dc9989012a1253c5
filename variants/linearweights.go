package variants

import "math"

// LinearWeights returns the weights linear attention implicitly gives
// query head h of batch b, in float64: w_ij = φ(q_i)ᵀφ(k_j) /
// (Σ_j' φ(q_i)ᵀφ(k_j') + ε) over the keys query i sees (j ≤ i + M − N when
// causal), so that its output is Σ_j w_ij v_j — the attention map a
// softmax-free kernel stands for. The feature maps are Reference's
// (featureMap), with FAVOR's key stabiliser as the definition takes it: over
// all keys, or, causal, over the keys j ≤ p_i (a stabiliser scales every
// w_ij of a row alike, so it moves the weights only through ε's share of
// the denominator, but that share is the definition's).
func LinearWeights(q, k Tensor, opt Options, b, h int) (AttentionMap, error) {
	s := Shape{B: q.B, H: q.H, N: q.S, M: k.S, D: q.D}
	if err := checkHead(s, b, h); err != nil {
		return AttentionMap{}, err
	}
	f := linearFeatures(s, opt)
	var omega []float32
	if opt.Kernel == "favor" {
		omega = favorOmega(s.D, opt)
	}
	phiQ, phiK := make([]float64, s.N*f), make([]float64, s.M*f)
	featureMap(q.Head(b, h), s.N, s.D, opt, omega, true, phiQ)
	kh := k.Head(b, h*k.H/q.H)
	prefixStab := opt.Kernel == "favor" && opt.Causal
	var proj, half, rowMax []float64
	if prefixStab {
		proj, half, rowMax = make([]float64, s.M*f), make([]float64, s.M), make([]float64, s.M)
		favorProject(kh, s.M, s.D, opt, omega, proj, half, rowMax)
	} else {
		featureMap(kh, s.M, s.D, opt, omega, false, phiK)
	}
	m := newAttentionMap(s.N, s.M)
	for i := range s.N {
		end := s.M
		if opt.Causal {
			end = min(s.M, i+s.M-s.N+1)
		}
		if prefixStab && end > 0 {
			stab := math.Inf(-1)
			for _, x := range rowMax[:end] {
				stab = max(stab, x)
			}
			favorKeys(proj, half, f, 0, end, stab, phiK)
		}
		row := m.Weights[i*s.M : i*s.M+max(0, end)]
		var den float64
		for j := range row {
			var w float64
			for x := range f {
				w += phiQ[i*f+x] * phiK[j*f+x]
			}
			row[j] = w
			den += w
		}
		for j := range row {
			row[j] /= den + opt.Eps
			m.In[i*s.M+j] = true
		}
	}
	return m, nil
}
