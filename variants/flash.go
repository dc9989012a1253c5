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
	return g
}

// flashScratch is the per-thread working set, in floats: the query tile's
// state plus one score tile.
func flashScratch(s Shape, g flashGeom) int {
	return addSize(queryTileFloats(s.D, g.width), mulSize(g.bk, g.width))
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
	threads := threadCount(opt.Threads, mulSize(g.items, g.slices))
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
	units := g.items * g.slices
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
// ints).
type flashWorker struct {
	scratch []float32
	perm    []int32
}

func (j flashJob) runUnit(u int, w flashWorker) { j.tile(u, w.scratch, w.perm) }

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

// tile computes unit u (tile u/slices, key slice u%slices): for each key
// tile of the slice, scores (with the running max), the online-softmax
// step and the rescaled P·V accumulation; then the division by l, or
// (split) the unnormalised state for merge.
func (f *flashJob) tile(u int, scratch []float32, perm []int32) {
	s, g := f.s, &f.g
	it, slice := u/g.slices, u%g.slices
	b, kvh, r0, rq, rows := f.rowsOf(it)
	d, w := s.D, g.width

	t := newQueryTile(f.kern, d, w, scratch, f.fault)
	t.narrow = g.narrow
	sTile := scratch[queryTileFloats(d, w):][:g.bk*w]
	// The group's query heads are consecutive, N·D apart.
	h0 := kvh * g.group
	qg := f.q.Data[(b*s.H+h0)*s.N*d:]
	if g.group == 1 {
		t.startRows(qg[r0*d:], nil, rows, f.scale)
	} else {
		for c := range rows {
			perm[c] = int32((c%g.group)*s.N + r0 + c/g.group)
		}
		t.startRows(qg, perm[:rows], rows, f.scale)
	}
	kh, vh := f.k.Head(b, kvh), f.v.Head(b, kvh)

	// Keys visible to some row of this tile: all, or j ≤ its last
	// position when causal (tiles wholly above the diagonal are skipped).
	p0 := s.QueryPos(r0)
	kEnd := s.M
	if f.causal {
		kEnd = min(s.M, p0+rq)
	}
	k0, k1 := slice*g.sliceLen, min(kEnd, (slice+1)*g.sliceLen)
	for c0 := k0; c0 < k1; c0 += g.bk {
		cols := min(g.bk, k1-c0)
		if f.fault == faultDropTail && cols < g.bk {
			break
		}
		t.step(kh, vh, c0, cols, p0, g.group, f.causal, sTile)
	}
	if g.slices == 1 {
		f.finish(&t, b, h0, r0, rows)
		return
	}
	// Unnormalised state for merge; a slice past the tile's keys is empty.
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
