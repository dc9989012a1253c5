package variants

import (
	"fmt"
	"math"
)

// This file answers "where does the missing mass go?" (docs/accuracy.md):
// for a variant that computes exact softmax over a candidate set C(i), its
// coverage is the share of the exact attention mass that C(i) keeps, and
// its attention map is the weights it actually applies. Both read the
// variants' own candidate-set definitions (the ones Reference uses), so
// they cannot disagree with what Reference computes.

// candidateModel is what a candidate-set variant attends with: its sets,
// the exact target's sets, and the keys both score against.
type candidateModel struct {
	// newSets and newTarget make the candidate functions of the variant and
	// of its exact target; each worker makes its own, as some keep state
	// between calls (LSH caches a head's buckets).
	newSets, newTarget func() candidates
	// keys are the keys both sets are scored with, laid out as K
	// ([B,Hkv,M,D]) in float64; nil means K itself.
	keys []float64
}

// candidateModelOf returns v's candidate model, false when v is not a
// candidate-set variant (full and flash attend to every key; linear has no
// softmax).
func candidateModelOf(v Variant, q, k Tensor, s Shape, opt Options) (candidateModel, bool) {
	m := candidateModel{newTarget: func() candidates { return allKeys(s, opt.Causal) }}
	switch v.(type) {
	case Window:
		m.newSets = func() candidates { return windowCandidates(s, opt) }
	case Sparse:
		m.newSets = func() candidates { return sparseCandidates(s, opt) }
	case LSH:
		m.newSets = func() candidates { return lshCandidates(q, k, opt) }
		if opt.SharedQK {
			m.newTarget = func() candidates { return lshTargetCandidates(s, opt) }
			m.keys = normalizedKeys[float64](q)
		}
	default:
		return m, false
	}
	return m, true
}

// rowScorer computes one query row's logits against any key, in float64.
type rowScorer struct {
	q, k  Tensor
	keys  []float64 // nil: k
	scale float64
	logit []float64 // by key position; −Inf where not computed
}

func newRowScorer(q, k Tensor, keys []float64, scale float64) *rowScorer {
	r := &rowScorer{q: q, k: k, keys: keys, scale: scale, logit: make([]float64, k.S)}
	for j := range r.logit {
		r.logit[j] = math.Inf(-1)
	}
	return r
}

// score sets logit[j] = scale·q_i·k_j for every j in set (query head h of
// batch b; it reads K/V head ⌊h·Hkv/H⌋) and returns the log-sum-exp over
// set.
func (r *rowScorer) score(b, h, i int, set []int) float64 {
	d := r.q.D
	g := h * r.k.H / r.q.H
	qi := r.q.Head(b, h)[i*d : (i+1)*d]
	base := (b*r.k.H + g) * r.k.S * d
	mx := math.Inf(-1)
	for _, j := range set {
		var dot float64
		if r.keys != nil {
			kj := r.keys[base+j*d : base+(j+1)*d]
			for t, x := range qi {
				dot += float64(x) * kj[t]
			}
		} else {
			kj := r.k.Data[base+j*d : base+(j+1)*d]
			for t, x := range qi {
				dot += float64(x) * float64(kj[t])
			}
		}
		r.logit[j] = r.scale * dot
		mx = max(mx, r.logit[j])
	}
	var sum float64
	for _, j := range set {
		sum += math.Exp(r.logit[j] - mx)
	}
	return mx + math.Log(sum)
}

// reset sets the logits of set back to −Inf.
func (r *rowScorer) reset(set []int) {
	for _, j := range set {
		r.logit[j] = math.Inf(-1)
	}
}

// exactModelOf returns the exact target of v as a candidate function
// factory and the keys it scores with (nil: K); false when v defines an
// exact target this file does not know (a new ExactTargeter).
func exactModelOf(v Variant, q, k Tensor, s Shape, opt Options) (newTarget func() candidates, keys []float64, ok bool) {
	if m, ok := candidateModelOf(v, q, k, s, opt); ok {
		return m.newTarget, m.keys, true
	}
	if _, own := v.(ExactTargeter); own {
		return nil, nil, false
	}
	return func() candidates { return allKeys(s, opt.Causal) }, nil, true
}

// forEachHead runs fn for every (batch, head) item on opt.Threads
// goroutines; fn gets its worker's index for per-worker state.
func forEachHead(s Shape, threads int, fn func(worker, b, h int)) int {
	heads := s.B * s.H
	workers := newTeam(threadCount(threads, heads), func(w int) int { return w })
	onThreads(fn, heads, workers, func(fn func(worker, b, h int), item, w int) { fn(w, item/s.H, item%s.H) })
	return workers.size()
}

