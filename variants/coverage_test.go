package variants_test

import (
	"math"
	"testing"

	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
)

// exactRows is exact softmax attention's weights, brute force in float64:
// p[(b·H+h)·N·M + i·M + j], query i seeing keys j ≤ i when causal.
func exactRows(q, k variants.Tensor, causal bool) []float64 {
	n, m, d := q.S, k.S, q.D
	p := make([]float64, q.B*q.H*n*m)
	scale := 1 / math.Sqrt(float64(d))
	for b := range q.B {
		for h := range q.H {
			qh, kh := q.Head(b, h), k.Head(b, h)
			for i := range n {
				row := p[((b*q.H+h)*n+i)*m:][:m]
				var sum float64
				for j := range m {
					if causal && j > i {
						continue
					}
					var dot float64
					for t := range d {
						dot += float64(qh[i*d+t]) * float64(kh[j*d+t])
					}
					row[j] = math.Exp(scale * dot) // logits are small here: no max needed
					sum += row[j]
				}
				for j := range row {
					row[j] /= sum
				}
			}
		}
	}
	return p
}

// Coverage against a count written here from the definitions: window with
// dilation and global tokens, and strided sparse, each key tested.
func TestCoverageBruteForce(t *testing.T) {
	s := variants.Shape{B: 2, H: 3, N: 45, M: 45, D: 16}
	q, k, vv, err := inputs.Generate("llm", s, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, causal := range []bool{false, true} {
		p := exactRows(q, k, causal)
		check := func(name string, v variants.Variant, opt variants.Options, in func(i, j int) bool) {
			t.Helper()
			opt.Causal = causal
			var want float64
			for bh := range s.B * s.H {
				for i := range s.N {
					for j := range s.M {
						if in(i, j) && (!causal || j <= i) {
							want += p[(bh*s.N+i)*s.M+j]
						}
					}
				}
			}
			want /= float64(s.B * s.H * s.N)
			got, ok, err := variants.Coverage(v, q, k, vv, opt)
			if err != nil || !ok {
				t.Fatalf("%s causal=%v: ok=%v err=%v", name, causal, ok, err)
			}
			if math.Abs(got-want) > 1e-12 {
				t.Errorf("%s causal=%v: coverage %.15f, brute force %.15f", name, causal, got, want)
			}
			if got <= 0 || got >= 1 {
				t.Errorf("%s causal=%v: coverage %v, want strictly between 0 and 1 for this pattern", name, causal, got)
			}
		}
		wopt := variants.DefaultOptions()
		wopt.Window, wopt.Dilation, wopt.Global = 3, 2, 2
		check("window w=3 dilation=2 global=2", lookup(t, "window"), wopt, func(i, j int) bool {
			d := j - i
			if i < 2 || j < 2 {
				return true
			}
			if d%2 != 0 || d < -6 || d > 6 {
				return false
			}
			return !causal || d <= 0
		})
		sopt := variants.DefaultOptions()
		sopt.Pattern, sopt.Stride = "strided", 7
		check("sparse strided l=7", lookup(t, "sparse"), sopt, func(i, j int) bool {
			d := i - j
			if causal {
				return (d >= 0 && d < 7) || (d >= 0 && d%7 == 0)
			}
			return (d < 7 && d > -7) || d%7 == 0
		})
	}
}

// For every candidate-set variant, Coverage and EffectiveMap agree with the
// variant's own Reference: with V the identity (D = M, v_j = e_j), row i of
// Reference's output is the weights the variant gives each key, so C(i) is
// where they are non-zero; and row i of the exact target's output is p*_i.
// LSH is compared with its own target (shared-QK: self left out).
func TestCoverageMatchesReference(t *testing.T) {
	const n = 40
	s := variants.Shape{B: 1, H: 2, N: n, M: n, D: n}
	q, k, _, err := inputs.Generate("llm", s, 9)
	if err != nil {
		t.Fatal(err)
	}
	id := variants.NewTensor(1, 2, n, n)
	for h := range 2 {
		for j := range n {
			id.Head(0, h)[j*n+j] = 1
		}
	}
	type cfg struct {
		name string
		set  func(*variants.Options)
	}
	cases := map[string][]cfg{
		"window": {{"w=4", func(o *variants.Options) { o.Window = 4 }}, {"w=2 global=3", func(o *variants.Options) { o.Window, o.Global = 2, 3 }}},
		"sparse": {
			{"strided l=8", func(o *variants.Options) { o.Pattern, o.Stride = "strided", 8 }},
			{"fixed l=8 c=2", func(o *variants.Options) { o.Pattern, o.Stride, o.Summary = "fixed", 8, 2 }},
			{"bigbird b=4 r=2", func(o *variants.Options) { o.Pattern, o.Block, o.Random = "bigbird", 4, 2 }},
		},
		"lsh": {
			{"shared chunk=8 buckets=4", func(o *variants.Options) { o.Chunk, o.Buckets = 8, 4 }},
			{"not shared buckets=4", func(o *variants.Options) { o.SharedQK, o.Buckets = false, 4 }},
		},
	}
	for name, cfgs := range cases {
		v := lookup(t, name)
		for _, c := range cfgs {
			for _, causal := range []bool{false, true} {
				opt := variants.DefaultOptions()
				c.set(&opt)
				opt.Causal = causal
				ref, err := v.Reference(q, k, id, opt)
				if err != nil {
					t.Fatalf("%s %s: %v", name, c.name, err)
				}
				target, err := variants.ExactAttention(v, q, k, id, opt)
				if err != nil {
					t.Fatal(err)
				}
				var want float64
				for i := range s.B * s.H * n * n {
					if ref[i] > 0 {
						want += target[i]
					}
				}
				want /= float64(s.B * s.H * n)
				got, ok, err := variants.Coverage(v, q, k, id, opt)
				if err != nil || !ok {
					t.Fatalf("%s %s causal=%v: ok=%v err=%v", name, c.name, causal, ok, err)
				}
				if math.Abs(got-want) > 1e-12 {
					t.Errorf("%s %s causal=%v: coverage %.15f, from Reference %.15f", name, c.name, causal, got, want)
				}
				out, lse, err := variants.ExactWithLSE(v, q, k, id, opt)
				if err != nil || lse == nil {
					t.Fatalf("%s %s: ExactWithLSE lse=%v err=%v", name, c.name, lse != nil, err)
				}
				for x := range out {
					if math.Abs(out[x]-target[x]) > 1e-12 {
						t.Fatalf("%s %s causal=%v: ExactWithLSE[%d] %g, ExactAttention %g", name, c.name, causal, x, out[x], target[x])
					}
				}
				given, _, err := variants.CoverageGiven(v, q, k, id, opt, lse)
				if err != nil || math.Abs(given-got) > 1e-12 {
					t.Errorf("%s %s causal=%v: CoverageGiven %.15f (err %v), Coverage %.15f", name, c.name, causal, given, err, got)
				}
				for h := range 2 {
					m, ok, err := variants.EffectiveMap(v, q, k, id, opt, 0, h)
					if err != nil || !ok {
						t.Fatalf("%s %s: EffectiveMap ok=%v err=%v", name, c.name, ok, err)
					}
					for x, w := range m.Weights {
						r := ref[h*n*n+x]
						if math.Abs(w-r) > 1e-12 || m.In[x] != (r > 0) {
							t.Fatalf("%s %s causal=%v head %d: weight[%d,%d] %g in=%v, Reference %g", name, c.name, causal, h, x/n, x%n, w, m.In[x], r)
						}
					}
				}
			}
		}
	}
}

// Linear attention's implicit weights reproduce its Reference: with V the
// identity, out_i is exactly row i of the weights. Causal FAVOR+ included
// (its prefix stabiliser moves ε's share), with queries at the last
// positions (N < M) and two query heads on one K/V head.
func TestLinearWeightsMatchReference(t *testing.T) {
	const n, m = 24, 40
	s := variants.Shape{B: 1, H: 2, Hkv: 1, N: n, M: m, D: m}
	// Gaussian keys: their prefix maxima keep growing along the positions
	// (llm inputs put the largest keys first, where the prefix max is the
	// global one at once).
	q, k, _, _ := inputs.Generate("gaussian", s, 3)
	id := variants.NewTensor(1, 1, m, m)
	for j := range m {
		id.Head(0, 0)[j*m+j] = 1
	}
	v := lookup(t, "linear")
	for _, kernel := range []string{"elu", "favor"} {
		for _, causal := range []bool{false, true} {
			opt := variants.DefaultOptions()
			opt.Kernel, opt.Causal = kernel, causal
			opt.Eps = 0.05 // large enough that ε's share of a row, which the stabiliser moves, shows
			ref, err := v.Reference(q, k, id, opt)
			if err != nil {
				t.Fatal(err)
			}
			for h := range 2 {
				mp, ok, err := variants.EffectiveMap(v, q, k, id, opt, 0, h)
				if err != nil || !ok {
					t.Fatalf("%s causal=%v: ok=%v err=%v", kernel, causal, ok, err)
				}
				for x, w := range mp.Weights {
					if r := ref[h*n*m+x]; math.Abs(w-r) > 1e-12*max(1, math.Abs(r)) {
						t.Fatalf("%s causal=%v head %d: weight[%d,%d] %g, Reference %g", kernel, causal, h, x/m, x%m, w, r)
					}
					if p := x/m + m - n; mp.In[x] != (!causal || x%m <= p) {
						t.Fatalf("%s causal=%v head %d: key %d in row %d's set: %v", kernel, causal, h, x%m, x/m, mp.In[x])
					}
				}
			}
		}
	}
}

// A window as wide as the sequence covers every key: coverage 1, and the
// fast path is then exact attention up to float32 rounding.
func TestCoverageFullPatternIsExact(t *testing.T) {
	s := variants.Shape{B: 1, H: 2, N: 200, M: 200, D: 32}
	q, k, vv, _ := inputs.Generate("llm", s, 2)
	v := lookup(t, "window")
	opt := variants.DefaultOptions()
	opt.Window = 200
	cov, ok, err := variants.Coverage(v, q, k, vv, opt)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if math.Abs(cov-1) > 1e-12 {
		t.Errorf("window ≥ n: coverage %.15f, want 1", cov)
	}
	out := variants.NewTensor(1, 2, 200, 32)
	if err := v.Forward(q, k, vv, out, opt, variants.NewWorkspace()); err != nil {
		t.Fatal(err)
	}
	exact, _ := variants.SoftmaxAttention64(q, k, vv, opt)
	var d2, e2 float64
	for i, x := range out.Data {
		d2 += (float64(x) - exact[i]) * (float64(x) - exact[i])
		e2 += exact[i] * exact[i]
	}
	if rel := math.Sqrt(d2 / e2); rel > 1e-6 {
		t.Errorf("window ≥ n: relerr %g, want ~1e-7", rel)
	}
}

// Coverage is the same for any thread count, and is not defined for
// variants without candidate sets.
func TestCoverageThreadsAndKinds(t *testing.T) {
	s := variants.Shape{B: 2, H: 3, N: 64, M: 64, D: 16}
	q, k, vv, _ := inputs.Generate("llm", s, 4)
	opt := variants.DefaultOptions()
	opt.Window = 5
	opt.Threads = 1
	one, _, _ := variants.Coverage(lookup(t, "window"), q, k, vv, opt)
	opt.Threads = 4
	four, _, _ := variants.Coverage(lookup(t, "window"), q, k, vv, opt)
	if one != four {
		t.Errorf("coverage %v with 1 thread, %v with 4", one, four)
	}
	for _, name := range []string{"full", "flash", "linear"} {
		if _, ok, err := variants.Coverage(lookup(t, name), q, k, vv, variants.DefaultOptions()); ok || err != nil {
			t.Errorf("%s: Coverage ok=%v err=%v, want not defined", name, ok, err)
		}
	}
}

func lookup(t *testing.T, name string) variants.Variant {
	t.Helper()
	v, err := variants.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
