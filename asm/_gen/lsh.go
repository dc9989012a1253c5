package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// LSH kernels: bucket-code masking of score tiles and the hashing argmax.

// maskMatches masks the pairs of a transposed score tile (one row per key,
// row stride ld floats) whose codes match, columns < width:
//
//	s[j][i] = −Inf   if codes[j] == own[i] || codes[j] == prev[i]   for j < rows
//
// Column groups of up to four vectors keep own and prev in registers while
// the rows stream past; per row, one broadcast code is compared with both,
// and −Inf is stored under the OR of the two equalities (a mask-register
// store on AVX-512; on AVX2 a blend of the loaded row, stored whole, so the
// unmatched entries are rewritten with their own bits: VMASKMOVPS stores are
// microcoded and slow on AMD cores).
func maskMatches(s isa) {
	const group = 4
	text("maskmatch_"+s.name, "func(codes *int32, rows, width, ld int, own, prev *int32, sp *float32)")
	Doc(fmt.Sprintf("maskmatch_%s sets s[j·ld+i] = −Inf where codes[j] equals own[i] or prev[i], j < rows, i < width; width is a multiple of %d.", s.name, s.lanes))
	codes := Load(Param("codes"), GP64())
	width := Load(Param("width"), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	own := Load(Param("own"), GP64())
	prev := Load(Param("prev"), GP64())
	sp := Load(Param("sp"), GP64())
	ninf := bcast(s, "neginf")

	columns := func(g int, prefix string) {
		ov, pv := make([]VecVirtual, g), make([]VecVirtual, g)
		for i := range g {
			ov[i], pv[i] = s.vec(), s.vec()
			VMOVUPS(Mem{Base: own, Disp: i * s.bytes()}, ov[i])
			VMOVUPS(Mem{Base: prev, Disp: i * s.bytes()}, pv[i])
		}
		row, code := GP64(), GP64()
		MOVQ(sp, row)
		MOVQ(codes, code)
		rows := Load(Param("rows"), GP64())
		TESTQ(rows, rows)
		JZ(LabelRef(prefix + "next"))
		Label(prefix + "row")
		c := s.vec()
		VPBROADCASTD(Mem{Base: code}, c)
		for i := range g {
			at := Mem{Base: row, Disp: i * s.bytes()}
			if s.avx512 {
				ko, kp, k := K(), K(), K()
				VPCMPEQD(ov[i], c, ko)
				VPCMPEQD(pv[i], c, kp)
				KORW(ko, kp, k)
				VMOVUPS(ninf, k, at)
			} else {
				mo, mp, v := s.vec(), s.vec(), s.vec()
				VPCMPEQD(ov[i], c, mo)
				VPCMPEQD(pv[i], c, mp)
				VPOR(mp, mo, mo)
				VMOVUPS(at, v)
				VBLENDVPS(mo, ninf, v, v) // mo ? −Inf : v
				VMOVUPS(v, at)
			}
		}
		ADDQ(U8(4), code)
		ADDQ(ld, row)
		DECQ(rows)
		JNZ(LabelRef(prefix + "row"))
		Label(prefix + "next")
		ADDQ(U32(g*s.bytes()), sp)
		ADDQ(U32(g*s.bytes()), own)
		ADDQ(U32(g*s.bytes()), prev)
		SUBQ(U32(g*s.lanes), width)
	}

	columnGroups(s, width, group, columns)
}

// argMaxPlusMinus sets out[g] = argmax([v; −v]), first index on ties, for the
// segments v = x[g·half : (g+1)·half], g < segs, in two passes per segment:
//
//  1. the maximum hi and minimum lo of v, and whether v holds a NaN (then
//     out[g] = −1: the caller redoes that segment with the scalar scan);
//  2. the winner is lo (at offset half) if −lo > hi, else hi (offset 0), and
//     the answer is the offset plus the first t with v[t] == winner.
//
// Pass 2 has no branch on the data: the winner is chosen by conditional
// moves and every vector is searched, keeping the least match. On Gaussian
// projections both branches are coin flips; LSH's whole hashing at n = 16K
// ran 12% faster this way.
//
// Both are exact: max and min return one of their inputs, and the first
// equal element is the scalar scan's first extreme (its strict comparisons
// keep the first of equal values; ±0 compare equal in both).
//
// With margin (argmaxmargin_*), pass 1 also keeps each lane's two largest
// |v|, and second[g] gets the second largest |v_t| of the segment (the
// largest over t other than the winner's column, the winner's |v| being the
// largest): the larger of the lanes' second values and the lanes' first
// values after one instance of their maximum is set aside. Nothing is
// stored in second where v holds a NaN.
func argMaxPlusMinus(s isa, margin bool) {
	name, sig := "argmaxpm_", "func(x *float32, half, ld, segs int, out *int32)"
	if margin {
		name, sig = "argmaxmargin_", "func(x *float32, half, ld, segs int, out *int32, second *float32)"
	}
	text(name+s.name, sig)
	if margin {
		Doc(fmt.Sprintf("argmaxmargin_%s is argmaxpm_%s that also sets second[g] to the second largest |v_t| (none where v holds a NaN).", s.name, s.name))
	} else {
		Doc(fmt.Sprintf("argmaxpm_%s sets out[g] = argmax([v; −v]) for v = x[g·ld:g·ld+half], g < segs, or −1 where v holds a NaN; half is a positive multiple of %d, segs positive.", s.name, s.lanes))
	}
	x := Load(Param("x"), GP64())
	half := Load(Param("half"), GP64())
	ld := Load(Param("ld"), GP64())
	segs := Load(Param("segs"), GP64())
	out := Load(Param("out"), GP64())
	var second, absMask, t1, t2 Register
	if margin {
		second = Load(Param("second"), GP64())
		absMask = s.vec()
		VBROADCASTSS(consts["absmask"], absMask)
	}

	Label("seg")
	// Pass 1: two accumulator pairs, both starting from the first vector.
	var hi, lo [2]VecVirtual
	for a := range 2 {
		hi[a], lo[a] = s.vec(), s.vec()
	}
	VMOVUPS(Mem{Base: x}, hi[0])
	VMOVAPS(hi[0], lo[0])
	VMOVAPS(hi[0], hi[1])
	VMOVAPS(hi[0], lo[1])
	if margin {
		t1, t2 = s.vec(), s.vec()
		s.zero(t1.(VecVirtual))
		s.zero(t2.(VecVirtual))
	}
	nan := newNaNMask(s)
	p, n := GP64(), GP64()
	MOVQ(x, p)
	MOVQ(half, n)
	unrolled(s, n, 2, func(u int) {
		for a := range u {
			v := s.vec()
			VMOVUPS(Mem{Base: p, Disp: a * s.bytes()}, v)
			nan.add(v)
			VMAXPS(v, hi[a], hi[a])
			VMINPS(v, lo[a], lo[a])
			if margin {
				// |v| into the lane's top two: t2 = max(t2, min(t1, |v|)),
				// t1 = max(t1, |v|).
				av, m := s.vec(), s.vec()
				VANDPS(absMask, v, av)
				VMINPS(av, t1, m)
				VMAXPS(m, t2, t2)
				VMAXPS(av, t1, t1)
			}
		}
		ADDQ(U32(u*s.bytes()), p)
	})
	VMAXPS(hi[1], hi[0], hi[0])
	VMINPS(lo[1], lo[0], lo[0])
	nan.jumpIfNone("clean")
	MOVL(I32(-1), Mem{Base: out})
	JMP(LabelRef("next"))

	Label("clean")
	if margin {
		marginOf(s, t1.(VecVirtual), t2.(VecVirtual), second)
	}
	hreduce(s, hi[0], vmaxOp)
	hreduce(s, lo[0], vminOp)
	// −lo > hi ⇔ lo < 0 − hi (exact; 0 − (+0) = +0 where −hi = −0, and
	// the two zeros compare equal).
	nhi := XMM()
	VBROADCASTSS(consts["zero"], nhi)
	VSUBSS(hi[0].AsX(), nhi, nhi)
	// The winner without a branch: lo and offset half when lo < −hi,
	// else hi and offset 0.
	win, lob := GP32(), GP32()
	VMOVD(hi[0].AsX(), win)
	VMOVD(lo[0].AsX(), lob)
	off := GP64()
	XORQ(off, off)
	VUCOMISS(nhi, lo[0].AsX()) // flags of lo − (−hi): CF when lo < −hi
	CMOVLCS(lob, win)
	CMOVQCS(half, off)
	tx := XMM()
	VMOVD(win, tx)
	target := s.vec()
	VBROADCASTSS(tx, target)

	// Pass 2: the first lane equal to target, over every vector (a fixed
	// trip count, not an exit at a random place): each vector's first
	// match, or a sentinel, and the least of them.
	const eq = 0 // EQ_OQ
	MOVQ(x, p)
	MOVQ(half, n)
	first, sentinel := GP64(), GP64()
	MOVQ(U64(1<<62), sentinel)
	MOVQ(sentinel, first)
	bits, lane, cand := GP32(), GP32(), GP64()
	Label("find")
	if s.avx512 {
		k := K()
		VCMPPS(U8(eq), Mem{Base: p}, target, k)
		KMOVW(k, bits)
	} else {
		m := s.vec()
		VCMPPS(U8(eq), Mem{Base: p}, target, m)
		VMOVMSKPS(m, bits)
	}
	XORL(lane, lane)
	BSFL(bits, lane) // ZF when no lane matches (lane is then unchanged)
	LEAQ(Mem{Base: off, Index: lane.As64(), Scale: 1}, cand)
	CMOVQEQ(sentinel, cand)
	CMPQ(cand, first)
	CMOVQLT(cand, first)
	ADDQ(U32(s.bytes()), p)
	ADDQ(U32(s.lanes), off)
	SUBQ(U32(s.lanes), n)
	JNZ(LabelRef("find"))
	MOVL(first.As32(), Mem{Base: out})

	Label("next")
	ADDQ(U8(4), out)
	if margin {
		ADDQ(U8(4), second)
	}
	LEAQ(Mem{Base: x, Index: ld, Scale: 4}, x)
	DECQ(segs)
	JNZ(LabelRef("seg"))
	VZEROUPPER()
	RET()
}

// marginOf stores at (second) the second largest value of the multiset of
// lanes of t1 and t2, where t1 holds each lane's largest |v| and t2 its
// second largest: max(hmax(t2), the largest lane of t1 once one lane equal
// to hmax(t1) is set aside), which is hmax(t1) again when two lanes hold it.
func marginOf(s isa, t1, t2 VecVirtual, second Register) {
	top := s.vec()
	VMOVAPS(t1, top)
	hreduce(s, top, vmaxOp)
	topB := s.vec()
	VBROADCASTSS(top.AsX(), topB)
	const eq = 0 // EQ_OQ
	bits, cnt := GP32(), GP32()
	rest := s.vec()
	if s.avx512 {
		k, notK := K(), K()
		VCMPPS(U8(eq), topB, t1, k)
		KMOVW(k, bits)
		KNOTW(k, notK)
		VMOVAPS_Z(t1, notK, rest) // the lanes equal to the maximum zeroed (|v| ≥ 0)
	} else {
		m := s.vec()
		VCMPPS(U8(eq), topB, t1, m)
		VMOVMSKPS(m, bits)
		VANDNPS(t1, m, rest)
	}
	hreduce(s, rest, vmaxOp)
	// Two or more lanes at the maximum (bits & (bits−1) ≠ 0): the second
	// largest is it.
	MOVL(bits, cnt)
	DECL(cnt)
	ANDL(bits, cnt)
	JZ(LabelRef("single"))
	VMOVAPS(top, rest)
	Label("single")
	hreduce(s, t2, vmaxOp)
	VMAXPS(t2.AsX(), rest.AsX(), rest.AsX())
	VMOVSS(rest.AsX(), Mem{Base: second})
}
