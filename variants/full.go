package variants

import (
	"github.com/attnbench/attnbench/asm"
)

// Full is exact attention with the whole score matrix materialised: for
// each (batch, head), S = scale·Q·Kᵀ (N×M) in the workspace, a
// max-subtracted softmax per row, then O = P·V. Its working memory is
// O(N·M) on purpose: it is the baseline that flash's O(N) memory is
// measured against.
type Full struct{}

func init() { Register("full", func() Variant { return Full{} }) }

// fullRowBlock is the number of query rows one parallel work item handles.
const fullRowBlock = 32

func (Full) Name() string     { return "full" }
func (Full) Exact() bool      { return true }
func (Full) Params() []string { return nil }

func (Full) Validate(s Shape, opt Options) error { return s.Check() }

func (Full) Flops(s Shape, opt Options) float64 {
	pairs := float64(s.N) * float64(s.M)
	if opt.Causal {
		pairs /= 2
	}
	return attentionFlops(s, pairs)
}

func (Full) WorkspaceBytes(s Shape, opt Options) int64 {
	return 4 * int64(s.N) * int64(s.M)
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
	scores := ws.Float32s(s.N * s.M)
	defer ws.PutFloat32s(scores)
	job := fullHead{s: s, scale: opt.ScaleFor(s.D), causal: opt.Causal, scores: scores, kern: asm.Active()}
	blocks := (s.N + fullRowBlock - 1) / fullRowBlock
	threads := threadCount(opt.Threads, blocks)
	for b := range s.B {
		for h := range s.H {
			job.q, job.k, job.v, job.out = q.Head(b, h), k.Head(b, h), v.Head(b, h), out.Head(b, h)
			if threads == 1 {
				for blk := range blocks {
					job.rows(blk)
				}
				continue
			}
			j := job
			forEach(threads, blocks, func(_, blk int) { j.rows(blk) })
		}
	}
	return nil
}

// fullHead is the work of one (batch, head): rows of the shared score
// matrix are computed by row block, each block by one goroutine.
type fullHead struct {
	s            Shape
	scale        float32
	causal       bool
	scores       []float32
	kern         *asm.Kernels
	q, k, v, out []float32
}

// rows computes output rows [blk·fullRowBlock, …) from scratch.
func (f *fullHead) rows(blk int) {
	s, kern := f.s, f.kern
	r0 := blk * fullRowBlock
	r1 := min(s.N, r0+fullRowBlock)
	// Keys a row of this block can see: all, or j ≤ i when causal.
	cols := s.M
	if f.causal {
		cols = min(s.M, r1)
	}
	S := f.scores[r0*s.M:]
	kern.GemmNT(r1-r0, cols, s.D, f.q[r0*s.D:], s.D, f.k, s.D, S, s.M)
	o := f.out[r0*s.D : r1*s.D]
	clear(o)
	for i := r0; i < r1; i++ {
		row := S[(i-r0)*s.M : (i-r0)*s.M+cols]
		if f.causal {
			clear(row[min(cols, i+1):]) // masked: probability 0
			row = row[:min(cols, i+1)]
		}
		kern.Scale(row, f.scale)
		sum := kern.ExpSum(row, kern.Max(row))
		kern.Scale(row, 1/sum)
	}
	kern.GemmNNAcc(r1-r0, s.D, cols, S, s.M, f.v, s.D, o, s.D)
}
