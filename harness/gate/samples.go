package gate

import (
	"math"
	"math/big"
)

// MinPValue returns the smallest p-value the two-sided Mann–Whitney U test
// can produce for samples of n and m values: the p of two samples that do
// not overlap at all, 2/C(n+m, n) under the exact U distribution (capped at
// 1). If it is not below alpha, no difference, however large, can be called
// significant, and "no significant change" would be a false reassurance.
//
// The bound assumes distinct values, as timings are; ties between the two
// samples only make p larger.
func MinPValue(n, m int) float64 {
	if n <= 0 || m <= 0 {
		return 1
	}
	// Exact integer binomial, so 3+3 gives exactly 0.1 (not 0.0999…,
	// which would pass "< 0.1"); beyond float64's range p is 0 anyway.
	ways, _ := new(big.Float).SetInt(new(big.Int).Binomial(int64(n+m), int64(n))).Float64()
	return math.Min(2/ways, 1)
}

// SamplesNeeded returns the smallest per-side sample count k for which
// MinPValue(k, k) < alpha: the least -count that lets a difference show
// at all. Real changes need more (see the package doc).
func SamplesNeeded(alpha float64) int {
	k := 1
	for k < 1000 && MinPValue(k, k) >= alpha {
		k++
	}
	return k
}

// spread reports whether the values are not all identical.
func spread(values []float64) bool {
	for _, v := range values[1:] {
		if v != values[0] {
			return true
		}
	}
	return false
}
