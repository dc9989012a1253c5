//go:build !purego

package asm

import (
	"github.com/klauspost/cpuid/v2"
)

//go:generate sh -c "cd _gen && go run . -out ../simd_amd64.s -stubs ../simd_stubs_amd64.go -pkg asm"

// The amd64 kernel sets: AVX2 needs FMA3 beside it (every FMA instruction
// of the set is VEX FMA3); AVX-512 uses Foundation plus VL (EVEX forms of
// 128/256-bit instructions on registers 16–31) and the AVX2 set's VEX code.
var _ = func() int {
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) {
		register(avx2Funcs.kernels())
		if cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512VL) {
			if cpuid.CPU.Supports(cpuid.AVX512VNNI) {
				avx512Funcs.quant16, avx512Funcs.dot16x64 = quant16_avx512, dot16x64_avx512
			}
			register(avx512Funcs.kernels())
		}
	}
	return 0
}()

var avx2Funcs = &simdFuncs{
	name:         "avx2",
	lanes:        8,
	scale:        scale_avx2,
	axpy:         axpy_avx2,
	max:          max_avx2,
	vmax:         vmax_avx2,
	dot:          dot_avx2,
	expsum:       expsum_avx2,
	exp2cols:     exp2cols_avx2,
	exp2Group:    8,
	maskmatch:    []laneKernel[maskMatchFunc]{{8, maskmatch_avx2}},
	colmax:       []laneKernel[colMaxFunc]{{8, colmax_avx2}},
	argmaxpm:     []laneKernel[argMaxFunc]{{8, argmaxpm_avx2}},
	argmaxmargin: []laneKernel[argMarginFunc]{{8, argmaxmargin_avx2}},
	packt:        []laneKernel[packTFunc]{{8, packt_avx2}},
	scatternt:    &laneKernel[scatterFunc]{8, scatterrowsnt_avx2},
	fmapeak:      fmapeak_avx2,
	flopsPerIter: 12 * 2 * 8,
	gemmnt:       gemmnt_avx2,
	prefetch:     true,
	ntRows:       2,
	gemms:        []gemmKernel{{16, gemms2_avx2}, {8, gemms1_avx2}},
	gemmacc:      []gemmKernel{{16, gemmacc2_avx2}, {8, gemmacc1_avx2}},
}

var avx512Funcs = &simdFuncs{
	name:          "avx512",
	lanes:         16,
	scale:         scale_avx512,
	axpy:          axpy_avx512,
	max:           max_avx512,
	vmax:          vmax_avx512,
	dot:           dot_avx512,
	expsum:        expsum_avx512,
	exp2cols:      exp2cols_avx512,
	exp2Group:     64,
	exp2tail:      exp2cols_avx2, // the AVX-512 set runs the AVX2 code too
	exp2TailGroup: 8,
	maskmatch:     []laneKernel[maskMatchFunc]{{16, maskmatch_avx512}, {8, maskmatch_avx2}},
	colmax:        []laneKernel[colMaxFunc]{{16, colmax_avx512}, {8, colmax_avx2}},
	argmaxpm:      []laneKernel[argMaxFunc]{{16, argmaxpm_avx512}, {8, argmaxpm_avx2}},
	argmaxmargin:  []laneKernel[argMarginFunc]{{16, argmaxmargin_avx512}, {8, argmaxmargin_avx2}},
	packt:         []laneKernel[packTFunc]{{16, packt_avx512}, {8, packt_avx2}},
	scatternt:     &laneKernel[scatterFunc]{16, scatterrowsnt_avx512},
	fmapeak:       fmapeak_avx512,
	flopsPerIter:  12 * 2 * 16,
	gemmnt:        gemmnt_avx512,
	prefetch:      true,
	ntRows:        4,
	gemms:         []gemmKernel{{64, gemms4_avx512}, {32, gemms2_avx512}, {16, gemms1_avx512}},
	gemmacc:       []gemmKernel{{64, gemmacc4_avx512}, {32, gemmacc2_avx512}, {16, gemmacc1_avx512}},
}
