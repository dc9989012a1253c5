package asm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks per kernel and kernel set: BenchmarkX/impl=…/n=…, GFLOP/s for
// the GEMM-shaped kernels (2 flops per multiply-add), Gelem/s for the
// elementwise ones.

func benchVec(n int) []float32 {
	r := rand.New(rand.NewPCG(1, 1))
	return randVec(r, n, -1, 1)
}

func reportRate(b *testing.B, perOp float64, unit string) {
	b.ReportMetric(perOp*float64(b.N)/b.Elapsed().Seconds()/1e9, unit)
}

func BenchmarkScale(b *testing.B) {
	for _, k := range Impls() {
		for _, n := range []int{256, 4096} {
			b.Run(fmt.Sprintf("impl=%s/n=%d", k.Name, n), func(b *testing.B) {
				x := benchVec(n)
				for b.Loop() {
					k.Scale(x, 1)
				}
				reportRate(b, float64(n), "Gelem/s")
			})
		}
	}
}

func BenchmarkAxpy(b *testing.B) {
	for _, k := range Impls() {
		for _, n := range []int{256, 4096} {
			b.Run(fmt.Sprintf("impl=%s/n=%d", k.Name, n), func(b *testing.B) {
				x, y := benchVec(n), benchVec(n)
				for b.Loop() {
					k.Axpy(y, 1e-9, x)
				}
				reportRate(b, 2*float64(n), "GFLOP/s")
			})
		}
	}
}

func BenchmarkMax(b *testing.B) {
	for _, k := range Impls() {
		for _, n := range []int{256, 4096} {
			b.Run(fmt.Sprintf("impl=%s/n=%d", k.Name, n), func(b *testing.B) {
				x := benchVec(n)
				for b.Loop() {
					k.Max(x)
				}
				reportRate(b, float64(n), "Gelem/s")
			})
		}
	}
}

func BenchmarkExpSum(b *testing.B) {
	for _, k := range Impls() {
		for _, n := range []int{256, 4096} {
			b.Run(fmt.Sprintf("impl=%s/n=%d", k.Name, n), func(b *testing.B) {
				x0 := benchVec(n)
				x := make([]float32, n)
				for b.Loop() {
					copy(x, x0)
					k.ExpSum(x, 1)
				}
				reportRate(b, float64(n), "Gelem/s")
			})
		}
	}
}

// The GEMM benchmarks use flash's tile shapes: n×n tiles with d = 64.
func BenchmarkGemmNT(b *testing.B) {
	for _, k := range Impls() {
		for _, n := range []int{64, 256} {
			b.Run(fmt.Sprintf("impl=%s/n=%d", k.Name, n), func(b *testing.B) {
				const d = 64
				a, bb, c := benchVec(n*d), benchVec(n*d), make([]float32, n*n)
				for b.Loop() {
					k.GemmNT(n, n, d, a, d, bb, d, c, n)
				}
				reportRate(b, 2*float64(n*n*d), "GFLOP/s")
			})
		}
	}
}

func BenchmarkGemmNNAcc(b *testing.B) {
	for _, k := range Impls() {
		for _, n := range []int{64, 256} {
			b.Run(fmt.Sprintf("impl=%s/n=%d", k.Name, n), func(b *testing.B) {
				const d = 64
				a, bb, c := benchVec(n*n), benchVec(n*d), make([]float32, n*d)
				for b.Loop() {
					k.GemmNNAcc(n, d, n, a, n, bb, d, c, d)
				}
				reportRate(b, 2*float64(n*n*d), "GFLOP/s")
			})
		}
	}
}

func BenchmarkScoresT(b *testing.B) {
	for _, k := range Impls() {
		for _, n := range []int{64, 256} {
			b.Run(fmt.Sprintf("impl=%s/n=%d", k.Name, n), func(b *testing.B) {
				const d, w = 64, 64
				kk, qt, s, cm := benchVec(n*d), benchVec(d*w), make([]float32, n*w), make([]float32, w)
				for b.Loop() {
					k.ScoresT(n, w, d, kk, d, qt, w, s, cm)
				}
				reportRate(b, 2*float64(n*w*d), "GFLOP/s")
			})
		}
	}
}

func BenchmarkSoftmaxT(b *testing.B) {
	for _, k := range Impls() {
		for _, n := range []int{64, 256} {
			b.Run(fmt.Sprintf("impl=%s/n=%d", k.Name, n), func(b *testing.B) {
				const w = 64
				s0 := benchVec(n * w)
				s, m, alpha, l := make([]float32, n*w), make([]float32, w), make([]float32, w), make([]float32, w)
				for b.Loop() {
					copy(s, s0)
					k.SoftmaxT(n, w, s, m, alpha, l)
				}
				reportRate(b, float64(n*w), "Gelem/s")
			})
		}
	}
}

