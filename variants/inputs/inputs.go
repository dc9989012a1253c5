// Package inputs makes the Q, K, V tensors that attnbench measures and
// checks variants on (docs/design.md §3). Every kind is seeded: the same kind, shape
// and seed always give the same tensors. It sits beside variants, below
// harness, so variants' own tests and the harness draw the same inputs.
package inputs

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/attnbench/attnbench/variants"
)

// Kinds lists the synthetic input kinds.
var Kinds = []string{"gaussian", "local", "peaked", "llm"}

// Generate returns seeded Q [B,H,N,D], K and V [B,Hkv,M,D] of the given kind:
//
//   - gaussian: every value N(0,1);
//   - local: Q and K carry a sinusoidal position code, so q_i·k_j is largest
//     for j near i and true attention is peaked and local, as in trained
//     language models; V is N(0,1);
//   - peaked: Q and K are N(0,1)·30, giving logits in the thousands, to
//     stress the softmax's numerical stability;
//   - llm: rotary position codes, attention sinks, heavy hitters and head
//     kinds, so exact attention looks like a trained decoder's (llm.go,
//     docs/accuracy.md).
func Generate(kind string, s variants.Shape, seed uint64) (q, k, v variants.Tensor, err error) {
	if err := s.Check(); err != nil {
		return q, k, v, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x617474656e74696f)) // "attentio"
	// Sizes from the command line: AllocTensor refuses a product that
	// overflows instead of allocating a wrapped length.
	if q, err = variants.AllocTensor(s.B, s.H, s.N, s.D); err != nil {
		return q, k, v, err
	}
	if k, err = variants.AllocTensor(s.B, s.KVHeads(), s.M, s.D); err != nil {
		return q, k, v, err
	}
	if v, err = variants.AllocTensor(s.B, s.KVHeads(), s.M, s.D); err != nil {
		return q, k, v, err
	}
	switch kind {
	case "gaussian":
		fillNormal(rng, q.Data, 1)
		fillNormal(rng, k.Data, 1)
	case "peaked":
		fillNormal(rng, q.Data, 30)
		fillNormal(rng, k.Data, 30)
	case "local":
		// Queries sit at positions i + M − N (the last N positions).
		addPositionCode(rng, q, s.M-s.N)
		addPositionCode(rng, k, 0)
	case "llm":
		fillLLM(rng, q, k, v)
		return q, k, v, nil
	default:
		return q, k, v, fmt.Errorf("unknown input kind %q (want gaussian, local, peaked, llm or npy:DIR)", kind)
	}
	fillNormal(rng, v.Data, 1)
	return q, k, v, nil
}

func fillNormal(rng *rand.Rand, x []float32, sd float64) {
	for i := range x {
		x[i] = float32(rng.NormFloat64() * sd)
	}
}

// addPositionCode sets t[b,h,i,:] = a·pe(i+offset) + 0.3·noise, where pe(i) pairs
// sin(i·ω_f) and cos(i·ω_f), so pe(i)·pe(j) = Σ_f cos((i−j)·ω_f) peaks at
// i = j. Frequencies run from π/2 down to 2π/1024: neighbours within a few
// dozen positions stay similar, distant ones decorrelate. The amplitude puts
// the diagonal logit near 8 at scale 1/√D.
func addPositionCode(rng *rand.Rand, t variants.Tensor, offset int) {
	pairs := max(1, t.D/2)
	amp := math.Sqrt(16 / math.Sqrt(float64(t.D)))
	for b := range t.B {
		for h := range t.H {
			x := t.Head(b, h)
			for i := range t.S {
				row := x[i*t.D : (i+1)*t.D]
				for f := range pairs {
					w := math.Pi / 2 * math.Pow(1.0/256, float64(f)/float64(pairs))
					pos := float64(i + offset)
					row[2*f%t.D] += float32(amp * math.Sin(pos*w))
					if 2*f+1 < t.D {
						row[2*f+1] += float32(amp * math.Cos(pos*w))
					}
				}
				for d := range row {
					row[d] += float32(0.3 * rng.NormFloat64())
				}
			}
		}
	}
}
