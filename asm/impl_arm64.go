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

// neonFuncs has the fused tile kernels of flash on 16-column tiles
// (gemms4_neon: the scores with the column maxima folded in; gemmacc4_neon:
// O += P·V with the rescale folded in) and the column softmax with a
// vectorised 2^x on 4 columns at a time (exp2cols_neon). PackT, ColMax,
// ScatterRows (Go copies) and LSH's MaskMatches and ArgMaxPlusMinus run
// the generic Go code.
var neonFuncs = &simdFuncs{
	name:         "neon",
	lanes:        4,
	scale:        scale_neon,
	axpy:         axpy_neon,
	max:          max_neon,
	vmax:         vmax_neon,
	dot:          dot_neon,
	expsum:       expsum_neon,
	exp2cols:     exp2cols_neon,
	exp2Group:    4,
	fmapeak:      fmapeak_neon,
	flopsPerIter: 8 * 2 * 4,
	gemmnt:       gemmnt_neon,
	ntRows:       1,
	gemms:        []gemmKernel{{16, gemms4_neon}},
	gemmacc:      []gemmKernel{{16, gemmacc4_neon}},
}

// Hand-written in neon_arm64.s; see the comments there.

func scale_neon(dst, src *float32, n int, a float32)
func axpy_neon(y, x *float32, n int, a float32)
func max_neon(x *float32, n int) float32
func vmax_neon(dst, src *float32, n int)
func dot_neon(x, y *float32, n int) float32
func expsum_neon(x *float32, n int, m float32) float32
func fmapeak_neon(iters int)
func gemmnt_neon(a *float32, lda int, b *float32, ldb int, c *float32, ldc int, m, n, k int)
func gemmacc4_neon(a *float32, aRow, aK int, b *float32, ldb int, c *float32, ldc int, rows, k int, vec *float32)
func gemms4_neon(a *float32, aRow, aK int, b *float32, ldb int, c *float32, ldc int, rows, k int, vec *float32)
func exp2cols_neon(sp *float32, rows, width, ld int, m, alpha, l *float32)
