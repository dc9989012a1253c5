package machine

import (
	"time"

	"github.com/attnbench/attnbench/asm"
)

// This file is the one place that measures the hardware: through the
// kernel sets' own loops in asm, so that %peak compares a kernel set with
// what the same instructions can reach.

// Method says how the peak of kernel set kernels is measured: the SIMD
// sets run their own assembly loop, the generic set a pure-Go loop (what Go
// code can reach, not the hardware's peak). It is part of the cache key, so
// numbers measured another way are never reused.
func Method(kernels string) string {
	if kernels == "generic" {
		return "pure-Go FMA loop"
	}
	return "asm FMA loop"
}

// measurePeak returns the multiply-add throughput in GFLOP/s (two flops per
// multiply-add) of kernel set k on threads goroutines, measured for about
// dur.
func measurePeak(k *asm.Kernels, threads int, dur time.Duration) float64 {
	return asm.MeasurePeak(k, threads, dur)
}

// measureBandwidth returns the memory bandwidth in GB/s of a streaming read
// of two buffers each ≥ 2× the last-level cache, on all cores
// (asm.MeasureBandwidth).
func measureBandwidth(dur time.Duration) float64 { return asm.MeasureBandwidth(dur) }
