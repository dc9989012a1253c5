package inputs

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/attnbench/attnbench/variants"
)

// attentionStats are the statistics docs/accuracy.md documents for the llm
// inputs, averaged over the query rows of one head.
type attentionStats struct {
	Sink    float64 // mass on keys 0..3
	Local   float64 // mass on keys within ±64 positions of the query
	Entropy float64 // row entropy / ln(row length), rows of ≥ 2 keys
	Top     float64 // mass on the 1/32 of the row's keys with most mass
}

// headStats computes attentionStats of query head h from exact softmax at
// scale 1/√D in float64, straight from the definition: query i sits at
// position i + M − N and, when causal, sees keys j ≤ that position.
func headStats(q, k variants.Tensor, b, h int, causal bool) attentionStats {
	g := h * k.H / q.H
	qh, kh := q.Head(b, h), k.Head(b, g)
	d := q.D
	scale := 1 / math.Sqrt(float64(d))
	var st attentionStats
	var rows, entRows int
	p := make([]float64, k.S)
	for i := range q.S {
		pos := i + k.S - q.S
		end := k.S
		if causal {
			end = min(k.S, pos+1)
		}
		if end <= 0 {
			continue
		}
		mx := math.Inf(-1)
		for j := range end {
			var dot float64
			for t := range d {
				dot += float64(qh[i*d+t]) * float64(kh[j*d+t])
			}
			p[j] = scale * dot
			mx = max(mx, p[j])
		}
		var sum float64
		for j := range end {
			p[j] = math.Exp(p[j] - mx)
			sum += p[j]
		}
		var ent float64
		for j := range end {
			p[j] /= sum
			if j < 4 {
				st.Sink += p[j]
			}
			if j >= pos-64 && j <= pos+64 {
				st.Local += p[j]
			}
			if p[j] > 0 {
				ent -= p[j] * math.Log(p[j])
			}
		}
		sorted := slices.Clone(p[:end])
		slices.Sort(sorted)
		for _, x := range sorted[end-max(1, end/32):] {
			st.Top += x
		}
		rows++
		if end >= 2 {
			st.Entropy += ent / math.Log(float64(end))
			entRows++
		}
	}
	st.Sink /= float64(rows)
	st.Local /= float64(rows)
	st.Top /= float64(rows)
	if entRows > 0 {
		st.Entropy /= float64(entRows)
	}
	return st
}

// llmRanges are the ranges docs/accuracy.md documents for D = 64 and 128,
// N and M from 256 to 2048, causal or not, seed 1..3.
var llmRanges = map[string]struct{ sink, local, entropy [2]float64 }{
	"mixed":  {sink: [2]float64{0.25, 0.9}, local: [2]float64{0.2, 0.65}, entropy: [2]float64{0.15, 0.55}},
	"local":  {sink: [2]float64{0.01, 0.2}, local: [2]float64{0.8, 1}, entropy: [2]float64{0.25, 0.5}},
	"global": {sink: [2]float64{0.35, 0.9}, local: [2]float64{0.05, 0.4}, entropy: [2]float64{0.15, 0.55}},
}

