package variants

import (
	"math"

	"github.com/attnbench/attnbench/asm"
)

// LSH's Forward: hash, sort by bucket, gather into sorted order, run each
// round's dense tiles on the tile engine, fold in the self key and write
// O/l (see the LSH type for the plan).

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
		mulSize(threads, addSize(tileFloats(s.D, g.rowTile, bk), tileInts(g.rowTile), lshDedupInts(g))),
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

	threads := threadCount(opt.Threads, max(g.nc, g.nb))
	workers := newTeam(threads, func(int) lshWorker { return j.newWorker(ws) })
	if threads == 1 {
		j.heads(workers, nil)
	} else {
		runLSHParallel(j, ws, workers)
	}
	workers.each(func(w lshWorker) { w.release(ws) })
	ws.PutFloat32s(fbuf)
	ws.PutInt32s(ibuf)
	return nil
}

// lshWorker is one goroutine's tile and the dedup masker of its tiles.
type lshWorker struct {
	t  tileAttn
	dd lshDedup
}

func (j *lshJob) newWorker(ws *Workspace) lshWorker {
	return lshWorker{t: newTile(ws, j.kern, j.s.D, j.scale, j.g.rowTile, keyTile(j.s.D)),
		dd: lshDedup{codes: ws.Int32s(lshDedupInts(j.g))}}
}

func (w lshWorker) release(ws *Workspace) {
	w.t.release(ws)
	ws.PutInt32s(w.dd.codes)
}

// heads runs every head: hash (hash nil: on the calling goroutine) and
// sort, then each round's work items (chunks or buckets, which own
// disjoint query rows) on the workers, then the outputs. Heads and rounds
// stay in order, so the result does not depend on the thread count.
func (j *lshJob) heads(workers team[lshWorker], hash func(x []float32, n int, bkt []int32, normalize bool)) {
	for b := range j.s.B {
		for h := range j.s.H {
			j.head(b, h, hash)
			for r := range j.g.rounds {
				j.beginRound(r)
				onThreads(*j, j.items(), workers, lshJob.runItem)
			}
			j.finishHead()
		}
	}
}

// runItem runs work item it of the current round with the round's dedup.
func (j lshJob) runItem(it int, w lshWorker) {
	j.dedup(&w.dd)
	j.item(it, &w)
}

// runLSHParallel is heads with the hashing spread over the workers'
// threads too: the row blocks of the hashing GEMM, each thread with its
// own hashing scratch, then a flush of every scratch's pending rows.
func runLSHParallel(j lshJob, ws *Workspace, workers team[lshWorker]) {
	threads := workers.size()
	// Each thread hashes with its own scratch (the first the job's).
	scratch := make([]lshHashScratch, threads)
	scratchF, scratchI := make([][]float32, threads), make([][]int32, threads)
	nf, ni := lshHashScratchSizes(j.s.D, j.g.half, j.g.rounds)
	for i := range scratch {
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
	j.heads(workers, hash)
	for i := 1; i < threads; i++ {
		ws.PutFloat32s(scratchF[i])
		ws.PutInt32s(scratchI[i])
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

func (j *lshJob) item(it int, w *lshWorker) {
	if j.shared {
		j.chunk(it, w)
	} else {
		j.bucket(it, w)
	}
}

// chunk processes the queries of chunk k in the current round, one bucket
// segment at a time.
func (j *lshJob) chunk(k int, w *lshWorker) {
	s, g, r := j.s, j.g, j.round
	perm, bkt := j.qPerm[r*s.N:(r+1)*s.N], j.qBkt[r*s.N:(r+1)*s.N]
	start := j.qStart[r*(g.nb+1) : (r+1)*(g.nb+1)]
	end := min(s.N, (k+1)*g.c)
	for p0 := k * g.c; p0 < end; {
		beta := bkt[perm[p0]]
		p1 := min(end, int(start[beta+1]))
		j.segment(w, k, p0, p1, int(start[beta]), int(start[beta+1]))
		p0 = p1
	}
}

// segment runs the queries at sorted indices [p0, p1), all of one bucket
// (sorted range [bs, be)) inside chunk k: their candidates are the bucket's
// part of chunk k and of the previous chunk.
func (j *lshJob) segment(w *lshWorker, k, p0, p1, bs, be int) {
	g, d, t := j.g, j.s.D, &w.t
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
		j.beginTile(w, s0, rows)
		for x := range ranges {
			for i := range rows {
				p := s0 + i
				if j.causal {
					t.setSpan(i, lo[x], min(hi[x], p), 0, 0)
				} else {
					t.setSpan(i, lo[x], hi[x], p, p+1)
				}
			}
			attendMasked(t, w.dd, j.ks, j.vs, d, lo[x], hi[x])
		}
		j.endTile(t, s0, rows)
	}
}

// bucket processes the queries of bucket β in the current round (no
// shared QK): every key of the bucket, j ≤ p_i when causal.
func (j *lshJob) bucket(beta int, w *lshWorker) {
	s, g, d, r, t := j.s, j.g, j.s.D, j.round, &w.t
	nb1 := g.nb + 1
	q0, q1 := int(j.qStart[r*nb1+beta]), int(j.qStart[r*nb1+beta+1])
	k0, k1 := int(j.kStart[r*nb1+beta]), int(j.kStart[r*nb1+beta+1])
	if k0 == k1 {
		if j.stream {
			// No key: the rows' state passes through a tile unchanged,
			// which sends it on (endTile).
			for s0 := q0; s0 < q1; s0 += g.rowTile {
				rows := min(g.rowTile, q1-s0)
				j.beginTile(w, s0, rows)
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
		j.beginTile(w, s0, rows)
		attendMasked(t, w.dd, j.ks, j.vs, d, k0, k1)
		j.endTile(t, s0, rows)
	}
}

// beginTile starts the tile of the rows at sorted indices [s0, s0+rows) of
// the current round: their queries are packed from position order (PackT
// through the permutation) and their state is contiguous rows of oS, mS
// and lS, accumulated in place; in round 0 it starts afresh. The rows'
// query positions go to the worker's dedup.
func (j *lshJob) beginTile(w *lshWorker, s0, rows int) {
	d, t := j.s.D, &w.t
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
	w.dd.qpos = perm
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
