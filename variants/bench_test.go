package variants_test

import (
	"fmt"
	"github.com/attnbench/attnbench/asm"
	"testing"

	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
)

// BenchmarkAttention times every registered variant at default parameters
// with names as docs/design.md §5 gives them, so these results and attnbench sweep's
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

// BenchmarkDecode times one decode step of flash (N = 1 against M keys, 32
// query heads on 8 K/V heads, d = 128, causal) on 1 and 2 threads, named
// as attnbench sweep names it, with the K/V bytes read per second: the
// ratios of the LLM-shapes targets (2 threads against 1; GB/s against
// attnbench peak's bandwidth) come from one run of this.
func BenchmarkDecode(b *testing.B) {
	v, _ := variants.Lookup("flash")
	for _, m := range []int{4096, 16384} {
		s := variants.Shape{B: 1, H: 32, Hkv: 8, N: 1, M: m, D: 128}
		q, k, vv, err := inputs.Generate("gaussian", s, 1)
		if err != nil {
			b.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			label := fmt.Sprintf("variant=flash/causal=true/batch=1/heads=32/kv-heads=8/n=1/m=%d/d=128/threads=%d", m, threads)
			b.Run(label, func(b *testing.B) {
				opt := variants.DefaultOptions()
				opt.Causal, opt.Threads = true, threads
				out := variants.NewTensor(s.B, s.H, s.N, s.D)
				ws := variants.NewWorkspace()
				b.ReportAllocs()
				for b.Loop() {
					if err := v.Forward(q, k, vv, out, opt, ws); err != nil {
						b.Fatal(err)
					}
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(2*4*float64(s.B*s.KVHeads()*s.M*s.D)/sec/1e9, "GB/s")
			})
		}
	}
}

// BenchmarkDecodePrefetch times the decode step of BenchmarkDecode (m =
// 16384) at several prefetch distances of the amd64 GEMM kernels
// (asm.SetPrefetchRows), interleaved in one run, so the distance
// asm.prefetchRows documents can be re-checked on any machine:
//
//	go test ./variants -run '^$' -bench DecodePrefetch -benchtime 400ms
func BenchmarkDecodePrefetch(b *testing.B) {
	v, _ := variants.Lookup("flash")
	s := variants.Shape{B: 1, H: 32, Hkv: 8, N: 1, M: 16384, D: 128}
	q, k, vv, err := inputs.Generate("gaussian", s, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer asm.SetPrefetchRows(asm.PrefetchRows())
	for round := range 2 {
		for _, rows := range []int{1, 16, 32, 64, 128, 256, 512} {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("round=%d/prefetch-rows=%d/threads=%d", round, rows, threads), func(b *testing.B) {
					asm.SetPrefetchRows(rows)
					opt := variants.DefaultOptions()
					opt.Causal, opt.Threads = true, threads
					out := variants.NewTensor(s.B, s.H, s.N, s.D)
					ws := variants.NewWorkspace()
					for b.Loop() {
						if err := v.Forward(q, k, vv, out, opt, ws); err != nil {
							b.Fatal(err)
						}
					}
					sec := b.Elapsed().Seconds() / float64(b.N)
					b.ReportMetric(2*4*float64(s.B*s.KVHeads()*s.M*s.D)/sec/1e9, "GB/s")
				})
			}
		}
	}
}
