//go:build !purego

#include "textflag.h"

// NEON kernels of package asm, hand-written (avo emits no arm64). Go's
// arm64 assembler has no vector floating-point instructions besides
// VFMLA/VFMLS, so the others are WORD encodings with the instruction in the
// comment beside each. Every function works on whole 4-float vectors (or
// whole register tiles); the Go wrappers in simd.go handle the rest.

// func scale_neon(dst, src *float32, n int, a float32)
// dst[i] = a·src[i]; dst may be src.
TEXT ·scale_neon(SB), NOSPLIT, $0-28
	MOVD  dst+0(FP), R0
	MOVD  src+8(FP), R2
	MOVD  n+16(FP), R1
	FMOVS a+24(FP), F0
	VDUP  V0.S[0], V1.S4

scale_loop:
	CBZ    R1, scale_done
	VLD1.P 16(R2), [V2.S4]
	WORD $0x6e21dc42 // FMUL V2.4S, V2.4S, V1.4S
	VST1.P [V2.S4], 16(R0)
	SUB    $4, R1
	B      scale_loop

scale_done:
	RET

// func axpy_neon(y *float32, x *float32, n int, a float32)
TEXT ·axpy_neon(SB), NOSPLIT, $0-28
	MOVD  y+0(FP), R0
	MOVD  x+8(FP), R1
	MOVD  n+16(FP), R2
	FMOVS a+24(FP), F0
	VDUP  V0.S[0], V1.S4

axpy_loop:
	CBZ    R2, axpy_done
	VLD1   (R0), [V2.S4]
	VLD1.P 16(R1), [V3.S4]
	VFMLA  V1.S4, V3.S4, V2.S4
	VST1.P [V2.S4], 16(R0)
	SUB    $4, R2
	B      axpy_loop

axpy_done:
	RET

// func max_neon(x *float32, n int) float32
// FMAX returns NaN when either operand is NaN, so a NaN propagates.
TEXT ·max_neon(SB), NOSPLIT, $0-20
	MOVD   x+0(FP), R0
	MOVD   n+8(FP), R1
	VLD1.P 16(R0), [V0.S4]
	SUB    $4, R1

max_loop:
	CBZ    R1, max_done
	VLD1.P 16(R0), [V1.S4]
	WORD $0x4e21f400 // FMAX V0.4S, V0.4S, V1.4S
	SUB    $4, R1
	B      max_loop

max_done:
	WORD $0x6e20f400 // FMAXP V0.4S, V0.4S, V0.4S
	WORD $0x6e20f400 // FMAXP V0.4S, V0.4S, V0.4S
	FMOVS F0, ret+16(FP)
	RET

// func vmax_neon(dst *float32, src *float32, n int)
TEXT ·vmax_neon(SB), NOSPLIT, $0-24
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD n+16(FP), R2

vmax_loop:
	CBZ    R2, vmax_done
	VLD1   (R0), [V0.S4]
	VLD1.P 16(R1), [V1.S4]
	WORD $0x4e21f400 // FMAX V0.4S, V0.4S, V1.4S
	VST1.P [V0.S4], 16(R0)
	SUB    $4, R2
	B      vmax_loop

vmax_done:
	RET

