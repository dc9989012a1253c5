package variants

import (
	"fmt"

	"github.com/attnbench/attnbench/asm"
)

// Sparse is fixed-pattern sparse attention, exact softmax over a candidate
// set C(i) that depends only on positions (docs/design.md §2):
//
//   - strided (Sparse Transformer): non-causal |i−j| < l or (i−j) mod l = 0;
//     causal i−l < j ≤ i or (i−j) mod l = 0, with j ≤ i.
//   - fixed (Sparse Transformer): ⌊j/l⌋ = ⌊i/l⌋ or j mod l ≥ l−c. A summary
//     c larger than the stride l makes every key a summary key, which is
//     what the definition says; it is not refused.
//   - bigbird: blocks of b positions; query block β attends to blocks β−1,
//     β, β+1, to the first and last block, and to r random blocks drawn
//     with Seed from the others; the first and last query blocks attend to
//     everything. Self-attention only (M = N), and b ≤ N.
//
// Every i is the query's position p_i = i + M − N (the queries are the last
// N positions; N > M needs causal, see positionsDefined). K and V may have
// fewer heads than Q (GQA). Causal intersects every set with j ≤ i. For BigBird with causal set, the
// random blocks are drawn from the blocks before β−1 (the only ones a
// causal query can use) rather than from all others: a random block in the
// future would be masked entirely and add nothing. The random blocks differ
// per head and query block, and are shared by the batch (as in BigBird's
// own code, where they are drawn per head when the graph is built).
//
// Each pattern is a union of dense ranges that Forward feeds to the tile
// engine (tile.go): strided is a band of width 2l−1 (a window) plus, per
// residue class mod l, a dense class-against-class tile read in place at
// stride l; fixed is the query's own block plus the summary keys, which are
// gathered once per head into a contiguous buffer; BigBird is a list of key
// blocks per query block. The work is the candidate pairs plus the edges of
// tiles, never N×M.
type Sparse struct {
	fault sparseFault
}

// sparseFault names a deliberately injected bug (tests only).
type sparseFault int

const (
	sparseNoFault       sparseFault = iota
	sparseFaultColumn               // strided: each row misses the last key of its column
	sparseFaultSummary              // fixed: the first summary key is never seen
	sparseFaultNoRandom             // bigbird: the random blocks are left out
)

func init() { Register("sparse", func() Variant { return Sparse{} }) }

func (Sparse) Name() string { return "sparse" }
func (Sparse) Exact() bool  { return false }
func (Sparse) Params() []string {
	return []string{"pattern", "stride", "summary", "block", "random", "seed"}
}

func (Sparse) Validate(s Shape, opt Options) error {
	if err := s.Check(); err != nil {
		return err
	}
	switch opt.Pattern {
	case "strided", "fixed":
		if opt.Stride < 1 {
			return badParam("stride", opt.Stride, "must be ≥ 1")
		}
		if opt.Pattern == "fixed" && opt.Summary < 1 {
			return badParam("summary", opt.Summary, "must be ≥ 1")
		}
		return positionsDefined(s, opt)
	case "bigbird":
		switch {
		case opt.Block < 1:
			return badParam("block", opt.Block, "must be ≥ 1")
		case opt.Random < 0:
			return badParam("random", opt.Random, "must be ≥ 0")
		case s.M != s.N:
			return unsupportedParam("pattern", "bigbird", fmt.Sprintf("needs m = n (self-attention), got n=%d m=%d", s.N, s.M))
		case opt.Block > s.N:
			return unsupportedParam("block", opt.Block, fmt.Sprintf("larger than n=%d; bigbird needs the sequence cut into blocks", s.N))
		}
	default:
		return badParam("pattern", fmt.Sprintf("%q", opt.Pattern), "unknown (want strided, fixed or bigbird)")
	}
	return nil
}

// summaryCount returns how many of the positions 0..n−1 are summary keys of
// the fixed pattern (j mod l ≥ l−c).
func summaryCount(n, l, c int) int {
	c = min(c, l)
	return addSize(mulSize(n/l, c), max(0, n%l-(l-c)))
}

