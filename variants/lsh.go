package variants

import (
	"fmt"
	"math"
	"slices"

	"github.com/attnbench/attnbench/asm"
)

// LSH is Reformer attention (DESIGN §2): exact softmax over the keys that
// share a hash bucket with the query in some round.
//
// Shared-QK (the default): the keys are the normalised queries, k_j =
// q_j/‖q_j‖, and the K input is ignored, so M must equal N (V has M rows).
// Per round r a Gaussian rotation R_r (D × nb/2, from Seed) hashes position
// j to h_r(q_j) = argmax([q_j R_r; −q_j R_r]), the first index on ties (the
// same bucket as k_j's, the hash being scale-invariant). Positions are
// stable-sorted by (bucket, position) and cut into chunks of c; query i's
// round-r set P_i^(r) is the positions of its bucket in its own chunk or the
// previous one, chunk 0 wrapping to the last. Causal keeps j ≤ i, and then
// i itself is left out unless it is the set's only member; C(i) = ∪_r
// P_i^(r), each key once. The self rule is applied per round, in the order
// DESIGN §2 lists it, after the causal intersection (otherwise the first
// causal query would have no key at all).
//
// The rotations are shared by every head and batch element (DESIGN §2 gives
// one R_r per round).
//
// With -shared-qk=false queries and keys are hashed with the same rotations
// and there is no chunking: C(i) = ∪_r {j : h_r(q_i) = h_r(k_j)} (∩ j ≤ p_i
// = i + M − N when causal), so M ≠ N and grouped K/V heads (Hkv < H) are
// supported; the cost follows the bucket sizes. Shared-QK needs M = N and
// Hkv = H.
//
// Forward, per head: hash every position with one product per 126 rows
// against the rounds' rotations (on AVX-512 VNNI at nb/2 ≥ 64, in int16
// with each argmax certified against a bound on the rounding, the rest in
// float32, giving the float32 path's buckets: see lshhash.go), counting-sort
// by bucket, and gather K and V
// and the running softmax state into sorted order (shared QK: each tile
// packs its queries from the sorted unit keys times scale·‖q‖, otherwise
// straight from position order; once the arrays outgrow half the cache
// the gathers use streaming stores). In sorted order a bucket is a
// contiguous range and, within it, sorted order is position order, so the
// rows of one bucket inside one chunk share one candidate range (the
// bucket's part of their chunk and the previous one); causal is a prefix of
// it and the self rule a one-key hole. Those dense tiles go to the tile
// engine. Each key counts once because a pair is dropped from round r when
// it was a candidate in an earlier round (a test of bucket and chunk per
// earlier round), so the rounds share one running softmax per query and
// need no log-sum-exp correction. Working memory is O(N·D) per head.
type LSH struct {
	fault lshFault // one int, so that LSH converts to Variant without allocating
}

// lshFault names a deliberately injected bug or a test mode (tests only).
type lshFault int

const (
	lshNoFault      lshFault = iota
	lshFaultNoWrap           // chunk 0 does not look back at the last chunk
	lshFaultTwice            // a key found in several rounds counts several times
	lshStreamAlways          // not a bug: the streaming stores of large inputs at every size
	lshInt16Always           // not a bug: the certified int16 hashing at every size and kernel set
)

func init() { Register("lsh", func() Variant { return LSH{} }) }

func (LSH) Name() string     { return "lsh" }
func (LSH) Exact() bool      { return false }
func (LSH) Params() []string { return []string{"buckets", "rounds", "chunk", "shared-qk", "seed"} }

func (LSH) Validate(s Shape, opt Options) error {
	if err := s.Check(); err != nil {
		return err
	}
	switch {
	case opt.Buckets < 0 || opt.Buckets == 1:
		return badParam("buckets", opt.Buckets, "must be an even number ≥ 2 (or 0 for 2·max(1, n/chunk))")
	case opt.Buckets%2 != 0:
		return badParam("buckets", opt.Buckets, "must be even")
	case opt.Rounds < 1:
		return badParam("rounds", opt.Rounds, "must be ≥ 1")
	case opt.Chunk < 1:
		return badParam("chunk", opt.Chunk, "must be ≥ 1")
	case opt.SharedQK && s.M != s.N:
		return unsupportedParam("shared-qk", "", fmt.Sprintf("the keys are the queries, so m must equal n (got n=%d m=%d; use -shared-qk=false for cross-attention)", s.N, s.M))
	case opt.SharedQK && s.KVHeads() != s.H:
		return unsupportedParam("shared-qk", "", fmt.Sprintf("the keys are the queries, so K/V heads must equal query heads (got %d and %d; use -shared-qk=false for grouped heads)", s.KVHeads(), s.H))
	}
	return nil
}