func TestLLMStatisticsInDocumentedRanges(t *testing.T) {
	for _, c := range []struct {
		n, m, d int
		causal  bool
		seed    uint64
	}{
		{256, 256, 64, false, 1}, {256, 256, 64, true, 2}, {512, 512, 128, false, 3},
		{256, 2048, 64, true, 1}, {2048, 2048, 64, true, 2},
	} {
		s := variants.Shape{B: 1, H: 3, N: c.n, M: c.m, D: c.d}
		q, k, _, err := Generate("llm", s, c.seed)
		if err != nil {
			t.Fatal(err)
		}
		for h := range s.H {
			typ := LLMHeadTypeOf(h, s.H, s.H)
			st := headStats(q, k, 0, h, c.causal)
			t.Logf("n=%d m=%d d=%d causal=%v seed=%d %-6s sink %.3f local %.3f entropy %.3f top-1/32 %.3f",
				c.n, c.m, c.d, c.causal, c.seed, typ.Name, st.Sink, st.Local, st.Entropy, st.Top)
			want := llmRanges[typ.Name]
			for _, x := range []struct {
				name string
				got  float64
				in   [2]float64
			}{{"sink share", st.Sink, want.sink}, {"mass within ±64", st.Local, want.local}, {"normalised entropy", st.Entropy, want.entropy},
				{"mass on the top 1/32 of keys", st.Top, [2]float64{0.7, 0.97}}} {
				if x.got < x.in[0] || x.got > x.in[1] {
					t.Errorf("n=%d m=%d d=%d causal=%v %s head: %s %.3f outside [%g, %g]", c.n, c.m, c.d, c.causal, typ.Name, x.name, x.got, x.in[0], x.in[1])
				}
			}
		}
	}
}

// Gaussian inputs have none of the structure: the statistics must tell the
// kinds apart, or the ranges above mean nothing.
func TestLLMStatisticsSeparateFromGaussian(t *testing.T) {
	s := variants.Shape{B: 1, H: 1, N: 512, M: 512, D: 64}
	q, k, _, _ := Generate("gaussian", s, 1)
	st := headStats(q, k, 0, 0, false)
	if st.Sink > 0.05 || st.Local > 0.4 || st.Entropy < 0.8 {
		t.Errorf("gaussian inputs: sink %.3f local %.3f entropy %.3f; want the structureless values (≤ 0.05, ≤ 0.4, ≥ 0.8)", st.Sink, st.Local, st.Entropy)
	}
}

// Odd and tiny D, M ≠ N both ways, several batches and grouped K/V heads
// all generate finite, seeded, reproducible values.
func TestLLMAnyShape(t *testing.T) {
	for _, c := range []struct{ b, hq, hkv, n, m, d int }{
		{1, 1, 1, 1, 1, 1}, {2, 2, 2, 5, 7, 1}, {1, 3, 3, 9, 4, 2}, {1, 2, 2, 17, 33, 3}, {2, 6, 3, 40, 40, 63}, {1, 4, 1, 8, 64, 64},
	} {
		q := variants.NewTensor(c.b, c.hq, c.n, c.d)
		k := variants.NewTensor(c.b, c.hkv, c.m, c.d)
		v := variants.NewTensor(c.b, c.hkv, c.m, c.d)
		fill := func(seed uint64) []float32 {
			rng := rand.New(rand.NewPCG(seed, 1))
			fillLLM(rng, q, k, v)
			return slices.Concat(q.Data, k.Data, v.Data)
		}
		a, a2, other := fill(7), fill(7), fill(8)
		if !slices.Equal(a, a2) {
			t.Errorf("%+v: the same seed gave different inputs", c)
		}
		if slices.Equal(a, other) {
			t.Errorf("%+v: seeds 7 and 8 gave the same inputs", c)
		}
		for _, x := range a {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("%+v: non-finite value %v", c, x)
			}
		}
	}
	if got := RotaryDims(1); got != 0 {
		t.Errorf("RotaryDims(1) = %d, want 0", got)
	}
	if got := RotaryDims(63); got != 32 {
		t.Errorf("RotaryDims(63) = %d, want 32", got)
	}
}

// The sinks draw mass from every query, however far: their share of the
// last 64 queries' rows of the mixed head stays large at M = 2048 (the
// uniform share would be 4/2048).
func TestLLMSinkReachesLastQueries(t *testing.T) {
	s := variants.Shape{B: 1, H: 1, N: 64, M: 2048, D: 64}
	q, k, _, _ := Generate("llm", s, 1)
	st := headStats(q, k, 0, 0, true)
	if st.Sink < 0.15 {
		t.Errorf("queries at positions 1984..2047: sink share %.3f, want ≥ 0.15", st.Sink)
	}
}
