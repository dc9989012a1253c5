package variants

import (
	"fmt"

	"github.com/attnbench/attnbench/asm"
)

// Sparse is fixed-pattern sparse attention, exact softmax over a candidate
// set C(i) that depends only on positions (DESIGN §2):
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
// Causal intersects every set with j ≤ i. For BigBird with causal set, the
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
			return fmt.Errorf("-stride %d: must be ≥ 1", opt.Stride)
		}
		if opt.Pattern == "fixed" && opt.Summary < 1 {
			return fmt.Errorf("-summary %d: must be ≥ 1", opt.Summary)
		}
	case "bigbird":
		switch {
		case opt.Block < 1:
			return fmt.Errorf("-block %d: must be ≥ 1", opt.Block)
		case opt.Random < 0:
			return fmt.Errorf("-random %d: must be ≥ 0", opt.Random)
		case s.M != s.N:
			return fmt.Errorf("-pattern bigbird: needs m = n (self-attention), got n=%d m=%d: %w", s.N, s.M, ErrUnsupported)
		case opt.Block > s.N:
			return fmt.Errorf("-block %d: larger than n=%d; bigbird needs the sequence cut into blocks: %w", opt.Block, s.N, ErrUnsupported)
		}
	default:
		return fmt.Errorf("-pattern %q: unknown (want strided, fixed or bigbird)", opt.Pattern)
	}
	return nil
}

