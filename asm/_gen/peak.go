package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The FMA peak kernel.

// fmaPeak runs independent FMA chains, enough to keep both FMA pipes busy
// through their latency: the machine's peak for this instruction set.
func fmaPeak(s isa) {
	const chains = 12
	text("fmapeak_"+s.name, "func(iters int)")
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
