package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// GEMM kernels: the score and P·V products of the tile engines (gemm with
// its column-vector variants) and the reduction-style gemmNT.

// gemmColumnVectors lists the tile widths, in vectors, of the GEMM kernels.
func gemmColumnVectors(s isa) []int {
	if s.avx512 {
		return []int{4, 2, 1}
	}
	return []int{2, 1}
}

// gemmRows is the number of C rows one register tile holds for c column
// vectors: as many as fit beside c B vectors and one broadcast register (at
// most 8, the row addressing below).
func gemmRows(s isa, c int) int {
	return min(8, (s.regs-c-1)/c)
}

// gemmNT computes c = a·bᵀ for row-major a (m×k) and b (n×k) with one
// accumulator vector per (row, column) pair of an R×4 register tile, reduced
// across lanes at the end: m is a multiple of R, n of 4, k of the lanes.
func gemmNT(s isa) {
	R := gemmNTRows(s)
	text("gemmnt_"+s.name, "func(a *float32, lda int, b *float32, ldb int, c *float32, ldc int, m, n, k int)")
	Doc(fmt.Sprintf("gemmnt_%s sets c[i][j] = Σ_p a[i][p]·b[j][p]; m is a multiple of %d, n of 4, k of %d.", s.name, R, s.lanes))
	ai := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(2), lda)
	lda3 := GP64()
	LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	ldb3 := GP64()
	LEAQ(Mem{Base: ldb, Index: ldb, Scale: 2}, ldb3)
	ci := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	mLeft := AllocLocal(8)
	nLeft := AllocLocal(8)
	{
		t := Load(Param("m"), GP64())
		MOVQ(t, mLeft)
	}
	Label("rows")
	CMPQ(mLeft, U8(0))
	JE(LabelRef("done"))
	bj := Load(Param("b"), GP64())
	cij := GP64()
	MOVQ(ci, cij)
	{
		t := Load(Param("n"), GP64())
		MOVQ(t, nLeft)
	}
	Label("cols")
	CMPQ(nLeft, U8(0))
	JE(LabelRef("nextrows"))
	acc := make([][4]VecVirtual, R)
	for r := range R {
		for j := range 4 {
			acc[r][j] = s.vec()
			s.zero(acc[r][j])
		}
	}
	pa, pb := GP64(), GP64()
	MOVQ(ai, pa)
	MOVQ(bj, pb)
	// pf walks prefetchRows A rows ahead (asm.prefetchRows).
	pf := GP64()
	MOVQ(prefetchRowsVar(), pf)
	IMULQ(lda, pf)
	ADDQ(pa, pf)
	cnt := Load(Param("k"), GP64())
	Label("p")
	TESTQ(cnt, cnt)
	JZ(LabelRef("reduce"))
	var bv [4]VecVirtual
	for j := range 4 {
		bv[j] = s.vec()
		VMOVUPS(rowAddr(pb, pb, ldb, ldb3, j), bv[j])
	}
	for r := range R {
		av := s.vec()
		VMOVUPS(rowAddr(pa, pa, lda, lda3, r), av)
		PREFETCHT1(rowAddr(pf, pf, lda, lda3, r))
		for j := range 4 {
			VFMADD231PS(bv[j], av, acc[r][j])
		}
	}
	ADDQ(U32(s.bytes()), pf)
	ADDQ(U32(s.bytes()), pa)
	ADDQ(U32(s.bytes()), pb)
	SUBQ(U32(s.lanes), cnt)
	JMP(LabelRef("p"))
	Label("reduce")
	cr := GP64()
	MOVQ(cij, cr)
	for r := range R {
		x := reduce4(s, acc[r])
		VMOVUPS(x, Mem{Base: cr})
		if r < R-1 {
			ADDQ(ldc, cr)
		}
	}
	LEAQ(Mem{Base: bj, Index: ldb, Scale: 4}, bj)
	ADDQ(U8(16), cij)
	SUBQ(U8(4), nLeft)
	JMP(LabelRef("cols"))
	Label("nextrows")
	for range R {
		ADDQ(lda, ai)
		ADDQ(ldc, ci)
	}
	SUBQ(U8(R), mLeft)
	JMP(LabelRef("rows"))
	Label("done")
	VZEROUPPER()
	RET()
}

