package asm

import (
	"math"
)

// genericKernels is the pure-Go kernel set: it compiles everywhere, is always
// tested, and is the reference every SIMD set is tested against.
var genericKernels = &Kernels{
	Name:      "generic",
	GemmNT:    gemmNTGeneric,
	GemmNNAcc: gemmNNAccGeneric,
	Max:       maxGeneric,
	ExpSum:    expSumGeneric,
	Scale:     scaleGeneric,
	Axpy:      axpyGeneric,
}

// Registered from a package-level variable initialiser so that it precedes
// every init function, whatever the file names.
var _ = func() int { register(genericKernels); return 0 }()

func gemmNTGeneric(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		ci := c[i*ldc : i*ldc+n]
		for j := range ci {
			bj := b[j*ldb : j*ldb+k]
			var s float32
			for p, av := range ai {
				s += av * bj[p]
			}
			ci[j] = s
		}
	}
}

func gemmNNAccGeneric(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		ci := c[i*ldc : i*ldc+n]
		for p, av := range ai {
			axpyGeneric(ci, av, b[p*ldb:p*ldb+n])
		}
	}
}

func maxGeneric(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m || v != v {
			m = v
		}
	}
	return m
}

// expSumGeneric uses float64 exp rounded to float32: exact to half an ulp,
// which makes it the accuracy reference for the vectorised exps.
func expSumGeneric(x []float32, m float32) float32 {
	var s float32
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		x[i] = e
		s += e
	}
	return s
}

func scaleGeneric(x []float32, a float32) {
	for i := range x {
		x[i] *= a
	}
}

func axpyGeneric(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}
