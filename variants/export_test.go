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

// LSHBuckets returns the bucket of each of the n rows of x (d wide) in each
// round, round r at [r·n : (r+1)·n], as LSH hashes them with nb buckets.
func LSHBuckets(x []float32, n, d, nb, rounds int, seed uint64) []int32 {
	return newLSHRefHasher(d, nb/2, rounds, seed).bucketsOf(x, n)
}