// func dot_neon(x *float32, y *float32, n int) float32
TEXT ·dot_neon(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R0
	MOVD y+8(FP), R1
	MOVD n+16(FP), R2
	VEOR V0.B16, V0.B16, V0.B16

dot_loop:
	CBZ    R2, dot_done
	VLD1.P 16(R0), [V1.S4]
	VLD1.P 16(R1), [V2.S4]
	VFMLA  V1.S4, V2.S4, V0.S4
	SUB    $4, R2
	B      dot_loop

dot_done:
	WORD $0x6e20d400 // FADDP V0.4S, V0.4S, V0.4S
	WORD $0x6e20d400 // FADDP V0.4S, V0.4S, V0.4S
	FMOVS F0, ret+24(FP)
	RET

// func expsum_neon(x *float32, n int, m float32) float32
//
// exp(x−m) as in the amd64 sets: clamp, n = round(t·log2e), Cody–Waite
// r = t − n·ln2hi − n·ln2lo, exp(r) = 1 + r + r²·P(r), times 2^n built from
// n's bits; arguments below ExpMin give 0 and NaN stays NaN.
// Constants: V17 m, V18 zero, V19 bias 127, V20 expmin, V21 expmax,
// V22 log2e, V23 ln2hi, V24 ln2lo, V25–V30 P, V31 one; V16 the sum.
TEXT ·expsum_neon(SB), NOSPLIT, $0-28
	MOVD  x+0(FP), R0
	MOVD  n+8(FP), R1
	FMOVS m+16(FP), F17
	VDUP  V17.S[0], V17.S4
	VEOR  V18.B16, V18.B16, V18.B16
	VEOR  V16.B16, V16.B16, V16.B16
	MOVW  $127, R3
	VDUP  R3, V19.S4
	MOVW  $0xc2aeac4f, R3
	VDUP  R3, V20.S4
	MOVW  $0x42b10000, R3
	VDUP  R3, V21.S4
	MOVW  $0x3fb8aa3b, R3
	VDUP  R3, V22.S4
	MOVW  $0x3f318000, R3
	VDUP  R3, V23.S4
	MOVW  $0xb95e8083, R3
	VDUP  R3, V24.S4
	MOVW  $0x39506967, R3
	VDUP  R3, V25.S4
	MOVW  $0x3ab743ce, R3
	VDUP  R3, V26.S4
	MOVW  $0x3c088908, R3
	VDUP  R3, V27.S4
	MOVW  $0x3d2aa9c1, R3
	VDUP  R3, V28.S4
	MOVW  $0x3e2aaaaa, R3
	VDUP  R3, V29.S4
	MOVW  $0x3f000000, R3
	VDUP  R3, V30.S4
	MOVW  $0x3f800000, R3
	VDUP  R3, V31.S4

expsum_loop:
	CBZ    R1, expsum_done
	VLD1   (R0), [V1.S4]
	WORD $0x4eb1d421 // FSUB V1.4S, V1.4S, V17.4S
	WORD $0x6ea1e682 // FCMGT V2.4S, V20.4S, V1.4S
	WORD $0x4e34f423 // FMAX V3.4S, V1.4S, V20.4S
	WORD $0x4eb5f463 // FMIN V3.4S, V3.4S, V21.4S
	WORD $0x6e36dc64 // FMUL V4.4S, V3.4S, V22.4S
	WORD $0x4e218884 // FRINTN V4.4S, V4.4S
	VFMLS  V23.S4, V4.S4, V3.S4
	VFMLS  V24.S4, V4.S4, V3.S4
	VMOV   V26.B16, V6.B16
	VFMLA  V3.S4, V25.S4, V6.S4
	VMOV   V27.B16, V5.B16
	VFMLA  V3.S4, V6.S4, V5.S4
	VMOV   V28.B16, V6.B16
	VFMLA  V3.S4, V5.S4, V6.S4
	VMOV   V29.B16, V5.B16
	VFMLA  V3.S4, V6.S4, V5.S4
	VMOV   V30.B16, V6.B16
	VFMLA  V3.S4, V5.S4, V6.S4
	WORD $0x6e23dc67 // FMUL V7.4S, V3.4S, V3.4S
	VMOV   V3.B16, V8.B16
	VFMLA  V7.S4, V6.S4, V8.S4
	WORD $0x4e3fd508 // FADD V8.4S, V8.4S, V31.4S
	WORD $0x4e21a889 // FCVTNS V9.4S, V4.4S
	VADD   V19.S4, V9.S4, V9.S4
	VSHL   $23, V9.S4, V9.S4
	WORD $0x6e29dd0a // FMUL V10.4S, V8.4S, V9.4S
	VBIT   V2.B16, V18.B16, V10.B16
	WORD $0x4e2ad610 // FADD V16.4S, V16.4S, V10.4S
	VST1.P [V10.S4], 16(R0)
	SUB    $4, R1
	B      expsum_loop

expsum_done:
	WORD $0x6e30d610 // FADDP V16.4S, V16.4S, V16.4S
	WORD $0x6e30d610 // FADDP V16.4S, V16.4S, V16.4S
	FMOVS F16, ret+24(FP)
	RET

// func fmapeak_neon(iters int)
// Eight independent FMLA chains: 8 × 4 lanes × 2 flops per iteration.
TEXT ·fmapeak_neon(SB), NOSPLIT, $0-8
	MOVD  iters+0(FP), R0
	FMOVS $1.0, F30
	VDUP  V30.S[0], V30.S4
	VEOR  V31.B16, V31.B16, V31.B16
	VEOR  V0.B16, V0.B16, V0.B16
	VEOR  V1.B16, V1.B16, V1.B16
	VEOR  V2.B16, V2.B16, V2.B16
	VEOR  V3.B16, V3.B16, V3.B16
	VEOR  V4.B16, V4.B16, V4.B16
	VEOR  V5.B16, V5.B16, V5.B16
	VEOR  V6.B16, V6.B16, V6.B16
	VEOR  V7.B16, V7.B16, V7.B16

peak_loop:
	CBZ   R0, peak_done
	VFMLA V30.S4, V31.S4, V0.S4
	VFMLA V30.S4, V31.S4, V1.S4
	VFMLA V30.S4, V31.S4, V2.S4
	VFMLA V30.S4, V31.S4, V3.S4
	VFMLA V30.S4, V31.S4, V4.S4
	VFMLA V30.S4, V31.S4, V5.S4
	VFMLA V30.S4, V31.S4, V6.S4
	VFMLA V30.S4, V31.S4, V7.S4
	SUB   $1, R0
	B     peak_loop

peak_done:
	RET

// func gemmnt_neon(a *float32, lda int, b *float32, ldb int, c *float32, ldc int, m int, n int, k int)
// c[i][j] = Σ_p a[i][p]·b[j][p] for i < m, j < n (a multiple of 4), p < k
// (a multiple of 4): one row of a against four rows of b, one accumulator
// vector per pair, reduced with pairwise adds into [c0 c1 c2 c3].
TEXT ·gemmnt_neon(SB), NOSPLIT, $0-72
	MOVD a+0(FP), R0
	MOVD lda+8(FP), R1
	LSL  $2, R1
	MOVD ldb+24(FP), R3
	LSL  $2, R3
	MOVD c+32(FP), R4
	MOVD ldc+40(FP), R5
	LSL  $2, R5
	MOVD m+48(FP), R6

nt_rows:
	CBZ  R6, nt_done
	MOVD b+16(FP), R7
	MOVD R4, R8
	MOVD n+56(FP), R9

nt_cols:
	CBZ  R9, nt_nextrow
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	MOVD R0, R10
	MOVD R7, R11
	ADD  R3, R11, R12
	ADD  R3, R12, R13
	ADD  R3, R13, R14
	MOVD k+64(FP), R15

nt_p:
	CBZ    R15, nt_reduce
	VLD1.P 16(R10), [V4.S4]
	VLD1.P 16(R11), [V5.S4]
	VLD1.P 16(R12), [V6.S4]
	VLD1.P 16(R13), [V7.S4]
	VLD1.P 16(R14), [V8.S4]
	VFMLA  V4.S4, V5.S4, V0.S4
	VFMLA  V4.S4, V6.S4, V1.S4
	VFMLA  V4.S4, V7.S4, V2.S4
	VFMLA  V4.S4, V8.S4, V3.S4
	SUB    $4, R15
	B      nt_p

nt_reduce:
	WORD $0x6e21d400 // FADDP V0.4S, V0.4S, V1.4S
	WORD $0x6e23d442 // FADDP V2.4S, V2.4S, V3.4S
	WORD $0x6e22d400 // FADDP V0.4S, V0.4S, V2.4S
	VST1   [V0.S4], (R8)
	ADD    $16, R8
	ADD    R3<<2, R7
	SUB    $4, R9
	B      nt_cols

nt_nextrow:
	ADD R1, R0
	ADD R5, R4
	SUB $1, R6
	B   nt_rows

nt_done:
	RET

// func gemmacc4_neon(a *float32, aRow int, aK int, b *float32, ldb int, c *float32, ldc int, rows int, k int, vec *float32)
// c[i][j] = vec[i]·c[i][j] + Σ_p a[i·aRow+p·aK]·b[p·ldb+j] for j < 16
// (vec nil: no scaling): a 4×16 register tile (V0–V15), then single rows.
// A is read by broadcasts (LD1R) through its two strides.
TEXT ·gemmacc4_neon(SB), NOSPLIT, $0-80
	MOVD a+0(FP), R0
	MOVD aRow+8(FP), R1
	LSL  $2, R1
	MOVD aK+16(FP), R2
	LSL  $2, R2
	MOVD ldb+32(FP), R3
	LSL  $2, R3
	MOVD c+40(FP), R4
	MOVD ldc+48(FP), R5
	LSL  $2, R5
	MOVD rows+56(FP), R6
	MOVD vec+72(FP), R7

acc_block:
	CMP  $4, R6
	BLT  acc_single
	MOVD R4, R8
	ADD  R5, R8, R9
	ADD  R5, R9, R10
	ADD  R5, R10, R11
	VLD1 (R8), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1 (R9), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1 (R10), [V8.S4, V9.S4, V10.S4, V11.S4]
	VLD1 (R11), [V12.S4, V13.S4, V14.S4, V15.S4]
	CBZ  R7, acc_block_noscale
	VLD1 (R7), [V28.S4]
	WORD $0x4f9c9000 // FMUL V0.4S, V0.4S, V28.S[0]
	WORD $0x4f9c9021 // FMUL V1.4S, V1.4S, V28.S[0]
	WORD $0x4f9c9042 // FMUL V2.4S, V2.4S, V28.S[0]
	WORD $0x4f9c9063 // FMUL V3.4S, V3.4S, V28.S[0]
	WORD $0x4fbc9084 // FMUL V4.4S, V4.4S, V28.S[1]
	WORD $0x4fbc90a5 // FMUL V5.4S, V5.4S, V28.S[1]
	WORD $0x4fbc90c6 // FMUL V6.4S, V6.4S, V28.S[1]
	WORD $0x4fbc90e7 // FMUL V7.4S, V7.4S, V28.S[1]
	WORD $0x4f9c9908 // FMUL V8.4S, V8.4S, V28.S[2]
	WORD $0x4f9c9929 // FMUL V9.4S, V9.4S, V28.S[2]
	WORD $0x4f9c994a // FMUL V10.4S, V10.4S, V28.S[2]
	WORD $0x4f9c996b // FMUL V11.4S, V11.4S, V28.S[2]
	WORD $0x4fbc998c // FMUL V12.4S, V12.4S, V28.S[3]
	WORD $0x4fbc99ad // FMUL V13.4S, V13.4S, V28.S[3]
	WORD $0x4fbc99ce // FMUL V14.4S, V14.4S, V28.S[3]
	WORD $0x4fbc99ef // FMUL V15.4S, V15.4S, V28.S[3]
	ADD  $16, R7

acc_block_noscale:
	MOVD R0, R12
	ADD  R1, R12, R13
	ADD  R1, R13, R14
	ADD  R1, R14, R15
	MOVD b+24(FP), R16
	MOVD k+64(FP), R17

acc_block_p:
	CBZ   R17, acc_block_store
	VLD1  (R16), [V16.S4, V17.S4, V18.S4, V19.S4]
	ADD   R3, R16
	VLD1R (R12), [V20.S4]
	VLD1R (R13), [V21.S4]
	VLD1R (R14), [V22.S4]
	VLD1R (R15), [V23.S4]
	ADD   R2, R12
	ADD   R2, R13
	ADD   R2, R14
	ADD   R2, R15
	VFMLA V16.S4, V20.S4, V0.S4
	VFMLA V17.S4, V20.S4, V1.S4
	VFMLA V18.S4, V20.S4, V2.S4
	VFMLA V19.S4, V20.S4, V3.S4
	VFMLA V16.S4, V21.S4, V4.S4
	VFMLA V17.S4, V21.S4, V5.S4
	VFMLA V18.S4, V21.S4, V6.S4
	VFMLA V19.S4, V21.S4, V7.S4
	VFMLA V16.S4, V22.S4, V8.S4
	VFMLA V17.S4, V22.S4, V9.S4
	VFMLA V18.S4, V22.S4, V10.S4
	VFMLA V19.S4, V22.S4, V11.S4
	VFMLA V16.S4, V23.S4, V12.S4
	VFMLA V17.S4, V23.S4, V13.S4
	VFMLA V18.S4, V23.S4, V14.S4
	VFMLA V19.S4, V23.S4, V15.S4
	SUB   $1, R17
	B     acc_block_p

acc_block_store:
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R8)
	VST1 [V4.S4, V5.S4, V6.S4, V7.S4], (R9)
	VST1 [V8.S4, V9.S4, V10.S4, V11.S4], (R10)
	VST1 [V12.S4, V13.S4, V14.S4, V15.S4], (R11)
	ADD  R1<<2, R0
	ADD  R5<<2, R4
	SUB  $4, R6
	B    acc_block

