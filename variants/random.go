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
	pcg rand.PCG
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

// norm returns a standard normal deviate by the ziggurat method
// (Marsaglia & Tsang, 2000) with 128 layers: one 64-bit draw, a multiply
// and a compare for ~99% of deviates, against a logarithm, a square root
// and a sine per pair for Box–Muller (18 → ~4 ns here, which is 1.5–3% of
// LSH's time and ~10% of FAVOR+'s at n = 2K, where both draw their random
// matrices on every call). The top 32 bits give the signed abscissa, the
// low 7 bits the layer, so the two are independent.
func (r *seededRand) norm() float64 {
	for {
		u := r.pcg.Uint64()
		j, layer := int64(int32(u>>32)), u&(zigLayers-1)
		x := float64(j) * zig.width[layer]
		if abs64(j) < zig.inner[layer] {
			return x // inside the layer's rectangle, under the curve
		}
		if layer == 0 {
			return r.normTail(j < 0)
		}
		// The wedge between the rectangle and the curve: accept under it.
		y := zig.f[layer] + r.uniform()*(zig.f[layer+1]-zig.f[layer])
		if y < math.Exp(-0.5*x*x) {
			return x
		}
	}
}

// normTail samples |x| > zigR from the normal tail (Marsaglia's method),
// with the given sign.
func (r *seededRand) normTail(negative bool) float64 {
	for {
		a := -math.Log(r.uniformOpen()) / zigR
		b := -math.Log(r.uniformOpen())
		if 2*b > a*a {
			if negative {
				return -(zigR + a)
			}
			return zigR + a
		}
	}
}

// uniform returns a uniform deviate in [0, 1).
func (r *seededRand) uniform() float64 { return float64(r.pcg.Uint64()>>11) / (1 << 53) }

// uniformOpen returns a uniform deviate in (0, 1], whose logarithm is
// finite.
func (r *seededRand) uniformOpen() float64 { return float64(r.pcg.Uint64()>>11+1) / (1 << 53) }

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// The ziggurat of the standard normal density f(x) = e^(−x²/2) (unnormalised):
// 128 layers of equal area zigV. Layer i ≥ 1 is the rectangle [0, X_i] ×
// [f(X_i), f(X_{i+1})], with X_1 = zigR, X_{i+1} = f⁻¹(zigV/X_i + f(X_i))
// and X_128 = 0; layer 0 is the base strip [0, zigR] × [0, f(zigR)] plus the
// tail beyond zigR, sampled as the rectangle of width X_0 = zigV/f(zigR).
const (
	zigLayers = 128
	zigR      = 3.442619855899
	zigV      = 9.91256303526217e-3
)

var zig = func() (t struct {
	width [zigLayers]float64     // X_i / 2³¹: a signed 32-bit integer times it is uniform on (−X_i, X_i)
	inner [zigLayers]int64       // |j| below this: |x| < X_{i+1}, under the curve at every height of layer i
	f     [zigLayers + 1]float64 // f(X_i); f(X_128) = f(0) = 1
}) {
	f := func(x float64) float64 { return math.Exp(-0.5 * x * x) }
	var x [zigLayers + 1]float64
	x[0], x[1] = zigV/f(zigR), zigR
	for i := 1; i < zigLayers-1; i++ {
		x[i+1] = math.Sqrt(-2 * math.Log(zigV/x[i]+f(x[i])))
	}
	for i := range zigLayers {
		t.width[i] = x[i] / (1 << 31)
		t.inner[i] = int64(x[i+1] / x[i] * (1 << 31))
		t.f[i] = f(x[i])
	}
	t.f[zigLayers] = 1
	return t
}()

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
