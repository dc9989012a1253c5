package variants

import (
	"math"

	"github.com/attnbench/attnbench/internal/checked"
)

// Sizes computed from a shape and options (buffer lengths, workspace
// estimates) go through mulSize and addSize: a hostile size then saturates
// at TooLarge instead of wrapping to a small or negative count, so that an
// estimate stays an upper bound (the memory guard refuses it) and make
// panics on it rather than allocating the wrong length.

// TooLarge is the saturated size: any count at or above it overflowed.
const TooLarge = math.MaxInt

// mulSize returns the product of xs, or TooLarge when it overflows an int
// or a factor is negative (or already saturated).
func mulSize(xs ...int) int {
	p := int64(1)
	for _, x := range xs {
		var err error
		if p, err = checked.Mul(p, int64(x)); err != nil {
			return TooLarge
		}
	}
	if p >= TooLarge {
		return TooLarge
	}
	return int(p)
}

// addSize returns the sum of xs, or TooLarge when it overflows an int or a
// term is negative (or already saturated).
func addSize(xs ...int) int {
	s := int64(0)
	for _, x := range xs {
		if x == TooLarge {
			return TooLarge
		}
		var err error
		if s, err = checked.Add(s, int64(x)); err != nil {
			return TooLarge
		}
	}
	if s >= TooLarge {
		return TooLarge
	}
	return int(s)
}

// roundUp16 rounds n up to a multiple of 16, saturating.
func roundUp16(n int) int {
	if n > TooLarge-15 {
		return TooLarge
	}
	return (n + 15) &^ 15
}

// workspaceBytes converts an estimate in 4-byte words to bytes, saturating.
func workspaceBytes(words int) int64 { return int64(mulSize(4, words)) }

// TensorLen returns b·h·s·d, the length of a tensor of that shape, or an
// error when a dimension is negative or the product overflows.
func TensorLen(b, h, s, d int) (int, error) { return checked.Ints(b, h, s, d) }
