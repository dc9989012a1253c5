package variants

import (
	"fmt"
	"math"

	"github.com/attnbench/attnbench/asm"
)

// LSH's hashing: bucket h_r(x) = argmax([x·R_r; −x·R_r]) for every row and
// round, in fixed blocks of lshHashRows rows, the same in Forward and
// Reference whatever the thread count.
//
// Two paths give the same buckets. The float path multiplies each block by
// the rotations on the score kernel. The certified int16 path, taken where
// the kernel set has fast int16 multiply-adds (AVX-512 VNNI, twice the
// float rate) and the rounds' products are whole 64-column panels (nb/2 a
// multiple of 64: n ≥ 8K at the defaults, where the hashing is O(n²) and
// up to 30% of LSH's time), rounds rows and rotations to int16 with
// power-of-two scales, takes the products in exact int32 arithmetic, and
// keeps a row's argmax only when its margin over the runner-up exceeds
// twice a rigorous bound on the error (rounding of both operands, the
// conversion back to float32, and the float path's own error): then the
// exact argmax and the float path's are that one. The other rows (about 4%
// of Gaussian rows at d = 64) go through the float path. The float path's
// result for a row does not depend on the other rows of its product, so
// the buckets are the float path's, bit for bit; the tests check it.

// lshRotWidth is the row stride of the rotations and projections:
// rounds·nb/2 rounded up to whole 16-float vectors. A product narrower than
// a vector runs in the kernels' scalar tail (at n = 512, nb/2 = 4, that was
// a third of LSH's time); the zero columns cost less. Each projection is
// the same sum whatever the width, so the buckets do not change.
func lshRotWidth(half, rounds int) int { return roundUp16(mulSize(rounds, half)) }

// lshHashRows is the fixed row block of the hashing GEMM: the same blocks in
// Forward and Reference, whatever the thread count, so that both see
// bit-identical projections and therefore the same buckets.
const lshHashRows = 126 // a multiple of the score kernels' 6-row register tile (114 GFLOP/s against 111 at 128)

// lshHasher is one Forward's hashing: the rounds' rotations side by side
// (rot[p·width + r·half + t] = R_r[p][t], zero past rounds·half) and, on the
// int16 path, their quantised copy.
type lshHasher struct {
	kern                   *asm.Kernels
	d, half, rounds, width int
	rot                    []float32

	// The int16 path (useInt): rq packs round(R·2^−rExp) by pairs of
	// depth (rq[p'·width + c] holds rows 2p' and 2p'+1 of column c);
	// |entries| ≤ 2^bits, and rows are quantised to the same bound.
	useInt bool
	rq     []int32
	rExp   int
	bits   int
	// r1 and r2 bound ‖R_r[·][t]‖₁ and ‖R_r[·][t]‖₂ over every column.
	r1, r2 float64
}

// lshHashSizes returns the hasher's per-Forward buffers (rotations in
// floats, quantised rotations in ints).
func lshHashSizes(d, half, rounds int) (floats, ints int) {
	width := lshRotWidth(half, rounds)
	return mulSize(width, d), mulSize(width, lshPairs(d))
}

func lshPairs(d int) int { return d/2 + d%2 }

// newLSHHasher fills rot (and rq, used on the int16 path) from seed. The
// int16 path is taken where kern has fast int16 kernels and half is a
// multiple of 64, or always when forced (tests).
func newLSHHasher(kern *asm.Kernels, d, half, rounds int, seed uint64, rot []float32, rq []int32, forceInt bool) lshHasher {
	h := lshHasher{kern: kern, d: d, half: half, rounds: rounds, width: lshRotWidth(half, rounds), rot: rot}
	rng := newSeededRand(seed, streamLSH)
	for r := range rounds {
		for p := range d {
			for t := range half {
				rot[p*h.width+r*half+t] = float32(rng.norm())
			}
		}
	}
	for p := range d {
		clear(rot[p*h.width+rounds*half : (p+1)*h.width])
	}
	h.useInt = forceInt || lshHashesInt16(kern, half)
	if h.useInt {
		h.quantizeRotations(rq)
	}
	return h
}

