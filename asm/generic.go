package asm

import (
	"math"
)

// genericKernels is the pure-Go kernel set: it compiles everywhere, is always
// tested, and is the reference every SIMD set is tested against.
var genericKernels = &Kernels{
	Name:                  "generic",
	GemmNT:                gemmNTGeneric,
	GemmNNAcc:             gemmNNAccGeneric,
	Max:                   maxGeneric,
	ExpSum:                expSumGeneric,
	Scale:                 scaleGeneric,
	ScaleTo:               scaleToGeneric,
	Dot:                   dotGeneric,
	Axpy:                  axpyGeneric,
	ScoresT:               scoresTGeneric,
	SoftmaxT:              softmaxTGeneric,
	AccumulatePV:          accumulatePVGeneric,
	MaxInto:               maxIntoGeneric,
	MaskMatches:           maskMatchesGeneric,
	ColMax:                colMaxGeneric,
	ArgMaxPlusMinus:       argMaxPlusMinusGeneric,
	ArgMaxPlusMinusMargin: argMaxPlusMinusMarginGeneric,
	PackT:                 packTGeneric,
	ScatterRows:           scatterRowsGeneric,
	Quantize16:            quantize16Generic,
	Dot16:                 dot16Generic,
	Lanes:                 1,
	FMAPeak:               fmaPeakGeneric,
	FlopsPerIter:          2 * genericChains,
}

// Registered from a package-level variable initialiser so that it precedes
// every init function, whatever the file names.
var _ = func() int { register(genericKernels); return 0 }()

// ExpMin is the smallest x whose exp(x) is a normal float32 (ln 2⁻¹²⁶,
// rounded up): ExpSum gives 0 below it in every kernel set.
const ExpMin = -87.33654

// ExpULPBound is the error bound of every kernel set's ExpSum, in float32
// ulps of the correctly rounded exp, for arguments in [ExpMin, 88.3]; the
// SIMD sets evaluate exp(r) = 1 + r + r²·P(r), P of degree 5, after a
// two-part (Cody–Waite) reduction r = x − n·ln2, and measure within 0.96
// ulp over a dense sweep of [−87.4, 88] (TestExpULP). Exp2ULPBound is the
// same for SoftmaxT's 2^y (1 + y·Q(y), Q of degree 5), measured within 0.92.
const (
	ExpULPBound  = 1.5
	Exp2ULPBound = 1.5
)

// Exp2Min is the same bound for the base-2 exponentials of SoftmaxT.
const Exp2Min = -126

// log2e is log₂e rounded to float32, the factor SoftmaxT's e^x = 2^(x·log₂e)
// multiplies by in every kernel set.
const log2e = float32(math.Log2E)

func gemmNTGeneric(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		ci := c[i*ldc : i*ldc+n]
		for j := range ci {
			ci[j] = dotGeneric(ai, b[j*ldb:j*ldb+k])
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
		if m != m {
			break
		}
	}
	return m
}

// expFlush is exp(x) correctly rounded to float32 (through float64), with
// the arguments whose result would be denormal giving 0: the accuracy
// reference of the vectorised exps.
func expFlush(x float32) float32 {
	if x < ExpMin {
		return 0
	}
	return float32(math.Exp(float64(x)))
}

// exp2Flush is expFlush for 2^x.
func exp2Flush(x float32) float32 {
	if x < Exp2Min {
		return 0
	}
	return float32(math.Exp2(float64(x)))
}

func expSumGeneric(x []float32, m float32) float32 {
	var s float32
	for i, v := range x {
		e := expFlush(v - m)
		x[i] = e
		s += e
	}
	return s
}

func scaleGeneric(x []float32, a float32) { scaleToGeneric(x, x, a) }

func scaleToGeneric(dst, src []float32, a float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = a * src[i]
	}
}