// bigbirdBlocks returns the number of blocks of a BigBird shape.
func bigbirdBlocks(s Shape, opt Options) int { return ceilDiv(s.N, opt.Block) }

// bigbirdRandomRange returns the blocks random ones are drawn from for query
// block β: [lo, hi) minus β−1, β, β+1.
func bigbirdRandomRange(nb, beta int, causal bool) (lo, hi int) {
	if causal {
		return 1, beta - 1
	}
	return 1, nb - 1
}

// bigbirdAvailable returns how many blocks query block β can draw from.
func bigbirdAvailable(nb, beta int, causal bool) int {
	lo, hi := bigbirdRandomRange(nb, beta, causal)
	n := max(0, hi-lo)
	for x := beta - 1; x <= beta+1; x++ {
		if x >= lo && x < hi {
			n--
		}
	}
	return n
}

// bigbirdRandomBlocks draws, for every head h and non-global query block β,
// r distinct key blocks uniformly from the others (bigbirdRandomRange minus
// the neighbours), sorted, into out[(h·nb+β)·r : …+r]; −1 marks unused
// slots (global blocks, or fewer than r blocks to draw from). The draws
// depend on Seed alone, in a fixed order, so every Forward and the
// Reference see the same blocks.
func bigbirdRandomBlocks(heads, nb, r int, causal bool, seed uint64, out []int32) {
	rng := newSeededRand(seed, streamBigBird)
	for h := range heads {
		for beta := range nb {
			slots := out[(h*nb+beta)*r : (h*nb+beta+1)*r]
			for t := range slots {
				slots[t] = -1
			}
			if beta == 0 || beta == nb-1 {
				continue
			}
			lo, hi := bigbirdRandomRange(nb, beta, causal)
			excluded := func(x int) bool { return x >= beta-1 && x <= beta+1 }
			if bigbirdAvailable(nb, beta, causal) <= r {
				t := 0
				for x := lo; x < hi; x++ {
					if !excluded(x) {
						slots[t] = int32(x)
						t++
					}
				}
				continue
			}
			for t := 0; t < r; {
				x := lo + rng.intn(hi-lo)
				dup := excluded(x)
				for _, y := range slots[:t] {
					dup = dup || int(y) == x
				}
				if !dup {
					slots[t] = int32(x)
					t++
				}
			}
			// Ascending order (insertion sort: r is small).
			for a := 1; a < r; a++ {
				for b := a; b > 0 && slots[b] < slots[b-1]; b-- {
					slots[b], slots[b-1] = slots[b-1], slots[b]
				}
			}
		}
	}
}

// sparseKeys returns |C(i)| for the strided and fixed patterns in O(1), and
// for BigBird's non-random part; the random blocks add bigbirdAvailable·b.
func sparseKeys(s Shape, opt Options, i int) int {
	causal := opt.Causal
	if i = s.QueryPos(i); i < 0 {
		return 0 // causal: an empty row
	}
	switch opt.Pattern {
	case "strided":
		l := opt.Stride
		hi := min(s.M, i+l)
		if causal {
			hi = min(s.M, i+1)
		}
		band := max(0, hi-max(0, i-l+1))
		rho, a := i%l, i/l
		mb, _ := classLen(s.M, 0, rho, l)
		cols := min(a, mb) // causal: b < a
		if !causal {
			cols = mb
			if a < mb {
				cols-- // j = i is in the band
			}
		}
		return band + cols
	case "fixed":
		l, c := opt.Stride, min(opt.Summary, opt.Stride)
		start := i / l * l
		end := min(s.M, start+l-c)
		sumEnd := s.M
		if causal {
			end = min(end, i+1)
			sumEnd = min(s.M, i+1)
		}
		return max(0, end-start) + summaryCount(sumEnd, l, c)
	default: // bigbird
		b := opt.Block
		nb := bigbirdBlocks(s, opt)
		beta := i / b
		visible := func(lo, hi int) int {
			hi = min(hi, s.N)
			if causal {
				hi = min(hi, i+1)
			}
			return max(0, hi-lo)
		}
		if beta == 0 || beta == nb-1 {
			return visible(0, s.N)
		}
		n := visible((beta-1)*b, (beta+2)*b)
		if beta-1 > 0 {
			n += visible(0, b)
		}
		if beta+1 < nb-1 {
			n += visible((nb-1)*b, nb*b)
		}
		return n + min(opt.Random, bigbirdAvailable(nb, beta, causal))*b
	}
}