// lshInt16Panel is the panel the int16 path multiplies whole: nb/2 must be
// a multiple of it.
const lshInt16Panel = 64

// lshHashesInt16 reports whether the hashing of nb/2 = half columns per
// round takes the int16 path on kern (unforced).
func lshHashesInt16(kern *asm.Kernels, half int) bool {
	return kern.FastInt16 && half%lshInt16Panel == 0
}

// LSHHashing says whether LSH can hash in int16 on kernel set kern, and
// how it hashes there, in words for a report (attnbench cpu).
func LSHHashing(kern *asm.Kernels) (int16 bool, how string) {
	if !kern.FastInt16 {
		return false, "LSH hashes in float32"
	}
	return true, fmt.Sprintf("LSH hashes in int16 where nb/2 is a multiple of %d, certified to give the float32 buckets", lshInt16Panel)
}

// lshInt16Bits is the largest b ≤ 14 for which rows and rotations of
// magnitude ≤ 2^b keep every product's int32 sum in range: |Σ_p xq·rq| ≤
// ‖xq‖₁·2^b ≤ √d·(2^b + √d/2)·2^b (‖xq‖₂ ≤ ‖x‖₂/S + √d/2 with S chosen so
// that ‖x‖₂/S ≤ 2^b), kept under 2^30.5. d = 64 gives 13.
func lshInt16Bits(d int) int {
	rd := math.Sqrt(float64(d))
	b := 14
	for b > 1 && math.Ldexp(1, b)*rd*(math.Ldexp(1, b)+rd/2) > math.Ldexp(math.Sqrt2, 30) {
		b--
	}
	return b
}

// quantizeRotations sets rq = round(R·2^−rExp), 2^rExp the least power of
// two with max|R| ≤ 2^(bits+rExp), and the column norm bounds.
func (h *lshHasher) quantizeRotations(rq []int32) {
	d, width := h.d, h.width
	h.bits = lshInt16Bits(d)
	var top float64
	for _, v := range h.rot[:d*width] {
		top = max(top, math.Abs(float64(v)))
	}
	h.rExp = 0
	if top > 0 {
		_, e := math.Frexp(top) // top < 2^e
		h.rExp = e - h.bits
	}
	h.r1, h.r2 = 0, 0
	for c := range width {
		var n1, n2 float64
		for p := range d {
			v := float64(h.rot[p*width+c])
			n1 += math.Abs(v)
			n2 += v * v
		}
		h.r1, h.r2 = max(h.r1, n1), max(h.r2, math.Sqrt(n2))
	}
	// Summation in float64 of ≤ d terms: a relative margin covers it.
	h.r1 *= 1 + 0x1p-40
	h.r2 *= 1 + 0x1p-40
	pairs := lshPairs(d)
	h.rq = rq[:pairs*width]
	inv := math.Ldexp(1, -h.rExp) // a power of two: the products are exact
	q := func(v float32) uint32 { return uint32(uint16(int16(math.RoundToEven(float64(v) * inv)))) }
	for p := range pairs {
		lo, hi := h.rot[2*p*width:(2*p+1)*width], []float32(nil)
		if 2*p+1 < d {
			hi = h.rot[(2*p+1)*width : (2*p+2)*width]
		}
		for c := range width {
			var h16 uint32
			if hi != nil {
				h16 = q(hi[c])
			}
			h.rq[p*width+c] = int32(q(lo[c]) | h16<<16)
		}
	}
}

// lshHashScratch is one worker's hashing scratch for a block of rows.
type lshHashScratch struct {
	proj   []float32 // the projections, and a junk row for the score kernel's column maxima
	gather []float32 // per round, up to lshHashRows rows the int16 path could not certify, gathered
	pend   []int32   // per round, those rows' positions
	npend  []int32   // per round, how many are pending
	mult   []float32 // per row: the quantisation factor 1/S, then the factor back S·S_R (0: not quantised)
	need   []float32 // per row: the margin a certified argmax needs, 2(B + F) without the conversion term
	top    []float32 // per row: the runner-up |w_t′| of the current round
	xq     []int32   // the block's rows in int16, packed
	win    []int32   // per row: the argmax
	run    []int32   // the float path's buckets of the pending rows, at a flush

	fallbacks int // rows × rounds the int16 path left to the float path (tests read it)
}