func dotGeneric(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

func axpyGeneric(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

func scoresTGeneric(rows, width, d int, k []float32, ldk int, qt []float32, ldq int, s, colMax []float32) {
	scoresTColumns(0, rows, width, d, k, ldk, qt, ldq, s, colMax)
}

// scoresTColumns is ScoresT restricted to columns [i0, width): the SIMD sets
// use it for the columns that do not fill a vector.
func scoresTColumns(i0, rows, width, d int, k []float32, ldk int, qt []float32, ldq int, s, colMax []float32) {
	if i0 >= width {
		return
	}
	for j := range rows {
		sj := s[j*width+i0 : (j+1)*width]
		clear(sj)
		kj := k[j*ldk : j*ldk+d]
		for p, kv := range kj {
			axpyGeneric(sj, kv, qt[p*ldq+i0:p*ldq+width])
		}
		cm := colMax[i0:width]
		for i, v := range sj {
			if v > cm[i] {
				cm[i] = v
			}
		}
	}
}

func softmaxTGeneric(rows, width int, s, m, alpha, l []float32) {
	softmaxTColumns(0, rows, width, s, m, alpha, l)
}

// softmaxTColumns is SoftmaxT restricted to columns [i0, width).
func softmaxTColumns(i0, rows, width int, s, m, alpha, l []float32) {
	for i := i0; i < width; i++ {
		mi := m[i]
		var sum float32
		for j := range rows {
			e := exp2Flush((s[j*width+i] - mi) * log2e)
			s[j*width+i] = e
			sum += e
		}
		a := exp2Flush((alpha[i] - mi) * log2e)
		alpha[i] = a
		l[i] = a*l[i] + sum
	}
}

func accumulatePVGeneric(rows, width, outRows, d int, pt, v []float32, ldv int, o []float32, ldo int, alpha []float32) {
	accumulatePVColumns(0, rows, width, outRows, d, pt, v, ldv, o, ldo, alpha)
}

// accumulatePVColumns is AccumulatePV restricted to output columns [c0, d).
func accumulatePVColumns(c0, rows, width, outRows, d int, pt, v []float32, ldv int, o []float32, ldo int, alpha []float32) {
	if c0 >= d {
		return
	}
	for i := range outRows {
		oi := o[i*ldo+c0 : i*ldo+d]
		if alpha != nil {
			scaleGeneric(oi, alpha[i])
		}
		for j := range rows {
			axpyGeneric(oi, pt[j*width+i], v[j*ldv+c0:j*ldv+d])
		}
	}
}

func colMaxGeneric(rows, width int, s, m []float32) {
	colMaxColumns(0, rows, width, s, m)
}

// colMaxColumns is ColMax restricted to columns [i0, width).
func colMaxColumns(i0, rows, width int, s, m []float32) {
	if i0 >= width {
		return
	}
	for j := range rows {
		maxIntoGeneric(m[i0:width], s[j*width+i0:(j+1)*width])
	}
}

func maxIntoGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		if v > dst[i] {
			dst[i] = v
		}
	}
}

func maskMatchesGeneric(rows, width int, codes, own, prev []int32, s []float32) {
	maskMatchesColumns(0, rows, width, codes, own, prev, s)
}

// maskMatchesColumns is MaskMatches restricted to columns [i0, width).
func maskMatchesColumns(i0, rows, width int, codes, own, prev []int32, s []float32) {
	if i0 >= width || rows <= 0 {
		return
	}
	negInf := float32(math.Inf(-1))
	own, prev = own[i0:width], prev[i0:width]
	for j, c := range codes[:rows] {
		row := s[j*width+i0 : (j+1)*width]
		for i := range row {
			if c == own[i] || c == prev[i] {
				row[i] = negInf
			}
		}
	}
}

func argMaxPlusMinusGeneric(segs, half, ld int, x []float32, out []int32) {
	for g := range segs {
		out[g] = int32(argMaxPlusMinus(x[g*ld : g*ld+half]))
	}
}

func argMaxPlusMinusMarginGeneric(segs, half, ld int, x []float32, out []int32, second []float32) {
	for g := range segs {
		out[g], second[g] = argMaxMargin(x[g*ld : g*ld+half])
	}
}

// argMaxMargin is argMaxPlusMinus(v) and the largest |v_t| over the other
// columns t.
func argMaxMargin(v []float32) (int32, float32) {
	w := argMaxPlusMinus(v)
	var second float32
	for t, x := range v {
		if a := float32(math.Abs(float64(x))); t != w%len(v) && a > second {
			second = a
		}
	}
	return int32(w), second
}

// argMaxPlusMinus is argmax([v; −v]) with the first index on ties, by a
// scalar scan: the first maximum of v, unless −(the minimum) beats it, then
// the first minimum. A NaN never updates hi or lo (its comparisons are
// false), unless it is v[0], which then stays both.
func argMaxPlusMinus(v []float32) int {
	hi, lo, argHi, argLo := v[0], v[0], 0, 0
	for t, x := range v {
		if x > hi {
			hi, argHi = x, t
		}
		if x < lo {
			lo, argLo = x, t
		}
	}
	if -lo > hi {
		return len(v) + argLo
	}
	return argHi
}