func (Sparse) Flops(s Shape, opt Options) float64 {
	var pairs float64
	for i := range s.N {
		pairs += float64(sparseKeys(s, opt, i))
	}
	return attentionFlops(s, pairs)
}

// sparseCandidates reads the definition directly, testing every key.
func sparseCandidates(s Shape, opt Options) candidates {
	causal := opt.Causal
	switch opt.Pattern {
	case "strided":
		l := opt.Stride
		return func(_, _, i int, buf []int) []int {
			i = s.QueryPos(i)
			for j := range s.M {
				d := i - j
				var in bool
				if causal {
					in = j <= i && (d < l || d%l == 0)
				} else {
					in = (d < l && d > -l) || (d%l+l)%l == 0
				}
				if in {
					buf = append(buf, j)
				}
			}
			return buf
		}
	case "fixed":
		l, c := opt.Stride, opt.Summary
		return func(_, _, i int, buf []int) []int {
			i = s.QueryPos(i)
			for j := range s.M {
				if (causal && j > i) || !(j/l == i/l || j%l >= l-c) {
					continue
				}
				buf = append(buf, j)
			}
			return buf
		}
	default: // bigbird
		b, r := opt.Block, opt.Random
		nb := bigbirdBlocks(s, opt)
		random := make([]int32, s.H*nb*r)
		bigbirdRandomBlocks(s.H, nb, r, causal, opt.Seed, random)
		return func(_, h, i int, buf []int) []int {
			beta := i / b
			for j := range s.M {
				if causal && j > i {
					continue
				}
				gamma := j / b
				in := beta == 0 || beta == nb-1 || gamma == 0 || gamma == nb-1 ||
					(gamma >= beta-1 && gamma <= beta+1)
				for _, x := range random[(h*nb+beta)*r : (h*nb+beta+1)*r] {
					in = in || int(x) == gamma
				}
				if in {
					buf = append(buf, j)
				}
			}
			return buf
		}
	}
}

func (sp Sparse) Reference(q, k, v Tensor, opt Options) ([]float64, error) {
	s, err := ShapeOf(q, k, v)
	if err != nil {
		return nil, err
	}
	if err := sp.Validate(s, opt); err != nil {
		return nil, err
	}
	return candidateAttention[float64](q, k, v, float64(opt.ScaleFor(s.D)), sparseCandidates(s, opt)), nil
}

func (sp Sparse) Naive(q, k, v Tensor, opt Options) ([]float32, error) {
	s, err := ShapeOf(q, k, v)
	if err != nil {
		return nil, err
	}
	if err := sp.Validate(s, opt); err != nil {
		return nil, err
	}
	return candidateAttention[float32](q, k, v, float64(opt.ScaleFor(s.D)), sparseCandidates(s, opt)), nil
}

// keyTile is the key tile width of the sparse-style variants: flash's
// default, or the block engine's tuned one (tuning.go).
func keyTile(d int) int { return tilesFor(EngineBlock, d, false).BK }

// sparseRowTile returns the query tile height for a pattern: for strided,
// as for a window of radius l−1 (windowTiles); for fixed, the tiles stay
// inside one block of l rows; for BigBird, inside one block of b.
func sparseRowTile(opt Options) int {
	switch opt.Pattern {
	case "strided":
		bq, _ := windowTiles(Shape{D: 64}, opt.Stride-1, opt.Causal)
		return bq
	case "fixed":
		return min(64, max(16, opt.Stride))
	default:
		return min(64, opt.Block)
	}
}

