package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Data-movement kernels: transposed packing of tiles and non-temporal row
// scatter.

// packT packs a tile of rows transposed and scaled, cols a multiple of the
// lanes, rows ≤ cols, d a positive multiple of 4, row stride ld and
// destination row stride ldd floats:
//
//	dst[p·ldd + i] = f_i·src[r·ld + p]     r = perm[i] (perm nil: i), i < rows
//	dst[p·ldd + i] = 0                      rows ≤ i < cols
//
// with f_i = scale, or colScale[i] when colScale is not nil (cols entries).
//
// One vector of columns at a time: a table of the columns' row pointers on
// the stack (a padding column points at the group's first row, and its lanes
// are zeroed after the multiply, so the padding is +0 whatever scale is),
// then per four p, vector k (k < 4) is built from 128-bit loads of rows k,
// k+4, k+8, k+12 (AVX2: k, k+4), and an in-lane 4×4 transpose of the four
// vectors gives the four destination rows, multiplied by scale and stored
// whole. A group past the real rows is stored as zeros. (Gathers, one per
// destination row, ran no faster than the scalar Go loop on AMD Zen 4.)
func packT(s isa) {
	text("packt_"+s.name, "func(src *float32, ld int, perm *int32, rows, cols, d int, dst *float32, ldd int, scale float32, colScale *float32)")
	Doc(fmt.Sprintf("packt_%s sets dst[p·ldd+i] = f·src[r·ld+p], r = perm[i] (perm nil: i), f = scale (colScale not nil: colScale[i]), for i < rows and 0 for rows ≤ i < cols, p < d; cols is a multiple of %d, rows ≤ cols, d a positive multiple of 4.", s.name, s.lanes))
	tbl := AllocLocal(8 * s.lanes)
	slot := func(k int) Mem { return tbl.Offset(8 * k) }
	dst := Load(Param("dst"), GP64())
	first := GP64() // the group's first column
	XORQ(first, first)
	scale, zero, iota := s.vec(), s.vec(), s.vec()
	VBROADCASTSS(NewParamAddr("scale", 64), scale)
	s.zero(zero)
	VMOVUPS(consts["iota"], iota)

	Label("group")
	rem := GP64() // rows from the group's first column on
	Load(Param("rows"), rem)
	SUBQ(first, rem)
	JLE(LabelRef("pad"))
	// Per-column factors: the group's vector of colScale replaces the
	// broadcast scale (its padding lanes are masked after the multiply).
	colScale := Load(Param("colScale"), GP64())
	TESTQ(colScale, colScale)
	JZ(LabelRef("factors"))
	VMOVUPS(Mem{Base: colScale, Index: first, Scale: 4}, scale)
	Label("factors")

	// The row pointer table: ptr0 for column first, and for the columns
	// from rem on (padding).
	src := Load(Param("src"), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	perm := Load(Param("perm"), GP64())
	ptr0 := GP64()
	fill := func(k int) string { return fmt.Sprintf("fill%d", k) }
	TESTQ(perm, perm)
	JZ(LabelRef("inorder"))
	LEAQ(Mem{Base: perm, Index: first, Scale: 4}, perm)
	MOVLQSX(Mem{Base: perm}, ptr0)
	IMULQ(ld, ptr0)
	ADDQ(src, ptr0)
	MOVQ(ptr0, slot(0))
	for k := 1; k < s.lanes; k++ {
		CMPQ(rem, U8(k))
		JLE(LabelRef(fill(k)))
		p := GP64()
		MOVLQSX(Mem{Base: perm, Disp: 4 * k}, p)
		IMULQ(ld, p)
		ADDQ(src, p)
		MOVQ(p, slot(k))
	}
	JMP(LabelRef("built"))
	Label("inorder")
	MOVQ(first, ptr0)
	IMULQ(ld, ptr0)
	ADDQ(src, ptr0)
	MOVQ(ptr0, slot(0))
	p := GP64()
	MOVQ(ptr0, p)
	for k := 1; k < s.lanes; k++ {
		CMPQ(rem, U8(k))
		JLE(LabelRef(fill(k)))
		ADDQ(ld, p)
		MOVQ(p, slot(k))
	}
	JMP(LabelRef("built"))
	for k := 1; k < s.lanes; k++ {
		Label(fill(k))
		MOVQ(ptr0, slot(k))
	}
	Label("built")

	// quads emits the loop over four destination rows at a time; mask, when
	// set, zeroes the padding lanes.
	quads := func(prefix string, mask Op) {
		poff, dp := GP64(), GP64()
		XORQ(poff, poff)
		MOVQ(dst, dp)
		ldd := Load(Param("ldd"), GP64())
		SHLQ(U8(2), ldd)
		ldd3 := GP64()
		LEAQ(Mem{Base: ldd, Index: ldd, Scale: 2}, ldd3)
		n := Load(Param("d"), GP64())
		Label(prefix + "quad")
		var v [4]VecVirtual
		for k := range 4 {
			v[k] = s.vec()
			for b := range s.lanes / 4 {
				rp := GP64()
				MOVQ(slot(4*b+k), rp)
				at := Mem{Base: rp, Index: poff, Scale: 1}
				switch {
				case b == 0:
					VMOVUPS(at, v[k].AsX()) // VEX: clears the upper lanes
				case s.avx512:
					VINSERTF32X4(U8(b), at, v[k], v[k])
				default:
					VINSERTF128(U8(b), at, v[k], v[k])
				}
			}
		}
		// Per 128-bit lane: t0 = [v0₀ v1₀ v0₁ v1₁], t1 = [v0₂ v1₂ v0₃ v1₃],
		// t2, t3 the same of v2, v3; row j = [vk_j for k < 4].
		t0, t1, t2, t3 := s.vec(), s.vec(), s.vec(), s.vec()
		VUNPCKLPS(v[1], v[0], t0)
		VUNPCKHPS(v[1], v[0], t1)
		VUNPCKLPS(v[3], v[2], t2)
		VUNPCKHPS(v[3], v[2], t3)
		for j := range 4 {
			lo, hi := t0, t2
			if j >= 2 {
				lo, hi = t1, t3
			}
			o := s.vec()
			if j%2 == 0 {
				VUNPCKLPD(hi, lo, o)
			} else {
				VUNPCKHPD(hi, lo, o)
			}
			switch {
			case mask == nil:
				VMULPS(scale, o, o)
			case s.avx512:
				VMULPS_Z(scale, o, mask, o)
			default:
				VMULPS(scale, o, o)
				VANDPS(mask, o, o)
			}
			VMOVUPS(o, rowAddr(dp, dp, ldd, ldd3, j))
		}
		ADDQ(U8(16), poff)
		LEAQ(Mem{Base: dp, Index: ldd, Scale: 4}, dp)
		SUBQ(U8(4), n)
		JNZ(LabelRef(prefix + "quad"))
		JMP(LabelRef("next"))
	}

	// The real columns' lanes: iota < rem.
	nx, nv := XMM(), s.vec()
	VMOVD(rem.As32(), nx)
	VPBROADCASTD(nx, nv)
	if s.avx512 {
		k := K()
		VPCMPGTD(iota, nv, k)
		quads("", k)
	} else {
		CMPQ(rem, U8(s.lanes))
		JL(LabelRef("partial"))
		quads("full_", nil)
		Label("partial")
		m := s.vec()
		VPCMPGTD(iota, nv, m)
		quads("partial_", m)
	}

	// A group past the real rows: zero columns.
	Label("pad")
	dp := GP64()
	MOVQ(dst, dp)
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	n := Load(Param("d"), GP64())
	Label("padrow")
	VMOVUPS(zero, Mem{Base: dp})
	ADDQ(ldd, dp)
	DECQ(n)
	JNZ(LabelRef("padrow"))

	Label("next")
	ADDQ(U32(s.bytes()), dst)
	ADDQ(U32(s.lanes), first)
	cols := Load(Param("cols"), GP64())
	CMPQ(first, cols)
	JL(LabelRef("group"))
	VZEROUPPER()
	RET()
}

// scatterRows copies rows of width floats, width a positive multiple of the
// lanes, from src (row stride lds) to the destination rows idx[i] (row
// stride ldd), i < rows (rows ≥ 1), with non-temporal stores, then fences
// them: for a destination too large to stay in cache, the stores skip the
// read for ownership and do not evict the working set. Every destination
// row must be aligned to the vector size (the caller checks).
func scatterRows(s isa) {
	text("scatterrowsnt_"+s.name, "func(src *float32, lds int, idx *int32, rows, width int, dst *float32, ldd int)")
	Doc(fmt.Sprintf("scatterrowsnt_%s sets dst[idx[i]·ldd+c] = src[i·lds+c] for i < rows, c < width with non-temporal stores and a store fence; rows ≥ 1, width a positive multiple of %d, every destination row aligned to %d bytes.", s.name, s.lanes, s.bytes()))
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	SHLQ(U8(2), lds)
	idx := Load(Param("idx"), GP64())
	rows := Load(Param("rows"), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	dst := Load(Param("dst"), GP64())
	width := Load(Param("width"), GP64())
	SHLQ(U8(2), width) // bytes

	Label("row")
	dp := GP64()
	MOVLQSX(Mem{Base: idx}, dp)
	IMULQ(ldd, dp)
	ADDQ(dst, dp)
	off := GP64()
	XORQ(off, off)
	Label("vec")
	v := s.vec()
	VMOVUPS(Mem{Base: src, Index: off, Scale: 1}, v)
	VMOVNTPS(v, Mem{Base: dp, Index: off, Scale: 1})
	ADDQ(U8(s.bytes()), off)
	CMPQ(off, width)
	JL(LabelRef("vec"))
	ADDQ(lds, src)
	ADDQ(U8(4), idx)
	DECQ(rows)
	JNZ(LabelRef("row"))
	SFENCE()
	VZEROUPPER()
	RET()
}
