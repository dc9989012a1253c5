package variants_test

import (
	"fmt"
	"testing"

	"github.com/attnbench/attnbench/harness/inputs"
	"github.com/attnbench/attnbench/variants"
)

// BenchmarkAttention times every registered variant at default parameters
// with names as DESIGN §5 gives them, so these results and attnbench sweep's
// compare under benchstat. The flop rate and the measured workspace peak are
// reported beside ns/op.
func BenchmarkAttention(b *testing.B) {
	for _, name := range variants.Names() {
		v, _ := variants.Lookup(name)
		for _, causal := range []bool{false, true} {
			for _, n := range []int{512, 2048} {
				for _, d := range []int{64} {
					s := variants.Shape{B: 1, H: 8, N: n, M: n, D: d}
					label := fmt.Sprintf("variant=%s/causal=%v/batch=%d/heads=%d/n=%d/d=%d", name, causal, s.B, s.H, n, d)
					b.Run(label, func(b *testing.B) {
						opt := variants.DefaultOptions()
						opt.Causal = causal
						q, k, vv, err := inputs.Generate("gaussian", s, 1)
						if err != nil {
							b.Fatal(err)
						}
						out := variants.NewTensor(s.B, s.H, s.N, s.D)
						ws := variants.NewWorkspace()
						if err := v.Forward(q, k, vv, out, opt, ws); err != nil {
							b.Skip(err)
						}
						ws.ResetPeak()
						b.ReportAllocs()
						for b.Loop() {
							if err := v.Forward(q, k, vv, out, opt, ws); err != nil {
								b.Fatal(err)
							}
						}
						sec := b.Elapsed().Seconds() / float64(b.N)
						flops, err := variants.UsefulFlops(v, q, k, vv, opt)
						if err != nil {
							b.Fatal(err)
						}
						b.ReportMetric(flops/sec/1e9, "GFLOP/s")
						b.ReportMetric(float64(ws.Peak()), "peak-B/op")
					})
				}
			}
		}
	}
}
