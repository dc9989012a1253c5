package variants_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
)

// BenchmarkKernels times full and flash with every kernel set this CPU can
// run, one head, one thread, at the shapes of the speed targets, and
// reports the fraction of the set's measured FMA peak (%peak, as docs/design.md §4)
// beside GFLOP/s. Select with -bench 'Kernels/kernels=avx512/variant=flash'.
func BenchmarkKernels(b *testing.B) {
	prev := asm.Active().Name
	defer asm.Select(prev)
	peaks := map[string]float64{}
	for _, k := range asm.Impls() {
		for _, name := range []string{"flash", "full"} {
			for _, causal := range []bool{false, true} {
				for _, n := range []int{1024, 2048, 4096} {
					for _, d := range []int{32, 64, 128} {
						s := variants.Shape{B: 1, H: 1, N: n, M: n, D: d}
						label := fmt.Sprintf("kernels=%s/variant=%s/causal=%v/batch=1/heads=1/n=%d/d=%d/threads=1", k.Name, name, causal, n, d)
						b.Run(label, func(b *testing.B) {
							if err := asm.Select(k.Name); err != nil {
								b.Fatal(err)
							}
							if _, ok := peaks[k.Name]; !ok {
								peaks[k.Name] = asm.MeasurePeak(k, 1, 100*time.Millisecond)
							}
							v, _ := variants.Lookup(name)
							opt := variants.DefaultOptions()
							opt.Causal, opt.Threads = causal, 1
							q, kk, vv, err := inputs.Generate("gaussian", s, 1)
							if err != nil {
								b.Fatal(err)
							}
							out := variants.NewTensor(1, 1, n, d)
							ws := variants.NewWorkspace()
							for b.Loop() {
								if err := v.Forward(q, kk, vv, out, opt, ws); err != nil {
									b.Fatal(err)
								}
							}
							gflops := v.Flops(s, opt) / (b.Elapsed().Seconds() / float64(b.N)) / 1e9
							b.ReportMetric(gflops, "GFLOP/s")
							b.ReportMetric(100*gflops/peaks[k.Name], "%peak")
						})
					}
				}
			}
		}
	}
}

// BenchmarkThreads measures thread scaling of flash on 8 heads with the
// active kernel set: compare threads=2 against threads=1 in one run.
func BenchmarkThreads(b *testing.B) {
	s := variants.Shape{B: 1, H: 8, N: 2048, M: 2048, D: 64}
	for _, threads := range []int{1, 2} {
		label := fmt.Sprintf("kernels=%s/variant=flash/causal=false/batch=1/heads=8/n=2048/d=64/threads=%d", asm.Active().Name, threads)
		b.Run(label, func(b *testing.B) {
			v, _ := variants.Lookup("flash")
			opt := variants.DefaultOptions()
			opt.Threads = threads
			q, kk, vv, err := inputs.Generate("gaussian", s, 1)
			if err != nil {
				b.Fatal(err)
			}
			out := variants.NewTensor(s.B, s.H, s.N, s.D)
			ws := variants.NewWorkspace()
			for b.Loop() {
				if err := v.Forward(q, kk, vv, out, opt, ws); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(v.Flops(s, opt)/(b.Elapsed().Seconds()/float64(b.N))/1e9, "GFLOP/s")
		})
	}
}
