// Package asm holds the numeric kernels of attention: the two tile GEMMs
// (S = Q·Kᵀ and O += P·V), row max, fused exp-and-sum, scale, axpy and dot,
// the transposed packing of a query tile, and LSH attention's own: masking
// earlier rounds' pairs, the hash argmax (with or without the runner-up),
// scattering rows to permuted places, and the int16 quantisation and
// product of its certified hashing.
//
// Several implementations (kernel sets) may exist on one machine: the
// generic Go one always, plus the SIMD sets the CPU can run. Impls lists
// them, generic first; Select picks the one the variants call through Active.
// The environment variable ATTNBENCH_KERNELS forces a set at start-up.
//
// The package imports nothing of attnbench's: kernels work on plain slices
// with explicit leading dimensions, and check nothing that the caller's
// shapes already guarantee (the generic set does bounds-check, by being Go).
package asm

import (
	"fmt"
	"os"
	"strings"
)

// Kernels is one kernel set. Every function has the meaning of the generic
// Go version in generic.go, which is its reference in tests.
type Kernels struct {
	// Name identifies the set: "generic", "avx2", "avx512", "neon".
	Name string
	// Prefetch says whether the set's GEMM kernels prefetch their rows
	// PrefetchRows() ahead (the amd64 SIMD sets), so that the distance is
	// worth tuning.
	Prefetch bool

	// GemmNT computes c[i*ldc+j] = Σ_p a[i*lda+p]·b[j*ldb+p] for i < m,
	// j < n, p < k, overwriting c. With a = Q tile and b = K tile this is
	// S = Q·Kᵀ.
	GemmNT func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int)

	// GemmNNAcc computes c[i*ldc+j] += Σ_p a[i*lda+p]·b[p*ldb+j] for i < m,
	// j < n, p < k. With a = P tile and b = V tile this is O += P·V.
	GemmNNAcc func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int)

	// Max returns the largest element of x, -Inf when x is empty, and NaN
	// when x holds a NaN.
	Max func(x []float32) float32

	// ExpSum sets x[i] = exp(x[i] - m) and returns Σ x[i] (after the
	// update). Arguments below ExpMin, where exp would be denormal, give 0
	// (x may hold -Inf for masked entries); NaN gives NaN. The SIMD sets are
	// within a few float32 ulps of exp (see ExpULPBound).
	ExpSum func(x []float32, m float32) float32

	// Scale sets x[i] *= a.
	Scale func(x []float32, a float32)

	// ScaleTo sets dst[i] = a·src[i] for i < len(dst); len(src) ≥
	// len(dst), and dst may be src. (A copy followed by Scale makes each
	// vector load of Scale wait on the copy's narrower stores.)
	ScaleTo func(dst, src []float32, a float32)

	// Dot returns Σ x[i]·y[i] for i < len(x); len(y) ≥ len(x). The SIMD
	// sets sum in several partial sums, so the rounding differs from the
	// generic left-to-right sum (within the usual n·u·Σ|x·y| bound).
	Dot func(x, y []float32) float32

	// Axpy sets y[i] += a·x[i] for i < len(y); len(x) ≥ len(y).
	Axpy func(y []float32, a float32, x []float32)

	// The fused kernels of a flash tile. The scores of a query tile are
	// computed transposed, Sᵀ = K·Qᵀ (one row per key, one column per
	// query, row stride width), from a query tile packed transposed once
	// (qt[p*width+i], pre-multiplied by the logit scale): then the softmax
	// runs down columns with whole-vector operations only.

	// ScoresT sets s[j*width+i] = Σ_p k[j*ldk+p]·qt[p*ldq+i] for
	// j < rows, i < width, p < d, and folds the column maxima into colMax:
	// colMax[i] = max(colMax[i], max_j s[j*width+i]). ldq ≥ width lets
	// the query tile be a column range of a wider transposed matrix.
	ScoresT func(rows, width, d int, k []float32, ldk int, qt []float32, ldq int, s, colMax []float32)

	// SoftmaxT is the online-softmax step on a tile from ScoresT, given the
	// new running maxima m (len width) and the old ones in alpha:
	//	s[j*width+i] = e^(s[j*width+i] − m[i])       for j < rows
	//	alpha[i]     = e^(alpha[i] − m[i])           (the rescale factor)
	//	l[i]         = alpha[i]·l[i] + Σ_j s[j*width+i]
	// with e^x = 2^y, y = x·log₂e rounded to float32; 2^y is 0 for
	// y < −126 (never denormal) and NaN for NaN, and within Exp2ULPBound
	// ulps of the exact 2^y.
	SoftmaxT func(rows, width int, s, m, alpha, l []float32)

	// AccumulatePV sets o[i*ldo+c] = alpha[i]·o[i*ldo+c] +
	// Σ_j pt[j*width+i]·v[j*ldv+c] for i < outRows, c < d, j < rows: O +=
	// P·V with P stored transposed and the rescale folded in (alpha nil:
	// 1). outRows ≤ width: a tile padded to whole vectors can accumulate
	// its real rows straight into the caller's state.
	AccumulatePV func(rows, width, outRows, d int, pt, v []float32, ldv int, o []float32, ldo int, alpha []float32)

	// MaxInto sets dst[i] = max(dst[i], src[i]) for i < len(dst).
	MaxInto func(dst, src []float32)

	// ColMax folds the column maxima of a rows × width tile into m:
	// m[i] = max(m[i], s[j*width+i]) for j < rows, i < width, as MaxInto
	// row by row (a NaN in s never replaces m[i]).
	ColMax func(rows, width int, s, m []float32)

	// The kernels of LSH attention.

	// MaskMatches sets s[j*width+i] = -Inf for j < rows, i < width where
	// codes[j] == own[i] || codes[j] == prev[i], leaving the other entries
	// untouched. On a transposed score tile (row j a key, column i a query)
	// it masks the pairs that were candidates in an earlier hashing round.
	MaskMatches func(rows, width int, codes, own, prev []int32, s []float32)

	// ArgMaxPlusMinus sets out[g] = argmax([v; -v]), the first index on
	// ties, for g < segs and the segment v = x[g*ld:g*ld+half] (half ≥ 1,
	// ld ≥ half: segments may be columns of a wider matrix): exactly the
	// scalar scan
	//	hi, lo, argHi, argLo := v[0], v[0], 0, 0
	//	for t, x := range v {
	//		if x > hi { hi, argHi = x, t }
	//		if x < lo { lo, argLo = x, t }
	//	}
	//	out[g] = half+argLo if -lo > hi, else argHi
	// So -0 and +0 tie, and a NaN is skipped, except a NaN v[0], which
	// gives 0.
	ArgMaxPlusMinus func(segs, half, ld int, x []float32, out []int32)

	// ArgMaxPlusMinusMargin is ArgMaxPlusMinus that also sets second[g] to
	// the largest |v_t| over t ≠ out[g] mod half (0 when half is 1; a NaN
	// is never the largest): the runner-up that LSH's certified hashing
	// compares with the winner, found in the winner's pass.
	ArgMaxPlusMinusMargin func(segs, half, ld int, x []float32, out []int32, second []float32)

	// PackT packs a query tile transposed and scaled, as the score kernel
	// reads it: dst[p*width+i] = f_i*src[r*ld+p] with r = perm[i] (perm
	// nil: r = i) for p < d, i < rows, and dst[p*width+i] = 0 for rows ≤ i
	// < width (the padding columns); rows ≤ width. The factor f_i is scale,
	// or colScale[i] when colScale is not nil (len(colScale) ≥ width; the
	// entries past rows are read, not used): LSH packs unit keys times each
	// query's norm. The product is the plain float32 multiply, so every set
	// gives the same bits (NaN and ±Inf pass through it).
	PackT func(rows, width, d int, src []float32, ld int, perm []int32, scale float32, colScale, dst []float32)

	// ScatterRows copies row i of src to row idx[i] of dst:
	// dst[idx[i]*ldd+c] = src[i*lds+c] for i < rows, c < width, in order
	// of i (a repeated index keeps the last row); src and dst must not
	// overlap. With streaming, a set with non-temporal stores uses them
	// where dst's rows are aligned to its vectors, and fences them before
	// it returns: for a destination too large to stay in cache (LSH's
	// sorted copies at large n), whose stores then skip the read for
	// ownership and leave the cache to the working set.
	ScatterRows func(rows, width int, src []float32, lds int, idx []int32, dst []float32, ldd int, streaming bool)

	// The int16 kernels of LSH's hashing. A packed int16 matrix holds two
	// depth elements per int32, the even one in the low half: element p of
	// packed row i is half p%2 of q[i*ldq+p/2].

	// Quantize16 sets packed row i of q to round(x[i*ldx+p]·mult[i]) for
	// i < rows, p < d (round half to even), and the high half of the last
	// int32 to 0 when d is odd. The caller keeps |x·mult| < 2¹⁵ (the
	// conversion truncates to int16).
	Quantize16 func(rows, d int, x []float32, ldx int, mult []float32, q []int32, ldq int)

	// Dot16 sets out[i*ldo+t] = float32(Σ_p a_ip·b_pt)·mult[i] for
	// i < rows, t < width, p < d, with a packed by rows (a_ip is element
	// p of packed row i, stride lda) and b packed by pairs of depth
	// (b_pt is half p%2 of b[(p/2)*ldb+t]). With d odd, the sum runs over
	// the last pair's high halves too, which must then be 0 on one side
	// (Quantize16 writes them so). The sum is exact in int32 (the caller
	// keeps it in range), so every set gives the same bits.
	Dot16 func(rows, width, d int, a []int32, lda int, b []int32, ldb int, mult, out []float32, ldo int)

	// FastInt16 tells whether Dot16 outruns the float kernels (AVX-512
	// VNNI: twice the multiply-adds per instruction); elsewhere the int16
	// kernels are the generic code, there to be tested.
	FastInt16 bool

	// Lanes is the number of float32 lanes of the set's vectors (1 for
	// generic Go).
	Lanes int

	// FMAPeak runs iters iterations of independent fused multiply-adds,
	// FlopsPerIter flops each: the set's arithmetic peak (see MeasurePeak).
	FMAPeak      func(iters int)
	FlopsPerIter int
}

