package asm

// prefetchRows is how far ahead, in rows, the amd64 kernels gemmnt (its A
// rows: a decode tile's keys) and gemmacc (its B rows: the values) issue
// PREFETCHT1 for, read by them at each call. A decode step (a few queries
// against a long K/V cache) streams every key and value row from memory
// once; asking for the rows a short way ahead keeps a core's memory
// requests in flight while it computes. Measured on the project's Zen 4
// (BenchmarkDecodePrefetch, docs/performance.md, 2026-12-03): 1 row (no use)
// 7.6 GB/s of K/V on one thread, 16–32 rows 13.5–15 GB/s (2 threads 24–25),
// 128 rows 12.9 (22.3), 512 rows 12.2 (16.3: a slice's last rows prefetch
// the next slice's, read long after by another thread); PREFETCHT0
// instead of T1 was as slow as none. Compute-bound flash (keys and values
// in cache) runs the same at 32 and 128 rows. The NEON kernels do not
// prefetch (Kernels.Prefetch). `attnbench tune` measures the distance on
// the machine that runs it (variants.Tuning.PrefetchRows).
var prefetchRows = DefaultPrefetchRows

// DefaultPrefetchRows is the prefetch distance without a tuning.
const DefaultPrefetchRows = 32

// SetPrefetchRows sets the prefetch distance of the amd64 GEMM kernels,
// in rows, for benchmarks that compare distances; n < 1 is taken as 1. It
// must not be called while kernels run.
func SetPrefetchRows(n int) { prefetchRows = max(1, n) }

// PrefetchRows returns the prefetch distance in use.
func PrefetchRows() int { return prefetchRows }