// prefetchRowsVar addresses asm.prefetchRows (impl_amd64.go: how far
// ahead, in rows, gemmnt prefetches its A rows and the accumulate kernels
// their B rows), read at each call so that it is chosen at run time.
func prefetchRowsVar() Mem {
	return Mem{Symbol: Symbol{Name: "·prefetchRows"}, Base: StaticBase}
}

func gemmNTRows(s isa) int {
	if s.avx512 {
		return 4
	}
	return 2
}

// reduce4 sums the lanes of four accumulators into one XMM [Σa0 Σa1 Σa2 Σa3].
func reduce4(s isa, a [4]VecVirtual) Register {
	// Within each 128-bit lane: transpose-and-add.
	t0, t1 := s.vec(), s.vec()
	VUNPCKLPS(a[1], a[0], t0)
	VUNPCKHPS(a[1], a[0], t1)
	VADDPS(t1, t0, t0) // [a0_02 a1_02 a0_13 a1_13]
	t2, t3 := s.vec(), s.vec()
	VUNPCKLPS(a[3], a[2], t2)
	VUNPCKHPS(a[3], a[2], t3)
	VADDPS(t3, t2, t2) // [a2_02 a3_02 a2_13 a3_13]
	VSHUFPS(U8(0x44), t2, t0, t1)
	VSHUFPS(U8(0xee), t2, t0, t3)
	VADDPS(t3, t1, t1) // [Σ0 Σ1 Σ2 Σ3] per 128-bit lane
	if s.avx512 {
		y := YMM()
		VEXTRACTF64X4(U8(1), t1, y)
		VADDPS(y, t1.AsY(), t1.AsY())
	}
	x := XMM()
	VEXTRACTF128(U8(1), t1.AsY(), x)
	VADDPS(x, t1.AsX(), t1.AsX())
	return t1.AsX()
}

// rowAddr addresses row r (0..7) of a matrix given base pointers for rows 0
// and 4 and the row stride and three times it, in bytes.
func rowAddr(base0, base4, ld, ld3 Register, r int) Mem {
	base := base0
	if r >= 4 {
		base = base4
	}
	switch r % 4 {
	case 0:
		return Mem{Base: base}
	case 1:
		return Mem{Base: base, Index: ld, Scale: 1}
	case 2:
		return Mem{Base: base, Index: ld, Scale: 2}
	default:
		return Mem{Base: base, Index: ld3, Scale: 1}
	}
}