// summaryCount returns how many of the positions 0..n−1 are summary keys of
// the fixed pattern (j mod l ≥ l−c).
func summaryCount(n, l, c int) int {
	c = min(c, l)
	return n/l*c + max(0, n%l-(l-c))
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
			for j := range s.M {
				d := i - j
				var in bool
				if causal {
					in = j <= i && (d < l || d%l == 0)
				} else {
					in = (d < l && d > -l) || d%l == 0
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
	threads := threadCount(opt.Threads, s.B*s.H*ceilDiv(s.N, bq))
	n := int64(threads) * int64(tileFloats(s.D, bq, bk)+tileInts(bq))
	switch opt.Pattern {
	case "strided":
		n += 2 * int64(s.B*s.H*s.N)
	case "fixed":
		n += 2 * int64(summaryCount(s.M, opt.Stride, opt.Summary)*s.D)
	case "bigbird":
		n += int64(s.H * bigbirdBlocks(s, opt) * opt.Random)
	}
	return 4 * n
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

// runItems runs items work items on opt.Threads goroutines, each worker
// with its own tile. (Callers run the single-threaded case inline, without
// the closure, so that it allocates nothing.)
func runItems(ws *Workspace, opt Options, s Shape, bq, bk, items int, fn func(it int, t *tileAttn)) {
	threads := threadCount(opt.Threads, items)
	tiles := make([]tileAttn, threads)
	for i := range tiles {
		tiles[i] = newTile(ws, asm.Active(), s.D, opt.ScaleFor(s.D), bq, bk)
	}
	forEach(threads, items, func(w, it int) { fn(it, &tiles[w]) })
	for i := range tiles {
		tiles[i].release(ws)
	}
}

// stridedJob runs the strided pattern in two passes over the same running
// state: the band |i−j| < l in tiles of consecutive rows, then per residue
// class ρ the other keys of the column, j ≡ i (mod l), j ≠ i. The running
// max and sum of every row persist between the passes in mAll, lAll;
// the output rows hold the unnormalised accumulator until the second pass
// finishes them (every row is in exactly one class).
type stridedJob struct {
	s             Shape
	l             int
	causal        bool
	bq            int
	bandTiles     int
	classes       int
	tilesPerClass int
	q, k, v, out  Tensor
	mAll, lAll    []float32
	fault         sparseFault
}

func (sp Sparse) strided(s Shape, opt Options, q, k, v, out Tensor, ws *Workspace) {
	l := opt.Stride
	bq := sparseRowTile(opt)
	state := ws.Float32s(2 * s.B * s.H * s.N)
	job := stridedJob{s: s, l: l, causal: opt.Causal, bq: bq, q: q, k: k, v: v, out: out,
		mAll: state[:s.B*s.H*s.N], lAll: state[s.B*s.H*s.N:], fault: sp.fault,
		bandTiles: ceilDiv(s.N, bq), classes: min(l, s.N), tilesPerClass: ceilDiv(ceilDiv(s.N, l), bq)}
	if threadCount(opt.Threads, s.B*s.H*job.bandTiles) == 1 {
		// Without a closure, so that this path allocates nothing.
		t := newTile(ws, asm.Active(), s.D, opt.ScaleFor(s.D), bq, keyTile(s.D))
		for it := range s.B * s.H * job.bandTiles {
			job.band(it, &t)
		}
		for it := range s.B * s.H * job.classes * job.tilesPerClass {
			job.column(it, &t)
		}
		t.release(ws)
	} else {
		j := job
		runItems(ws, opt, s, bq, keyTile(s.D), s.B*s.H*j.bandTiles, j.band)
		runItems(ws, opt, s, bq, keyTile(s.D), s.B*s.H*j.classes*j.tilesPerClass, j.column)
	}
	ws.PutFloat32s(state)
}

func (j *stridedJob) band(it int, t *tileAttn) {
	s, d, l := j.s, j.s.D, j.l
	bh, tile := it/j.bandTiles, it%j.bandTiles
	b, h := bh/s.H, bh%s.H
	r0 := tile * j.bq
	rows := min(j.bq, s.N-r0)
	m, lsum := j.mAll[bh*s.N+r0:], j.lAll[bh*s.N+r0:]
	t.begin(rows, j.q.Head(b, h)[r0*d:], d, j.out.Head(b, h)[r0*d:], d, nil, nil)
	kLo, kHi := s.M, 0
	for i := range rows {
		pos := r0 + i
		lo, hi := max(0, pos-l+1), min(s.M, pos+l)
		if j.causal {
			hi = min(s.M, pos+1)
		}
		t.setSpan(i, lo, hi, 0, 0)
		if lo < hi {
			kLo, kHi = min(kLo, lo), max(kHi, hi)
		}
	}
	if kLo < kHi {
		t.attend(j.k.Head(b, h), j.v.Head(b, h), d, kLo, kHi)
	}
	t.store(m, lsum)
}

func (j *stridedJob) column(it int, t *tileAttn) {
	s, d, l := j.s, j.s.D, j.l
	perHead := j.classes * j.tilesPerClass
	bh, r := it/perHead, it%perHead
	b, h := bh/s.H, bh%s.H
	rho, tile := r/j.tilesPerClass, r%j.tilesPerClass
	na, _ := classLen(s.N, 0, rho, l)
	a0 := tile * j.bq
	if a0 >= na {
		return
	}
	rows := min(j.bq, na-a0)
	ld := l * d
	// The class's rows sit l apart in the output and in mAll, lAll: gather
	// their running state into the tile's.
	m, lsum := t.qt.alpha[:rows], t.qt.junk[:rows]
	for i := range rows {
		pos := bh*s.N + rho + l*(a0+i)
		m[i], lsum[i] = j.mAll[pos], j.lAll[pos]
	}
	t.begin(rows, j.q.Head(b, h)[(rho+l*a0)*d:], ld, j.out.Head(b, h)[(rho+l*a0)*d:], ld, m, lsum)
	mb, _ := classLen(s.M, 0, rho, l)
	if mb > 0 {
		kHi := 0
		for i := range rows {
			a := a0 + i
			// Non-causal: every key of the class but j = i (in the band);
			// causal: the keys before it.
			hi, xlo, xhi := mb, a, a+1
			if j.causal {
				hi, xlo, xhi = min(mb, a), 0, 0
			}
			if j.fault == sparseFaultColumn {
				hi--
			}
			t.setSpan(i, 0, hi, xlo, xhi)
			kHi = max(kHi, hi)
		}
		if kHi > 0 {
			t.attend(j.k.Head(b, h)[rho*d:], j.v.Head(b, h)[rho*d:], ld, 0, kHi)
		}
	}
	t.finish()
}

// fixedJob runs the fixed pattern per head: the summary keys (j mod l ≥ l−c)
// are gathered into ks, vs, then each tile of query rows inside one block
// attends to the non-summary part of its own block and to the summary keys.
type fixedJob struct {
	s         Shape
	l, c      int
	causal    bool
	bq        int
	subTiles  int // query tiles per block
	q, out    []float32
	k, v      []float32
	ks, vs    []float32
	summaries int
	fault     sparseFault
}

func (sp Sparse) fixed(s Shape, opt Options, q, k, v, out Tensor, ws *Workspace) {
	l, c := opt.Stride, min(opt.Summary, opt.Stride)
	bq := sparseRowTile(opt)
	ns := summaryCount(s.M, l, c)
	buf := ws.Float32s(2 * ns * s.D)
	job := fixedJob{s: s, l: l, c: c, causal: opt.Causal, bq: bq, subTiles: ceilDiv(min(l, s.N), bq),
		ks: buf[:ns*s.D], vs: buf[ns*s.D:], summaries: ns, fault: sp.fault}
	items := ceilDiv(s.N, l) * job.subTiles
	for b := range s.B {
		for h := range s.H {
			job.q, job.k, job.v, job.out = q.Head(b, h), k.Head(b, h), v.Head(b, h), out.Head(b, h)
			job.gather()
			if threadCount(opt.Threads, items) == 1 {
				t := newTile(ws, asm.Active(), s.D, opt.ScaleFor(s.D), bq, keyTile(s.D))
				for it := range items {
					job.tile(it, &t)
				}
				t.release(ws)
				continue
			}
			j := job
			runItems(ws, opt, s, bq, keyTile(s.D), items, j.tile)
		}
	}
	ws.PutFloat32s(buf)
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

func (j *fixedJob) tile(it int, t *tileAttn) {
	s, d, l := j.s, j.s.D, j.l
	blk, sub := it/j.subTiles, it%j.subTiles
	start := blk * l
	r0 := start + sub*j.bq
	end := min(s.N, start+l)
	if r0 >= end {
		return
	}
	rows := min(j.bq, end-r0)
	t.begin(rows, j.q[r0*d:], d, j.out[r0*d:], d, nil, nil)

	// The own block's keys that are not summary keys.
	ownEnd := min(s.M, start+l-j.c)
	if start < ownEnd {
		for i := range rows {
			hi := ownEnd
			if j.causal {
				hi = min(hi, r0+i+1)
			}
			t.setSpan(i, start, hi, 0, 0)
		}
		t.attend(j.k, j.v, d, start, ownEnd)
	}
	// The summary keys of every block, own included.
	if j.summaries > 0 {
		lo := 0
		if j.fault == sparseFaultSummary {
			lo = 1
		}
		for i := range rows {
			hi := j.summaries
			if j.causal {
				hi = summaryCount(min(s.M, r0+i+1), l, j.c)
			}
			t.setSpan(i, lo, hi, 0, 0)
		}
		t.attend(j.ks, j.vs, d, 0, j.summaries)
	}
	t.finish()
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
	if threadCount(opt.Threads, items) == 1 {
		t := newTile(ws, asm.Active(), s.D, opt.ScaleFor(s.D), bq, keyTile(s.D))
		for it := range items {
			job.tile(it, &t)
		}
		t.release(ws)
	} else {
		j := job
		runItems(ws, opt, s, bq, keyTile(s.D), items, j.tile)
	}
	ws.PutInt32s(random)
}

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
	kh, vh := j.k.Head(b, h), j.v.Head(b, h)
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