acc_single:
	CBZ  R6, acc_done
	VLD1 (R4), [V0.S4, V1.S4, V2.S4, V3.S4]
	CBZ  R7, acc_single_noscale
	VLD1R (R7), [V28.S4]
	WORD $0x6e3cdc00 // FMUL V0.4S, V0.4S, V28.4S
	WORD $0x6e3cdc21 // FMUL V1.4S, V1.4S, V28.4S
	WORD $0x6e3cdc42 // FMUL V2.4S, V2.4S, V28.4S
	WORD $0x6e3cdc63 // FMUL V3.4S, V3.4S, V28.4S
	ADD  $4, R7

acc_single_noscale:
	MOVD R0, R12
	MOVD b+24(FP), R16
	MOVD k+64(FP), R17

acc_single_p:
	CBZ   R17, acc_single_store
	VLD1  (R16), [V16.S4, V17.S4, V18.S4, V19.S4]
	ADD   R3, R16
	VLD1R (R12), [V20.S4]
	ADD   R2, R12
	VFMLA V16.S4, V20.S4, V0.S4
	VFMLA V17.S4, V20.S4, V1.S4
	VFMLA V18.S4, V20.S4, V2.S4
	VFMLA V19.S4, V20.S4, V3.S4
	SUB   $1, R17
	B     acc_single_p

