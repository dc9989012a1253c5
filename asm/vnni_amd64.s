//go:build !purego

#include "textflag.h"

// The int16 kernels of LSH's certified hashing (AVX-512 F + VNNI),
// hand-written: avo v0.5.0 knows no AVX512_VNNI instruction. A packed
// int16 matrix holds two depth elements per int32 (even element in the low
// half), which is the pair VPDPWSSD multiplies and adds into one int32
// lane.

// func quant16_avx512(x *float32, ldx int, q *int32, ldq int, rows, chunks int, mult *float32)
//
// For each of rows rows: the first 16·chunks floats of row x[i·ldx:],
// times mult[i], rounded to the nearest integer (ties to even: MXCSR's
// default), truncated to int16 and stored packed from q[i·ldq:] (8 int32
// per chunk). The caller guarantees |x·mult| < 2¹⁵.
TEXT ·quant16_avx512(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), SI
	MOVQ ldx+8(FP), R8
	SHLQ $2, R8
	MOVQ q+16(FP), DI
	MOVQ ldq+24(FP), R9
	SHLQ $2, R9
	MOVQ rows+32(FP), CX
	MOVQ mult+48(FP), DX

qrow:
	TESTQ CX, CX
	JZ    qdone
	VBROADCASTSS (DX), Z0
	MOVQ  chunks+40(FP), BX
	MOVQ  SI, R10
	MOVQ  DI, R11

qchunk:
	TESTQ     BX, BX
	JZ        qnext
	VMULPS    (R10), Z0, Z1
	VCVTPS2DQ Z1, Z1
	VPMOVDW   Z1, (R11)
	ADDQ      $64, R10
	ADDQ      $32, R11
	DECQ      BX
	JMP       qchunk

qnext:
	ADDQ R8, SI
	ADDQ R9, DI
	ADDQ $4, DX
	DECQ CX
	JMP  qrow

qdone:
	VZEROUPPER
	RET