// ExactWithLSE returns what ExactAttention returns — the exact attention v
// approximates, in float64 — and, for every query row ((b·H+h)·N + i), the
// log-sum-exp of its exact logits (−Inf for a row with no key), computed
// in the same pass over opt.Threads goroutines (the result does not depend
// on their number). The log-sum-exps let CoverageGiven measure coverage
// without a second O(N·M·D) pass. lse is nil when v's exact target is one
// this file does not know; out is then ExactAttention's.
func ExactWithLSE(v Variant, q, k, vv Tensor, opt Options) (out, lse []float64, err error) {
	s, err := ShapeOf(q, k, vv)
	if err != nil {
		return nil, nil, err
	}
	newTarget, keys, ok := exactModelOf(v, q, k, s, opt)
	if !ok {
		out, err := ExactAttention(v, q, k, vv, opt)
		return out, nil, err
	}
	if err := v.Validate(s, opt); err != nil {
		return nil, nil, err
	}
	out, lse = exactPass(s, q, k, vv, keys, newTarget, opt, true)
	return out, lse, nil
}

// exactPass computes the row log-sum-exps of the target and, when withOut,
// its output.
func exactPass(s Shape, q, k, vv Tensor, keys []float64, newTarget func() candidates, opt Options, withOut bool) (out, lse []float64) {
	lse = make([]float64, s.B*s.H*s.N)
	if withOut {
		out = make([]float64, q.Len())
	}
	type worker struct {
		target candidates
		scorer *rowScorer
		t      []int
	}
	workers := make([]*worker, threadCount(opt.Threads, s.B*s.H))
	forEachHead(s, opt.Threads, func(w, b, h int) {
		if workers[w] == nil {
			workers[w] = &worker{target: newTarget(), scorer: newRowScorer(q, k, keys, float64(opt.ScaleFor(s.D)))}
		}
		wk := workers[w]
		g := h * vv.H / q.H
		vh := vv.Head(b, g)
		for i := range s.N {
			row := (b*s.H+h)*s.N + i
			wk.t = wk.target(b, h, i, wk.t[:0])
			if len(wk.t) == 0 {
				lse[row] = math.Inf(-1)
				continue
			}
			lse[row] = wk.scorer.score(b, h, i, wk.t)
			if withOut {
				oi := out[row*s.D : (row+1)*s.D]
				for _, j := range wk.t {
					p := math.Exp(wk.scorer.logit[j] - lse[row])
					for d, x := range vh[j*s.D : (j+1)*s.D] {
						oi[d] += p * float64(x)
					}
				}
			}
			wk.scorer.reset(wk.t)
		}
	})
	return out, lse
}

// Coverage returns the mean over queries of Σ_{j∈C(i)} p*_ij: the share of
// exact softmax attention mass (float64; for LSH in shared-QK mode, the
// mass of its own exact target, ExactTarget, which leaves each query's own
// position out) that variant v's candidate sets keep. Queries whose exact
// target is empty are left out of the mean. ok is false, and coverage 0,
// for a variant without candidate sets (full, flash, linear). The work is
// O(B·H·N·M·D), spread over opt.Threads goroutines; the result does not
// depend on their number.
func Coverage(v Variant, q, k, vv Tensor, opt Options) (coverage float64, ok bool, err error) {
	return coverageOf(v, q, k, vv, opt, nil)
}

// CoverageGiven is Coverage with the exact target's row log-sum-exps
// already known (from ExactWithLSE on the same inputs and options): the
// work drops to O(B·H·(N·M + Σ_i |C(i)|·D)).
func CoverageGiven(v Variant, q, k, vv Tensor, opt Options, lse []float64) (float64, bool, error) {
	if lse == nil {
		return 0, false, fmt.Errorf("CoverageGiven: no log-sum-exps")
	}
	return coverageOf(v, q, k, vv, opt, lse)
}