// lshHashScratchSizes returns the floats and ints of one lshHashScratch.
func lshHashScratchSizes(d, half, rounds int) (floats, ints int) {
	return addSize(mulSize(lshHashRows+1, lshRotWidth(half, rounds)), mulSize(lshHashRows, addSize(mulSize(rounds, d), 3))),
		addSize(mulSize(lshHashRows, addSize(lshPairs(d), 2, rounds)), rounds)
}

// carveLSHHashScratch cuts a scratch from f and n (which may be dirty: only
// the pending counts need zeros, and they get them).
func carveLSHHashScratch(d, half, rounds int, f []float32, n []int32) lshHashScratch {
	takeF := func(size int) []float32 { b := f[:size:size]; f = f[size:]; return b }
	takeI := func(size int) []int32 { b := n[:size:size]; n = n[size:]; return b }
	const r = lshHashRows
	return lshHashScratch{
		proj: takeF((r + 1) * lshRotWidth(half, rounds)), gather: takeF(rounds * r * d),
		mult: takeF(r), need: takeF(r), top: takeF(r),
		xq: takeI(r * lshPairs(d)), win: takeI(r), run: takeI(r), pend: takeI(rounds * r), npend: clearInts(takeI(rounds)),
	}
}

func clearInts(x []int32) []int32 { clear(x); return x }

// newLSHHashScratch allocates one (tests and the reference).
func newLSHHashScratch(d, half, rounds int) lshHashScratch {
	nf, ni := lshHashScratchSizes(d, half, rounds)
	return carveLSHHashScratch(d, half, rounds, make([]float32, nf), make([]int32, ni))
}

// hash sets bkt[r·n + i] = argmax([x_i R_r; −x_i R_r]) (first index of the
// maximum) for the n rows of x.
func (h *lshHasher) hash(x []float32, n int, bkt []int32, sc *lshHashScratch) {
	for r0 := 0; r0 < n; r0 += lshHashRows {
		h.block(x, n, bkt, r0, sc, nil)
	}
	h.flush(n, bkt, sc)
}

// block hashes the rows [r0, r0+lshHashRows) ∩ [0, n) of x, and when ss is
// not nil sets ss[i] = Σ x²  of each of them (kern.Dot), which the int16
// path needs anyway and shared-QK LSH needs to normalise the keys. On the
// int16 path some rows may be left pending in sc until flush, which must
// follow the last block of x.
func (h *lshHasher) block(x []float32, n int, bkt []int32, r0 int, sc *lshHashScratch, ss []float32) {
	rows := min(lshHashRows, n-r0)
	if h.useInt {
		h.blockInt(x, r0, rows, n, bkt, sc, ss)
		return
	}
	h.blockFloat(x[r0*h.d:], rows, n, bkt[r0:], sc)
	if ss != nil {
		for i := range rows {
			xi := x[(r0+i)*h.d : (r0+i+1)*h.d]
			ss[i] = h.kern.Dot(xi, xi)
		}
	}
}

// flush hashes the rows pending in sc on the float path.
func (h *lshHasher) flush(n int, bkt []int32, sc *lshHashScratch) {
	if !h.useInt {
		return
	}
	for r := range h.rounds {
		h.flushRound(r, n, bkt, sc)
	}
}

func (h *lshHasher) flushRound(r, n int, bkt []int32, sc *lshHashScratch) {
	k := int(sc.npend[r])
	if k == 0 {
		return
	}
	sc.npend[r] = 0
	h.roundFloat(r, sc.gather[r*lshHashRows*h.d:], k, sc.run[:k], sc)
	for i, at := range sc.pend[r*lshHashRows : r*lshHashRows+k] {
		bkt[r*n+int(at)] = sc.run[i]
	}
}

