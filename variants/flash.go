package variants

import (
	"cmp"
	"math"

	"github.com/attnbench/attnbench/asm"
)

// Flash is the FlashAttention-2 forward pass: query tiles outer, key tiles
// inner, a running max m and running sum l per query row, the output
// accumulator rescaled by α = e^(m−m′) once per key tile, and the division
// by l once at the end. Causal attention skips key tiles wholly above the
// diagonal and masks only the tiles that cross it. Working memory is a few
// tiles per thread, independent of N and M.
//
// The loop order is a tuned choice (Tiles.Pass): by default each query tile
// makes its own pass over the keys; with Pass = P, P consecutive query tiles
// share one pass, each key tile stepping all P of them while it is in L1/L2,
// so K and V are read from L3 or memory once per P tiles instead of once
// per tile. Every query tile sees the same key tiles in the same order
// either way, so the output bits do not depend on the order. (P > 1
// departs from the design's "query tiles outer, key tiles inner":
// docs/design.md, Departures.)
type Flash struct {
	// fault injects one known bug, for the tests that prove the parity
	// rule catches it (see export_test.go). Always zero outside tests.
	fault flashFault
}

// flashFault names a deliberately injected bug.
type flashFault int

const (
	noFault           flashFault = iota
	faultMaskOffByOne            // causal rows also see the key just after them
	faultNoRescale               // the accumulator is not rescaled when the max grows
	faultDropTail                // the last partial key tile is ignored
)

func init() { Register("flash", func() Variant { return Flash{} }) }

func (Flash) Name() string     { return "flash" }
func (Flash) Exact() bool      { return true }
func (Flash) Params() []string { return []string{"block-q", "block-k"} }

func (Flash) Validate(s Shape, opt Options) error {
	if err := s.Check(); err != nil {
		return err
	}
	if opt.BlockQ < 0 {
		return badParam("block-q", opt.BlockQ, "must be ≥ 1 (or 0 for the tuned tile, else 64)")
	}
	if opt.BlockK < 0 {
		return badParam("block-k", opt.BlockK, "must be ≥ 1 (or 0 to choose by d)")
	}
	return nil
}

func (Flash) Flops(s Shape, opt Options) float64 { return Full{}.Flops(s, opt) }

// flashTiles returns the query and key tile sizes for shape s: the
// options', else the tuned ones (tuning.go), else the defaults.
func flashTiles(s Shape, opt Options) (bq, bk int) {
	t := tilesFor(EngineFlash, s.D, opt.Causal)
	bq, bk = cmp.Or(opt.BlockQ, t.BQ), cmp.Or(opt.BlockK, t.BK)
	return min(bq, s.N), min(bk, s.M)
}

// flashGeom is the work decomposition of one flash Forward. A tile packs
// the G = H/Hkv query heads that share a K/V head, position by position
// (column c is head c mod G at row r0 + c/G), so every K/V tile loaded
// serves all G heads: rq positions × G heads per tile, rq·G ≈ block-q.
// With too few tiles to occupy the cores (decode: N = 1), the keys of
// every tile are split into slices, each with its own running max and sum,
// merged at the end (flash-decoding). Slices depend on the shape and
// constants only, never on the thread count, so the bits do not either.
type flashGeom struct {
	bq, bk   int
	pass     int  // query tiles per pass over the keys (Tiles.Pass)
	passes   int  // passes per K/V head: ⌈qTiles/pass⌉
	group    int  // G
	rq       int  // query positions per tile
	width    int  // tile columns
	narrow   bool // a narrow tile (queryTile.narrow)
	i0       int  // first query row computed (causal: rows before see no key)
	qTiles   int  // tiles per K/V head
	items    int  // B·Hkv·qTiles
	slices   int  // key slices per tile (1: no split)
	sliceLen int  // keys per slice, a multiple of bk
}

// Split-K constants: split when a Forward has fewer than flashSplitItems
// tiles, into slices of at least flashSliceMin keys, aiming at
// flashSplitUnits (tile, slice) units in all.
const (
	flashSplitItems = 32
	flashSplitUnits = 64
	flashSliceMin   = 512
)