// lshBucketCount returns nb: the -buckets value, or 2·max(1, N/chunk).
func lshBucketCount(s Shape, opt Options) int {
	if opt.Buckets > 0 {
		return opt.Buckets
	}
	return mulSize(2, max(1, s.N/opt.Chunk))
}

// Flops counts the hashing, 2·rows·D·nb/2 per round (rows = N in
// shared-QK mode as DESIGN §4 writes it; N + M otherwise, since the keys
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
// round, rows = N in shared-QK mode as DESIGN §4 writes it, N + M
// otherwise (the keys are hashed too).
func lshHashFlops(s Shape, opt Options) float64 {
	rows := float64(s.N)
	if !opt.SharedQK {
		rows += float64(s.M)
	}
	return 2 * float64(s.B*s.H) * rows * float64(s.D) * float64(lshBucketCount(s, opt)) / 2 * float64(opt.Rounds)
}

// FlopsOn is DESIGN §4's count for these inputs: the hashing as in Flops
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

// lshCountingSort is a stable counting sort of positions by bucket:
// perm[p] = the position at sorted index p, inv[pos] = its sorted index,
// start[β] = bucket β's first sorted index (nb+1 entries); cursor is
// scratch for nb.
func lshCountingSort(bkt []int32, nb int, perm, inv, start, cursor []int32) {
	clear(start[:nb+1])
	for _, x := range bkt {
		start[x+1]++
	}
	for x := range nb {
		start[x+1] += start[x]
	}
	copy(cursor, start[:nb])
	for pos, x := range bkt {
		p := cursor[x]
		cursor[x]++
		perm[p], inv[pos] = int32(pos), p
	}
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

// lshGeom is the per-Forward geometry.
type lshGeom struct {
	nb, half, rounds, c, nc int
	rowTile                 int
}

func lshGeometry(s Shape, opt Options) lshGeom {
	g := lshGeom{nb: lshBucketCount(s, opt), rounds: opt.Rounds, c: opt.Chunk}
	g.half = g.nb / 2
	g.nc = ceilDiv(s.N, g.c)
	g.rowTile = 64
	return g
}

// lshHeadFloats and lshHeadInts are the per-head buffer sizes.
func lshHeadFloats(s Shape, g lshGeom) int {
	hash, _ := lshHashWords(s.D, g)
	return addSize(mulSize(2, s.M, s.D), mulSize(s.N, s.D), // K and V rows in sorted order; normalised keys
		mulSize(2, s.N, s.D), // the state, two buffers
		mulSize(5, s.N),      // m, l in sorted order (two buffers each); 1/‖q‖
		hash)                 // rotations, one hashing scratch
}

// lshHashWords is the hasher's buffers: the rotations and their quantised
// copy, and one hashing scratch.
func lshHashWords(d int, g lshGeom) (floats, ints int) {
	rotF, rqI := lshHashSizes(d, g.half, g.rounds)
	scF, scI := lshHashScratchSizes(d, g.half, g.rounds)
	return addSize(rotF, scF), addSize(rqI, scI)
}

func lshHeadInts(s Shape, g lshGeom, shared bool) int {
	_, hash := lshHashWords(s.D, g)
	n := addSize(mulSize(3, g.rounds, s.N), mulSize(g.rounds, addSize(g.nb, 1)), g.nb, mulSize(2, s.N), mulSize(g.rounds, s.M), hash)
	if !shared {
		n = addSize(n, mulSize(3, g.rounds, s.M), mulSize(g.rounds, addSize(g.nb, 1)))
	}
	return n
}

func (LSH) WorkspaceBytes(s Shape, opt Options) int64 {
	g := lshGeometry(s, opt)
	threads := threadCount(opt.Threads, max(g.nc, g.nb))
	bk := keyTile(s.D)
	return workspaceBytes(addSize(lshHeadFloats(s, g), lshHeadInts(s, g, opt.SharedQK),
		mulSize(threads, addSize(tileFloats(s.D, g.rowTile, bk), tileInts(g.rowTile))),
		mulSize(threads-1, lshHashScratchWords(s.D, g))))
}

// lshHashScratchWords is one more thread's hashing scratch, float32s and
// int32s together.
func lshHashScratchWords(d int, g lshGeom) int {
	f, i := lshHashScratchSizes(d, g.half, g.rounds)
	return addSize(f, i)
}

// lshJob holds one Forward's buffers; the per-head arrays are reused by
// every head in turn.
type lshJob struct {
	s      Shape
	g      lshGeom
	causal bool
	shared bool
	scale  float32
	kern   *asm.Kernels
	fault  lshFault
	round  int

	q, k, v, out Tensor
	qh, kh, vh   []float32 // current head; kh is the normalised queries' source (Q) when shared
	oh           []float32

	hasher lshHasher
	rot    []float32 // the hasher's rotations
	rq     []int32   // the hasher's quantised rotations
	hs     lshHashScratch
	// Per round r, positions 0..N−1 (queries) and 0..M−1 (keys): bucket,
	// sorted index → position, position → sorted index; bucket starts in
	// sorted order (nb+1 per round). Keys alias queries when shared.
	qBkt, qPerm, qInv, qStart []int32
	kBkt, kPerm, kInv, kStart []int32
	cursor                    []int32
	needSelf                  []int32
	// kCode[rp·M + p]: for the key at sorted index p of the current round,
	// its bucket (times nc, plus its chunk when shared) in round rp < r,
	// so that the dedup test is one comparison per earlier round.
	kCode []int32
	// Shared QK: the keys q_j/‖q_j‖ by position, and qScale[j] = the
	// logit scale times ‖q_j‖. A query tile is packed from the keys, which
	// are already in sorted order in ks, times qScale: contiguous rows
	// instead of one random row of Q per query.
	kNorm  []float32
	qScale []float32
	// ks and vs hold the keys' and values' rows in the current round's
	// sorted order of the keys: a key tile is a range of each. (Two
	// dense arrays measured 1–2.5% faster than rows [K | V] side by side:
	// two plain streams for the prefetchers.)
	ks, vs []float32
	// The running softmax state (unnormalised output, max, sum) in the
	// current round's sorted order of the queries, so that a tile
	// accumulates into contiguous rows in place; between rounds it moves
	// to the next order in one scatter into the Next buffers, which then
	// swap.
	oS, oNext    []float32
	mS, lS       []float32
	mNext, lNext []float32
	moveTo       []int32 // scratch: the state row at sorted index p goes to row moveTo[p]

	// stream: the per-head arrays outgrow half the cache, so the scatters
	// into sorted order use streaming stores (measured at n = 16K, d = 64:
	// 5–7% faster; at 4K, where they fit, 10% slower).
	stream bool
}

func (ls LSH) Forward(q, k, v, out Tensor, opt Options, ws *Workspace) error {
	s, err := prepare(ls, q, k, v, out, opt)
	if err != nil {
		return err
	}
	g := lshGeometry(s, opt)
	// Every element of these is written before it is read (the sorts
	// and gathers cover every row; round 0 starts every query's state),
	// so they skip the zeroing.
	fbuf := ws.Float32sDirty(lshHeadFloats(s, g))
	ibuf := ws.Int32sDirty(lshHeadInts(s, g, opt.SharedQK))
	j := lshJob{s: s, g: g, causal: opt.Causal, shared: opt.SharedQK, scale: opt.ScaleFor(s.D),
		kern: asm.Active(), fault: ls.fault, q: q, k: k, v: v, out: out}
	j.carve(fbuf, ibuf)
	j.stream = ls.fault == lshStreamAlways || 4*(lshHeadFloats(s, g)+(s.N+2*s.M)*s.D) > asm.CacheBytes()/2
	j.hasher = newLSHHasher(j.kern, s.D, g.half, g.rounds, opt.Seed, j.rot, j.rq, ls.fault == lshInt16Always)

	if threadCount(opt.Threads, max(g.nc, g.nb)) == 1 {
		j.runSerial(ws)
	} else {
		runLSHParallel(j, ws, opt)
	}
	ws.PutFloat32s(fbuf)
	ws.PutInt32s(ibuf)
	return nil
}

// runSerial runs every head on the calling goroutine, allocating nothing.
func (j *lshJob) runSerial(ws *Workspace) {
	t := newTile(ws, j.kern, j.s.D, j.scale, j.g.rowTile, keyTile(j.s.D))
	for b := range j.s.B {
		for h := range j.s.H {
			j.head(b, h, nil)
			for r := range j.g.rounds {
				j.beginRound(r)
				t.dedup = j.dedup()
				for it := range j.items() {
					j.item(it, &t)
				}
			}
			j.finishHead()
		}
	}
	t.release(ws)
}

// runLSHParallel runs each round's work items (chunks or buckets, which
// own disjoint query rows) on several goroutines; heads and rounds stay in
// order, so the result does not depend on the thread count.
func runLSHParallel(j lshJob, ws *Workspace, opt Options) {
	threads := threadCount(opt.Threads, max(j.g.nc, j.g.nb))
	tiles := make([]tileAttn, threads)
	// Each thread hashes with its own scratch (the first the job's).
	scratch := make([]lshHashScratch, threads)
	scratchF, scratchI := make([][]float32, threads), make([][]int32, threads)
	nf, ni := lshHashScratchSizes(j.s.D, j.g.half, j.g.rounds)
	for i := range tiles {
		tiles[i] = newTile(ws, j.kern, j.s.D, j.scale, j.g.rowTile, keyTile(j.s.D))
		scratch[i] = j.hs
		if i > 0 {
			scratchF[i], scratchI[i] = ws.Float32sDirty(nf), ws.Int32sDirty(ni)
			scratch[i] = carveLSHHashScratch(j.s.D, j.g.half, j.g.rounds, scratchF[i], scratchI[i])
		}
	}
	// The hashing GEMM in its fixed row blocks, one block per item: the
	// same blocks as lshHash, so the same buckets.
	hash := func(x []float32, n int, bkt []int32, normalize bool) {
		blocks := ceilDiv(n, lshHashRows)
		forEach(threadCount(threads, blocks), blocks, func(w, blk int) {
			j.hashBlock(x, n, bkt, blk*lshHashRows, &scratch[w], normalize)
		})
		for w := range scratch {
			j.hasher.flush(n, bkt, &scratch[w])
		}
	}
	for b := range j.s.B {
		for h := range j.s.H {
			j.head(b, h, hash)
			for r := range j.g.rounds {
				j.beginRound(r)
				for i := range tiles {
					tiles[i].dedup = j.dedup()
				}
				forEach(threadCount(threads, j.items()), j.items(), func(w, it int) { j.item(it, &tiles[w]) })
			}
			j.finishHead()
		}
	}
	for i := range tiles {
		tiles[i].release(ws)
		if i > 0 {
			ws.PutFloat32s(scratchF[i])
			ws.PutInt32s(scratchI[i])
		}
	}
}

// carve cuts the job's arrays out of the two workspace buffers.
func (j *lshJob) carve(f []float32, n []int32) {
	s, g := j.s, j.g
	takeF := func(size int) []float32 { b := f[:size:size]; f = f[size:]; return b }
	takeI := func(size int) []int32 { b := n[:size:size]; n = n[size:]; return b }
	j.kNorm, j.ks, j.vs = takeF(s.N*s.D), takeF(s.M*s.D), takeF(s.M*s.D)
	j.oS, j.oNext = takeF(s.N*s.D), takeF(s.N*s.D)
	j.mS, j.lS, j.mNext, j.lNext = takeF(s.N), takeF(s.N), takeF(s.N), takeF(s.N)
	j.qScale = takeF(s.N)
	rotF, rqI := lshHashSizes(s.D, g.half, g.rounds)
	scF, scI := lshHashScratchSizes(s.D, g.half, g.rounds)
	j.rot, j.rq = takeF(rotF), takeI(rqI)
	j.hs = carveLSHHashScratch(s.D, g.half, g.rounds, takeF(scF), takeI(scI))
	j.qBkt, j.qPerm, j.qInv = takeI(g.rounds*s.N), takeI(g.rounds*s.N), takeI(g.rounds*s.N)
	j.qStart = takeI(g.rounds * (g.nb + 1))
	if j.shared {
		// One set of buckets and one order: the keys are the queries.
		j.kBkt, j.kPerm, j.kInv, j.kStart = j.qBkt, j.qPerm, j.qInv, j.qStart
	} else {
		j.kBkt, j.kPerm, j.kInv = takeI(g.rounds*s.M), takeI(g.rounds*s.M), takeI(g.rounds*s.M)
		j.kStart = takeI(g.rounds * (g.nb + 1))
	}
	j.cursor, j.needSelf, j.kCode = takeI(g.nb), takeI(s.N), takeI(g.rounds*s.M)
	j.moveTo = takeI(s.N)
}

// head hashes and sorts the positions of head (b, h) for every round.
// hash, when not nil, computes the buckets of n rows of x into bkt (and
// with normalize the unit keys of those rows, block by block), its row
// blocks spread over threads; nil runs the same blocks on the calling
// goroutine.
func (j *lshJob) head(b, h int, hash func(x []float32, n int, bkt []int32, normalize bool)) {
	s, g := j.s, j.g
	j.qh, j.vh, j.oh = j.q.Head(b, h), j.v.Head(b, s.KVHead(h)), j.out.Head(b, h)
	j.kh = j.qh
	if !j.shared {
		j.kh = j.k.Head(b, s.KVHead(h))
	}
	// Grouped K/V heads: the query heads of a group share the keys'
	// buckets and orders (nothing after this writes them), so the keys
	// are hashed and sorted once per K/V head.
	keys := !j.shared && (h == 0 || s.KVHead(h) != s.KVHead(h-1))
	// Shared QK: each block of rows is normalised right after it is
	// hashed, while it is in cache, so Q is read from memory once.
	if hash == nil {
		for r0 := 0; r0 < s.N; r0 += lshHashRows {
			j.hashBlock(j.qh, s.N, j.qBkt, r0, &j.hs, j.shared)
		}
		j.hasher.flush(s.N, j.qBkt, &j.hs)
		if keys {
			j.hasher.hash(j.kh, s.M, j.kBkt, &j.hs)
		}
	} else {
		hash(j.qh, s.N, j.qBkt, j.shared)
		if keys {
			hash(j.kh, s.M, j.kBkt, false)
		}
	}
	for r := range g.rounds {
		j.sort(j.qBkt[r*s.N:(r+1)*s.N], j.qPerm[r*s.N:], j.qInv[r*s.N:], j.qStart[r*(g.nb+1):])
		if keys {
			j.sort(j.kBkt[r*s.M:(r+1)*s.M], j.kPerm[r*s.M:], j.kInv[r*s.M:], j.kStart[r*(g.nb+1):])
		}
	}
}

// hashBlock hashes the block of rows of x from r0 (lshHasher.block) and,
// with normalize (shared QK, x = Q), turns them into unit keys while they
// are in cache, from the sums of squares the hashing leaves in qScale.
func (j *lshJob) hashBlock(x []float32, n int, bkt []int32, r0 int, sc *lshHashScratch, normalize bool) {
	if !normalize {
		j.hasher.block(x, n, bkt, r0, sc, nil)
		return
	}
	r1 := min(n, r0+lshHashRows)
	j.hasher.block(x, n, bkt, r0, sc, j.qScale[r0:r1])
	j.normalizeRows(r0, r1)
}

// normalizeRows sets, for positions [r0, r1), the unit keys k_i =
// q_i/‖q_i‖ (kNorm), the query factors qScale[i] = scale·‖q_i‖ that turn a
// key back into its scaled query, and clears needSelf. The factor is
// scale/inv with inv the float32 1/‖q‖ the key was multiplied by, so that
// inv's rounding cancels. A zero row gives a zero key and factor; a row
// whose float32 sum of squares overflows or underflows is normalised in
// float64 (normalizeWide); a row with a NaN or ±Inf gives NaN keys, as the
// definition does. qScale[r0:r1] must hold the rows' sums of squares
// (lshHasher.block leaves them there): taken for the whole block before
// any square root, so that the rows' roots and divisions overlap instead of
// waiting on one row's chain at a time (LSH 2–2.5% faster at n = 256…2K, 1%
// at 16K), and shared with the int16 hashing, which needs them too.
func (j *lshJob) normalizeRows(r0, r1 int) {
	d := j.s.D
	for i := r0; i < r1; i++ {
		q, key := j.qh[i*d:(i+1)*d], j.kNorm[i*d:(i+1)*d]
		if ss := j.qScale[i]; ss >= 0x1p-100 && ss <= 0x1p100 {
			inv := float32(1 / math.Sqrt(float64(ss)))
			j.kern.ScaleTo(key, q, inv)
			j.qScale[i] = float32(float64(j.scale) / float64(inv))
		} else {
			j.qScale[i] = normalizeWide(key, q, j.scale)
		}
		j.needSelf[i] = 0
	}
}

// normalizeWide is normalizeRows for one row in float64: key = q/‖q‖,
// returning scale·‖q‖ (0 and a zero key for a zero row).
func normalizeWide(key, q []float32, scale float32) float32 {
	var ss float64
	for _, x := range q {
		ss += float64(x) * float64(x)
	}
	norm := math.Sqrt(ss)
	if norm == 0 {
		clear(key)
		return 0
	}
	for p, x := range q {
		key[p] = float32(float64(x) / norm)
	}
	return float32(float64(scale) * norm)
}

// sort is lshCountingSort with the job's bucket count and cursor.
func (j *lshJob) sort(bkt, perm, inv, start []int32) {
	lshCountingSort(bkt, j.g.nb, perm, inv, start, j.cursor)
}

// beginRound gathers the keys into round r's sorted order, with their
// earlier rounds' codes for the dedup test, and moves the queries' running
// state from round r−1's order to round r's. The queries are not copied:
// each tile packs its own from position order through the permutation.
func (j *lshJob) beginRound(r int) {
	s, d := j.s, j.s.D
	j.round = r
	if r > 0 {
		// Streaming, round r−1's tiles already wrote the state in this
		// order (endTile). Otherwise it moves here: streaming reads of
		// the old order, independent scattered writes.
		if !j.stream {
			prevPerm, inv := j.qPerm[(r-1)*s.N:r*s.N], j.qInv[r*s.N:(r+1)*s.N]
			for p, pos := range prevPerm {
				np := int(inv[pos])
				copy(j.oNext[np*d:(np+1)*d], j.oS[p*d:(p+1)*d])
				j.mNext[np], j.lNext[np] = j.mS[p], j.lS[p]
			}
		}
		j.oS, j.oNext = j.oNext, j.oS
		j.mS, j.mNext = j.mNext, j.mS
		j.lS, j.lNext = j.lNext, j.lS
	}
	kPerm := j.kPerm[r*s.M : (r+1)*s.M]
	for rp := range r {
		code := j.kCode[rp*s.M : (rp+1)*s.M]
		for p, pos := range kPerm {
			code[p] = j.keyCode(rp, int(pos))
		}
	}
	// Scattered in position order: the reads stream and the writes,
	// independent of each other, overlap their misses (a gather in
	// sorted order waits on each random row).
	keys := j.kh
	if j.shared {
		keys = j.kNorm
	}
	kInv := j.kInv[r*s.M : (r+1)*s.M]
	if j.stream {
		j.kern.ScatterRows(s.M, d, keys, d, kInv, j.ks, d, true)
		j.kern.ScatterRows(s.M, d, j.vh, d, kInv, j.vs, d, true)
		return
	}
	// In cache, one pass over the positions is faster than one per
	// array (4% at n = 8K).
	for pos, p := range kInv {
		copy(j.ks[int(p)*d:int(p+1)*d], keys[pos*d:(pos+1)*d])
		copy(j.vs[int(p)*d:int(p+1)*d], j.vh[pos*d:(pos+1)*d])
	}
}

// keyCode is key position kj's bucket in round rp, times nc plus its
// chunk when shared.
func (j *lshJob) keyCode(rp, kj int) int32 {
	if !j.shared {
		return j.kBkt[rp*j.s.M+kj]
	}
	return j.qBkt[rp*j.s.N+kj]*int32(j.g.nc) + j.qInv[rp*j.s.N+kj]/int32(j.g.c)
}

// items is the number of work items of a round: chunks when shared, buckets
// otherwise.
func (j *lshJob) items() int {
	if j.shared {
		return j.g.nc
	}
	return j.g.nb
}

func (j *lshJob) item(it int, t *tileAttn) {
	if j.shared {
		j.chunk(it, t)
	} else {
		j.bucket(it, t)
	}
}

// chunk processes the queries of chunk k in the current round, one bucket
// segment at a time.
func (j *lshJob) chunk(k int, t *tileAttn) {
	s, g, r := j.s, j.g, j.round
	perm, bkt := j.qPerm[r*s.N:(r+1)*s.N], j.qBkt[r*s.N:(r+1)*s.N]
	start := j.qStart[r*(g.nb+1) : (r+1)*(g.nb+1)]
	end := min(s.N, (k+1)*g.c)
	for p0 := k * g.c; p0 < end; {
		beta := bkt[perm[p0]]
		p1 := min(end, int(start[beta+1]))
		j.segment(t, k, p0, p1, int(start[beta]), int(start[beta+1]))
		p0 = p1
	}
}

// segment runs the queries at sorted indices [p0, p1), all of one bucket
// (sorted range [bs, be)) inside chunk k: their candidates are the bucket's
// part of chunk k and of the previous chunk.
func (j *lshJob) segment(t *tileAttn, k, p0, p1, bs, be int) {
	g, d := j.g, j.s.D
	// At most two key ranges: the previous chunk's part, merged with the
	// own part when adjacent (always, except for chunk 0's wrap-around).
	var lo, hi [2]int
	ranges := 1
	lo[0], hi[0] = max(bs, k*g.c), min(be, (k+1)*g.c)
	if kp := (k - 1 + g.nc) % g.nc; kp != k && !(k == 0 && j.fault == lshFaultNoWrap) {
		plo, phi := max(bs, kp*g.c), min(be, (kp+1)*g.c)
		switch {
		case plo >= phi:
		case phi == lo[0]:
			lo[0] = plo
		case plo == hi[0]:
			hi[0] = phi
		default:
			lo[1], hi[1] = plo, phi
			ranges = 2
		}
	}
	perm := j.qPerm[j.round*j.s.N:]
	for s0 := p0; s0 < p1; s0 += g.rowTile {
		rows := min(g.rowTile, p1-s0)
		// The self rule: count each row's other candidates this round.
		for i := range rows {
			p, others := s0+i, 0
			for x := range ranges {
				if j.causal {
					others += max(0, min(hi[x], p)-lo[x])
				} else {
					others += hi[x] - lo[x]
					if p >= lo[x] && p < hi[x] {
						others--
					}
				}
			}
			if others == 0 {
				j.needSelf[perm[p]] = 1
			}
		}
		j.beginTile(t, s0, rows)
		for x := range ranges {
			for i := range rows {
				p := s0 + i
				if j.causal {
					t.setSpan(i, lo[x], min(hi[x], p), 0, 0)
				} else {
					t.setSpan(i, lo[x], hi[x], p, p+1)
				}
			}
			t.attend(j.ks, j.vs, d, lo[x], hi[x])
		}
		j.endTile(t, s0, rows)
	}
}

// bucket processes the queries of bucket β in the current round (no
// shared QK): every key of the bucket, j ≤ p_i when causal.
func (j *lshJob) bucket(beta int, t *tileAttn) {
	s, g, d, r := j.s, j.g, j.s.D, j.round
	nb1 := g.nb + 1
	q0, q1 := int(j.qStart[r*nb1+beta]), int(j.qStart[r*nb1+beta+1])
	k0, k1 := int(j.kStart[r*nb1+beta]), int(j.kStart[r*nb1+beta+1])
	if k0 == k1 {
		if j.stream {
			// No key: the rows' state passes through a tile unchanged,
			// which sends it on (endTile).
			for s0 := q0; s0 < q1; s0 += g.rowTile {
				rows := min(g.rowTile, q1-s0)
				j.beginTile(t, s0, rows)
				j.endTile(t, s0, rows)
			}
			return
		}
		if r == 0 { // no key: the rows' state starts empty
			clear(j.oS[q0*d : q1*d])
			for p := q0; p < q1; p++ {
				j.mS[p], j.lS[p] = float32(math.Inf(-1)), 0
			}
		}
		return
	}
	qPerm, kPerm := j.qPerm[r*s.N:(r+1)*s.N], j.kPerm[r*s.M:(r+1)*s.M]
	for s0 := q0; s0 < q1; s0 += g.rowTile {
		rows := min(g.rowTile, q1-s0)
		for i := range rows {
			hi := k1
			if j.causal {
				// Keys of the bucket are in position order: the first
				// one after query position p_i ends the row's span.
				pos := qPerm[s0+i] + int32(s.Offset())
				a, b := k0, k1
				for a < b {
					mid := int(uint(a+b) >> 1)
					if kPerm[mid] <= pos {
						a = mid + 1
					} else {
						b = mid
					}
				}
				hi = a
			}
			t.setSpan(i, k0, hi, 0, 0)
		}
		j.beginTile(t, s0, rows)
		t.attend(j.ks, j.vs, d, k0, k1)
		j.endTile(t, s0, rows)
	}
}

// beginTile starts the tile of the rows at sorted indices [s0, s0+rows) of
// the current round: their queries are packed from position order (PackT
// through the permutation) and their state is contiguous rows of oS, mS
// and lS, accumulated in place; in round 0 it starts afresh.
func (j *lshJob) beginTile(t *tileAttn, s0, rows int) {
	d := j.s.D
	m, l := j.mS[s0:], j.lS[s0:]
	if j.round == 0 {
		m, l = nil, nil
	}
	perm := j.qPerm[j.round*j.s.N+s0:]
	q, ldq, qperm := j.qh, d, perm
	if j.shared {
		// The rows' keys are contiguous in ks; times scale·‖q‖ they are
		// the scaled queries.
		for i, pos := range perm[:rows] {
			t.colScale[i] = j.qScale[pos]
		}
		q, ldq, qperm = j.ks[s0*d:], d, nil
	}
	// Streaming, a round that hands its state on accumulates in the
	// tile's own buffer, which endTile sends to the next order; the last
	// round accumulates in place (measured 0.5–2.5% faster at 8K–16K
	// than copying its rows in).
	if j.stream && j.round+1 < j.g.rounds {
		t.beginLocal(rows, q, ldq, qperm, j.shared, j.oS[s0*d:], d, m, l)
	} else {
		t.beginInPlace(rows, q, ldq, qperm, j.shared, j.oS[s0*d:], d, m, l)
	}
	t.qpos = perm
}

// endTile hands the rows' state on. In cache it is already in place, and
// store writes m and l. Streaming, it goes straight where the next step
// reads it, with streaming stores: from the tile's own buffer to the next
// round's sorted order (so no pass moves the state between rounds), or
// after the last round, with the self key folded in and normalised in
// place, to the output rows (so no pass gathers them).
func (j *lshJob) endTile(t *tileAttn, s0, rows int) {
	if !j.stream {
		t.store(j.mS[s0:], j.lS[s0:])
		return
	}
	s, d, r, qt := j.s, j.s.D, j.round, &t.qt
	perm := j.qPerm[r*s.N+s0 : r*s.N+s0+rows]
	if r+1 < j.g.rounds {
		// Rows [s0, s0+rows) are this tile's alone, so are these
		// entries of the scratch.
		dst := j.moveTo[s0 : s0+rows]
		next := j.qInv[(r+1)*s.N : (r+2)*s.N]
		for i, pos := range perm {
			np := next[pos]
			dst[i] = np
			j.mNext[np], j.lNext[np] = qt.m[i], qt.l[i]
		}
		j.kern.ScatterRows(rows, d, qt.o, d, dst, j.oNext, d, true)
		return
	}
	// The last round's rows, accumulated in place (t.odst = oS rows).
	o := t.odst[:rows*d]
	for i, pos := range perm {
		acc := o[i*d : (i+1)*d]
		if j.shared && j.needSelf[pos] != 0 {
			j.addSelf(int(pos), acc, &qt.m[i], &qt.l[i])
		}
		if l := qt.l[i]; l > 0 {
			j.kern.Scale(acc, 1/l)
		} else {
			clear(acc)
		}
	}
	j.kern.ScatterRows(rows, d, o, d, perm, j.oh, d, true)
}

// finishHead adds the self key where some round had no other candidate and
// writes the outputs O/l, reading the state from the last round's sorted
// order.
func (j *lshJob) finishHead() {
	if j.stream {
		return // the last round's tiles wrote the outputs (endTile)
	}
	s, d := j.s, j.s.D
	last := j.g.rounds - 1
	inv := j.qInv[last*s.N : (last+1)*s.N]
	// In position order: the output rows stream out while the reads of
	// the state, independent of each other, overlap their misses.
	for i, p32 := range inv {
		p := int(p32)
		if j.shared && j.needSelf[i] != 0 {
			j.addSelf(i, j.oS[p*d:(p+1)*d], &j.mS[p], &j.lS[p])
		}
		out := j.oh[i*d : (i+1)*d]
		if l := j.lS[p]; l > 0 {
			j.kern.ScaleTo(out, j.oS[p*d:(p+1)*d], 1/l)
		} else {
			clear(out)
		}
	}
}

// addSelf folds query position i's own key into its state (acc, m, l):
// the candidate of a round that had no other.
func (j *lshJob) addSelf(i int, acc []float32, m, l *float32) {
	d := j.s.D
	dot := j.kern.Dot(j.qh[i*d:(i+1)*d], j.kNorm[i*d:(i+1)*d])
	foldOne(j.kern, j.scale*dot, j.vh[i*d:(i+1)*d], acc, m, l)
}

// lshDedup drops, in round r > 0, the pairs that were candidates in an
// earlier round, so that each key counts once in the union. It copies the
// slices it needs from the job (see tileAttn.dedup for why).
type lshDedup struct {
	on     bool
	shared bool
	round  int
	n, m   int
	c, nc  int
	fault  lshFault

	qBkt, qInv, kCode []int32
}

// dedup returns the current round's lshDedup, off in round 0.
func (j *lshJob) dedup() lshDedup {
	return lshDedup{on: j.round > 0 && j.fault != lshFaultTwice, shared: j.shared, round: j.round,
		n: j.s.N, m: j.s.M, c: j.g.c, nc: j.g.nc, fault: j.fault,
		qBkt: j.qBkt, qInv: j.qInv, kCode: j.kCode}
}

// mask sets to −∞ the scores s[(κ−c0)·w + i] of the queries at positions
// qpos[i] against the keys at sorted indices κ in [c0, c1) whose pair was a
// candidate in an earlier round rp: the same bucket and (shared) the key's
// chunk is the query's or the one before it. codes is scratch for 2·w
// int32. Only pairs inside the rows' spans matter (the rest are −∞
// already), where the causal and self conditions hold.
func (dd *lshDedup) mask(kern *asm.Kernels, qpos, codes []int32, s []float32, w, c0, c1 int) {
	own, prev := codes[:w], codes[w:2*w]
	// The tile's padding columns match no key (codes are ≥ 0).
	for i := len(qpos); i < w; i++ {
		own[i], prev[i] = -1, -1
	}
	for rp := range dd.round {
		// The key codes that match, per query: own chunk and previous
		// chunk.
		for i, qi := range qpos {
			o := dd.qBkt[rp*dd.n+int(qi)]
			p := o
			if dd.shared {
				nc := int32(dd.nc)
				ci := dd.qInv[rp*dd.n+int(qi)] / int32(dd.c)
				o, p = o*nc+ci, o*nc+(ci-1+nc)%nc
				if ci == 0 && dd.fault == lshFaultNoWrap {
					p = o
				}
			}
			own[i], prev[i] = o, p
		}
		kern.MaskMatches(c1-c0, w, dd.kCode[rp*dd.m+c0:rp*dd.m+c1], own, prev, s)
	}
}