acc_single_store:
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R4)
	ADD  R1, R0
	ADD  R5, R4
	SUB  $1, R6
	B    acc_single

acc_done:
	RET

// func gemms4_neon(a *float32, aRow, aK int, b *float32, ldb int, c *float32, ldc int, rows, k int, vec *float32)
// c[i][j] = Σ_p a[i·aRow+p·aK]·b[p·ldb+j] for j < 16, and vec[j] =
// max(vec[j], c[i][j]) row by row in order, a NaN never replacing vec[j]
// (as ScoresT's generic code: vec[j] takes c[i][j] only when greater).
// Four rows at a time (16 accumulators), then single rows.
TEXT ·gemms4_neon(SB), NOSPLIT, $0-80
	MOVD a+0(FP), R0
	MOVD aRow+8(FP), R1
	LSL  $2, R1
	MOVD aK+16(FP), R2
	LSL  $2, R2
	MOVD ldb+32(FP), R3
	LSL  $2, R3
	MOVD c+40(FP), R4
	MOVD ldc+48(FP), R5
	LSL  $2, R5
	MOVD rows+56(FP), R6
	MOVD vec+72(FP), R7

s_block:
	CMP  $4, R6
	BLT  s_single
	MOVD R4, R8
	ADD  R5, R8, R9
	ADD  R5, R9, R10
	ADD  R5, R10, R11
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	MOVD R0, R12
	ADD  R1, R12, R13
	ADD  R1, R13, R14
	ADD  R1, R14, R15
	MOVD b+24(FP), R16
	MOVD k+64(FP), R17

