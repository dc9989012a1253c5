//go:build !purego

package asm

// Hand-written in vnni_amd64.s (AVX-512 F + VNNI); see the comments there.

//go:noescape
func quant16_avx512(x *float32, ldx int, q *int32, ldq int, rows, chunks int, mult *float32)

//go:noescape
func dot16x64_avx512(a *int32, lda int, b *int32, ldb int, out *float32, ldo int, rows, pairs int, mult *float32)