func packTGeneric(rows, width, d int, src []float32, ld int, perm []int32, scale float32, colScale, dst []float32) {
	packTColumns(0, rows, width, d, src, ld, perm, scale, colScale, dst)
}

// packTColumns is PackT restricted to columns [i0, width).
func packTColumns(i0, rows, width, d int, src []float32, ld int, perm []int32, scale float32, colScale, dst []float32) {
	if rows > width {
		panic("asm: PackT with more rows than width")
	}
	if colScale != nil && len(colScale) < width {
		panic("asm: PackT with fewer column scales than width")
	}
	if i0 >= width || d <= 0 {
		return
	}
	factor := func(i int) float32 {
		if colScale != nil {
			return colScale[i]
		}
		return scale
	}
	// Bounds against the lengths: the slices below are checked only
	// against the capacities.
	_ = dst[d*width-1]
	row := func(i int) []float32 {
		r := i
		if perm != nil {
			r = int(perm[i])
		}
		_ = src[r*ld+d-1]
		return src[r*ld : r*ld+d]
	}
	// Four rows at a time: each row of dst gets four adjacent stores.
	i := i0
	for ; i+4 <= rows; i += 4 {
		q0, q1, q2, q3 := row(i), row(i+1), row(i+2), row(i+3)
		q1, q2, q3 = q1[:len(q0)], q2[:len(q0)], q3[:len(q0)]
		s0, s1, s2, s3 := factor(i), factor(i+1), factor(i+2), factor(i+3)
		for p, x := range q0 {
			out := dst[p*width+i : p*width+i+4 : p*width+i+4]
			out[0], out[1], out[2], out[3] = x*s0, q1[p]*s1, q2[p]*s2, q3[p]*s3
		}
	}
	for ; i < rows; i++ {
		s0 := factor(i)
		for p, x := range row(i) {
			dst[p*width+i] = x * s0
		}
	}
	if i < width {
		for p := range d {
			clear(dst[p*width+i : (p+1)*width])
		}
	}
}

func scatterRowsGeneric(rows, width int, src []float32, lds int, idx []int32, dst []float32, ldd int, _ bool) {
	if rows <= 0 || width <= 0 {
		return
	}
	// Bounds against the lengths, not the capacities.
	src, dst = src[:len(src):len(src)], dst[:len(dst):len(dst)]
	for i, r := range idx[:rows] {
		copy(dst[int(r)*ldd:int(r)*ldd+width], src[i*lds:i*lds+width])
	}
}

// genericChains is the number of independent multiply-add chains of the
// generic peak loop.
const genericChains = 8

// fmaPeakSink keeps the generic peak loop's results alive.
var fmaPeakSink float32

func fmaPeakGeneric(iters int) {
	var a0, a1, a2, a3, a4, a5, a6, a7 float32
	x, y := float32(1), float32(1e-8)
	for range iters {
		a0 = a0*x + y
		a1 = a1*x + y
		a2 = a2*x + y
		a3 = a3*x + y
		a4 = a4*x + y
		a5 = a5*x + y
		a6 = a6*x + y
		a7 = a7*x + y
	}
	fmaPeakSink = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7
}

func quantize16Generic(rows, d int, x []float32, ldx int, mult []float32, q []int32, ldq int) {
	pairs := (d + 1) / 2
	for i := range rows {
		xi, qi := x[i*ldx:i*ldx+d], q[i*ldq:i*ldq+pairs]
		for p := range pairs {
			lo := quantize16(xi[2*p] * mult[i])
			var hi uint32
			if 2*p+1 < d {
				hi = quantize16(xi[2*p+1] * mult[i])
			}
			qi[p] = int32(lo | hi<<16)
		}
	}
}

// quantize16 rounds v half to even and truncates it to int16 (the low 16
// bits), as VCVTPS2DQ and VPMOVDW do for |v| < 2¹⁵.
func quantize16(v float32) uint32 {
	return uint32(uint16(int32(math.RoundToEven(float64(v)))))
}

func dot16Generic(rows, width, d int, a []int32, lda int, b []int32, ldb int, mult, out []float32, ldo int) {
	pairs := (d + 1) / 2
	for i := range rows {
		ai := a[i*lda : i*lda+pairs]
		oi := out[i*ldo : i*ldo+width]
		for t := range oi {
			var acc int32
			for p, av := range ai {
				bv := b[p*ldb+t]
				acc += int32(int16(av))*int32(int16(bv)) + int32(int16(av>>16))*int32(int16(bv>>16))
			}
			oi[t] = float32(acc) * mult[i]
		}
	}
}