s_block_p:
	CBZ   R17, s_block_store
	VLD1  (R16), [V16.S4, V17.S4, V18.S4, V19.S4]
	ADD   R3, R16
	VLD1R (R12), [V20.S4]
	VLD1R (R13), [V21.S4]
	VLD1R (R14), [V22.S4]
	VLD1R (R15), [V23.S4]
	ADD   R2, R12
	ADD   R2, R13
	ADD   R2, R14
	ADD   R2, R15
	VFMLA V16.S4, V20.S4, V0.S4
	VFMLA V17.S4, V20.S4, V1.S4
	VFMLA V18.S4, V20.S4, V2.S4
	VFMLA V19.S4, V20.S4, V3.S4
	VFMLA V16.S4, V21.S4, V4.S4
	VFMLA V17.S4, V21.S4, V5.S4
	VFMLA V18.S4, V21.S4, V6.S4
	VFMLA V19.S4, V21.S4, V7.S4
	VFMLA V16.S4, V22.S4, V8.S4
	VFMLA V17.S4, V22.S4, V9.S4
	VFMLA V18.S4, V22.S4, V10.S4
	VFMLA V19.S4, V22.S4, V11.S4
	VFMLA V16.S4, V23.S4, V12.S4
	VFMLA V17.S4, V23.S4, V13.S4
	VFMLA V18.S4, V23.S4, V14.S4
	VFMLA V19.S4, V23.S4, V15.S4
	SUB   $1, R17
	B     s_block_p