// blockFloat hashes rows of x on the float path into bkt[r·n + i]: the
// products with the rounds' rotations on the score kernel (which
// overwrites its output and sends its column maxima to a junk row), then
// per round the argmax([v; −v]) of each row's segment
// (asm.Kernels.ArgMaxPlusMinus, the first index on ties). A round whose
// nb/2 fills the widest kernel gets its own product (measured 2% faster at
// n = 4K and 16K); narrower rounds share one, which runs on wider kernels
// (9% faster at 2K).
func (h *lshHasher) blockFloat(x []float32, rows, n int, bkt []int32, sc *lshHashScratch) {
	if h.half%64 == 0 {
		for r := range h.rounds {
			h.roundFloat(r, x, rows, bkt[r*n:r*n+rows], sc)
		}
		return
	}
	kern, half, width := h.kern, h.half, h.width
	p := sc.proj[:rows*width]
	kern.ScoresT(rows, width, h.d, x, h.d, h.rot, width, p, sc.proj[lshHashRows*width:][:width])
	for r := range h.rounds {
		kern.ArgMaxPlusMinus(rows, half, width, p[r*half:], bkt[r*n:r*n+rows])
	}
}

// roundFloat hashes rows of x (stride d) for round r alone on the float
// path into out, with the products blockFloat takes (a row's projections
// do not depend on the other rows, but may on the product's width, whose
// columns the kernels split differently).
func (h *lshHasher) roundFloat(r int, x []float32, rows int, out []int32, sc *lshHashScratch) {
	junk := sc.proj[lshHashRows*h.width:][:h.width]
	if h.half%64 == 0 {
		p := sc.proj[:rows*h.half]
		h.kern.ScoresT(rows, h.half, h.d, x, h.d, h.rot[r*h.half:], h.width, p, junk)
		h.kern.ArgMaxPlusMinus(rows, h.half, h.half, p, out)
		return
	}
	p := sc.proj[:rows*h.width]
	h.kern.ScoresT(rows, h.width, h.d, x, h.d, h.rot, h.width, p, junk)
	h.kern.ArgMaxPlusMinus(rows, h.half, h.width, p[r*h.half:], out)
}

