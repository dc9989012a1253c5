package asm

import (
	"runtime"
	"sync"
	"time"

	"github.com/klauspost/cpuid/v2"
)

// MeasurePeak returns the arithmetic peak of kernel set k in GFLOP/s: its
// FMAPeak loop (independent multiply-add chains, enough to fill every FMA
// pipe) run on threads goroutines at once for about dur, best of several
// trials. It is the denominator of %peak. threads ≤ 0 means GOMAXPROCS.
func MeasurePeak(k *Kernels, threads int, dur time.Duration) float64 {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	// Calibrate: iterations that take about a millisecond on one thread.
	iters := 1 << 10
	for {
		start := time.Now()
		k.FMAPeak(iters)
		if el := time.Since(start); el > time.Millisecond || iters > 1<<30 {
			iters = int(float64(iters) * float64(time.Millisecond) / float64(max(el, time.Microsecond)))
			break
		}
		iters *= 4
	}
	const trials = 5
	per := max(dur/trials, time.Millisecond)
	iters = max(1, int(float64(iters)*float64(per)/float64(time.Millisecond)))
	best := 0.0
	for range trials {
		var wg sync.WaitGroup
		start := time.Now()
		for range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k.FMAPeak(iters)
			}()
		}
		wg.Wait()
		el := time.Since(start).Seconds()
		best = max(best, float64(threads)*float64(iters)*float64(k.FlopsPerIter)/el/1e9)
	}
	return best
}

// BandwidthBufferBytes is the size of each of MeasureBandwidth's two
// buffers: twice the largest cache and at least 128 MiB, so the stream
// (≥ 4× the last-level cache, ≥ 256 MiB in all) comes from memory, not
// from a large L3 (CPUs with 256 MB and more exist).
func BandwidthBufferBytes() int {
	return max(128<<20, 2*CacheBytes())
}

// MeasureBandwidth returns the memory bandwidth in GB/s of a streaming read
// of two buffers far larger than the caches (BandwidthBufferBytes each),
// a dot product on the active kernel set on every core (GOMAXPROCS
// goroutines, one slice each), best of several passes within about dur.
// Bytes counted per element: x and y read (8). A read stream is what the
// attention kernels bound by memory do (decode reads K and V once).
func MeasureBandwidth(dur time.Duration) float64 {
	return NewStream().Measure(dur)
}

// Stream holds MeasureBandwidth's buffers, so that the bandwidth can be
// measured again and again (beside each sample of a case bound by memory)
// without allocating and touching them each time.
type Stream struct {
	x, y []float32
	sums []float32 // keeps the reads from being dead code
}

// NewStream allocates and fills the two buffers (2·BandwidthBufferBytes).
func NewStream() *Stream {
	n := BandwidthBufferBytes() / 4 // floats per buffer
	st := &Stream{x: make([]float32, n), y: make([]float32, n)}
	for i := range st.x {
		st.x[i], st.y[i] = 1, 1
	}
	return st
}

// Measure returns the bandwidth in GB/s, best of the passes that fit in
// about dur (at least one), on GOMAXPROCS goroutines.
func (st *Stream) Measure(dur time.Duration) float64 {
	n := len(st.x)
	k := Active()
	threads := runtime.GOMAXPROCS(0)
	chunk := (n + threads - 1) / threads
	if len(st.sums) != threads {
		st.sums = make([]float32, threads)
	}
	pass := func() float64 {
		var wg sync.WaitGroup
		start := time.Now()
		for t := range threads {
			lo, hi := t*chunk, min(n, (t+1)*chunk)
			wg.Add(1)
			go func() {
				defer wg.Done()
				st.sums[t] += k.Dot(st.x[lo:hi], st.y[lo:hi])
			}()
		}
		wg.Wait()
		return 8 * float64(n) / time.Since(start).Seconds() / 1e9
	}
	best := pass()
	for deadline := time.Now().Add(dur); time.Now().Before(deadline); {
		best = max(best, pass())
	}
	return best
}

// Features lists the CPU features that decide which kernel sets run here
// (cpuid names, lower case), in a fixed order; empty where none applies.
func Features() []string {
	relevant := []struct {
		name string
		id   cpuid.FeatureID
	}{
		{"sse4.2", cpuid.SSE42}, {"avx", cpuid.AVX}, {"avx2", cpuid.AVX2}, {"fma3", cpuid.FMA3},
		{"avx512f", cpuid.AVX512F}, {"avx512vl", cpuid.AVX512VL}, {"avx512dq", cpuid.AVX512DQ},
		{"avx512bw", cpuid.AVX512BW}, {"avx512vnni", cpuid.AVX512VNNI}, {"avx512bf16", cpuid.AVX512BF16}, {"avx512fp16", cpuid.AVX512FP16},
		{"asimd", cpuid.ASIMD}, {"fphp", cpuid.FPHP}, {"asimdhp", cpuid.ASIMDHP}, {"sve", cpuid.SVE},
	}
	var out []string
	for _, f := range relevant {
		if cpuid.CPU.Supports(f.id) {
			out = append(out, f.name)
		}
	}
	return out
}