func flashGeometry(s Shape, opt Options) flashGeom {
	g := flashGeom{group: s.Group()}
	g.bq, g.bk = flashTiles(s, opt)
	g.pass = tilesFor(EngineFlash, s.D, opt.Causal).Pass
	if opt.Causal {
		g.i0 = s.FirstVisible()
	}
	rows := s.N - g.i0
	g.rq = max(1, min(rows, g.bq/g.group))
	g.width = tileWidth(g.rq * g.group)
	if g.rq*g.group <= narrowWidth {
		g.width, g.narrow = narrowWidth, true
	}
	g.qTiles = ceilDiv(rows, g.rq)
	g.items = mulSize(s.B, s.KVHeads(), g.qTiles)
	g.slices, g.sliceLen = 1, s.M
	if g.items < flashSplitItems && s.M >= 2*flashSliceMin {
		n := min(ceilDiv(s.M, flashSliceMin), ceilDiv(flashSplitUnits, g.items))
		g.sliceLen = ceilDiv(ceilDiv(s.M, n), g.bk) * g.bk
		g.slices = ceilDiv(s.M, g.sliceLen)
	}
	// Split-K already gives each unit a fraction of the keys: tiles
	// sharing a pass would only take units from the cores. Otherwise a
	// pass is cut so that every thread still gets flashUnitsPerThread
	// units (the tuner chose it on one thread; on many cores and few
	// heads a long pass would leave cores idle). The output bits do not
	// depend on the pass, so it may depend on the thread count.
	if g.slices > 1 {
		g.pass = 1
	}
	threads := threadCount(opt.Threads, g.items)
	g.pass = max(1, min(g.pass, g.qTiles, MaxFlashPass, g.items/(flashUnitsPerThread*threads)))
	g.passes = ceilDiv(g.qTiles, g.pass)
	return g
}

// units is the number of work units: a pass (g.pass query tiles over the
// keys) per K/V head, or a (tile, key slice) pair when the keys are split.
func (g *flashGeom) units(s Shape) int {
	if g.slices > 1 {
		return mulSize(g.items, g.slices)
	}
	return mulSize(s.B, s.KVHeads(), g.passes)
}

// flashScratch is the per-thread working set, in floats: the state of the
// query tiles of one pass plus one score tile.
func flashScratch(s Shape, g flashGeom) int {
	return addSize(mulSize(g.pass, queryTileFloats(s.D, g.width)), mulSize(g.bk, g.width))
}

// flashSplitFloats is the split-K buffer: per (tile, slice) its
// unnormalised output rows and running max and sum.
func flashSplitFloats(s Shape, g flashGeom) int {
	if g.slices == 1 {
		return 0
	}
	return mulSize(g.items, g.slices, addSize(mulSize(g.width, s.D), mulSize(2, g.width)))
}

func (Flash) WorkspaceBytes(s Shape, opt Options) int64 {
	g := flashGeometry(s, opt)
	threads := threadCount(opt.Threads, g.units(s))
	return workspaceBytes(addSize(mulSize(threads, addSize(flashScratch(s, g), g.width)), flashSplitFloats(s, g)))
}

func (f Flash) Reference(q, k, v Tensor, opt Options) ([]float64, error) {
	return SoftmaxAttention64(q, k, v, opt)
}

func (f Flash) Naive(q, k, v Tensor, opt Options) ([]float32, error) {
	return softmaxAttention32(q, k, v, opt)
}

func (f Flash) Forward(q, k, v, out Tensor, opt Options, ws *Workspace) error {
	s, err := prepare(f, q, k, v, out, opt)
	if err != nil {
		return err
	}
	g := flashGeometry(s, opt)
	// Causal rows before key 0 (N > M) have empty sets: zero.
	for bh := range s.B * s.H {
		clear(out.Head(bh/s.H, bh%s.H)[:g.i0*s.D])
	}
	units := g.units(s)
	threads := threadCount(threadsFor(opt.Threads, f.Flops(s, opt)), units)
	job := flashJob{s: s, g: g, scale: opt.ScaleFor(s.D), causal: opt.Causal,
		q: q, k: k, v: v, out: out, kern: asm.Active(), fault: f.fault}
	if g.slices > 1 {
		job.split = ws.Float32sDirty(flashSplitFloats(s, g))
		defer ws.PutFloat32s(job.split)
	}
	workers := newTeam(threads, func(int) flashWorker {
		return flashWorker{scratch: ws.Float32s(flashScratch(s, g)), perm: ws.Int32s(g.width)}
	})
	onThreads(job, units, workers, flashJob.runUnit)
	workers.each(func(w flashWorker) {
		ws.PutFloat32s(w.scratch)
		ws.PutInt32s(w.perm)
	})
	if g.slices > 1 {
		for it := range g.items {
			job.merge(it)
		}
	}
	return nil
}