func BenchmarkAccumulatePV(b *testing.B) {
	for _, k := range Impls() {
		for _, n := range []int{64, 256} {
			b.Run(fmt.Sprintf("impl=%s/n=%d", k.Name, n), func(b *testing.B) {
				const d, w = 64, 64
				pt, v, o, alpha := benchVec(n*w), benchVec(n*d), make([]float32, w*d), make([]float32, w)
				for i := range alpha {
					alpha[i] = 1
				}
				for b.Loop() {
					k.AccumulatePV(n, w, w, d, pt, v, d, o, d, alpha)
				}
				reportRate(b, 2*float64(n*w*d), "GFLOP/s")
			})
		}
	}
}

// BenchmarkMaskMatches uses LSH's tile shapes: 58 key rows of a 64-key
// chunk pair's span against 48 or 64 query columns, codes from 64 buckets.
func BenchmarkMaskMatches(b *testing.B) {
	for _, k := range Impls() {
		for _, w := range []int{48, 64} {
			b.Run(fmt.Sprintf("impl=%s/rows=58/width=%d", k.Name, w), func(b *testing.B) {
				const rows = 58
				r := rand.New(rand.NewPCG(2, 2))
				codes, own, prev := randCodes(r, rows, 64), randCodes(r, w, 64), randCodes(r, w, 64)
				s := benchVec(rows * w)
				for b.Loop() {
					k.MaskMatches(rows, w, codes, own, prev, s)
				}
				reportRate(b, float64(rows*w), "Gelem/s")
			})
		}
	}
}

// BenchmarkArgMaxPlusMinus hashes 128 segments (a 64-row block, 2 rounds)
// of half = nb/2 projections each.
// BenchmarkArgMaxPlusMinus runs over more segments than a branch predictor
// can learn (a few hundred repeated ones it learns, and the timings then
// flatter a kernel with data-dependent branches). In LSH's hashing, right
// after the product that writes the segments, the kernel's fixed-trip
// search measured 12% faster for the whole hashing at n = 16K than an
// early exit, although this benchmark, on its own, prefers the early exit.
func BenchmarkArgMaxPlusMinus(b *testing.B) {
	for _, k := range Impls() {
		for _, half := range []int{32, 128} {
			b.Run(fmt.Sprintf("impl=%s/segs=2048/half=%d", k.Name, half), func(b *testing.B) {
				const segs = 2048
				x, out := benchVec(segs*half), make([]int32, segs)
				for b.Loop() {
					k.ArgMaxPlusMinus(segs, half, half, x, out)
				}
				reportRate(b, float64(segs*half), "Gelem/s")
			})
		}
	}
}

// BenchmarkPackT packs LSH's and flash's query tiles: 43 or 64 rows of
// d = 64 into 48 or 64 columns, in order (flash, perm nil) or through a
// random permutation of 1024 rows (LSH's sorted buckets).
func BenchmarkPackT(b *testing.B) {
	const d, ld, srcRows = 64, 64, 1024
	r := rand.New(rand.NewPCG(3, 3))
	src := benchVec(srcRows * ld)
	perm := make([]int32, 64)
	for i := range perm {
		perm[i] = int32(r.IntN(srcRows))
	}
	for _, k := range Impls() {
		for _, sh := range [][2]int{{43, 48}, {43, 64}, {64, 64}} {
			rows, width := sh[0], sh[1]
			for _, permuted := range []bool{false, true} {
				p := perm[:rows]
				if !permuted {
					p = nil
				}
				b.Run(fmt.Sprintf("impl=%s/rows=%d/width=%d/d=%d/perm=%v", k.Name, rows, width, d, permuted), func(b *testing.B) {
					dst := make([]float32, d*width)
					for b.Loop() {
						k.PackT(rows, width, d, src, ld, p, 0.125, nil, dst)
					}
					reportRate(b, float64(d*width), "Gelem/s")
				})
			}
		}
	}
}

// BenchmarkHashProjection compares LSH's hashing product on the float
// score kernel and on the int16 kernel: 126 rows, d = 64, 128 rotation
// columns (n = 16K at the defaults), multiply-adds counted as 2 ops.
func BenchmarkHashProjection(b *testing.B) {
	const rows, d, w = 126, 64, 128
	for _, k := range Impls() {
		b.Run(fmt.Sprintf("impl=%s/kind=float32", k.Name), func(b *testing.B) {
			x, rot, s, cm := benchVec(rows*d), benchVec(d*w), make([]float32, rows*w), make([]float32, w)
			for b.Loop() {
				k.ScoresT(rows, w, d, x, d, rot, w, s, cm)
			}
			reportRate(b, 2*float64(rows*w*d), "GFLOP/s")
		})
		b.Run(fmt.Sprintf("impl=%s/kind=int16", k.Name), func(b *testing.B) {
			a, bb, mult, out := make([]int32, rows*d/2), make([]int32, d/2*w), make([]float32, rows), make([]float32, rows*w)
			for b.Loop() {
				k.Dot16(rows, w, d, a, d/2, bb, w, mult, out, w)
			}
			reportRate(b, 2*float64(rows*w*d), "GOP/s")
		})
	}
}
