package variants_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
)

// This file is a second, independent reading of docs/design.md §2's candidate sets
// for the deterministic sparse variants, written from the table alone. Each
// variant's float64 Reference must equal brute-force softmax over these sets.
// The sets are written for a query at position i; query row r sits at
// position r + M − N.

func windowSet(i, m, w, dil, g int, causal bool) map[int]bool {
	c := map[int]bool{}
	for t := -w; t <= w; t++ {
		if causal && t > 0 {
			continue
		}
		if j := i + dil*t; j >= 0 && j < m {
			c[j] = true
		}
	}
	for j := 0; j < m; j++ {
		if j < g || i < g {
			c[j] = true
		}
	}
	return c
}

func stridedSet(i, m, l int, causal bool) map[int]bool {
	c := map[int]bool{}
	for j := 0; j < m; j++ {
		d := i - j
		if causal {
			if (i-l < j && j <= i) || ((d%l+l)%l == 0) {
				c[j] = true
			}
		} else if (d < l && -d < l) || ((d%l+l)%l == 0) {
			c[j] = true
		}
	}
	return c
}

func fixedSet(i, m, l, s int) map[int]bool {
	c := map[int]bool{}
	for j := 0; j < m; j++ {
		if j/l == i/l || j%l >= l-s {
			c[j] = true
		}
	}
	return c
}

func bruteForce(q, k, v variants.Tensor, scale float64, causal bool, set func(i int) map[int]bool) []float64 {
	out := make([]float64, q.Len())
	for b := range q.B {
		for h := range q.H {
			qh, kh, vh := q.Head(b, h), k.Head(b, h), v.Head(b, h)
			base := (b*q.H + h) * q.S * q.D
			for i := range q.S {
				var js []int
				for j := range k.S {
					if p := i + k.S - q.S; set(p)[j] && (!causal || j <= p) {
						js = append(js, j)
					}
				}
				if len(js) == 0 {
					continue
				}
				w := make([]float64, len(js))
				mx := math.Inf(-1)
				for t, j := range js {
					for d := range q.D {
						w[t] += float64(qh[i*q.D+d]) * float64(kh[j*q.D+d])
					}
					w[t] *= scale
					mx = math.Max(mx, w[t])
				}
				var z float64
				for t := range w {
					w[t] = math.Exp(w[t] - mx)
					z += w[t]
				}
				for t, j := range js {
					for d := range q.D {
						out[base+i*q.D+d] += w[t] / z * float64(vh[j*q.D+d])
					}
				}
			}
		}
	}
	return out
}

func TestDefinitionsSecondReading(t *testing.T) {
	cases := []secondReadingCase{
		{"window", map[string]string{"window": "3"}, func(i, m int, c bool) map[int]bool { return windowSet(i, m, 3, 1, 0, c) }},
		{"window", map[string]string{"window": "2", "dilation": "3", "global": "2"}, func(i, m int, c bool) map[int]bool { return windowSet(i, m, 2, 3, 2, c) }},
		{"window", map[string]string{"window": "0", "global": "1"}, func(i, m int, c bool) map[int]bool { return windowSet(i, m, 0, 1, 1, c) }},
		{"sparse", map[string]string{"pattern": "strided", "stride": "4"}, func(i, m int, c bool) map[int]bool { return stridedSet(i, m, 4, c) }},
		{"sparse", map[string]string{"pattern": "strided", "stride": "7"}, func(i, m int, c bool) map[int]bool { return stridedSet(i, m, 7, c) }},
		{"sparse", map[string]string{"pattern": "fixed", "stride": "8", "summary": "2"}, func(i, m int, c bool) map[int]bool { return fixedSet(i, m, 8, 2) }},
		{"sparse", map[string]string{"pattern": "fixed", "stride": "5", "summary": "5"}, func(i, m int, c bool) map[int]bool { return fixedSet(i, m, 5, 5) }},
	}
	for _, s := range []variants.Shape{
		{B: 1, H: 2, N: 37, M: 37, D: 6},
		{B: 2, H: 1, N: 37, M: 50, D: 5},
		{B: 1, H: 1, N: 50, M: 29, D: 9},
	} {
		testSecondReading(t, s, cases)
	}
}

type secondReadingCase = struct {
	variant string
	knobs   map[string]string
	set     func(i, m int, causal bool) map[int]bool
}

