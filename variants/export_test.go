package variants

// Broken copies of flash, each with one injected bug, for the tests that
// prove the parity rule fails them.
var (
	BrokenFlashMask    Variant = Flash{fault: faultMaskOffByOne}
	BrokenFlashRescale Variant = Flash{fault: faultNoRescale}
	BrokenFlashTail    Variant = Flash{fault: faultDropTail}
)

// Broken copies of the efficient variants, one injected bug each.
var (
	BrokenWindowWide     Variant = Window{fault: windowFaultWide}
	BrokenSparseColumn   Variant = Sparse{fault: sparseFaultColumn}
	BrokenSparseSummary  Variant = Sparse{fault: sparseFaultSummary}
	BrokenSparseNoRandom Variant = Sparse{fault: sparseFaultNoRandom}
	BrokenLSHNoWrap      Variant = LSH{fault: lshFaultNoWrap}
	BrokenLSHTwice       Variant = LSH{fault: lshFaultTwice}
	BrokenLinearPeek     Variant = Linear{fault: linearFaultPeek}
)

// LSHStreaming is LSH with the streaming stores of large inputs at every
// size.
var LSHStreaming Variant = LSH{fault: lshStreamAlways}

// FavorFeatures returns FAVOR+'s m×d feature matrix ω for seed.
func FavorFeatures(d, m int, seed uint64) []float32 {
	return favorOmega(d, Options{Features: m, Seed: seed})
}
