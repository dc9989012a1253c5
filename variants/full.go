package variants

import (
	"github.com/attnbench/attnbench/asm"
)

// Full is exact attention with the whole score matrix materialised: for
// each (batch, head), S = scale·Q·Kᵀ (N×M) in the workspace, a
// max-subtracted softmax per row, then O = P·V. Its working memory is
// O(N·M) on purpose: it is the baseline that flash's O(N) memory is
// measured against. Each block of 64 query rows stores its part of S
// transposed (one key per row, see queryTile) and runs the same tile
// kernels as flash, with a single key tile holding every key.
type Full struct{}

func init() { Register("full", func() Variant { return Full{} }) }

// fullRowBlock is the number of query rows one parallel work item handles.
const fullRowBlock = 64

func (Full) Name() string     { return "full" }
func (Full) Exact() bool      { return true }
func (Full) Params() []string { return nil }

func (Full) Validate(s Shape, opt Options) error { return s.Check() }

// Flops is DESIGN §4's 4·B·H·N·M·D, causal half of it when M = N. Causal
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

// fullScores is the size of the score matrix in floats: N×M, the last row
// block padded to a whole register tile.
func fullScores(s Shape) int {
	blocks := ceilDiv(s.N, fullRowBlock)
	return mulSize(addSize((blocks-1)*fullRowBlock, tileWidth(s.N-(blocks-1)*fullRowBlock)), s.M)
}

// fullThreads is the number of goroutines of one head.
func fullThreads(s Shape, opt Options) int {
	return threadCount(opt.Threads, ceilDiv(s.N, fullRowBlock))
}

func (Full) WorkspaceBytes(s Shape, opt Options) int64 {
	tile := queryTileFloats(s.D, tileWidth(min(s.N, fullRowBlock)))
	return workspaceBytes(addSize(fullScores(s), mulSize(fullThreads(s, opt), tile)))
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
	scores := ws.Float32s(fullScores(s))
	defer ws.PutFloat32s(scores)
	blocks := (s.N + fullRowBlock - 1) / fullRowBlock
	threads := fullThreads(s, opt)
	tileFloats := queryTileFloats(s.D, tileWidth(min(s.N, fullRowBlock)))
	scratch := ws.Float32s(threads * tileFloats)
	defer ws.PutFloat32s(scratch)
	job := fullHead{s: s, scale: opt.ScaleFor(s.D), causal: opt.Causal, scores: scores, kern: asm.Active(),
		scratch: scratch, tileFloats: tileFloats}
	for b := range s.B {
		for h := range s.H {
			job.q, job.k, job.v, job.out = q.Head(b, h), k.Head(b, s.KVHead(h)), v.Head(b, s.KVHead(h)), out.Head(b, h)
			if threads == 1 {
				for blk := range blocks {
					job.rows(0, blk)
				}
				continue
			}
			j := job
			forEach(threads, blocks, func(w, blk int) { j.rows(w, blk) })
		}
	}
	return nil
}

// fullHead is the work of one (batch, head): the score matrix is computed
// by row block, each block by one goroutine.
type fullHead struct {
	s            Shape
	scale        float32
	causal       bool
	scores       []float32
	kern         *asm.Kernels
	scratch      []float32 // per worker: tileFloats each
	tileFloats   int
	q, k, v, out []float32
}

// rows computes output rows [blk·fullRowBlock, …) from scratch: the block's
// scores against every visible key, stored transposed in its own part of
// the N×M matrix (one key per row), their softmax, then P·V.
func (f *fullHead) rows(worker, blk int) {
	s := f.s
	r0 := blk * fullRowBlock
	rows := min(fullRowBlock, s.N-r0)
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
	t := newQueryTile(f.kern, s.D, w, f.scratch[worker*f.tileFloats:(worker+1)*f.tileFloats], noFault)
	t.start(f.q[r0*s.D:], rows, f.scale)
	t.step(f.k, f.v, 0, cols, p0, 1, f.causal, f.scores[r0*s.M:][:cols*w])
	t.finish(f.out[r0*s.D:], rows)
}