func (Sparse) WorkspaceBytes(s Shape, opt Options) int64 {
	bq, bk := sparseRowTile(opt), keyTile(s.D)
	threads := threadCount(opt.Threads, mulSize(s.B, s.H, ceilDiv(s.N, bq)))
	rowList := 0
	if opt.Pattern != "bigbird" {
		// Tiles pack the query heads of a K/V head, with their row list.
		bq = mulSize(max(1, bq/s.Group()), s.Group())
		rowList = bq
	}
	n := mulSize(threads, addSize(tileFloats(s.D, bq, bk), tileInts(bq), rowList))
	switch opt.Pattern {
	case "strided":
		n = addSize(n, mulSize(2, s.B, s.H, s.N))
	case "fixed":
		n = addSize(n, mulSize(2, summaryCount(s.M, opt.Stride, opt.Summary), s.D))
	case "bigbird":
		n = addSize(n, mulSize(s.H, bigbirdBlocks(s, opt), opt.Random))
	}
	return workspaceBytes(n)
}

func (sp Sparse) Forward(q, k, v, out Tensor, opt Options, ws *Workspace) error {
	s, err := prepare(sp, q, k, v, out, opt)
	if err != nil {
		return err
	}
	switch opt.Pattern {
	case "strided":
		sp.strided(s, opt, q, k, v, out, ws)
	case "fixed":
		sp.fixed(s, opt, q, k, v, out, ws)
	default:
		sp.bigbird(s, opt, q, k, v, out, ws)
	}
	return nil
}

// stridedJob runs the strided pattern in two passes over the same running
// state: the band |i−j| < l in tiles of consecutive positions, then per
// residue class ρ the other keys of the column, j ≡ i (mod l), j ≠ i. The
// running max and sum of every row persist between the passes in mAll,
// lAll; the output rows hold the unnormalised accumulator until the second
// pass finishes them (every row is in exactly one class). A tile packs the
// query heads that share a K/V head (GQA), position by position, so the
// K/V it reads serves them all.
type stridedJob struct {
	s             Shape
	l             int
	causal        bool
	group         int // G
	rq            int // positions per tile
	off, pLo      int // M − N; the first query position ≥ 0
	bandTiles     int // per K/V head
	classes       int
	tilesPerClass int
	q, k, v, out  Tensor
	mAll, lAll    []float32
	fault         sparseFault
}

func (sp Sparse) strided(s Shape, opt Options, q, k, v, out Tensor, ws *Workspace) {
	l := opt.Stride
	G := s.Group()
	rq := max(1, sparseRowTile(opt)/G)
	rows := rq * G
	state := ws.Float32s(2 * s.B * s.H * s.N)
	off, pLo := s.Offset(), max(0, s.Offset())
	queries := s.M - pLo // query positions [pLo, M)
	job := stridedJob{s: s, l: l, causal: opt.Causal, group: G, rq: rq, q: q, k: k, v: v, out: out,
		mAll: state[:s.B*s.H*s.N], lAll: state[s.B*s.H*s.N:], fault: sp.fault, off: off, pLo: pLo,
		bandTiles: ceilDiv(queries, rq), classes: min(l, queries), tilesPerClass: ceilDiv(ceilDiv(queries, l), rq)}
	clearEmptyRows(s, opt, out)
	heads := s.B * s.KVHeads()
	bandItems, columnItems := heads*job.bandTiles, heads*job.classes*job.tilesPerClass
	workers := newTeam(threadCount(threadsFor(opt.Threads, Sparse{}.Flops(s, opt)), bandItems), func(int) tileWorker {
		return newTileWorker(ws, asm.Active(), s.D, opt.ScaleFor(s.D), rows, keyTile(s.D), rows)
	})
	onThreads(job, bandItems, workers, stridedJob.runBand)
	onThreads(job, columnItems, workers, stridedJob.runColumn)
	workers.each(func(w tileWorker) { w.release(ws) })
	ws.PutFloat32s(state)
}

func (j stridedJob) runBand(it int, w tileWorker)   { j.band(it, &w.t, w.perm) }
func (j stridedJob) runColumn(it int, w tileWorker) { j.column(it, &w.t, w.perm) }

