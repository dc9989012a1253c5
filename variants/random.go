package variants

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// seededRand is the one source of randomness of the variants: a PCG
// generator (math/rand/v2) seeded from Options.Seed and a per-use stream
// constant, so BigBird's blocks, LSH's rotations and FAVOR+'s features are
// independent streams of the same seed.
//
// It is a value with direct method calls rather than a *rand.Rand: a
// rand.Rand holds its source behind an interface, which moves the source to
// the heap and would cost Forward an allocation per call.
type seededRand struct {
	pcg      rand.PCG
	spare    float64
	hasSpare bool
}

// Streams of the variants' random parts.
const (
	streamBigBird = 0x62696762697264 // "bigbird"
	streamLSH     = 0x6c7368         // "lsh"
	streamFavor   = 0x6661766f72     // "favor"
)

func newSeededRand(seed, stream uint64) seededRand {
	var r seededRand
	r.pcg.Seed(seed, stream)
	return r
}

// norm returns a standard normal deviate (Box–Muller, both halves used).
func (r *seededRand) norm() float64 {
	if r.hasSpare {
		r.hasSpare = false
		return r.spare
	}
	// u1 in (0, 1] so the logarithm is finite; u2 in [0, 1).
	u1 := float64(r.pcg.Uint64()>>11+1) / (1 << 53)
	u2 := float64(r.pcg.Uint64()>>11) / (1 << 53)
	rad := math.Sqrt(-2 * math.Log(u1))
	sin, cos := math.Sincos(2 * math.Pi * u2)
	r.spare, r.hasSpare = rad*sin, true
	return rad * cos
}

// intn returns a uniform integer in [0, n), n > 0 (Lemire's method).
func (r *seededRand) intn(n int) int {
	bound := uint64(n)
	for {
		hi, lo := bits.Mul64(r.pcg.Uint64(), bound)
		if lo >= -bound%bound {
			return int(hi)
		}
	}
}

// ceilDiv returns ⌈a/b⌉ for b > 0, any sign of a.
func ceilDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}

// floorDiv returns ⌊a/b⌋ for b > 0, any sign of a.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
