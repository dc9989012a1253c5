package variants

import (
	"math"
)

// LSH's flop model (Flops, planned from the shape) and count (FlopsOn,
// the candidate pairs of these inputs, enumerated from the buckets).

// Flops counts the hashing, 2·rows·D·nb/2 per round (rows = N in
// shared-QK mode as docs/design.md §4 writes it; N + M otherwise, since the keys
// are hashed too), and the expected candidate pairs. The candidate count
// depends on the data, so Flops is a model, used to plan a sweep; the
// GFLOP/s attnbench reports use FlopsOn, which counts the pairs. The model
// assumes balanced buckets, so it falls short of the count as buckets
// grow uneven (on Gaussian inputs, d = 64, defaults: 94% of the counted
// pairs at n = 1K, 89% at 4K, 75% at 16K): balanced buckets of s = N/nb
// positions; in shared-QK mode a query
// sees the members of its bucket in its own and the previous chunk, about
// min(s, 2c)·(1 − min(s, c)/(6c)) − 1 others per round (the correction is
// the expected loss when a bucket straddles a chunk boundary); without
// shared QK it sees M/nb keys per round; rounds are independent, so the
// union of R rounds holding a fraction p each covers 1 − (1−p)^R; causal
// halves it.
func (LSH) Flops(s Shape, opt Options) float64 {
	nb := float64(lshBucketCount(s, opt))
	rounds := float64(opt.Rounds)
	var perQuery float64
	if opt.SharedQK {
		size, c := float64(s.N)/nb, float64(opt.Chunk)
		seen := max(0, min(size, 2*c)*(1-min(size, c)/(6*c))-1)
		others := float64(s.N - 1)
		if others > 0 {
			perQuery = others * (1 - math.Pow(1-min(1, seen/others), rounds))
		}
	} else {
		perQuery = float64(s.M) * (1 - math.Pow(1-1/nb, rounds))
	}
	if opt.Causal {
		perQuery /= 2
	}
	return attentionFlops(s, float64(s.N)*perQuery) + lshHashFlops(s, opt)
}

// lshHashFlops is the hashing's share of the flops: 2·rows·D·nb/2 per
// round, rows = N in shared-QK mode as docs/design.md §4 writes it, N + M
// otherwise (the keys are hashed too).
func lshHashFlops(s Shape, opt Options) float64 {
	rows := float64(s.N)
	if !opt.SharedQK {
		rows += float64(s.M)
	}
	return 2 * float64(s.B*s.H) * rows * float64(s.D) * float64(lshBucketCount(s, opt)) / 2 * float64(opt.Rounds)
}

// FlopsOn is docs/design.md §4's count for these inputs: the hashing as in Flops
// plus 4·D·Σ_i |C(i)| with the candidate sets enumerated from the buckets
// (each pair once, the self rule included). It runs the same hashing as
// Forward (hence the same buckets), then walks every query's ranges.
func (ls LSH) FlopsOn(q, k, v Tensor, opt Options) (float64, error) {
	s, err := ShapeOf(q, k, v)
	if err != nil {
		return 0, err
	}
	if err := ls.Validate(s, opt); err != nil {
		return 0, err
	}
	g := lshGeometry(s, opt)
	hasher := newLSHRefHasher(s.D, g.half, g.rounds, opt.Seed)
	var pairs int
	for b := range s.B {
		for h := range s.H {
			qb := hasher.bucketsOf(q.Head(b, h), s.N)
			if opt.SharedQK {
				pairs += lshCountShared(qb, s.N, g, opt.Causal)
			} else {
				kb := hasher.bucketsOf(k.Head(b, s.KVHead(h)), s.M)
				pairs += lshCountSeparate(qb, kb, s.N, s.M, g, opt.Causal)
			}
		}
	}
	return 4*float64(s.D)*float64(pairs) + lshHashFlops(s, opt), nil
}

// lshSortRound is the stable sort by bucket of one round: perm (sorted
// index → position), inv (position → sorted index) and the buckets'
// starts in sorted order.
func lshSortRound(bkt []int32, nb int) (perm, inv, start []int32) {
	perm, inv, start = make([]int32, len(bkt)), make([]int32, len(bkt)), make([]int32, nb+1)
	lshCountingSort(bkt, nb, perm, inv, start, make([]int32, nb))
	return perm, inv, start
}

// lshCountShared returns Σ_i |C(i)| in shared-QK mode for one head's
// buckets: per round, the others in the query's own and previous chunk of
// its bucket, each counted unless an earlier round had it (same bucket,
// chunk own or previous there), plus the query itself when some round had
// no other.
func lshCountShared(bkt []int32, n int, g lshGeom, causal bool) int {
	perms, invs, starts := make([][]int32, g.rounds), make([][]int32, g.rounds), make([][]int32, g.rounds)
	for r := range g.rounds {
		perms[r], invs[r], starts[r] = lshSortRound(bkt[r*n:(r+1)*n], g.nb)
	}
	chunkOf := func(r, pos int) int { return int(invs[r][pos]) / g.c }
	seenBefore := func(r, i, j int) bool {
		for rp := range r {
			if bkt[rp*n+i] != bkt[rp*n+j] {
				continue
			}
			ci, cj := chunkOf(rp, i), chunkOf(rp, j)
			if cj == ci || cj == (ci-1+g.nc)%g.nc {
				return true
			}
		}
		return false
	}
	total := 0
	for i := range n {
		self := false
		for r := range g.rounds {
			p := int(invs[r][i])
			beta := bkt[r*n+i]
			bs, be := int(starts[r][beta]), int(starts[r][beta+1])
			ci := p / g.c
			chunks := [2]int{ci, (ci - 1 + g.nc) % g.nc}
			others := 0
			for x, kc := range chunks {
				if x == 1 && kc == ci {
					break // one chunk: the previous chunk is the own chunk
				}
				lo, hi := max(bs, kc*g.c), min(be, (kc+1)*g.c)
				for x := lo; x < hi; x++ {
					j := int(perms[r][x])
					if j == i || (causal && j > i) {
						continue
					}
					others++
					if !seenBefore(r, i, j) {
						total++
					}
				}
			}
			if others == 0 {
				self = true
			}
		}
		if self {
			total++
		}
	}
	return total
}

// lshCountSeparate returns Σ_i |C(i)| without shared QK: per round the
// keys of the query's bucket (j ≤ p_i = i + m − n when causal), each counted unless an
// earlier round had the pair in one bucket.
func lshCountSeparate(qb, kb []int32, n, m int, g lshGeom, causal bool) int {
	perms, starts := make([][]int32, g.rounds), make([][]int32, g.rounds)
	for r := range g.rounds {
		perms[r], _, starts[r] = lshSortRound(kb[r*m:(r+1)*m], g.nb)
	}
	total := 0
	for i := range n {
		for r := range g.rounds {
			beta := qb[r*n+i]
			for _, j32 := range perms[r][starts[r][beta]:starts[r][beta+1]] {
				j := int(j32)
				if causal && j > i+m-n {
					continue
				}
				seen := false
				for rp := range r {
					seen = seen || qb[rp*n+i] == kb[rp*m+j]
				}
				if !seen {
					total++
				}
			}
		}
	}
	return total
}