func (j *stridedJob) band(it int, t *tileAttn, perm []int32) {
	s, d, l, G := j.s, j.s.D, j.l, j.group
	bkv, tile := it/j.bandTiles, it%j.bandTiles
	b, kvh := bkv/s.KVHeads(), bkv%s.KVHeads()
	p0 := j.pLo + tile*j.rq
	rows := min(j.rq, s.M-p0) * G
	for x := range rows {
		perm[x] = int32((x%G)*s.N + p0 + x/G - j.off)
	}
	// The group's query heads are consecutive, N·D apart.
	t.beginLocal(rows, j.q.Data[(b*s.H+kvh*G)*s.N*d:], d, perm[:rows], false, nil, d, nil, nil)
	kLo, kHi := s.M, 0
	for x := range rows {
		pos := p0 + x/G
		lo, hi := max(0, pos-l+1), min(s.M, pos+l)
		if j.causal {
			hi = min(s.M, pos+1)
		}
		t.setSpan(x, lo, hi, 0, 0)
		if lo < hi {
			kLo, kHi = min(kLo, lo), max(kHi, hi)
		}
	}
	if kLo < kHi {
		t.attend(j.k.Head(b, kvh), j.v.Head(b, kvh), d, kLo, kHi)
	}
	// The unnormalised state, to each head's output row and mAll, lAll.
	for x, r := range perm[:rows] {
		h := kvh*G + x%G
		row := int(r) - (x%G)*s.N
		copy(j.out.Head(b, h)[row*d:(row+1)*d], t.qt.o[x*d:(x+1)*d])
		at := (b*s.H+h)*s.N + row
		j.mAll[at], j.lAll[at] = t.qt.m[x], t.qt.l[x]
	}
}

func (j *stridedJob) column(it int, t *tileAttn, perm []int32) {
	s, d, l, G := j.s, j.s.D, j.l, j.group
	perHead := j.classes * j.tilesPerClass
	bkv, r := it/perHead, it%perHead
	b, kvh := bkv/s.KVHeads(), bkv%s.KVHeads()
	c, tile := r/j.tilesPerClass, r%j.tilesPerClass
	// Class c: query positions pLo + c + l·t, position ρ + l·a in class
	// coordinates a, like its keys ρ + l·b.
	rho := (j.pLo + c) % l
	na, _ := classLen(s.M, 0, rho, l)
	a0 := (j.pLo+c)/l + tile*j.rq
	if a0 >= na {
		return
	}
	rows := min(j.rq, na-a0) * G
	for x := range rows {
		perm[x] = int32((x%G)*s.N + rho + l*(a0+x/G) - j.off)
	}
	t.beginLocal(rows, j.q.Data[(b*s.H+kvh*G)*s.N*d:], d, perm[:rows], false, nil, d, nil, nil)
	// The band pass's state of these rows.
	for x, r := range perm[:rows] {
		h := kvh*G + x%G
		row := int(r) - (x%G)*s.N
		copy(t.qt.o[x*d:(x+1)*d], j.out.Head(b, h)[row*d:(row+1)*d])
		at := (b*s.H+h)*s.N + row
		t.qt.m[x], t.qt.l[x] = j.mAll[at], j.lAll[at]
	}
	mb := na
	if mb > 0 {
		kHi := 0
		for x := range rows {
			a := a0 + x/G
			// Non-causal: every key of the class but j = i (in the band);
			// causal: the keys before it.
			hi, xlo, xhi := mb, a, a+1
			if j.causal {
				hi, xlo, xhi = min(mb, a), 0, 0
			}
			if j.fault == sparseFaultColumn {
				hi--
			}
			t.setSpan(x, 0, hi, xlo, xhi)
			kHi = max(kHi, hi)
		}
		if kHi > 0 {
			ld := l * d
			t.attend(j.k.Head(b, kvh)[rho*d:], j.v.Head(b, kvh)[rho*d:], ld, 0, kHi)
		}
	}
	t.finishPacked(j.out, b, kvh*G, G, perm[:rows])
}

