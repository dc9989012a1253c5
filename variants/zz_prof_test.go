package variants_test

import (
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"unsafe"

	"github.com/attnbench/attnbench/harness/inputs"
	"github.com/attnbench/attnbench/variants"
)

type profCase struct {
	v             variants.Variant
	s             variants.Shape
	opt           variants.Options
	q, k, vv, out variants.Tensor
	ws            *variants.Workspace
}

func newProfCase(name string, n int, causal bool) *profCase {
	v, _ := variants.Lookup(name)
	s := variants.Shape{B: 1, H: 1, N: n, M: n, D: 64}
	opt := variants.DefaultOptions()
	opt.Threads = 1
	opt.Causal = causal
	q, k, vv, _ := inputs.Generate("gaussian", s, 1)
	c := &profCase{v: v, s: s, opt: opt, q: q, k: k, vv: vv, out: variants.NewTensor(1, 1, n, 64), ws: variants.NewWorkspace()}
	c.run()
	return c
}

func (c *profCase) run() { c.v.Forward(c.q, c.k, c.vv, c.out, c.opt, c.ws) }

// min time of reps runs
func (c *profCase) best(reps int) float64 {
	b := 1e18
	for range reps {
		t0 := threadCPU()
		c.run()
		b = min(b, threadCPU()-t0)
	}
	return b
}

func BenchmarkProfLSH(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("PN"))
	if n == 0 {
		n = 16384
	}
	name := os.Getenv("PV")
	if name == "" {
		name = "lsh"
	}
	c := newProfCase(name, n, os.Getenv("PC") == "1")
	for b.Loop() {
		c.run()
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(c.flops()/sec/1e9, "GFLOP/s")
}

// TestProfRatio prints lsh's GFLOP/s over flash's (n = 2048), interleaved.
func TestProfRatio(t *testing.T) {
	if os.Getenv("PRATIO") == "" {
		t.Skip()
	}
	runtime.LockOSThread()
	causal := os.Getenv("PC") == "1"
	fl := newProfCase("flash", 2048, causal)
	for _, n := range []int{1024, 4096, 16384} {
		c := newProfCase(os.Getenv("PV")+"lsh"[:3*boolInt(os.Getenv("PV") == "")], n, causal)
		reps := max(1, 20*4096/n)
		bl, bf := 1e18, 1e18
		for range 5 {
			bl = min(bl, c.best(reps))
			bf = min(bf, fl.best(2))
		}
		gl := c.flops() / bl / 1e9
		gf := fl.flops() / bf / 1e9
		t.Logf("n=%d %s %.2f ms %.1f GF, flash %.1f GF, ratio %.1f%%", n, c.v.Name(), bl*1e3, gl, gf, 100*gl/gf)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func threadCPU() float64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0) // CLOCK_THREAD_CPUTIME_ID
	return float64(ts.Sec) + float64(ts.Nsec)*1e-9
}

func init() { runtime.LockOSThread() }

func (c *profCase) flops() float64 {
	f, _ := variants.UsefulFlops(c.v, c.q, c.k, c.vv, c.opt)
	return f
}
