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

// kernel is one family of generated functions: gen writes them for one
// instruction set.
type kernel struct {
	name string // GEN_ONLY selects a family by this name
	gen  func(s isa)
}

// kernels lists every generated family, in the order the output holds them;
// main and GEN_ONLY both read it.
var kernels = []kernel{
	{"scale", scale},
	{"axpy", axpy},
	{"max", maxV},
	{"vmax", vmax},
	{"dot", dot},
	{"expsum", expSum},
	{"exp2cols", exp2Cols},
	{"maskmatch", maskMatches},
	{"argmaxpm", func(s isa) { argMaxPlusMinus(s, false); argMaxPlusMinus(s, true) }},
	{"packt", packT},
	{"colmax", colMax},
	{"scatterrows", scatterRows},
	{"fmapeak", fmaPeak},
	{"gemmnt", gemmNT},
	{"gemm", func(s isa) {
		for _, c := range gemmColumnVectors(s) {
			gemm(s, c, false)
			gemm(s, c, true)
		}
	}},
}

// main writes every kernel family for AVX2 and AVX-512, or, with
// GEN_ONLY=name, only that family (to find which one the register allocator
// rejects); GEN_ONLY=gemmC,A,isa selects one GEMM kernel (C column vectors,
// A = 1 to accumulate).
func main() {
	ConstraintExpr("!purego")
	constants()
	only := os.Getenv("GEN_ONLY")
	for _, s := range []isa{avx2, avx512} {
		for _, k := range kernels {
			if only == "" || only == k.name {
				k.gen(s)
			}
		}
		var c, acc int
		if n, _ := fmt.Sscanf(only, "gemm%d,%d,"+s.name, &c, &acc); n == 2 {
			gemm(s, c, acc == 1)
		}
	}
	Generate()
}

// text starts a kernel: every kernel reads its pointer arguments during the
// call only, so its stub is marked go:noescape.
func text(name, signature string) {
	TEXT(name, NOSPLIT, signature)
	Pragma("noescape")
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
