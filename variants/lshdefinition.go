package variants

import (
	"math"
	"slices"
)

// LSH's definition (docs/design.md §2) evaluated by brute force: the candidate
// sets read straight from the buckets, the Reference and Naive built on
// them, and the exact attention LSH approximates (ExactTarget).

// normalizedKeys returns q_j/‖q_j‖ (0 for a zero row) in T, laid out as q.
func normalizedKeys[T float](q Tensor) []T {
	out := make([]T, len(q.Data))
	for r := 0; r < len(q.Data); r += q.D {
		var ss T
		for _, x := range q.Data[r : r+q.D] {
			ss += T(x) * T(x)
		}
		if ss == 0 {
			continue
		}
		inv := 1 / T(math.Sqrt(float64(ss)))
		for d, x := range q.Data[r : r+q.D] {
			out[r+d] = T(x) * inv
		}
	}
	return out
}

// MaxLogit bounds the logits for the parity tolerance: in shared-QK mode
// the keys are the normalised queries, not K.
func (LSH) MaxLogit(q, k Tensor, opt Options) float64 {
	if opt.SharedQK {
		k = Tensor{B: q.B, H: q.H, S: q.S, D: q.D, Data: normalizedKeys[float32](q)}
	}
	return maxPairLogit(q, k, float64(opt.ScaleFor(q.D)))
}

// lshCandidates reads the definition directly from the bucket assignments:
// per head and round, positions are stable-sorted by (bucket, position) with
// the standard library, chunk membership is tested key by key, and the
// rounds' sets are united in a mask.
func lshCandidates(q, k Tensor, opt Options) candidates {
	s := Shape{B: q.B, H: q.H, N: q.S, M: k.S, D: q.D, Hkv: k.H}
	nb, rounds, c := lshBucketCount(s, opt), opt.Rounds, opt.Chunk
	half := nb / 2
	hasher := newLSHRefHasher(s.D, half, rounds, opt.Seed)
	curB, curH := -1, -1
	var qBkt, kBkt []int32
	chunkOf := make([]int, rounds*s.N) // shared QK: chunk of each position per round
	inSet := make([]bool, s.M)
	nc := ceilDiv(s.N, c)
	order := make([]int, s.N)
	return func(b, h, i int, buf []int) []int {
		if b != curB || h != curH {
			curB, curH = b, h
			qBkt = hasher.bucketsOf(q.Head(b, h), s.N)
			if opt.SharedQK {
				kBkt = qBkt
				for r := range rounds {
					bk := qBkt[r*s.N : (r+1)*s.N]
					for p := range order {
						order[p] = p
					}
					slices.SortStableFunc(order, func(x, y int) int { return int(bk[x]) - int(bk[y]) })
					for idx, pos := range order {
						chunkOf[r*s.N+pos] = idx / c
					}
				}
			} else {
				kBkt = hasher.bucketsOf(k.Head(b, s.KVHead(h)), s.M)
			}
		}
		clear(inSet)
		for r := range rounds {
			if !opt.SharedQK {
				for j := range s.M {
					if qBkt[r*s.N+i] == kBkt[r*s.M+j] && (!opt.Causal || j <= s.QueryPos(i)) {
						inSet[j] = true
					}
				}
				continue
			}
			ci := chunkOf[r*s.N+i]
			prev := (ci - 1 + nc) % nc
			others := false
			for j := range s.M {
				cj := chunkOf[r*s.N+j]
				if j != i && qBkt[r*s.N+i] == qBkt[r*s.N+j] && (cj == ci || cj == prev) && (!opt.Causal || j <= i) {
					inSet[j] = true
					others = true
				}
			}
			if !others {
				inSet[i] = true // self, the round's only candidate
			}
		}
		for j, in := range inSet {
			if in {
				buf = append(buf, j)
			}
		}
		return buf
	}
}

func (ls LSH) Reference(q, k, v Tensor, opt Options) ([]float64, error) {
	return lshDefinition[float64](ls, q, k, v, opt)
}

func (ls LSH) Naive(q, k, v Tensor, opt Options) ([]float32, error) {
	return lshDefinition[float32](ls, q, k, v, opt)
}

func lshDefinition[T float](ls LSH, q, k, v Tensor, opt Options) ([]T, error) {
	s, err := ShapeOf(q, k, v)
	if err != nil {
		return nil, err
	}
	if err := ls.Validate(s, opt); err != nil {
		return nil, err
	}
	cand := lshCandidates(q, k, opt)
	scale := float64(opt.ScaleFor(s.D))
	if opt.SharedQK {
		return candidateAttentionKeys(q, normalizedKeys[T](q), v, scale, cand), nil
	}
	return candidateAttention[T](q, k, v, scale, cand), nil
}

// ExactTarget is the exact attention LSH approximates: in shared-QK mode,
// softmax over every other position (j < i when causal) with the
// normalised keys, the query itself only when there is no other (N = 1, the
// first causal query), as in the Reformer's full shared-QK attention;
// otherwise plain softmax attention.
func (ls LSH) ExactTarget(q, k, v Tensor, opt Options) ([]float64, error) {
	if !opt.SharedQK {
		return SoftmaxAttention64(q, k, v, opt)
	}
	s, err := ShapeOf(q, k, v)
	if err != nil {
		return nil, err
	}
	if err := ls.Validate(s, opt); err != nil {
		return nil, err
	}
	return candidateAttentionKeys(q, normalizedKeys[float64](q), v, float64(opt.ScaleFor(s.D)), lshTargetCandidates(s, opt)), nil
}

// lshTargetCandidates is the key set of ExactTarget in shared-QK mode (also
// the target Coverage measures against): every other position, j < i when
// causal, the query itself only when there is no other.
func lshTargetCandidates(s Shape, opt Options) candidates {
	return func(_, _, i int, buf []int) []int {
		for j := range s.M {
			if j != i && (!opt.Causal || j < i) {
				buf = append(buf, j)
			}
		}
		if len(buf) == 0 {
			buf = append(buf, i)
		}
		return buf
	}
}