// func dot16x64_avx512(a *int32, lda int, b *int32, ldb int, out *float32, ldo int, rows, pairs int, mult *float32)
//
// One panel of 64 columns: out[i·ldo+t] = float32(Σ_p' dot2(a[i·lda+p'],
// b[p'·ldb+t]))·mult[i] for t < 64, i < rows (a multiple of 6), p' < pairs
// (> 0), dot2 the sum of the two int16 products of a pair; int32 sums
// (the caller keeps them in range). A 6×64 register tile: 24 accumulators
// Z0–Z23, the four vectors of b's pair row in Z24–Z27, the broadcast pair
// of a in Z28.
TEXT ·dot16x64_avx512(SB), NOSPLIT, $0-72
	MOVQ a+0(FP), AX
	MOVQ lda+8(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	MOVQ b+16(FP), R11
	MOVQ ldb+24(FP), R10
	SHLQ $2, R10
	MOVQ out+32(FP), R12
	MOVQ ldo+40(FP), R13
	SHLQ $2, R13
	MOVQ mult+64(FP), DX

group:
	CMPQ rows+48(FP), $6
	JL   done
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	MOVQ   AX, SI
	LEAQ   (AX)(R9*1), DI
	MOVQ   R11, BX
	MOVQ   pairs+56(FP), CX

inner:
	VMOVDQU32    (BX), Z24
	VMOVDQU32    64(BX), Z25
	VMOVDQU32    128(BX), Z26
	VMOVDQU32    192(BX), Z27
	VPBROADCASTD (SI), Z28
	VPDPWSSD     Z24, Z28, Z0
	VPDPWSSD     Z25, Z28, Z1
	VPDPWSSD     Z26, Z28, Z2
	VPDPWSSD     Z27, Z28, Z3
	VPBROADCASTD (SI)(R8*1), Z28
	VPDPWSSD     Z24, Z28, Z4
	VPDPWSSD     Z25, Z28, Z5
	VPDPWSSD     Z26, Z28, Z6
	VPDPWSSD     Z27, Z28, Z7
	VPBROADCASTD (SI)(R8*2), Z28
	VPDPWSSD     Z24, Z28, Z8
	VPDPWSSD     Z25, Z28, Z9
	VPDPWSSD     Z26, Z28, Z10
	VPDPWSSD     Z27, Z28, Z11
	VPBROADCASTD (DI), Z28
	VPDPWSSD     Z24, Z28, Z12
	VPDPWSSD     Z25, Z28, Z13
	VPDPWSSD     Z26, Z28, Z14
	VPDPWSSD     Z27, Z28, Z15
	VPBROADCASTD (DI)(R8*1), Z28
	VPDPWSSD     Z24, Z28, Z16
	VPDPWSSD     Z25, Z28, Z17
	VPDPWSSD     Z26, Z28, Z18
	VPDPWSSD     Z27, Z28, Z19
	VPBROADCASTD (DI)(R8*2), Z28
	VPDPWSSD     Z24, Z28, Z20
	VPDPWSSD     Z25, Z28, Z21
	VPDPWSSD     Z26, Z28, Z22
	VPDPWSSD     Z27, Z28, Z23
	ADDQ         $4, SI
	ADDQ         $4, DI
	ADDQ         R10, BX
	DECQ         CX
	JNZ          inner

	// Convert, scale by the row's factor and store: rows 0–2 from R12,
	// rows 3–5 from SI = R12 + 3·ldo.
	LEAQ (R13)(R13*2), DI
	LEAQ (R12)(DI*1), SI

	VBROADCASTSS 0(DX), Z28
	VCVTDQ2PS    Z0, Z0
	VCVTDQ2PS    Z1, Z1
	VCVTDQ2PS    Z2, Z2
	VCVTDQ2PS    Z3, Z3
	VMULPS       Z28, Z0, Z0
	VMULPS       Z28, Z1, Z1
	VMULPS       Z28, Z2, Z2
	VMULPS       Z28, Z3, Z3
	VMOVUPS      Z0, 0(R12)
	VMOVUPS      Z1, 64(R12)
	VMOVUPS      Z2, 128(R12)
	VMOVUPS      Z3, 192(R12)
	VBROADCASTSS 4(DX), Z28
	VCVTDQ2PS    Z4, Z4
	VCVTDQ2PS    Z5, Z5
	VCVTDQ2PS    Z6, Z6
	VCVTDQ2PS    Z7, Z7
	VMULPS       Z28, Z4, Z4
	VMULPS       Z28, Z5, Z5
	VMULPS       Z28, Z6, Z6
	VMULPS       Z28, Z7, Z7
	VMOVUPS      Z4, 0(R12)(R13*1)
	VMOVUPS      Z5, 64(R12)(R13*1)
	VMOVUPS      Z6, 128(R12)(R13*1)
	VMOVUPS      Z7, 192(R12)(R13*1)
	VBROADCASTSS 8(DX), Z28
	VCVTDQ2PS    Z8, Z8
	VCVTDQ2PS    Z9, Z9
	VCVTDQ2PS    Z10, Z10
	VCVTDQ2PS    Z11, Z11
	VMULPS       Z28, Z8, Z8
	VMULPS       Z28, Z9, Z9
	VMULPS       Z28, Z10, Z10
	VMULPS       Z28, Z11, Z11
	VMOVUPS      Z8, 0(R12)(R13*2)
	VMOVUPS      Z9, 64(R12)(R13*2)
	VMOVUPS      Z10, 128(R12)(R13*2)
	VMOVUPS      Z11, 192(R12)(R13*2)
	VBROADCASTSS 12(DX), Z28
	VCVTDQ2PS    Z12, Z12
	VCVTDQ2PS    Z13, Z13
	VCVTDQ2PS    Z14, Z14
	VCVTDQ2PS    Z15, Z15
	VMULPS       Z28, Z12, Z12
	VMULPS       Z28, Z13, Z13
	VMULPS       Z28, Z14, Z14
	VMULPS       Z28, Z15, Z15
	VMOVUPS      Z12, 0(SI)
	VMOVUPS      Z13, 64(SI)
	VMOVUPS      Z14, 128(SI)
	VMOVUPS      Z15, 192(SI)
	VBROADCASTSS 16(DX), Z28
	VCVTDQ2PS    Z16, Z16
	VCVTDQ2PS    Z17, Z17
	VCVTDQ2PS    Z18, Z18
	VCVTDQ2PS    Z19, Z19
	VMULPS       Z28, Z16, Z16
	VMULPS       Z28, Z17, Z17
	VMULPS       Z28, Z18, Z18
	VMULPS       Z28, Z19, Z19
	VMOVUPS      Z16, 0(SI)(R13*1)
	VMOVUPS      Z17, 64(SI)(R13*1)
	VMOVUPS      Z18, 128(SI)(R13*1)
	VMOVUPS      Z19, 192(SI)(R13*1)
	VBROADCASTSS 20(DX), Z28
	VCVTDQ2PS    Z20, Z20
	VCVTDQ2PS    Z21, Z21
	VCVTDQ2PS    Z22, Z22
	VCVTDQ2PS    Z23, Z23
	VMULPS       Z28, Z20, Z20
	VMULPS       Z28, Z21, Z21
	VMULPS       Z28, Z22, Z22
	VMULPS       Z28, Z23, Z23
	VMOVUPS      Z20, 0(SI)(R13*2)
	VMOVUPS      Z21, 64(SI)(R13*2)
	VMOVUPS      Z22, 128(SI)(R13*2)
	VMOVUPS      Z23, 192(SI)(R13*2)

	LEAQ (AX)(R9*2), AX
	LEAQ (R12)(DI*2), R12
	ADDQ $24, DX
	SUBQ $6, rows+48(FP)
	JMP  group

done:
	VZEROUPPER
	RET