// flashWorker is one goroutine's scratch (flashScratch floats, g.width
// ints) and room for the query tiles of one pass, held in the value so
// that a Forward allocates nothing.
type flashWorker struct {
	scratch []float32
	perm    []int32
	tiles   [MaxFlashPass]queryTile
	spans   [MaxFlashPass]tileSpan
}

// flashUnitsPerThread is the least number of work units per thread that a
// pass of several query tiles may leave, so that uneven units (causal
// tiles) still balance across the threads.
const flashUnitsPerThread = 4

// MaxFlashPass bounds Tiles.Pass: 8 query tiles of 64 rows at d = 128 keep
// 0.5 MB of query and output state, about the L2 of the cores it helps.
const MaxFlashPass = 8

func (j flashJob) runUnit(u int, w flashWorker) {
	if j.g.slices > 1 {
		j.slice(u, w.scratch, w.perm)
		return
	}
	j.pass(u, w)
}

type flashJob struct {
	s            Shape
	g            flashGeom
	scale        float32
	causal       bool
	q, k, v, out Tensor
	kern         *asm.Kernels
	fault        flashFault
	split        []float32 // split-K: per (tile, slice) o, m, l
}

// rowsOf returns tile it's first query row, its positions and its columns.
func (f *flashJob) rowsOf(it int) (b, kvh, r0, rq, rows int) {
	g, s := &f.g, f.s
	bkv, qt := it/g.qTiles, it%g.qTiles
	b, kvh = bkv/s.KVHeads(), bkv%s.KVHeads()
	r0 = g.i0 + qt*g.rq
	rq = min(g.rq, s.N-r0)
	return b, kvh, r0, rq, rq * g.group
}

// tileSpan is where one query tile lies: batch, K/V head, first query head
// h0, first row r0, its rows (columns of the tile), the position p0 of row
// r0, and kEnd, the end of the keys some row of it sees: all, or j ≤ its
// last position when causal (tiles wholly above the diagonal are skipped).
type tileSpan struct{ b, kvh, h0, r0, rows, p0, kEnd int }

func (f *flashJob) span(it int) tileSpan {
	b, kvh, r0, rq, rows := f.rowsOf(it)
	sp := tileSpan{b: b, kvh: kvh, h0: kvh * f.g.group, r0: r0, rows: rows, p0: f.s.QueryPos(r0), kEnd: f.s.M}
	if f.causal {
		sp.kEnd = min(f.s.M, sp.p0+rq)
	}
	return sp
}

// open lays the state of the tile at sp out in scratch and packs its
// queries (perm is the gather's scratch).
func (f *flashJob) open(sp tileSpan, scratch []float32, perm []int32) queryTile {
	s, g := f.s, &f.g
	d := s.D
	t := newQueryTile(f.kern, d, g.width, scratch, f.fault)
	t.narrow = g.narrow
	// The group's query heads are consecutive, N·D apart.
	qg := f.q.Data[(sp.b*s.H+sp.h0)*s.N*d:]
	if g.group == 1 {
		t.startRows(qg[sp.r0*d:], nil, sp.rows, f.scale)
	} else {
		for c := range sp.rows {
			perm[c] = int32((c%g.group)*s.N + sp.r0 + c/g.group)
		}
		t.startRows(qg, perm[:sp.rows], sp.rows, f.scale)
	}
	return t
}

// keyTile adds key tile c0 of the keys [c0, k1) to t: scores (with the
// running max), the online-softmax step and the rescaled P·V
// accumulation. It reports false for a key tile the tile does not take
// (the injected faultDropTail).
func (f *flashJob) keyTile(t *queryTile, sp tileSpan, c0, k1 int, sTile []float32) bool {
	g := &f.g
	cols := min(g.bk, k1-c0)
	if f.fault == faultDropTail && cols < g.bk {
		return false
	}
	t.step(f.k.Head(sp.b, sp.kvh), f.v.Head(sp.b, sp.kvh), c0, cols, sp.p0, g.group, f.causal, sTile)
	return true
}