s_block_store:
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R8)
	VST1 [V4.S4, V5.S4, V6.S4, V7.S4], (R9)
	VST1 [V8.S4, V9.S4, V10.S4, V11.S4], (R10)
	VST1 [V12.S4, V13.S4, V14.S4, V15.S4], (R11)
	VLD1 (R7), [V24.S4, V25.S4, V26.S4, V27.S4]
	WORD $0x6eb8e41c // FCMGT V28.4S, V0.4S, V24.4S
	VBIT V28.B16, V0.B16, V24.B16
	WORD $0x6eb9e43c // FCMGT V28.4S, V1.4S, V25.4S
	VBIT V28.B16, V1.B16, V25.B16
	WORD $0x6ebae45c // FCMGT V28.4S, V2.4S, V26.4S
	VBIT V28.B16, V2.B16, V26.B16
	WORD $0x6ebbe47c // FCMGT V28.4S, V3.4S, V27.4S
	VBIT V28.B16, V3.B16, V27.B16
	WORD $0x6eb8e49c // FCMGT V28.4S, V4.4S, V24.4S
	VBIT V28.B16, V4.B16, V24.B16
	WORD $0x6eb9e4bc // FCMGT V28.4S, V5.4S, V25.4S
	VBIT V28.B16, V5.B16, V25.B16
	WORD $0x6ebae4dc // FCMGT V28.4S, V6.4S, V26.4S
	VBIT V28.B16, V6.B16, V26.B16
	WORD $0x6ebbe4fc // FCMGT V28.4S, V7.4S, V27.4S
	VBIT V28.B16, V7.B16, V27.B16
	WORD $0x6eb8e51c // FCMGT V28.4S, V8.4S, V24.4S
	VBIT V28.B16, V8.B16, V24.B16
	WORD $0x6eb9e53c // FCMGT V28.4S, V9.4S, V25.4S
	VBIT V28.B16, V9.B16, V25.B16
	WORD $0x6ebae55c // FCMGT V28.4S, V10.4S, V26.4S
	VBIT V28.B16, V10.B16, V26.B16
	WORD $0x6ebbe57c // FCMGT V28.4S, V11.4S, V27.4S
	VBIT V28.B16, V11.B16, V27.B16
	WORD $0x6eb8e59c // FCMGT V28.4S, V12.4S, V24.4S
	VBIT V28.B16, V12.B16, V24.B16
	WORD $0x6eb9e5bc // FCMGT V28.4S, V13.4S, V25.4S
	VBIT V28.B16, V13.B16, V25.B16
	WORD $0x6ebae5dc // FCMGT V28.4S, V14.4S, V26.4S
	VBIT V28.B16, V14.B16, V26.B16
	WORD $0x6ebbe5fc // FCMGT V28.4S, V15.4S, V27.4S
	VBIT V28.B16, V15.B16, V27.B16
	VST1 [V24.S4, V25.S4, V26.S4, V27.S4], (R7)
	ADD  R1<<2, R0
	ADD  R5<<2, R4
	SUB  $4, R6
	B    s_block

