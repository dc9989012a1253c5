package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Softmax kernels: the vectorised exp and the steps of the flash tile
// built on it (expsum, exp2cols, colmax).

// expConsts supplies the broadcast constants of one exp flavour: held in
// registers on AVX-512 (32 of them), broadcast at each use on AVX2 (one use
// per expN call serves all its vectors).
type expConsts struct {
	s      isa
	base2  bool
	held   map[string]VecVirtual
	poly   []string
	lo, hi string
}

func loadExpConsts(s isa, base2 bool) *expConsts {
	c := &expConsts{s: s, base2: base2, held: map[string]VecVirtual{}}
	if base2 {
		c.lo, c.hi = "e2min", "e2max"
		c.poly = []string{"e2p0", "e2p1", "e2p2", "e2p3", "e2p4", "e2p5"}
	} else {
		c.lo, c.hi = "expmin", "expmax"
		c.poly = []string{"ep0", "ep1", "ep2", "ep3", "ep4", "ep5"}
	}
	if s.avx512 {
		names := append([]string{c.lo, c.hi, "one", "bias", "log2e"}, c.poly...)
		if !base2 {
			names = append(names, "ln2hi", "ln2lo")
		}
		for _, n := range names {
			c.held[n] = bcast(s, n)
		}
	}
	return c
}

func (c *expConsts) get(name string) VecVirtual {
	if v, ok := c.held[name]; ok {
		return v
	}
	return bcast(c.s, name)
}

// exp overwrites x with exp(x), or 2^x for base-2 constants:
//
//	t = clamp(x); n = round(t·log2e); r = t − n·ln2 (two-part ln2, Cody–Waite)
//	exp(r) = 1 + r + r²·P(r)      (base 2: r = t − n exactly, 2^r = 1 + r·Q(r))
//	result = exp(r)·2^n, 2^n built from n's bits
//	x < lo → 0, where the result would be denormal; NaN stays NaN.
//
// The clamps keep n in [−126, 128] (128 gives +Inf: exp overflows from
// 88.38 on, slightly before float32's 88.72).
func exp(s isa, c *expConsts, x VecVirtual) { expN(s, c, []VecVirtual{x}) }

// expN is exp on each of xs, the vectors interleaved step by step so that
// each constant is fetched once for all of them (on AVX2, one broadcast
// where there were len(xs)) and their dependency chains overlap. Each
// vector gets exactly exp's operations.
func expN(s isa, c *expConsts, xs []VecVirtual) {
	const nlt = 5 // "not less than", true for NaN
	n := len(xs)
	each := func(f func(i int)) {
		for i := range n {
			f(i)
		}
	}
	lo := c.get(c.lo)
	keep := make([]Op, n)
	each(func(i int) {
		if s.avx512 {
			k := K()
			VCMPPS(U8(nlt), lo, xs[i], k)
			keep[i] = k
		} else {
			m := s.vec()
			VCMPPS(U8(nlt), lo, xs[i], m)
			keep[i] = m
		}
	})
	t, e, p := make([]VecVirtual, n), make([]VecVirtual, n), make([]VecVirtual, n)
	// VMAXPS/VMINPS return their first Go operand when either is NaN.
	each(func(i int) {
		t[i], e[i], p[i] = s.vec(), s.vec(), s.vec()
		VMAXPS(xs[i], lo, t[i])
	})
	hi := c.get(c.hi)
	each(func(i int) { VMINPS(t[i], hi, t[i]) })
	if !c.base2 {
		log2e := c.get("log2e")
		each(func(i int) { VMULPS(log2e, t[i], e[i]); round(s, e[i], e[i]) })
		ln2hi := c.get("ln2hi")
		each(func(i int) { VFNMADD231PS(ln2hi, e[i], t[i]) }) // t −= n·ln2hi
		ln2lo := c.get("ln2lo")
		each(func(i int) { VFNMADD231PS(ln2lo, e[i], t[i]) }) // t −= n·ln2lo
		polyStart(s, c, p)
		for _, k := range c.poly[1:] {
			kv := c.get(k)
			each(func(i int) { VFMADD213PS(kv, t[i], p[i]) }) // p = p·r + k
		}
		each(func(i int) {
			VMULPS(t[i], t[i], xs[i])      // r²
			VFMADD213PS(t[i], xs[i], p[i]) // p·r² + r
		})
		one := c.get("one")
		each(func(i int) { VADDPS(one, p[i], p[i]) })
	} else {
		each(func(i int) {
			round(s, t[i], e[i])
			VSUBPS(e[i], t[i], t[i]) // r = t − n, exact
		})
		polyStart(s, c, p)
		for _, k := range c.poly[1:] {
			kv := c.get(k)
			each(func(i int) { VFMADD213PS(kv, t[i], p[i]) })
		}
		one := c.get("one")
		each(func(i int) { VFMADD213PS(one, t[i], p[i]) }) // 1 + r·Q(r)
	}
	bias := c.get("bias")
	each(func(i int) {
		VCVTPS2DQ(e[i], e[i])
		VPADDD(bias, e[i], e[i])
		VPSLLD(U8(23), e[i], e[i])
	})
	each(func(i int) {
		if s.avx512 {
			VMULPS_Z(e[i], p[i], keep[i], xs[i])
		} else {
			VMULPS(e[i], p[i], p[i])
			VANDPS(keep[i], p[i], xs[i])
		}
	})
}

