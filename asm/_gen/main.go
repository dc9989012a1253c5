// Command _gen writes the amd64 kernel sets of package asm (AVX2+FMA and
// AVX-512) with github.com/mmcloughlin/avo:
//
//	go run . -out ../simd_amd64.s -stubs ../simd_stubs_amd64.go -pkg asm
//
// (the go:generate line in ../impl_amd64.go). Every function works on whole
// vectors or whole register tiles only; the Go wrappers in ../simd.go
// handle tails and edge tiles and are what the kernel sets expose.
package main

import (
	"fmt"
	"math"
	"os"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// isa describes one vector instruction set.
type isa struct {
	name   string
	lanes  int // float32 lanes per vector
	avx512 bool
	regs   int // vector registers
}

func (s isa) bytes() int { return 4 * s.lanes }

func (s isa) vec() VecVirtual {
	if s.avx512 {
		return ZMM()
	}
	return YMM()
}

// zero clears v by broadcasting a zero constant: the register allocator
// reads the XOR idiom's operands as uses, which would keep v live from the
// function's entry.
func (s isa) zero(v VecVirtual) {
	VBROADCASTSS(consts["zero"], v)
}

var (
	avx2   = isa{name: "avx2", lanes: 8, regs: 16}
	avx512 = isa{name: "avx512", lanes: 16, avx512: true, regs: 32}
)

func main() {
	ConstraintExpr("!purego")
	constants()
	only := os.Getenv("GEN_ONLY")
	for _, s := range []isa{avx2, avx512} {
		if only != "" {
			debugOne(s, only)
			continue
		}
		scale(s)
		axpy(s)
		maxV(s)
		vmax(s)
		dot(s)
		expSum(s)
		exp2Cols(s)
		maskMatches(s)
		argMaxPlusMinus(s, false)
		argMaxPlusMinus(s, true)
		packT(s)
		colMax(s)
		scatterRows(s)
		fmaPeak(s)
		gemmNT(s)
		for _, c := range gemmColumnVectors(s) {
			gemm(s, c, false)
			gemm(s, c, true)
		}
	}
	Generate()
}

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

// Constants, one float32 or int32 each; kernels broadcast them.
var consts = map[string]Mem{}

func constants() {
	f := map[string]float32{
		"log2e":  float32(math.Log2E),
		"ln2hi":  0.693359375,
		"ln2lo":  -2.12194440e-4,
		"expmin": expMin,
		"expmax": 88.5,
		"e2min":  -126,
		"e2max":  128,
		// exp(r) = 1 + r + r²·P(r) on |r| ≤ ln2/2 (Cephes expf).
		"ep0": 1.9875691500e-4, "ep1": 1.3981999507e-3, "ep2": 8.3334519073e-3,
		"ep3": 4.1665795894e-2, "ep4": 1.6666665459e-1, "ep5": 5.0000001201e-1,
		// 2^f = 1 + f·Q(f) on |f| ≤ 1/2 (Cephes exp2f).
		"e2p0": 1.535336188319500e-4, "e2p1": 1.339887440266574e-3, "e2p2": 9.618437357674640e-3,
		"e2p3": 5.550332471162809e-2, "e2p4": 2.402264791363012e-1, "e2p5": 6.931472028550421e-1,
		"one": 1, "zero": 0,
		"neginf": float32(math.Inf(-1)),
	}
	for _, name := range sortedKeys(f) {
		consts[name] = GLOBL("c_"+name, RODATA|NOPTR)
		// As bits: avo prints an integral F32 as "$(1)", which the Go
		// assembler reads as the integer 1.
		DATA(0, U32(math.Float32bits(f[name])))
	}
	consts["bias"] = GLOBL("c_bias", RODATA|NOPTR)
	DATA(0, U32(127))
	consts["absmask"] = GLOBL("c_absmask", RODATA|NOPTR)
	DATA(0, U32(0x7fffffff))
	// The lane numbers 0..15 as int32, a whole vector (not broadcast).
	consts["iota"] = GLOBL("c_iota", RODATA|NOPTR)
	for i := range 16 {
		DATA(4*i, U32(i))
	}
}

// expMin is the smallest argument whose exp is a normal float32; below it
// the kernels return 0 (so nothing downstream goes denormal).
const expMin = -87.33654

func sortedKeys(m map[string]float32) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

// bcast returns a vector register holding constant name in every lane.
func bcast(s isa, name string) VecVirtual {
	v := s.vec()
	if name == "bias" {
		VPBROADCASTD(consts[name], v)
	} else {
		VBROADCASTSS(consts[name], v)
	}
	return v
}

func scale(s isa) {
	TEXT("scale_"+s.name, NOSPLIT, "func(dst, src *float32, n int, a float32)")
	Doc(fmt.Sprintf("scale_%s sets dst[i] = a·src[i] for i < n (dst may be src); n is a multiple of %d.", s.name, s.lanes))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	a := s.vec()
	VBROADCASTSS(NewParamAddr("a", 24), a)
	unrolled(s, n, 4, func(u int) {
		for i := range u {
			v := s.vec()
			VMULPS(Mem{Base: src, Disp: i * s.bytes()}, a, v)
			VMOVUPS(v, Mem{Base: dst, Disp: i * s.bytes()})
		}
		ADDQ(U32(u*s.bytes()), src)
		ADDQ(U32(u*s.bytes()), dst)
	})
	VZEROUPPER()
	RET()
}

// unrolled emits a loop over n floats (a multiple of the vector width):
// body(u) handles u vectors and advances its pointers; u is unroll, then 1.
func unrolled(s isa, n Register, unroll int, body func(u int)) {
	name := fmt.Sprintf("L%d", labelSeq())
	Label(name + "_big")
	CMPQ(n, U32(unroll*s.lanes))
	JL(LabelRef(name + "_one"))
	body(unroll)
	SUBQ(U32(unroll*s.lanes), n)
	JMP(LabelRef(name + "_big"))
	Label(name + "_one")
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	body(1)
	SUBQ(U32(s.lanes), n)
	JMP(LabelRef(name + "_one"))
	Label(name + "_done")
}

var labels int

func labelSeq() int { labels++; return labels }

func axpy(s isa) {
	TEXT("axpy_"+s.name, NOSPLIT, "func(y, x *float32, n int, a float32)")
	Doc(fmt.Sprintf("axpy_%s sets y[i] += a·x[i] for i < n; n is a multiple of %d.", s.name, s.lanes))
	y := Load(Param("y"), GP64())
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	a := s.vec()
	VBROADCASTSS(NewParamAddr("a", 24), a)
	unrolled(s, n, 4, func(u int) {
		for i := range u {
			v := s.vec()
			VMOVUPS(Mem{Base: y, Disp: i * s.bytes()}, v)
			VFMADD231PS(Mem{Base: x, Disp: i * s.bytes()}, a, v)
			VMOVUPS(v, Mem{Base: y, Disp: i * s.bytes()})
		}
		ADDQ(U32(u*s.bytes()), x)
		ADDQ(U32(u*s.bytes()), y)
	})
	VZEROUPPER()
	RET()
}

// nanMask accumulates "x is NaN" lanes: a mask register (AVX-512) or a
// vector of all-ones lanes (AVX2).
type nanMask struct {
	s isa
	k OpmaskVirtual
	v VecVirtual
}

func newNaNMask(s isa) nanMask {
	m := nanMask{s: s}
	if s.avx512 {
		m.k = K()
		KXORW(m.k, m.k, m.k)
	} else {
		m.v = s.vec()
		s.zero(m.v)
	}
	return m
}

func (m nanMask) add(x VecVirtual) {
	const unord = 3
	if m.s.avx512 {
		k := K()
		VCMPPS(U8(unord), x, x, k)
		KORW(k, m.k, m.k)
	} else {
		t := m.s.vec()
		VCMPPS(U8(unord), x, x, t)
		VORPS(t, m.v, m.v)
	}
}

// jumpIfNone jumps to label when no lane was NaN.
func (m nanMask) jumpIfNone(label string) {
	if m.s.avx512 {
		KORTESTW(m.k, m.k)
	} else {
		VPTEST(m.v, m.v)
	}
	JZ(LabelRef(label))
}

// hreduce folds the lanes of v with op (max or add); the result is in the
// low lane of v.
func hreduce(s isa, v VecVirtual, op func(a, b, dst Op)) {
	if s.avx512 {
		t := YMM()
		VEXTRACTF64X4(U8(1), v, t)
		op(t, v.AsY(), v.AsY())
	}
	t := XMM()
	VEXTRACTF128(U8(1), v.AsY(), t)
	op(t, v.AsX(), v.AsX())
	VSHUFPS(U8(0x4e), v.AsX(), v.AsX(), t)
	op(t, v.AsX(), v.AsX())
	VSHUFPS(U8(0xb1), v.AsX(), v.AsX(), t)
	op(t, v.AsX(), v.AsX())
}

func vmaxOp(a, b, dst Op) { VMAXPS(a, b, dst) }
func vminOp(a, b, dst Op) { VMINPS(a, b, dst) }
func vaddOp(a, b, dst Op) { VADDPS(a, b, dst) }

func maxV(s isa) {
	TEXT("max_"+s.name, NOSPLIT, "func(x *float32, n int) float32")
	Doc(fmt.Sprintf("max_%s returns the largest of x[:n] (NaN if one is NaN); n is a positive multiple of %d.", s.name, s.lanes))
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	acc := s.vec()
	VMOVUPS(Mem{Base: x}, acc)
	nan := newNaNMask(s)
	unrolled(s, n, 1, func(u int) {
		v := s.vec()
		VMOVUPS(Mem{Base: x}, v)
		nan.add(v)
		VMAXPS(v, acc, acc)
		ADDQ(U32(s.bytes()), x)
	})
	hreduce(s, acc, vmaxOp)
	nan.jumpIfNone("done")
	VMOVSS(consts["expmax"], acc.AsX()) // any finite value; made NaN below
	VSUBSS(acc.AsX(), acc.AsX(), acc.AsX())
	VDIVSS(acc.AsX(), acc.AsX(), acc.AsX()) // 0/0
	Label("done")
	Store(acc.AsX(), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

func vmax(s isa) {
	TEXT("vmax_"+s.name, NOSPLIT, "func(dst, src *float32, n int)")
	Doc(fmt.Sprintf("vmax_%s sets dst[i] = max(dst[i], src[i]) for i < n; n is a multiple of %d.", s.name, s.lanes))
	d := Load(Param("dst"), GP64())
	x := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	unrolled(s, n, 4, func(u int) {
		for i := range u {
			v := s.vec()
			VMOVUPS(Mem{Base: x, Disp: i * s.bytes()}, v)
			VMAXPS(Mem{Base: d, Disp: i * s.bytes()}, v, v)
			VMOVUPS(v, Mem{Base: d, Disp: i * s.bytes()})
		}
		ADDQ(U32(u*s.bytes()), x)
		ADDQ(U32(u*s.bytes()), d)
	})
	VZEROUPPER()
	RET()
}

func dot(s isa) {
	TEXT("dot_"+s.name, NOSPLIT, "func(x, y *float32, n int) float32")
	Doc(fmt.Sprintf("dot_%s returns Σ x[i]·y[i] for i < n; n is a multiple of %d.", s.name, s.lanes))
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	acc := make([]VecVirtual, 4)
	for i := range acc {
		acc[i] = s.vec()
		s.zero(acc[i])
	}
	unrolled(s, n, 4, func(u int) {
		for i := range u {
			v := s.vec()
			VMOVUPS(Mem{Base: x, Disp: i * s.bytes()}, v)
			VFMADD231PS(Mem{Base: y, Disp: i * s.bytes()}, v, acc[i])
		}
		ADDQ(U32(u*s.bytes()), x)
		ADDQ(U32(u*s.bytes()), y)
	})
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	hreduce(s, acc[0], vaddOp)
	Store(acc[0].AsX(), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// expConsts supplies the broadcast constants of one exp flavour: held in
// registers on AVX-512 (32 of them), broadcast at each use on AVX2.
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
func exp(s isa, c *expConsts, x VecVirtual) {
	const nlt = 5 // "not less than", true for NaN
	lo := c.get(c.lo)
	var keep Op
	if s.avx512 {
		k := K()
		VCMPPS(U8(nlt), lo, x, k)
		keep = k
	} else {
		m := s.vec()
		VCMPPS(U8(nlt), lo, x, m)
		keep = m
	}
	t, n, p := s.vec(), s.vec(), s.vec()
	// VMAXPS/VMINPS return their first Go operand when either is NaN.
	VMAXPS(x, lo, t)
	VMINPS(t, c.get(c.hi), t)
	if !c.base2 {
		VMULPS(c.get("log2e"), t, n)
		round(s, n, n)
		VFNMADD231PS(c.get("ln2hi"), n, t) // t −= n·ln2hi
		VFNMADD231PS(c.get("ln2lo"), n, t) // t −= n·ln2lo
		VMOVAPS(c.get(c.poly[0]), p)
		for _, k := range c.poly[1:] {
			VFMADD213PS(c.get(k), t, p) // p = p·r + k
		}
		VMULPS(t, t, x)      // r²
		VFMADD213PS(t, x, p) // p·r² + r
		VADDPS(c.get("one"), p, p)
	} else {
		round(s, t, n)
		VSUBPS(n, t, t) // r = t − n, exact
		VMOVAPS(c.get(c.poly[0]), p)
		for _, k := range c.poly[1:] {
			VFMADD213PS(c.get(k), t, p)
		}
		VFMADD213PS(c.get("one"), t, p) // 1 + r·Q(r)
	}
	VCVTPS2DQ(n, n)
	VPADDD(c.get("bias"), n, n)
	VPSLLD(U8(23), n, n)
	if s.avx512 {
		VMULPS_Z(n, p, keep, x)
	} else {
		VMULPS(n, p, p)
		VANDPS(keep, p, x)
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
	TEXT("expsum_"+s.name, NOSPLIT, "func(x *float32, n int, m float32) float32")
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
	TEXT("exp2cols_"+s.name, NOSPLIT, "func(sp *float32, rows, width, ld int, m, alpha, l *float32)")
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
	Label("row")
	for g := range group {
		v := s.vec()
		VMOVUPS(Mem{Base: row, Disp: g * s.bytes()}, v)
		VSUBPS(mv[g], v, v)
		VMULPS(c.get("log2e"), v, v)
		exp(s, c, v)
		VMOVUPS(v, Mem{Base: row, Disp: g * s.bytes()})
		VADDPS(v, sum[g], sum[g])
	}
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
	TEXT("maskmatch_"+s.name, NOSPLIT, "func(codes *int32, rows, width, ld int, own, prev *int32, sp *float32)")
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
	TEXT("colmax_"+s.name, NOSPLIT, "func(sp *float32, rows, width, ld int, m *float32)")
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
	TEXT(name+s.name, NOSPLIT, sig)
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
	TEXT("packt_"+s.name, NOSPLIT, "func(src *float32, ld int, perm *int32, rows, cols, d int, dst *float32, ldd int, scale float32, colScale *float32)")
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
	TEXT("scatterrowsnt_"+s.name, NOSPLIT, "func(src *float32, lds int, idx *int32, rows, width int, dst *float32, ldd int)")
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

// exp2ColsGroup is the number of column vectors exp2cols handles at once.
func exp2ColsGroup(s isa) int {
	if s.avx512 {
		return 4
	}
	return 1
}

// fmaPeak runs independent FMA chains, enough to keep both FMA pipes busy
// through their latency: the machine's peak for this instruction set.
func fmaPeak(s isa) {
	const chains = 12
	TEXT("fmapeak_"+s.name, NOSPLIT, "func(iters int)")
	Doc(fmt.Sprintf("fmapeak_%s runs iters × %d vector FMAs (%d flops per iteration).", s.name, chains, chains*2*s.lanes))
	n := Load(Param("iters"), GP64())
	x, y := bcast(s, "one"), bcast(s, "ep0")
	acc := make([]VecVirtual, chains)
	for i := range acc {
		acc[i] = s.vec()
		s.zero(acc[i])
	}
	TESTQ(n, n)
	JZ(LabelRef("done"))
	Label("loop")
	for i := range acc {
		VFMADD231PS(x, y, acc[i])
	}
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
	// Keep every chain live to the end.
	for i := 1; i < chains; i++ {
		VADDPS(acc[i], acc[0], acc[0])
	}
	VMOVUPS(acc[0], x)
	VZEROUPPER()
	RET()
}

// gemmNT computes c = a·bᵀ for row-major a (m×k) and b (n×k) with one
// accumulator vector per (row, column) pair of an R×4 register tile, reduced
// across lanes at the end: m is a multiple of R, n of 4, k of the lanes.
func gemmNT(s isa) {
	R := gemmNTRows(s)
	TEXT("gemmnt_"+s.name, NOSPLIT, "func(a *float32, lda int, b *float32, ldb int, c *float32, ldc int, m, n, k int)")
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
		for j := range 4 {
			VFMADD231PS(bv[j], av, acc[r][j])
		}
	}
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
// single rows.
func gemm(s isa, cv int, accumulate bool) {
	R := gemmRows(s, cv)
	kind := "s"
	if accumulate {
		kind = "acc"
	}
	name := fmt.Sprintf("gemm%s%d_%s", kind, cv, s.name)
	TEXT(name, NOSPLIT, "func(a *float32, aRow, aK int, b *float32, ldb int, c *float32, ldc int, rows, k int, vec *float32)")
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
		cnt := Load(Param("k"), GP64())
		TESTQ(cnt, cnt)
		JZ(LabelRef(prefix + "store"))
		Label(prefix + "loop")
		bv := make([]VecVirtual, cv)
		for v := range bv {
			bv[v] = s.vec()
			VMOVUPS(Mem{Base: pb, Disp: v * s.bytes()}, bv[v])
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
	JL(LabelRef("single"))
	tile(R, "block_")
	SUBQ(U8(R), rows)
	JMP(LabelRef("block"))
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

// debugOne generates a single kernel family (GEN_ONLY=name), to find which
// one the register allocator rejects.
func debugOne(s isa, name string) {
	switch name {
	case "scale":
		scale(s)
	case "axpy":
		axpy(s)
	case "max":
		maxV(s)
	case "vmax":
		vmax(s)
	case "dot":
		dot(s)
	case "expsum":
		expSum(s)
	case "exp2cols":
		exp2Cols(s)
	case "maskmatch":
		maskMatches(s)
	case "argmaxpm":
		argMaxPlusMinus(s, false)
		argMaxPlusMinus(s, true)
	case "packt":
		packT(s)
	case "colmax":
		colMax(s)
	case "fmapeak":
		fmaPeak(s)
	case "gemmnt":
		gemmNT(s)
	case "gemm":
		for _, c := range gemmColumnVectors(s) {
			gemm(s, c, false)
			gemm(s, c, true)
		}
	default:
		var c, acc int
		if n, _ := fmt.Sscanf(name, "gemm%d,%d,"+s.name, &c, &acc); n == 2 {
			gemm(s, c, acc == 1)
		}
	}
}