// gemm emits the register-blocked kernel of the tile GEMMs,
//
//	c[i][j] (=|+=) Σ_p a[i·aRow + p·aK] · b[p·ldb + j]   i < rows, j < cv·lanes, p < k
//
// with A read by broadcasts through two strides, so one kernel serves a
// row-major A (aRow = lda, aK = 1) and a transposed one (aRow = 1, aK = lda).
// The overwrite form (gemms) also folds the tile's column maxima into vec:
// vec[j] = max(vec[j], max_i c[i][j]). The accumulate form (gemmacc) first
// scales row i of c by vec[i] when vec is not nil. R rows at a time, then
// 4 rows (when R > 4), then single rows.
func gemm(s isa, cv int, accumulate bool) {
	R := gemmRows(s, cv)
	kind := "s"
	if accumulate {
		kind = "acc"
	}
	name := fmt.Sprintf("gemm%s%d_%s", kind, cv, s.name)
	text(name, "func(a *float32, aRow, aK int, b *float32, ldb int, c *float32, ldc int, rows, k int, vec *float32)")
	if accumulate {
		Doc(fmt.Sprintf("%s sets c[i][j] = vec[i]·c[i][j] + Σ_p a[i·aRow+p·aK]·b[p·ldb+j] for j < %d (vec nil: no scaling).", name, cv*s.lanes))
	} else {
		Doc(fmt.Sprintf("%s sets c[i][j] = Σ_p a[i·aRow+p·aK]·b[p·ldb+j] for j < %d and vec[j] = max(vec[j], max_i c[i][j]).", name, cv*s.lanes))
	}
	a := Load(Param("a"), GP64())
	aRow := Load(Param("aRow"), GP64())
	SHLQ(U8(2), aRow)
	aRow3 := GP64()
	LEAQ(Mem{Base: aRow, Index: aRow, Scale: 2}, aRow3)
	aK := Load(Param("aK"), GP64())
	SHLQ(U8(2), aK)
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	rows := Load(Param("rows"), GP64())
	vec := Load(Param("vec"), GP64())

	tile := func(R int, prefix string) {
		acc := make([][]VecVirtual, R)
		for r := range acc {
			acc[r] = make([]VecVirtual, cv)
			for v := range acc[r] {
				acc[r][v] = s.vec()
			}
		}
		if !accumulate {
			for r := range acc {
				for v := range acc[r] {
					s.zero(acc[r][v])
				}
			}
		} else {
			cr := GP64()
			MOVQ(c, cr)
			for r := range acc {
				for v := range acc[r] {
					VMOVUPS(Mem{Base: cr, Disp: v * s.bytes()}, acc[r][v])
				}
				if r < R-1 {
					ADDQ(ldc, cr)
				}
			}
			TESTQ(vec, vec)
			JZ(LabelRef(prefix + "noscale"))
			for r := range acc {
				f := s.vec()
				VBROADCASTSS(Mem{Base: vec, Disp: 4 * r}, f)
				for v := range acc[r] {
					VMULPS(f, acc[r][v], acc[r][v])
				}
			}
			Label(prefix + "noscale")
		}
		pa, pa4 := GP64(), GP64()
		MOVQ(a, pa)
		if R > 4 {
			LEAQ(Mem{Base: a, Index: aRow, Scale: 4}, pa4)
		}
		pb := Load(Param("b"), GP64())
		// pf walks prefetchRows B rows ahead (asm.prefetchRows).
		var pf Register
		if accumulate {
			pf = GP64()
			MOVQ(prefetchRowsVar(), pf)
			IMULQ(ldb, pf)
			ADDQ(pb, pf)
		}
		cnt := Load(Param("k"), GP64())
		TESTQ(cnt, cnt)
		JZ(LabelRef(prefix + "store"))
		Label(prefix + "loop")
		bv := make([]VecVirtual, cv)
		for v := range bv {
			bv[v] = s.vec()
			VMOVUPS(Mem{Base: pb, Disp: v * s.bytes()}, bv[v])
			if pf != nil && v*s.bytes()%64 == 0 {
				PREFETCHT1(Mem{Base: pf, Disp: v * s.bytes()})
			}
		}
		if pf != nil {
			ADDQ(ldb, pf)
		}
		for r := range acc {
			f := s.vec()
			VBROADCASTSS(rowAddr(pa, pa4, aRow, aRow3, r), f)
			for v := range acc[r] {
				VFMADD231PS(bv[v], f, acc[r][v])
			}
		}
		ADDQ(aK, pa)
		if R > 4 {
			ADDQ(aK, pa4)
		}
		ADDQ(ldb, pb)
		DECQ(cnt)
		JNZ(LabelRef(prefix + "loop"))
		Label(prefix + "store")
		cr := GP64()
		MOVQ(c, cr)
		for r := range acc {
			for v := range acc[r] {
				VMOVUPS(acc[r][v], Mem{Base: cr, Disp: v * s.bytes()})
			}
			if r < R-1 {
				ADDQ(ldc, cr)
			}
		}
		if !accumulate {
			for v := range cv {
				for r := 1; r < R; r++ {
					VMAXPS(acc[r][v], acc[0][v], acc[0][v])
				}
				VMAXPS(Mem{Base: vec, Disp: v * s.bytes()}, acc[0][v], acc[0][v])
				VMOVUPS(acc[0][v], Mem{Base: vec, Disp: v * s.bytes()})
			}
		}
		for range R {
			ADDQ(aRow, a)
			ADDQ(ldc, c)
		}
		if accumulate {
			// vec stays nil when there is no scaling.
			TESTQ(vec, vec)
			JZ(LabelRef(prefix + "next"))
			ADDQ(U8(4*R), vec)
			Label(prefix + "next")
		}
	}

	Label("block")
	CMPQ(rows, U8(R))
	JL(LabelRef("quad"))
	tile(R, "block_")
	SUBQ(U8(R), rows)
	JMP(LabelRef("block"))
	// A 4-row tile for what is left: a decode tile's 4 query rows (G = 4
	// heads of a K/V group) then read each B row once, not four times.
	Label("quad")
	if R > 4 {
		CMPQ(rows, U8(4))
		JL(LabelRef("single"))
		tile(4, "quad_")
		SUBQ(U8(4), rows)
	}
	Label("single")
	TESTQ(rows, rows)
	JZ(LabelRef("done"))
	tile(1, "single_")
	DECQ(rows)
	JMP(LabelRef("single"))
	Label("done")
	VZEROUPPER()
	RET()
}
