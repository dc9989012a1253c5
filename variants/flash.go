package variants

import (
	"cmp"
	"fmt"

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
		return fmt.Errorf("-block-q %d: must be ≥ 1 (or 0 for the tuned tile, else 64)", opt.BlockQ)
	}
	if opt.BlockK < 0 {
		return fmt.Errorf("-block-k %d: must be ≥ 1 (or 0 to choose by d)", opt.BlockK)
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

// flashScratch is the per-thread working set, in floats: the query tile's
// state plus one score tile.
func flashScratch(s Shape, bq, bk int) int {
	w := tileWidth(bq)
	return queryTileFloats(s.D, w) + bk*w
}

func (Flash) WorkspaceBytes(s Shape, opt Options) int64 {
	bq, bk := flashTiles(s, opt)
	items := s.B * s.H * ((s.N + bq - 1) / bq)
	return 4 * int64(threadCount(opt.Threads, items)) * int64(flashScratch(s, bq, bk))
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
	bq, bk := flashTiles(s, opt)
	qTiles := (s.N + bq - 1) / bq
	items := s.B * s.H * qTiles
	threads := threadCount(opt.Threads, items)
	job := flashJob{s: s, bq: bq, bk: bk, qTiles: qTiles, scale: opt.ScaleFor(s.D), causal: opt.Causal,
		q: q, k: k, v: v, out: out, kern: asm.Active(), fault: f.fault}
	if threads == 1 {
		scratch := ws.Float32s(flashScratch(s, bq, bk))
		for it := range items {
			job.tile(it, scratch)
		}
		ws.PutFloat32s(scratch)
		return nil
	}
	scratch := make([][]float32, 0, threads)
	for range threads {
		scratch = append(scratch, ws.Float32s(flashScratch(s, bq, bk)))
	}
	j := job
	forEach(threads, items, func(w, it int) { j.tile(it, scratch[w]) })
	for _, b := range scratch {
		ws.PutFloat32s(b)
	}
	return nil
}

type flashJob struct {
	s            Shape
	bq, bk       int
	qTiles       int
	scale        float32
	causal       bool
	q, k, v, out Tensor
	kern         *asm.Kernels
	fault        flashFault
}

// tile computes one query tile of one (batch, head) into out: for each key
// tile, scores (with the running max), the online-softmax step and the
// rescaled P·V accumulation, then the division by l.
func (f *flashJob) tile(item int, scratch []float32) {
	s := f.s
	bh, qt := item/f.qTiles, item%f.qTiles
	b, h := bh/s.H, bh%s.H
	r0 := qt * f.bq
	rows := min(f.bq, s.N-r0)
	w := tileWidth(f.bq)

	t := newQueryTile(f.kern, s.D, w, scratch, f.fault)
	sTile := scratch[queryTileFloats(s.D, w):][:f.bk*w]
	t.start(f.q.Head(b, h)[r0*s.D:], rows, f.scale)
	kh, vh := f.k.Head(b, h), f.v.Head(b, h)

	// Keys visible to some row of this tile: all, or j < r0+rows when
	// causal (tiles wholly above the diagonal are skipped).
	kEnd := s.M
	if f.causal {
		kEnd = min(s.M, r0+rows)
	}
	for c0 := 0; c0 < kEnd; c0 += f.bk {
		cols := min(f.bk, kEnd-c0)
		if f.fault == faultDropTail && cols < f.bk {
			break
		}
		t.step(kh, vh, c0, cols, r0, f.causal, sTile)
	}
	t.finish(f.out.Head(b, h)[r0*s.D:], rows)
}