// fixedJob runs the fixed pattern per K/V head: the summary keys (j mod
// l ≥ l−c) are gathered into ks, vs, then each tile of query positions
// inside one block attends to the non-summary part of its own block and
// to the summary keys. A tile packs the query heads that share the K/V
// head (GQA), position by position, so the K/V it reads serves them all.
type fixedJob struct {
	s         Shape
	l, c      int
	causal    bool
	group     int // G
	rq        int // positions per tile
	off, pLo  int // M − N; the first query position ≥ 0
	subTiles  int // query tiles per block
	q, out    Tensor
	b, kvh    int       // the K/V head being run
	k, v      []float32 // its K and V
	ks, vs    []float32
	summaries int
	fault     sparseFault
}

func (sp Sparse) fixed(s Shape, opt Options, q, k, v, out Tensor, ws *Workspace) {
	l, c := opt.Stride, min(opt.Summary, opt.Stride)
	bq := sparseRowTile(opt)
	ns := summaryCount(s.M, l, c)
	buf := ws.Float32s(2 * ns * s.D)
	off, pLo := s.Offset(), max(0, s.Offset())
	G := s.Group()
	rq := max(1, bq/G)
	rows := rq * G
	job := fixedJob{s: s, l: l, c: c, causal: opt.Causal, group: G, rq: rq, subTiles: ceilDiv(min(l, s.M-pLo), rq),
		q: q, out: out, ks: buf[:ns*s.D], vs: buf[ns*s.D:], summaries: ns, fault: sp.fault, off: off, pLo: pLo}
	clearEmptyRows(s, opt, out)
	// Blocks of l positions holding the query positions [pLo, M).
	items := ((s.M-1)/l - pLo/l + 1) * job.subTiles
	workers := newTeam(threadCount(threadsFor(opt.Threads, Sparse{}.Flops(s, opt)), items), func(int) tileWorker {
		return newTileWorker(ws, asm.Active(), s.D, opt.ScaleFor(s.D), rows, keyTile(s.D), rows)
	})
	for bkv := range s.B * s.KVHeads() {
		job.head(bkv, k, v)
		onThreads(job, items, workers, fixedJob.runTile)
	}
	workers.each(func(w tileWorker) { w.release(ws) })
	ws.PutFloat32s(buf)
}

func (j fixedJob) runTile(it int, w tileWorker) { j.tile(it, &w.t, w.perm) }

// head selects K/V head bkv (batch·Hkv + head) and gathers its summaries.
func (j *fixedJob) head(bkv int, k, v Tensor) {
	j.b, j.kvh = bkv/j.s.KVHeads(), bkv%j.s.KVHeads()
	j.k, j.v = k.Head(j.b, j.kvh), v.Head(j.b, j.kvh)
	j.gather()
}

// gather copies the summary keys and values of the head into ks, vs, in
// position order.
func (j *fixedJob) gather() {
	d, n := j.s.D, 0
	for blk := 0; blk*j.l < j.s.M; blk++ {
		lo, hi := blk*j.l+j.l-j.c, min(j.s.M, blk*j.l+j.l)
		for pos := lo; pos < hi; pos++ {
			copy(j.ks[n*d:(n+1)*d], j.k[pos*d:(pos+1)*d])
			copy(j.vs[n*d:(n+1)*d], j.v[pos*d:(pos+1)*d])
			n++
		}
	}
}

func (j *fixedJob) tile(it int, t *tileAttn, perm []int32) {
	s, d, l, G := j.s, j.s.D, j.l, j.group
	blk, sub := j.pLo/l+it/j.subTiles, it%j.subTiles
	start := blk * l
	r0 := max(start, j.pLo) + sub*j.rq // a position
	end := min(s.M, start+l)
	if r0 >= end {
		return
	}
	rows := min(j.rq, end-r0) * G
	for x := range rows {
		perm[x] = int32((x%G)*s.N + r0 + x/G - j.off)
	}
	// The group's query heads are consecutive, N·D apart.
	qg := j.q.Data[(j.b*s.H+j.kvh*G)*s.N*d:]
	t.beginLocal(rows, qg, d, perm[:rows], false, nil, d, nil, nil)

	// The own block's keys that are not summary keys.
	ownEnd := min(s.M, start+l-j.c)
	if start < ownEnd {
		for x := range rows {
			hi := ownEnd
			if j.causal {
				hi = min(hi, r0+x/G+1)
			}
			t.setSpan(x, start, hi, 0, 0)
		}
		t.attend(j.k, j.v, d, start, ownEnd)
	}
	// The summary keys of every block, own included.
	if j.summaries > 0 {
		lo := 0
		if j.fault == sparseFaultSummary {
			lo = 1
		}
		for x := range rows {
			hi := j.summaries
			if j.causal {
				hi = summaryCount(min(s.M, r0+x/G+1), l, j.c)
			}
			t.setSpan(x, lo, hi, 0, 0)
		}
		t.attend(j.ks, j.vs, d, 0, j.summaries)
	}
	t.finishPacked(j.out, j.b, j.kvh*G, G, perm[:rows])
}