func testSecondReading(t *testing.T, s variants.Shape, cases []secondReadingCase) {
	q, k, vv, _ := inputs.Generate("gaussian", s, 21)
	for _, c := range cases {
		v, err := variants.Lookup(c.variant)
		if err != nil {
			t.Fatal(err)
		}
		for _, causal := range []bool{false, true} {
			opt := variants.DefaultOptions()
			for kn, val := range c.knobs {
				if err := opt.Set(kn, val); err != nil {
					t.Fatal(err)
				}
			}
			opt.Causal = causal
			label := fmt.Sprintf("%s %v %v causal=%v", c.variant, c.knobs, s, causal)
			if err := v.Validate(s, opt); errors.Is(err, variants.ErrUnsupported) {
				continue // n > m without causal: negative positions
			}
			want := bruteForce(q, k, vv, float64(opt.ScaleFor(s.D)), causal, func(i int) map[int]bool { return c.set(i, s.M, causal) })
			got, err := v.Reference(q, k, vv, opt)
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			var e float64
			for i := range want {
				e = math.Max(e, math.Abs(got[i]-want[i]))
			}
			if e > 1e-9 {
				t.Errorf("%s: Reference differs from the second reading by %.3g", label, e)
			}
			// docs/design.md §4: 4·B·H·D·Σ_i |C(i)|, the candidate sets counted here.
			var pairs int
			for i := range s.N {
				p := i + s.M - s.N
				for j := range c.set(p, s.M, causal) {
					if !causal || j <= p {
						pairs++
					}
				}
			}
			if got, want := v.Flops(s, opt), 4*float64(s.B*s.H*s.D*pairs); got != want {
				t.Errorf("%s: Flops %v, want 4·B·H·D·Σ|C(i)| = %v", label, got, want)
			}
			out := variants.NewTensor(s.B, s.H, s.N, s.D)
			if err := v.Forward(q, k, vv, out, opt, variants.NewWorkspace()); err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			e = 0
			for i := range want {
				e = math.Max(e, math.Abs(float64(out.Data[i])-want[i]))
			}
			if e > 1e-5 {
				t.Errorf("%s: Forward differs from the second reading by %.3g", label, e)
			}
		}
	}
}

// TestLinearEluSecondReading: out_i = Σ_j (φ(q_i)·φ(k_j)) v_j / (Σ_j φ(q_i)·φ(k_j) + ε)
// with φ = elu + 1, j over all keys (causal: j ≤ i), written out here.
func TestLinearEluSecondReading(t *testing.T) {
	phi := func(x float32) float64 {
		if x > 0 {
			return float64(x) + 1
		}
		return math.Exp(float64(x))
	}
	v, err := variants.Lookup("linear")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []variants.Shape{{B: 1, H: 2, N: 33, M: 33, D: 5}, {B: 1, H: 1, N: 20, M: 31, D: 8}} {
		q, k, vv, _ := inputs.Generate("gaussian", s, 8)
		for _, causal := range []bool{false, true} {
			for _, eps := range []float64{1e-6, 0.5} {
				opt := variants.DefaultOptions()
				opt.Causal, opt.Eps = causal, eps
				want := make([]float64, q.Len())
				for b := range s.B {
					for h := range s.H {
						qh, kh, vh := q.Head(b, h), k.Head(b, h), vv.Head(b, h)
						base := (b*s.H + h) * s.N * s.D
						for i := range s.N {
							var den float64
							num := make([]float64, s.D)
							for j := range s.M {
								if causal && j > i+s.M-s.N {
									continue
								}
								var w float64
								for d := range s.D {
									w += phi(qh[i*s.D+d]) * phi(kh[j*s.D+d])
								}
								den += w
								for d := range s.D {
									num[d] += w * float64(vh[j*s.D+d])
								}
							}
							for d := range s.D {
								want[base+i*s.D+d] = num[d] / (den + eps)
							}
						}
					}
				}
				out := variants.NewTensor(s.B, s.H, s.N, s.D)
				if err := v.Forward(q, k, vv, out, opt, variants.NewWorkspace()); err != nil {
					t.Fatal(err)
				}
				var e float64
				for i := range want {
					e = math.Max(e, math.Abs(float64(out.Data[i])-want[i]))
				}
				if e > 1e-5 {
					t.Errorf("linear elu %v causal=%v eps=%v: Forward differs from the definition by %.3g", s, causal, eps, e)
				}
			}
		}
	}
}