s_single:
	CBZ  R6, s_done
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	MOVD R0, R12
	MOVD b+24(FP), R16
	MOVD k+64(FP), R17

s_single_p:
	CBZ   R17, s_single_store
	VLD1  (R16), [V16.S4, V17.S4, V18.S4, V19.S4]
	ADD   R3, R16
	VLD1R (R12), [V20.S4]
	ADD   R2, R12
	VFMLA V16.S4, V20.S4, V0.S4
	VFMLA V17.S4, V20.S4, V1.S4
	VFMLA V18.S4, V20.S4, V2.S4
	VFMLA V19.S4, V20.S4, V3.S4
	SUB   $1, R17
	B     s_single_p

s_single_store:
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R4)
	VLD1 (R7), [V24.S4, V25.S4, V26.S4, V27.S4]
	WORD $0x6eb8e41c // FCMGT V28.4S, V0.4S, V24.4S
	VBIT V28.B16, V0.B16, V24.B16
	WORD $0x6eb9e43c // FCMGT V28.4S, V1.4S, V25.4S
	VBIT V28.B16, V1.B16, V25.B16
	WORD $0x6ebae45c // FCMGT V28.4S, V2.4S, V26.4S
	VBIT V28.B16, V2.B16, V26.B16
	WORD $0x6ebbe47c // FCMGT V28.4S, V3.4S, V27.4S
	VBIT V28.B16, V3.B16, V27.B16
	VST1 [V24.S4, V25.S4, V26.S4, V27.S4], (R7)
	ADD  R1, R0
	ADD  R5, R4
	SUB  $1, R6
	B    s_single

s_done:
	RET

// func exp2cols_neon(sp *float32, rows, width, ld int, m, alpha, l *float32)
// The softmax step of a transposed score tile, 4 columns at a time (width
// a multiple of 4, row stride ld floats), as SoftmaxT defines it:
// s[j][i] = 2^((s[j][i] − m[i])·log₂e), alpha[i] = 2^((alpha[i] − m[i])·log₂e),
// l[i] = alpha[i]·l[i] + Σ_j s[j][i]. 2^y as the AVX kernels compute it
// (_gen's exp, base 2): t = clamp(y, −126, 128), n = round(t), r = t − n,
// 2^r = 1 + r·Q(r) (Cephes exp2f), times 2^n from n's bits; 0 for y < −126,
// NaN for NaN (FMAX/FMIN propagate it and the compare keeps it).
TEXT ·exp2cols_neon(SB), NOSPLIT, $0-56
	MOVD  sp+0(FP), R0
	MOVD  width+16(FP), R2
	MOVD  ld+24(FP), R3
	LSL   $2, R3
	MOVD  m+32(FP), R4
	MOVD  alpha+40(FP), R5
	MOVD  l+48(FP), R6
	VEOR  V18.B16, V18.B16, V18.B16
	MOVW  $127, R7
	VDUP  R7, V19.S4
	MOVW  $0xc2fc0000, R7 // −126
	VDUP  R7, V20.S4
	MOVW  $0x43000000, R7 // 128
	VDUP  R7, V21.S4
	MOVW  $0x3fb8aa3b, R7 // log₂e
	VDUP  R7, V22.S4
	MOVW  $0x3920fdde, R7 // e2p0
	VDUP  R7, V23.S4
	MOVW  $0x3aaf9f29, R7 // e2p1
	VDUP  R7, V24.S4
	MOVW  $0x3c1d96a6, R7 // e2p2
	VDUP  R7, V25.S4
	MOVW  $0x3d635774, R7 // e2p3
	VDUP  R7, V26.S4
	MOVW  $0x3e75fdee, R7 // e2p4
	VDUP  R7, V27.S4
	MOVW  $0x3f317218, R7 // e2p5
	VDUP  R7, V28.S4
	MOVW  $0x3f800000, R7 // 1
	VDUP  R7, V29.S4