// polyStart sets each p to the polynomial's leading coefficient: a copy of
// the held register on AVX-512, a broadcast straight into p on AVX2.
func polyStart(s isa, c *expConsts, p []VecVirtual) {
	if v, ok := c.held[c.poly[0]]; ok {
		for _, pi := range p {
			VMOVAPS(v, pi)
		}
		return
	}
	for _, pi := range p {
		VBROADCASTSS(consts[c.poly[0]], pi)
	}
}

func round(s isa, src, dst VecVirtual) {
	const nearest = 8 // round to nearest even, precision exception suppressed
	if s.avx512 {
		VRNDSCALEPS(U8(nearest), src, dst)
	} else {
		VROUNDPS(U8(nearest), src, dst)
	}
}

func expSum(s isa) {
	text("expsum_"+s.name, "func(x *float32, n int, m float32) float32")
	Doc(fmt.Sprintf("expsum_%s sets x[i] = exp(x[i] − m) for i < n and returns their sum; n is a multiple of %d.", s.name, s.lanes))
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	mv := s.vec()
	VBROADCASTSS(NewParamAddr("m", 16), mv)
	c := loadExpConsts(s, false)
	sum := s.vec()
	s.zero(sum)
	unrolled(s, n, 1, func(int) {
		v := s.vec()
		VMOVUPS(Mem{Base: x}, v)
		VSUBPS(mv, v, v)
		exp(s, c, v)
		VMOVUPS(v, Mem{Base: x})
		VADDPS(v, sum, sum)
		ADDQ(U32(s.bytes()), x)
	})
	hreduce(s, sum, vaddOp)
	Store(sum.AsX(), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// exp2Cols is the softmax step of a flash tile stored transposed (Sᵀ: one
// row per key, one column per query, row stride ld floats), columns < width:
//
//	s[j][i]  = e^(s[j][i] − m[i])            for j < rows
//	alpha[i] = e^(alpha[i] − m[i])           (old running max in, rescale out)
//	l[i]     = alpha[i]·l[i] + Σ_j s[j][i]
//
// with e^x computed as 2^(x·log₂e): the rounding of x·log₂e costs a relative
// error |x|·2⁻²⁴ in the result, which matters only where e^x is tiny beside
// the row's largest term, 1 (x ≤ 0 here): an absolute error below 2⁻²⁴/e.
func exp2Cols(s isa) {
	group := exp2ColsGroup(s)
	text("exp2cols_"+s.name, "func(sp *float32, rows, width, ld int, m, alpha, l *float32)")
	Doc(fmt.Sprintf("exp2cols_%s is the softmax step of a transposed score tile; width is a multiple of %d.", s.name, group*s.lanes))
	sp := Load(Param("sp"), GP64())
	width := Load(Param("width"), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	m := Load(Param("m"), GP64())
	alpha := Load(Param("alpha"), GP64())
	l := Load(Param("l"), GP64())
	c := loadExpConsts(s, true)
	Label("group")
	mv := make([]VecVirtual, group)
	sum := make([]VecVirtual, group)
	for g := range group {
		mv[g], sum[g] = s.vec(), s.vec()
		VMOVUPS(Mem{Base: m, Disp: g * s.bytes()}, mv[g])
		s.zero(sum[g])
	}
	row := GP64()
	MOVQ(sp, row)
	rows := GP64()
	Load(Param("rows"), rows)
	TESTQ(rows, rows)
	JZ(LabelRef("alpha"))
	// rowBlock handles r rows of the group: each row's vectors, then the
	// sums in row order (the order of one row at a time).
	rowBlock := func(r int) {
		vs := make([]VecVirtual, 0, r*group)
		for j := range r {
			for g := range group {
				v := s.vec()
				VMOVUPS(rowGroupAddr(row, ld, j, g*s.bytes()), v)
				VSUBPS(mv[g], v, v)
				vs = append(vs, v)
			}
		}
		log2e := c.get("log2e")
		for _, v := range vs {
			VMULPS(log2e, v, v)
		}
		expN(s, c, vs)
		for j := range r {
			for g := range group {
				v := vs[j*group+g]
				VMOVUPS(v, rowGroupAddr(row, ld, j, g*s.bytes()))
				VADDPS(v, sum[g], sum[g])
			}
		}
	}
	// AVX2 takes two rows at a time, so that the constants it broadcasts
	// serve two vectors (AVX-512 holds them in registers).
	rowsAtOnce := exp2ColsRows(s)
	if rowsAtOnce > 1 {
		Label("rows2")
		CMPQ(rows, U8(rowsAtOnce))
		JL(LabelRef("row"))
		rowBlock(rowsAtOnce)
		LEAQ(Mem{Base: row, Index: ld, Scale: byte(rowsAtOnce)}, row)
		SUBQ(U8(rowsAtOnce), rows)
		JMP(LabelRef("rows2"))
	}
	Label("row")
	if rowsAtOnce > 1 {
		TESTQ(rows, rows)
		JZ(LabelRef("alpha"))
	}
	rowBlock(1)
	ADDQ(ld, row)
	DECQ(rows)
	JNZ(LabelRef("row"))
	Label("alpha")
	for g := range group {
		a := s.vec()
		VMOVUPS(Mem{Base: alpha, Disp: g * s.bytes()}, a)
		VSUBPS(mv[g], a, a)
		VMULPS(c.get("log2e"), a, a)
		exp(s, c, a)
		VMOVUPS(a, Mem{Base: alpha, Disp: g * s.bytes()})
		VFMADD231PS(Mem{Base: l, Disp: g * s.bytes()}, a, sum[g]) // sum += a·l
		VMOVUPS(sum[g], Mem{Base: l, Disp: g * s.bytes()})
	}
	step := group * s.bytes()
	ADDQ(U32(step), sp)
	ADDQ(U32(step), m)
	ADDQ(U32(step), alpha)
	ADDQ(U32(step), l)
	SUBQ(U32(group*s.lanes), width)
	JNZ(LabelRef("group"))
	VZEROUPPER()
	RET()
}

// columnGroups runs columns over width floats of columns (a multiple of the
// lanes): groups of group vectors while they fill, then single vectors;
// columns(g, prefix) handles g vectors and advances its pointers and width,
// with prefix keeping its labels apart. It ends the function.
func columnGroups(s isa, width Register, group int, columns func(g int, prefix string)) {
	Label("group")
	CMPQ(width, U32(group*s.lanes))
	JL(LabelRef("single"))
	columns(group, "group_")
	JMP(LabelRef("group"))
	Label("single")
	TESTQ(width, width)
	JZ(LabelRef("done"))
	columns(1, "single_")
	JMP(LabelRef("single"))
	Label("done")
	VZEROUPPER()
	RET()
}

// colMax folds the column maxima of a rows × width tile (row stride ld)
// into m: m[i] = max(m[i], s[j·ld+i]) with MaxInto's semantics, the new
// value only when it is greater (a NaN never replaces m[i], a NaN m[i]
// stays). Groups of four column vectors stay in registers while the rows
// stream past.
func colMax(s isa) {
	const group = 4
	text("colmax_"+s.name, "func(sp *float32, rows, width, ld int, m *float32)")
	Doc(fmt.Sprintf("colmax_%s sets m[i] = max(m[i], s[j·ld+i]) for j < rows, i < width (a NaN s never wins); width is a multiple of %d.", s.name, s.lanes))
	sp := Load(Param("sp"), GP64())
	width := Load(Param("width"), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	m := Load(Param("m"), GP64())

	columns := func(g int, prefix string) {
		acc := make([]VecVirtual, g)
		for i := range g {
			acc[i] = s.vec()
			VMOVUPS(Mem{Base: m, Disp: i * s.bytes()}, acc[i])
		}
		row := GP64()
		MOVQ(sp, row)
		rows := Load(Param("rows"), GP64())
		TESTQ(rows, rows)
		JZ(LabelRef(prefix + "store"))
		Label(prefix + "row")
		for i := range g {
			v := s.vec()
			VMOVUPS(Mem{Base: row, Disp: i * s.bytes()}, v)
			// max(v, acc) returns its second source, acc, on a NaN or
			// a tie: acc changes only where v > acc.
			VMAXPS(acc[i], v, acc[i])
		}
		ADDQ(ld, row)
		DECQ(rows)
		JNZ(LabelRef(prefix + "row"))
		Label(prefix + "store")
		for i := range g {
			VMOVUPS(acc[i], Mem{Base: m, Disp: i * s.bytes()})
		}
		ADDQ(U32(g*s.bytes()), sp)
		ADDQ(U32(g*s.bytes()), m)
		SUBQ(U32(g*s.lanes), width)
	}

	columnGroups(s, width, group, columns)
}

// exp2ColsRows is the number of rows exp2cols handles at once.
func exp2ColsRows(s isa) int {
	if s.avx512 {
		return 1
	}
	return 2
}

// rowGroupAddr addresses row j (0 or 1) of a tile from row, ld bytes
// apart, disp bytes in.
func rowGroupAddr(row, ld Register, j, disp int) Mem {
	if j == 0 {
		return Mem{Base: row, Disp: disp}
	}
	return Mem{Base: row, Index: ld, Scale: 1, Disp: disp}
}

// exp2ColsGroup is the number of column vectors exp2cols handles at once.
func exp2ColsGroup(s isa) int {
	if s.avx512 {
		return 4
	}
	return 1
}