// pass computes unit u, g.pass consecutive query tiles of one K/V head
// (fewer at the end): each key tile steps every tile that sees it, in tile
// order, then each tile's rows are divided by l.
func (f *flashJob) pass(u int, w flashWorker) {
	s, g := f.s, &f.g
	bkv, p := u/g.passes, u%g.passes
	first, n := bkv*g.qTiles+p*g.pass, min(g.pass, g.qTiles-p*g.pass)
	tileFloats := queryTileFloats(s.D, g.width)
	sTile := w.scratch[g.pass*tileFloats:][:g.bk*g.width]
	kEnd := 0
	for i := range n {
		w.spans[i] = f.span(first + i)
		w.tiles[i] = f.open(w.spans[i], w.scratch[i*tileFloats:], w.perm)
		kEnd = max(kEnd, w.spans[i].kEnd)
	}
	for c0 := 0; c0 < kEnd; c0 += g.bk {
		for i := range n {
			if sp := w.spans[i]; c0 < sp.kEnd {
				f.keyTile(&w.tiles[i], sp, c0, sp.kEnd, sTile)
			}
		}
	}
	for i := range n {
		sp := w.spans[i]
		f.finish(&w.tiles[i], sp.b, sp.h0, sp.r0, sp.rows)
	}
}

// slice computes unit u of a split-K Forward: tile u/slices over its key
// slice u%slices, leaving the unnormalised state for merge.
func (f *flashJob) slice(u int, scratch []float32, perm []int32) {
	s, g := f.s, &f.g
	it, slice := u/g.slices, u%g.slices
	sp := f.span(it)
	d, w := s.D, g.width
	t := f.open(sp, scratch, perm)
	sTile := scratch[queryTileFloats(d, w):][:g.bk*w]
	k0, k1 := slice*g.sliceLen, min(sp.kEnd, (slice+1)*g.sliceLen)
	for c0 := k0; c0 < k1; c0 += g.bk {
		if !f.keyTile(&t, sp, c0, k1, sTile) {
			break
		}
	}
	// Unnormalised state for merge; a slice past the tile's keys is empty.
	rows := sp.rows
	slot := f.split[u*(w*d+2*w):][:w*d+2*w]
	copy(slot[:rows*d], t.o[:rows*d])
	ms, ls := slot[w*d:w*d+w], slot[w*d+w:]
	if k0 >= k1 {
		for c := range rows {
			ms[c], ls[c] = float32(math.Inf(-1)), 0
		}
		return
	}
	copy(ms[:rows], t.m[:rows])
	copy(ls[:rows], t.l[:rows])
}

// finish writes the tile's rows O/l to the output, column c to head
// h0 + c%G, row r0 + c/G; a row that saw no key gets 0.
func (f *flashJob) finish(t *queryTile, b, h0, r0, rows int) {
	s, g := f.s, &f.g
	if g.group == 1 {
		t.finish(f.out.Head(b, h0)[r0*s.D:], rows)
		return
	}
	d := s.D
	for c := range rows {
		oi := f.out.Head(b, h0+c%g.group)[(r0+c/g.group)*d:][:d]
		if l := t.l[c]; l > 0 {
			inv := 1 / l
			for x, y := range t.o[c*d : (c+1)*d] {
				oi[x] = y * inv
			}
		} else {
			clear(oi)
		}
	}
}

// merge combines the slices of tile it, in slice order: with m* the
// largest slice max, O = Σ e^(m_s−m*)·O_s / Σ e^(m_s−m*)·l_s.
func (f *flashJob) merge(it int) {
	s, g := f.s, &f.g
	b, kvh, r0, _, rows := f.rowsOf(it)
	d, w := s.D, g.width
	size := w*d + 2*w
	slots := f.split[it*g.slices*size : (it+1)*g.slices*size]
	for c := range rows {
		mStar := float32(math.Inf(-1))
		for sl := range g.slices {
			slot := slots[sl*size:]
			if slot[w*d+w+c] > 0 {
				mStar = max(mStar, slot[w*d+c])
			}
		}
		oi := f.out.Head(b, kvh*g.group+c%g.group)[(r0+c/g.group)*d:][:d]
		clear(oi)
		var l float32
		for sl := range g.slices {
			slot := slots[sl*size:]
			ls := slot[w*d+w+c]
			if ls <= 0 {
				continue
			}
			e := float32(math.Exp(float64(slot[w*d+c] - mStar)))
			l += e * ls
			f.kern.Axpy(oi, e, slot[c*d:(c+1)*d])
		}
		if l > 0 {
			f.kern.Scale(oi, 1/l)
		}
	}
}
