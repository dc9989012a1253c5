package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Element-wise and reduction kernels over one vector of floats: scale,
// axpy, max, vmax, dot.

func scale(s isa) {
	text("scale_"+s.name, "func(dst, src *float32, n int, a float32)")
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

func axpy(s isa) {
	text("axpy_"+s.name, "func(y, x *float32, n int, a float32)")
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

func maxV(s isa) {
	text("max_"+s.name, "func(x *float32, n int) float32")
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
	text("vmax_"+s.name, "func(dst, src *float32, n int)")
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
	text("dot_"+s.name, "func(x, y *float32, n int) float32")
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
