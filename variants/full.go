package variants

import (
	"github.com/attnbench/attnbench/asm"
)

// Full is exact attention with the whole score matrix materialised: for
// each (batch, head), the probabilities of every (query, key) pair are
// stored in an N×M workspace, then O = P·V. Its working memory is O(N·M)
// on purpose: it is the baseline that flash's O(N) memory is measured
// against. Each block of query rows stores its part of the matrix
// transposed (one key per row, see queryTile) and runs the same tile
// kernels as flash: key tile by key tile, the scores with the running
// max, their softmax and their P·V while the tile is still in cache. So
// each tile of P is written once, to its own place in the matrix, and the
// softmax never makes a separate pass over N×M floats (which is
// memory-bound); P holds e^(s−m) for the running max m of the moment, and
// the rescale α of the accumulator makes it exact, as in flash.
type Full struct{}

func init() { Register("full", func() Variant { return Full{} }) }

// fullTiles returns the query rows one parallel work item handles and the
// key tile rows: the tuned ones (tuning.go), else 64 rows and flash's
// default key tile.
func fullTiles(s Shape, opt Options) (bq, bk int) {
	t := tilesFor(EngineFull, s.D, opt.Causal)
	return max(1, min(t.BQ, s.N)), max(1, min(t.BK, s.M))
}

func (Full) Name() string     { return "full" }
func (Full) Exact() bool      { return true }
func (Full) Params() []string { return nil }

func (Full) Validate(s Shape, opt Options) error { return s.Check() }

// Flops is docs/design.md §4's 4·B·H·N·M·D, causal half of it when M = N. Causal
// with M ≠ N counts the pairs each query sees, Σ_i min(M, p_i + 1): a
// decode step (N = 1) sees every key, not half of them.
func (Full) Flops(s Shape, opt Options) float64 {
	pairs := float64(s.N) * float64(s.M)
	if opt.Causal && s.M == s.N {
		pairs /= 2
	} else if opt.Causal {
		pairs = 0
		for i := s.FirstVisible(); i < s.N; i++ {
			pairs += float64(min(s.M, s.QueryPos(i)+1))
		}
	}
	return attentionFlops(s, pairs)
}

// fullScores is the size of the score matrix in floats: N×M, each block
// of bq rows padded to a whole register tile.
func fullScores(s Shape, bq int) int {
	blocks := ceilDiv(s.N, bq)
	return mulSize(addSize(mulSize(blocks-1, tileWidth(bq)), tileWidth(s.N-(blocks-1)*bq)), s.M)
}

// fullThreads is the number of goroutines of one head.
func fullThreads(s Shape, opt Options, bq int) int {
	return threadCount(opt.Threads, ceilDiv(s.N, bq))
}

func (Full) WorkspaceBytes(s Shape, opt Options) int64 {
	bq, _ := fullTiles(s, opt)
	tile := queryTileFloats(s.D, tileWidth(bq))
	return workspaceBytes(addSize(fullScores(s, bq), mulSize(fullThreads(s, opt, bq), tile)))
}

func (f Full) Reference(q, k, v Tensor, opt Options) ([]float64, error) {
	return SoftmaxAttention64(q, k, v, opt)
}

func (f Full) Naive(q, k, v Tensor, opt Options) ([]float32, error) {
	return softmaxAttention32(q, k, v, opt)
}

func (f Full) Forward(q, k, v, out Tensor, opt Options, ws *Workspace) error {
	s, err := prepare(f, q, k, v, out, opt)
	if err != nil {
		return err
	}
	bq, bk := fullTiles(s, opt)
	// Every score is written (by its tile's ScoresT) before it is read, so
	// the matrix is not cleared first: clearing it was a second pass of
	// stores over N×M floats, as costly as writing P itself.
	scores := ws.Float32sDirty(fullScores(s, bq))
	defer ws.PutFloat32s(scores)
	blocks := (s.N + bq - 1) / bq
	threads := fullThreads(s, opt, bq)
	tileFloats := queryTileFloats(s.D, tileWidth(bq))
	scratch := ws.Float32s(threads * tileFloats)
	defer ws.PutFloat32s(scratch)
	job := fullHead{s: s, bq: bq, bk: bk, scale: opt.ScaleFor(s.D), causal: opt.Causal, scores: scores,
		kern: asm.Active(), scratch: scratch, tileFloats: tileFloats}
	workers := newTeam(threads, func(w int) int { return w })
	for b := range s.B {
		for h := range s.H {
			job.q, job.k, job.v, job.out = q.Head(b, h), k.Head(b, s.KVHead(h)), v.Head(b, s.KVHead(h)), out.Head(b, h)
			onThreads(job, blocks, workers, fullHead.runBlock)
		}
	}
	return nil
}

// runBlock runs row block blk on worker w (its part of the scratch).
func (f fullHead) runBlock(blk, w int) { f.rows(w, blk) }

// fullHead is the work of one (batch, head): the score matrix is computed
// by row block, each block by one goroutine.
type fullHead struct {
	s            Shape
	bq, bk       int // query rows per block, key rows per tile
	scale        float32
	causal       bool
	scores       []float32
	kern         *asm.Kernels
	scratch      []float32 // per worker: tileFloats each
	tileFloats   int
	q, k, v, out []float32
}

// rows computes output rows [blk·bq, …) from scratch: key tile by key
// tile, the block's scores against the visible keys, stored transposed in
// the block's own part of the N×M matrix (one key per row), their softmax
// and P·V, then O/l.
func (f *fullHead) rows(worker, blk int) {
	s := f.s
	r0 := blk * f.bq
	rows := min(f.bq, s.N-r0)
	w := tileWidth(rows)
	// Keys a row of this block can see: all, or j ≤ p_i when causal.
	p0 := s.QueryPos(r0)
	cols := s.M
	if f.causal {
		cols = min(s.M, p0+rows)
	}
	if cols <= 0 { // every row before key 0: empty sets
		clear(f.out[r0*s.D : (r0+rows)*s.D])
		return
	}
	block := f.scores[blk*tileWidth(f.bq)*s.M:][:cols*w]
	t := newQueryTile(f.kern, s.D, w, f.scratch[worker*f.tileFloats:(worker+1)*f.tileFloats], noFault)
	t.start(f.q[r0*s.D:], rows, f.scale)
	for c0 := 0; c0 < cols; c0 += f.bk {
		n := min(f.bk, cols-c0)
		t.step(f.k, f.v, c0, n, p0, 1, f.causal, block[c0*w:(c0+n)*w])
	}
	t.finish(f.out[r0*s.D:], rows)
}
