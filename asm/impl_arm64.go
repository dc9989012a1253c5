//go:build !purego

package asm

import (
	"github.com/klauspost/cpuid/v2"
)

// The arm64 kernel set: NEON (ASIMD) is part of every ARMv8-A core, but ask
// anyway, as cpuid reports it.
var _ = func() int {
	if cpuid.CPU.Supports(cpuid.ASIMD) {
		register(neonFuncs.kernels())
	}
	return 0
}()

// neonFuncs has the fused flash-tile kernels (ScoresT through gemm4_neon
// with the column maxima folded in, SoftmaxT through exp2cols_neon, ColMax,
// and AccumulatePV with the rescale folded into gemmacc4_neon); PackT,
// ScatterRows (Go copies) and LSH's MaskMatches and ArgMaxPlusMinus run the
// generic Go code.
var neonFuncs = &simdFuncs{
	name:         "neon",
	lanes:        4,
	scale:        scale_neon,
	axpy:         axpy_neon,
	max:          max_neon,
	vmax:         vmax_neon,
	dot:          dot_neon,
	expsum:       expsum_neon,
	fmapeak:      fmapeak_neon,
	flopsPerIter: 8 * 2 * 4,
	gemmnt:       gemmnt_neon,
	ntRows:       1,
	gemms:        []gemmKernel{{16, gemm4_neon}},
	gemmacc:      []gemmKernel{{16, gemmacc4_neon}},
	exp2cols:     exp2cols_neon,
	exp2Group:    4,
	colmax:       []laneKernel[colMaxFunc]{{4, colmax_neon}},
}

// Hand-written in neon_arm64.s; see the comments there. None keeps a
// pointer past the call, hence go:noescape.

//go:noescape
func scale_neon(dst, src *float32, n int, a float32)

//go:noescape
func axpy_neon(y, x *float32, n int, a float32)

//go:noescape
func max_neon(x *float32, n int) float32

//go:noescape
func vmax_neon(dst, src *float32, n int)

//go:noescape
func dot_neon(x, y *float32, n int) float32

//go:noescape
func expsum_neon(x *float32, n int, m float32) float32

//go:noescape
func fmapeak_neon(iters int)

//go:noescape
func gemmnt_neon(a *float32, lda int, b *float32, ldb int, c *float32, ldc int, m, n, k int)

//go:noescape
func gemmacc4_neon(a *float32, aRow, aK int, b *float32, ldb int, c *float32, ldc int, rows, k int, vec *float32)

//go:noescape
func gemm4_neon(a *float32, aRow, aK int, b *float32, ldb int, c *float32, ldc int, rows, k int, vec *float32)

//go:noescape
func exp2cols_neon(sp *float32, rows, width, ld int, m, alpha, l *float32)

//go:noescape
func colmax_neon(sp *float32, rows, width, ld int, m *float32)
