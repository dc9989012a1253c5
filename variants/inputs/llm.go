package inputs

import (
	"math"
	"math/rand/v2"

	"github.com/attnbench/attnbench/variants"
)

// The llm input kind: synthetic Q, K, V whose exact attention has the
// structure reported for trained decoder language models — rotary position
// codes whose scores decay with distance, attention sinks on the first
// tokens (StreamingLLM, Xiao et al. 2023), a few heavy-hitter keys (H2O,
// Zhang et al. 2023), and heads of different kinds. docs/accuracy.md states
// the definition and the statistics it produces; this file is that
// definition.
//
// Every amplitude is set in logit units at the default scale 1/√D: a
// component x·r in the query and y·r in the key, r = D^¼, add x·y to
// scale·q·k, whatever D is.

// LLMSinks is the number of sink keys: positions 0..LLMSinks−1.
const LLMSinks = 4

// LLMHitterRate is the share of the other keys that are heavy hitters.
const LLMHitterRate = 1.0 / 32

// RoPEBase is the rotary base θ_f = RoPEBase^(−2f/Dr).
const RoPEBase = 10000

// LLMHeadType is the kind of one K/V head of the llm inputs, its amplitudes
// in logit units.
type LLMHeadType struct {
	Name string
	// Locality λ: the logit the shared rotary component gives a key at
	// distance 0; at distance Δ it gives λ·mean_f cos(Δ·θ_f).
	Locality float64
	// Sink σ_j: the extra logit of key j < LLMSinks, for every query.
	Sink [LLMSinks]float64
	// Hitter η: a heavy-hitter key's extra logit is η·(½ + ½u), u ~ U[0,1)
	// drawn per head.
	Hitter float64
	// Noise ν: the standard deviation of the independent N(0, ν²) noise
	// added to every coordinate of every query and key.
	Noise float64
}

// LLMHeadTypes are the head kinds; K/V head g is of kind g mod 3, and query
// head h takes the kind of the K/V head it reads.
var LLMHeadTypes = [3]LLMHeadType{
	{Name: "mixed", Locality: 8, Sink: [LLMSinks]float64{10, 5, 4, 4}, Hitter: 5, Noise: 0.6},
	{Name: "local", Locality: 14, Sink: [LLMSinks]float64{6, 3, 3, 3}, Hitter: 3, Noise: 0.5},
	{Name: "global", Locality: 3, Sink: [LLMSinks]float64{10, 5, 4, 4}, Hitter: 6, Noise: 0.8},
}

// LLMHeadTypeOf returns the kind of query head h when there are hq query
// heads reading hkv K/V heads (query head h reads K/V head ⌊h·hkv/hq⌋).
func LLMHeadTypeOf(h, hq, hkv int) LLMHeadType {
	return LLMHeadTypes[(h*hkv/hq)%len(LLMHeadTypes)]
}

// RotaryDims is the number of leading coordinates that carry the rotary
// code: 2⌈D/4⌉, at most the largest even number ≤ D. The others are
// position-free content coordinates (the sinks and heavy hitters live
// there), as in partially rotary models (GPT-NeoX, Phi).
func RotaryDims(d int) int {
	return min(2*((d+3)/4), d/2*2)
}

// fillLLM fills q, k and v (any heads, K/V heads dividing query heads, any
// N, M, D) with the llm inputs. Query i sits at position i + M − N. The work
// is O((N+M)·D) per head.
func fillLLM(rng *rand.Rand, q, k, v variants.Tensor) {
	d := q.D
	dr := RotaryDims(d)
	pairs := dr / 2
	r := math.Pow(float64(d), 0.25)
	theta := make([]float64, pairs)
	for f := range theta {
		theta[f] = math.Pow(RoPEBase, -2*float64(f)/float64(dr))
	}
	offset := k.S - q.S
	shared := make([]float64, dr) // the rotary component common to every row of a head
	content := make([]float64, d-dr)
	hitter := make([]bool, k.S)
	strength := make([]float64, k.S)
	for b := range q.B {
		// Heavy hitters are tokens: the same positions in every head.
		for j := range hitter {
			hitter[j] = j >= LLMSinks && rng.Float64() < LLMHitterRate
		}
		for g := range k.H {
			typ := LLMHeadTypes[g%len(LLMHeadTypes)]
			a := math.Sqrt(typ.Locality) * r
			for f := range pairs {
				phase := 2 * math.Pi * rng.Float64()
				shared[2*f] = a * math.Cos(phase) / math.Sqrt(float64(pairs))
				shared[2*f+1] = a * math.Sin(phase) / math.Sqrt(float64(pairs))
			}
			randomUnit(rng, content)
			for j := range strength {
				strength[j] = 0
				switch {
				case j < LLMSinks:
					strength[j] = typ.Sink[j]
				case hitter[j]:
					strength[j] = typ.Hitter * (0.5 + 0.5*rng.Float64())
				}
			}
			kh := k.Head(b, g)
			for j := range k.S {
				fillRow(rng, kh[j*d:(j+1)*d], shared, content, strength[j]*r, typ.Noise, float64(j), theta)
			}
			for h := range q.H {
				if h*k.H/q.H != g {
					continue
				}
				qh := q.Head(b, h)
				for i := range q.S {
					fillRow(rng, qh[i*d:(i+1)*d], shared, content, r, typ.Noise, float64(i+offset), theta)
				}
			}
		}
	}
	fillNormal(rng, v.Data, 1)
}

// fillRow sets row = R(pos)·(shared + ν·z) on the rotary coordinates and
// c·content + ν·z on the others, z ~ N(0, I), where R(pos) turns pair
// (2f, 2f+1) by pos·θ_f.
func fillRow(rng *rand.Rand, row []float32, shared, content []float64, c, noise, pos float64, theta []float64) {
	for f, th := range theta {
		x := shared[2*f] + noise*rng.NormFloat64()
		y := shared[2*f+1] + noise*rng.NormFloat64()
		sin, cos := math.Sincos(pos * th)
		row[2*f] = float32(x*cos - y*sin)
		row[2*f+1] = float32(x*sin + y*cos)
	}
	dr := 2 * len(theta)
	for t, u := range content {
		row[dr+t] = float32(c*u + noise*rng.NormFloat64())
	}
}

// randomUnit fills x with a uniformly random unit vector.
func randomUnit(rng *rand.Rand, x []float64) {
	if len(x) == 0 {
		return
	}
	var n2 float64
	for n2 == 0 {
		for t := range x {
			x[t] = rng.NormFloat64()
			n2 += x[t] * x[t]
		}
	}
	for t := range x {
		x[t] /= math.Sqrt(n2)
	}
}