e2_group:
	CBZ   R2, e2_done
	VLD1  (R4), [V16.S4]
	VEOR  V17.B16, V17.B16, V17.B16
	MOVD  R0, R8
	MOVD  rows+8(FP), R1

e2_row:
	CBZ   R1, e2_alpha
	VLD1  (R8), [V1.S4]
	WORD $0x4eb0d421 // FSUB V1.4S, V1.4S, V16.4S
	WORD $0x6e36dc21 // FMUL V1.4S, V1.4S, V22.4S
	WORD $0x6ea1e682 // FCMGT V2.4S, V20.4S, V1.4S
	WORD $0x4e34f423 // FMAX V3.4S, V1.4S, V20.4S
	WORD $0x4eb5f463 // FMIN V3.4S, V3.4S, V21.4S
	WORD $0x4e218864 // FRINTN V4.4S, V3.4S
	WORD $0x4ea4d463 // FSUB V3.4S, V3.4S, V4.4S
	VMOV  V24.B16, V6.B16
	VFMLA V3.S4, V23.S4, V6.S4
	VMOV  V25.B16, V5.B16
	VFMLA V3.S4, V6.S4, V5.S4
	VMOV  V26.B16, V6.B16
	VFMLA V3.S4, V5.S4, V6.S4
	VMOV  V27.B16, V5.B16
	VFMLA V3.S4, V6.S4, V5.S4
	VMOV  V28.B16, V6.B16
	VFMLA V3.S4, V5.S4, V6.S4
	VMOV  V29.B16, V5.B16
	VFMLA V3.S4, V6.S4, V5.S4
	WORD $0x4e21a889 // FCVTNS V9.4S, V4.4S
	VADD  V19.S4, V9.S4, V9.S4
	VSHL  $23, V9.S4, V9.S4
	WORD $0x6e29dcaa // FMUL V10.4S, V5.4S, V9.4S
	VBIT  V2.B16, V18.B16, V10.B16
	VST1  [V10.S4], (R8)
	WORD $0x4e2ad631 // FADD V17.4S, V17.4S, V10.4S
	ADD   R3, R8
	SUB   $1, R1
	B     e2_row

e2_alpha:
	VLD1  (R5), [V1.S4]
	WORD $0x4eb0d421 // FSUB V1.4S, V1.4S, V16.4S
	WORD $0x6e36dc21 // FMUL V1.4S, V1.4S, V22.4S
	WORD $0x6ea1e682 // FCMGT V2.4S, V20.4S, V1.4S
	WORD $0x4e34f423 // FMAX V3.4S, V1.4S, V20.4S
	WORD $0x4eb5f463 // FMIN V3.4S, V3.4S, V21.4S
	WORD $0x4e218864 // FRINTN V4.4S, V3.4S
	WORD $0x4ea4d463 // FSUB V3.4S, V3.4S, V4.4S
	VMOV  V24.B16, V6.B16
	VFMLA V3.S4, V23.S4, V6.S4
	VMOV  V25.B16, V5.B16
	VFMLA V3.S4, V6.S4, V5.S4
	VMOV  V26.B16, V6.B16
	VFMLA V3.S4, V5.S4, V6.S4
	VMOV  V27.B16, V5.B16
	VFMLA V3.S4, V6.S4, V5.S4
	VMOV  V28.B16, V6.B16
	VFMLA V3.S4, V5.S4, V6.S4
	VMOV  V29.B16, V5.B16
	VFMLA V3.S4, V6.S4, V5.S4
	WORD $0x4e21a889 // FCVTNS V9.4S, V4.4S
	VADD  V19.S4, V9.S4, V9.S4
	VSHL  $23, V9.S4, V9.S4
	WORD $0x6e29dcaa // FMUL V10.4S, V5.4S, V9.4S
	VBIT  V2.B16, V18.B16, V10.B16
	VST1  [V10.S4], (R5)
	VLD1  (R6), [V11.S4]
	VFMLA V10.S4, V11.S4, V17.S4
	VST1  [V17.S4], (R6)
	ADD   $16, R0
	ADD   $16, R4
	ADD   $16, R5
	ADD   $16, R6
	SUB   $4, R2
	B     e2_group

e2_done:
	RET