var (
	impls  []*Kernels
	active *Kernels
)

// register adds a kernel set. generic.go registers first, so it is Impls()[0].
func register(k *Kernels) { impls = append(impls, k) }

// Impls returns every kernel set this CPU can run, generic first.
func Impls() []*Kernels { return append([]*Kernels(nil), impls...) }

// Active returns the kernel set in use.
func Active() *Kernels { return active }

// Lookup returns the named kernel set if this CPU can run it.
func Lookup(name string) (*Kernels, error) {
	for _, k := range impls {
		if k.Name == name {
			return k, nil
		}
	}
	names := make([]string, len(impls))
	for i, k := range impls {
		names[i] = k.Name
	}
	return nil, fmt.Errorf("kernel set %q is not available on this CPU (available: %s)", name, strings.Join(names, ", "))
}

// Select makes the named kernel set the active one. It is not safe to call
// while a Forward is running.
func Select(name string) error {
	k, err := Lookup(name)
	if err != nil {
		return err
	}
	active = k
	return nil
}

// EnvVar names the environment variable that forces a kernel set.
const EnvVar = "ATTNBENCH_KERNELS"

// EnvError is set at start-up when ATTNBENCH_KERNELS names a set this CPU
// cannot run; the best set stays active and the CLI reports the error.
var EnvError error

func init() {
	// impls was filled by the per-ISA files' init functions (Go runs a
	// package's init functions in file-name order after generic.go's
	// variable initialisation). The last registered set is the fastest.
	active = impls[len(impls)-1]
	if name := os.Getenv(EnvVar); name != "" {
		if err := Select(name); err != nil {
			EnvError = fmt.Errorf("%s: %w", EnvVar, err)
		}
	}
}
