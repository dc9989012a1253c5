package machine

import (
	"sync"
	"time"

	"github.com/attnbench/attnbench/asm"
)

// This file is the one place that measures the hardware. Until the asm
// package provides its own measurements (asm.MeasurePeak, asm.MeasureBandwidth),
// both are estimated here in plain Go and labelled so; repointing the three
// declarations below is all it takes to switch.

// Method says how peak and bandwidth were measured. It is part of the cache
// key, so numbers from an older method are never reused.
const Method = pureGo

// Estimated reports that the numbers are the pure-Go estimate.
const Estimated = Method == pureGo

const pureGo = "pure-Go estimate"

// measurePeak returns the multiply-add throughput in GFLOP/s (two flops per
// multiply-add) of kernel set k on threads goroutines, measured for about
// dur. The pure-Go estimate ignores k: it is the peak of Go's own float32
// arithmetic, which is what the generic kernel set runs on.
func measurePeak(k *asm.Kernels, threads int, dur time.Duration) float64 {
	_ = k
	return goFMAPeak(threads, dur)
}

// measureBandwidth returns the memory bandwidth in GB/s of a streaming copy
// on all cores, counting bytes read plus bytes written (as STREAM's Copy).
func measureBandwidth(dur time.Duration) float64 { return goCopyBandwidth(Cores(), dur) }

// fmaChains is the number of independent multiply-add chains per
// goroutine: enough to cover the latency of a dependent multiply and add
// with the two arithmetic ports busy, few enough to stay in registers.
const fmaChains = 12

// fmaBlock runs iters rounds of fmaChains independent float32 multiply-adds
// and returns a value that depends on all of them, so nothing is optimised
// away.
func fmaBlock(iters int, x, y float32) float32 {
	var a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11 float32 = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
	for range iters {
		a0 = a0*x + y
		a1 = a1*x + y
		a2 = a2*x + y
		a3 = a3*x + y
		a4 = a4*x + y
		a5 = a5*x + y
		a6 = a6*x + y
		a7 = a7*x + y
		a8 = a8*x + y
		a9 = a9*x + y
		a10 = a10*x + y
		a11 = a11*x + y
	}
	return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11
}

var sink float32

// goFMAPeak runs fmaBlock on threads goroutines at once for about dur and
// returns the total rate. Each goroutine reports its own multiply-adds and
// time; the rates add up because they ran concurrently.
func goFMAPeak(threads int, dur time.Duration) float64 {
	threads = max(threads, 1)
	// A short calibration sizes the blocks so that the clock is read
	// rarely: about 1ms per block.
	iters := 1 << 12
	for {
		start := time.Now()
		sink += fmaBlock(iters, 0.999999, 1e-7)
		if time.Since(start) > 500*time.Microsecond || iters > 1<<28 {
			break
		}
		iters *= 2
	}
	rates := make([]float64, threads)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for t := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local float32
			var blocks int
			start := time.Now()
			for time.Since(start) < dur {
				local += fmaBlock(iters, 0.999999, 1e-7)
				blocks++
			}
			secs := time.Since(start).Seconds()
			rates[t] = 2 * fmaChains * float64(iters) * float64(blocks) / secs / 1e9
			mu.Lock()
			sink += local
			mu.Unlock()
		}()
	}
	wg.Wait()
	var total float64
	for _, r := range rates {
		total += r
	}
	return total
}

// copyBytes is the size of each of the two copy buffers: large enough to
// leave every cache level of a current server CPU.
const copyBytes = 64 << 20

// goCopyBandwidth copies a buffer to another, split over threads
// goroutines, repeatedly for about dur.
func goCopyBandwidth(threads int, dur time.Duration) float64 {
	threads = max(threads, 1)
	src := make([]byte, copyBytes)
	dst := make([]byte, copyBytes)
	for i := range src {
		src[i] = byte(i)
	}
	copy(dst, src) // touch every page before timing
	part := copyBytes / threads
	start := time.Now()
	var rounds int
	for time.Since(start) < dur || rounds == 0 {
		var wg sync.WaitGroup
		for t := range threads {
			lo, hi := t*part, (t+1)*part
			if t == threads-1 {
				hi = copyBytes
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				copy(dst[lo:hi], src[lo:hi])
			}()
		}
		wg.Wait()
		rounds++
	}
	secs := time.Since(start).Seconds()
	return 2 * float64(copyBytes) * float64(rounds) / secs / 1e9
}