func coverageOf(v Variant, q, k, vv Tensor, opt Options, lse []float64) (float64, bool, error) {
	s, err := ShapeOf(q, k, vv)
	if err != nil {
		return 0, false, err
	}
	if err := v.Validate(s, opt); err != nil {
		return 0, false, err
	}
	model, ok := candidateModelOf(v, q, k, s, opt)
	if !ok {
		return 0, false, nil
	}
	if lse == nil {
		_, lse = exactPass(s, q, k, vv, model.keys, model.newTarget, opt, false)
	} else if len(lse) != s.B*s.H*s.N {
		return 0, false, fmt.Errorf("CoverageGiven: %d log-sum-exps for %d query rows", len(lse), s.B*s.H*s.N)
	}
	heads := s.B * s.H
	sums := make([]float64, heads)
	rows := make([]int, heads)
	type worker struct {
		sets, target candidates
		scorer       *rowScorer
		inTarget     []bool
		c, t, kept   []int
	}
	workers := make([]*worker, threadCount(opt.Threads, heads))
	forEachHead(s, opt.Threads, func(w, b, h int) {
		if workers[w] == nil {
			workers[w] = &worker{sets: model.newSets(), target: model.newTarget(),
				scorer: newRowScorer(q, k, model.keys, float64(opt.ScaleFor(s.D))), inTarget: make([]bool, s.M)}
		}
		wk := workers[w]
		item := b*s.H + h
		for i := range s.N {
			l := lse[item*s.N+i]
			if math.IsInf(l, -1) {
				continue // an empty target: nothing to keep or miss
			}
			wk.t = wk.target(b, h, i, wk.t[:0])
			for _, j := range wk.t {
				wk.inTarget[j] = true
			}
			wk.c = wk.sets(b, h, i, wk.c[:0])
			wk.kept = wk.kept[:0]
			for _, j := range wk.c {
				if wk.inTarget[j] {
					wk.kept = append(wk.kept, j)
				}
			}
			kept := wk.kept
			for _, j := range wk.t {
				wk.inTarget[j] = false
			}
			if len(kept) > 0 {
				wk.scorer.score(b, h, i, kept)
				var mass float64
				for _, j := range kept {
					mass += math.Exp(wk.scorer.logit[j] - l)
				}
				wk.scorer.reset(kept)
				sums[item] += mass
			}
			rows[item]++
		}
	})
	var total float64
	var n int
	for it := range heads {
		total += sums[it]
		n += rows[it]
	}
	if n == 0 {
		return 1, true, nil // no query has any key to miss
	}
	return total / float64(n), true, nil
}

// AttentionMap is the attention weights of one head: Weights[i·M+j] is the
// weight query i gives key j, and In[i·M+j] says whether key j is among
// the keys query i can attend to (its candidate set; for exact and linear
// attention, every key it may see).
type AttentionMap struct {
	N, M    int
	Weights []float64
	In      []bool
}

func newAttentionMap(n, m int) AttentionMap {
	return AttentionMap{N: n, M: m, Weights: make([]float64, n*m), In: make([]bool, n*m)}
}

// ExactMap returns exact softmax attention's weights for query head h of
// batch b, in float64: p*_ij over every key query i may see.
func ExactMap(q, k Tensor, opt Options, b, h int) (AttentionMap, error) {
	s := Shape{B: q.B, H: q.H, N: q.S, M: k.S, D: q.D}
	if err := checkHead(s, b, h); err != nil {
		return AttentionMap{}, err
	}
	return softmaxMap(s, q, k, nil, allKeys(s, opt.Causal), opt, b, h), nil
}

// EffectiveMap returns the weights variant v applies for query head h of
// batch b, in float64: for a candidate-set variant the softmax renormalised
// over C(i) (with LSH's shared-QK keys in that mode), for linear attention
// its implicit weights φ(q_i)ᵀφ(k_j)/(Σ_j φ(q_i)ᵀφ(k_j) + ε) (LinearWeights),
// for an exact variant exact attention's. ok is false for a variant of
// none of these kinds.
func EffectiveMap(v Variant, q, k, vv Tensor, opt Options, b, h int) (m AttentionMap, ok bool, err error) {
	s, err := ShapeOf(q, k, vv)
	if err != nil {
		return m, false, err
	}
	if err := v.Validate(s, opt); err != nil {
		return m, false, err
	}
	if err := checkHead(s, b, h); err != nil {
		return m, false, err
	}
	if model, ok := candidateModelOf(v, q, k, s, opt); ok {
		return softmaxMap(s, q, k, model.keys, model.newSets(), opt, b, h), true, nil
	}
	switch v.(type) {
	case Linear:
		m, err := LinearWeights(q, k, opt, b, h)
		return m, err == nil, err
	}
	if v.Exact() {
		m, err := ExactMap(q, k, opt, b, h)
		return m, err == nil, err
	}
	return m, false, nil
}

func checkHead(s Shape, b, h int) error {
	if b < 0 || b >= s.B || h < 0 || h >= s.H {
		return fmt.Errorf("no head (batch %d, head %d) in shape %v", b, h, s)
	}
	return nil
}

// softmaxMap is the softmax over set(i) of one head's logits, row by row.
func softmaxMap(s Shape, q, k Tensor, keys []float64, set candidates, opt Options, b, h int) AttentionMap {
	m := newAttentionMap(s.N, s.M)
	sc := newRowScorer(q, k, keys, float64(opt.ScaleFor(s.D)))
	var c []int
	for i := range s.N {
		c = set(b, h, i, c[:0])
		if len(c) == 0 {
			continue
		}
		lse := sc.score(b, h, i, c)
		for _, j := range c {
			m.Weights[i*s.M+j] = math.Exp(sc.logit[j] - lse)
			m.In[i*s.M+j] = true
		}
		sc.reset(c)
	}
	return m
}