// bigbirdJob runs BigBird: per query block, its list of key blocks.
type bigbirdJob struct {
	s            Shape
	b, r, nb     int
	causal       bool
	bq           int
	subTiles     int
	random       []int32
	q, k, v, out Tensor
	fault        sparseFault
}

func (sp Sparse) bigbird(s Shape, opt Options, q, k, v, out Tensor, ws *Workspace) {
	bq := sparseRowTile(opt)
	nb := bigbirdBlocks(s, opt)
	random := ws.Int32s(s.H * nb * opt.Random)
	bigbirdRandomBlocks(s.H, nb, opt.Random, opt.Causal, opt.Seed, random)
	job := bigbirdJob{s: s, b: opt.Block, r: opt.Random, nb: nb, causal: opt.Causal, bq: bq,
		subTiles: ceilDiv(opt.Block, bq), random: random, q: q, k: k, v: v, out: out, fault: sp.fault}
	items := s.B * s.H * nb * job.subTiles
	workers := newTeam(threadCount(threadsFor(opt.Threads, Sparse{}.Flops(s, opt)), items), func(int) tileWorker {
		return newTileWorker(ws, asm.Active(), s.D, opt.ScaleFor(s.D), bq, keyTile(s.D), 0)
	})
	onThreads(job, items, workers, bigbirdJob.runTile)
	workers.each(func(w tileWorker) { w.release(ws) })
	ws.PutInt32s(random)
}

func (j bigbirdJob) runTile(it int, w tileWorker) { j.tile(it, &w.t) }

func (j *bigbirdJob) tile(it int, t *tileAttn) {
	s, d, bs := j.s, j.s.D, j.b
	perHead := j.nb * j.subTiles
	bh, r := it/perHead, it%perHead
	b, h := bh/s.H, bh%s.H
	beta, sub := r/j.subTiles, r%j.subTiles
	r0 := beta*bs + sub*j.bq
	end := min(s.N, beta*bs+bs)
	if r0 >= end {
		return
	}
	rows := min(j.bq, end-r0)
	kh, vh := j.k.Head(b, s.KVHead(h)), j.v.Head(b, s.KVHead(h))
	t.begin(rows, j.q.Head(b, h)[r0*d:], d, j.out.Head(b, h)[r0*d:], d, nil, nil)
	// keys attends to the key positions [lo, hi), causal-masked per row.
	keys := func(lo, hi int) {
		hi = min(hi, s.N)
		for i := range rows {
			e := hi
			if j.causal {
				e = min(e, r0+i+1)
			}
			t.setSpan(i, lo, e, 0, 0)
		}
		t.attend(kh, vh, d, lo, hi)
	}
	if beta == 0 || beta == j.nb-1 {
		keys(0, s.N)
	} else {
		keys((beta-1)*bs, (beta+2)*bs)
		if beta-1 > 0 {
			keys(0, bs)
		}
		if beta+1 < j.nb-1 {
			keys((j.nb-1)*bs, j.nb*bs)
		}
		if j.fault != sparseFaultNoRandom {
			for _, x := range j.random[(h*j.nb+beta)*j.r : (h*j.nb+beta+1)*j.r] {
				if x >= 0 {
					keys(int(x)*bs, int(x+1)*bs)
				}
			}
		}
	}
	t.finish()
}