// blockInt hashes rows [r0, r0+rows) of x (stride d) on the int16 path,
// certifying each row's argmax per round; the others are gathered for the
// float path, which runs on lshHashRows of them at a time (a product per
// block on a few rows cost 12% of the hashing at n = 16K).
//
// Per row, S = 2^e with ‖x‖₂ ≤ 2^bits·S, and S_R = 2^rExp: xq = round(x/S)
// and rq = round(R/S_R) are exact scalings rounded to integers, so x_p and
// S·xq_p differ by at most S/2, R_pt and S_R·rq_pt by S_R/2. The exact
// projection e_t = Σ_p x_p R_pt and w_t = S·S_R·float32(Σ_p xq_p rq_pt) (an
// exact int32 sum, one rounding to float32, an exact power-of-two scale)
// then differ by at most
//
//	B_t = S_R/2·‖x‖₁ + S/2·max_t ‖R_t‖₁ + d·S·S_R/4 + 2⁻²³·|w_t|,
//
// and the float path's projections f_t (d float32 multiply-adds) differ from
// e_t by at most F = γ_d·‖x‖₂·max_t ‖R_t‖₂. If |w_t*| − |w_t′| exceeds
// twice the bound for the winner t* and the runner-up t′ (the largest |w_t|
// of the others), every other entry of [e; −e] and of [f; −f] is below the
// winner's, which has w_t*'s sign: both argmaxes are ArgMaxPlusMinus's
// answer on w. ‖x‖₁ ≤ √d·‖x‖₂. Rows whose sum of squares leaves
// [2⁻¹⁰⁰, 2¹⁰⁰] (zero, tiny, huge, NaN or ±Inf) are not quantised.
func (h *lshHasher) blockInt(xAll []float32, r0, rows, n int, bkt []int32, sc *lshHashScratch, ssOut []float32) {
	kern, d, half, pairs := h.kern, h.d, h.half, lshPairs(h.d)
	x := xAll[r0*d:]
	gammaD := float64(d+2) * 0x1p-24 // γ_d, with room for the float32 sum of squares' rounding
	sR, sqrtD := math.Ldexp(1, h.rExp), math.Sqrt(float64(d))
	for i := range rows {
		xi := x[i*d : (i+1)*d]
		sc.mult[i], sc.need[i] = 0, -1
		ss := kern.Dot(xi, xi)
		if ssOut != nil {
			ssOut[i] = ss
		}
		if ss >= 0x1p-100 && ss <= 0x1p100 {
			norm := math.Sqrt(float64(ss)) * (1 + gammaD)
			_, e := math.Frexp(norm) // norm < 2^e
			sX := math.Ldexp(1, e-h.bits)
			sc.mult[i] = float32(1 / sX)
			need := 2 * (sR/2*sqrtD*norm + sX/2*h.r1 + float64(d)*sX*sR/4 + gammaD*norm*h.r2)
			sc.need[i] = float32(need * (1 + 0x1p-20)) // rounded up, whatever float32 does
		}
	}
	kern.Quantize16(rows, d, x, d, sc.mult[:rows], sc.xq, pairs)
	for i := range rows {
		if sc.mult[i] != 0 {
			sc.mult[i] = float32(sR / float64(sc.mult[i]))
		}
	}
	for r := range h.rounds {
		p := sc.proj[:rows*half]
		kern.Dot16(rows, half, d, sc.xq, pairs, h.rq[r*half:], h.width, sc.mult[:rows], p, half)
		kern.ArgMaxPlusMinusMargin(rows, half, half, p, sc.win[:rows], sc.top[:rows])
		for i := range rows {
			if need := float64(sc.need[i]); need >= 0 {
				a, b := math.Abs(float64(p[i*half+int(sc.win[i])%half])), float64(sc.top[i])
				if a-b > need+0x1p-22*(a+b) {
					bkt[r*n+r0+i] = sc.win[i]
					continue
				}
			}
			// Pending for the float path; p is not read again, so the
			// flush may overwrite it.
			if sc.npend[r] == lshHashRows {
				h.flushRound(r, n, bkt, sc)
			}
			k := int(sc.npend[r])
			copy(sc.gather[(r*lshHashRows+k)*d:(r*lshHashRows+k+1)*d], x[i*d:(i+1)*d])
			sc.pend[r*lshHashRows+k] = int32(r0 + i)
			sc.npend[r]++
			sc.fallbacks++
		}
	}
}

// newLSHRefHasher is the hasher of Reference and FlopsOn, allocating, with
// the kernel set in use and Forward's choice of path.
func newLSHRefHasher(d, half, rounds int, seed uint64) *lshHasher {
	nf, ni := lshHashSizes(d, half, rounds)
	h := newLSHHasher(asm.Active(), d, half, rounds, seed, make([]float32, nf), make([]int32, ni), false)
	return &h
}

// bucketsOf hashes the n rows of x (allocating): bkt[r·n + i].
func (h *lshHasher) bucketsOf(x []float32, n int) []int32 {
	bkt := make([]int32, h.rounds*n)
	sc := newLSHHashScratch(h.d, h.half, h.rounds)
	h.hash(x, n, bkt, &sc)
	return bkt
}

// lshCountingSort is a stable counting sort of positions by bucket:
// perm[p] = the position at sorted index p, inv[pos] = its sorted index,
// start[β] = bucket β's first sorted index (nb+1 entries); cursor is
// scratch for nb.
func lshCountingSort(bkt []int32, nb int, perm, inv, start, cursor []int32) {
	clear(start[:nb+1])
	for _, x := range bkt {
		start[x+1]++
	}
	for x := range nb {
		start[x+1] += start[x]
	}
	copy(cursor, start[:nb])
	for pos, x := range bkt {
		p := cursor[x]
		cursor[x]++
		perm[p], inv[pos] = int32(pos), p
	}
}
