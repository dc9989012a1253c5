package variants_test

import (
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
)

// TestWorkspaceBytesNoWrap: estimates from hostile shapes and knobs
// saturate at TooLarge; they never wrap to a small or negative number.
// full's N×M scores are the check by hand: 4·N·M bytes, from math/big.
func TestWorkspaceBytesNoWrap(t *testing.T) {
	full := mustLookup(t, "full")
	for _, n := range []int{1 << 20, 1 << 30, 1 << 31, 1 << 40, math.MaxInt} {
		s := variants.Shape{B: 1, H: 1, N: n, M: n, D: 64}
		got := full.WorkspaceBytes(s, variants.DefaultOptions())
		scores := new(big.Int).Mul(big.NewInt(4), new(big.Int).Mul(big.NewInt(int64(n)), big.NewInt(int64(n))))
		if scores.IsInt64() {
			if got < scores.Int64() {
				t.Errorf("full n=%d: estimate %d below the %v bytes of its scores", n, got, scores)
			}
		} else if got != math.MaxInt64 {
			t.Errorf("full n=%d: estimate %d; the scores alone are %v bytes, want saturated", n, got, scores)
		}
	}
	// Elsewhere there is no formula to hold them to, but a wrapped
	// product breaks monotonicity: growing any one size (or knob) by
	// doubling, up to 2^62, never shrinks an estimate, and the evaluation
	// estimates, which hold B·H·N·D values, saturate on the huge shapes.
	base := variants.Shape{B: 1, H: 2, N: 64, M: 64, D: 16}
	grow := map[string]func(s variants.Shape, o *variants.Options, x int) variants.Shape{
		"n":     func(s variants.Shape, o *variants.Options, x int) variants.Shape { s.N, s.M = x, x; return s },
		"d":     func(s variants.Shape, o *variants.Options, x int) variants.Shape { s.D = x; return s },
		"batch": func(s variants.Shape, o *variants.Options, x int) variants.Shape { s.B = x; return s },
		"heads": func(s variants.Shape, o *variants.Options, x int) variants.Shape { s.H = x; return s },
		"features": func(s variants.Shape, o *variants.Options, x int) variants.Shape {
			o.Kernel, o.Features = "favor", x
			return s
		},
		"buckets": func(s variants.Shape, o *variants.Options, x int) variants.Shape { o.Buckets = max(2, x); return s },
		"rounds":  func(s variants.Shape, o *variants.Options, x int) variants.Shape { o.Rounds = x; return s },
		"random": func(s variants.Shape, o *variants.Options, x int) variants.Shape {
			o.Pattern, o.Block, o.Random = "bigbird", 1, x
			return s
		},
		"summary": func(s variants.Shape, o *variants.Options, x int) variants.Shape {
			o.Pattern, o.Summary = "fixed", x
			return s
		},
	}
	for _, name := range variants.Names() {
		v := mustLookup(t, name)
		for what, g := range grow {
			for _, causal := range []bool{false, true} {
				prev := int64(0)
				for e := 0; e <= 62; e++ {
					o := withKnobs(t, causal)
					s := g(base, &o, 1<<e)
					got := v.WorkspaceBytes(s, o)
					if got < prev {
						t.Errorf("%s causal=%v: %s = 2^%d: WorkspaceBytes %d < %d at 2^%d (wrapped)", name, causal, what, e, got, prev, e-1)
						break
					}
					prev = got
				}
			}
		}
		for _, s := range []variants.Shape{
			{B: 1, H: 4, N: 1 << 62, M: 1 << 62, D: 4},
			{B: 65536, H: 65536, N: 65536, M: 65536, D: 65536},
			{B: math.MaxInt, H: math.MaxInt, N: math.MaxInt, M: math.MaxInt, D: math.MaxInt},
		} {
			o := withKnobs(t, false)
			if got := v.WorkspaceBytes(s, o); got < 0 {
				t.Errorf("%s %v: WorkspaceBytes %d", name, s, got)
			}
			if d, e := variants.DefinitionBytes(v, s, o), variants.ExactBytes(v, s, o); d != math.MaxInt64 || e != math.MaxInt64 {
				t.Errorf("%s %v: DefinitionBytes %d, ExactBytes %d; want both saturated", name, s, d, e)
			}
		}
	}
}

func TestAllocTensorOverflow(t *testing.T) {
	for _, dims := range [][4]int{{1, 4, 1 << 62, 4}, {65536, 65536, 65536, 65536}, {1, 1, -1, 4}} {
		if _, err := variants.AllocTensor(dims[0], dims[1], dims[2], dims[3]); err == nil {
			t.Errorf("AllocTensor%v accepted", dims)
		}
	}
	x, err := variants.AllocTensor(2, 3, 5, 7)
	if err != nil || len(x.Data) != 210 {
		t.Errorf("AllocTensor(2,3,5,7) = %d values, %v", len(x.Data), err)
	}
	// A tensor whose Data length matches a wrapped product is not a
	// tensor of that shape.
	bad := variants.Tensor{B: 1, H: 4, S: 1 << 62, D: 4}
	if _, err := variants.ShapeOf(bad, bad, bad); err == nil {
		t.Error("ShapeOf accepted a shape whose size wraps to 0")
	}
}

// maxPairLogit64 is max over pairs of Σ_d |scale·q_d·k_d| in float64,
// written from the definition: a bound on every logit and every partial
// sum of one, whatever the summation order.
func maxPairLogit64(q, k variants.Tensor, scale float64) float64 {
	var m float64
	for b := range q.B {
		for h := range q.H {
			qh, kh := q.Head(b, h), k.Head(b, h)
			for i := range q.S {
				for j := range k.S {
					var s float64
					for d := range q.D {
						s += math.Abs(scale * float64(qh[i*q.D+d]) * float64(kh[j*k.D+d]))
					}
					m = max(m, s)
				}
			}
		}
	}
	return m
}

// TestCheckRange: inputs whose logits reach past float32 are refused,
// naming the cause; inputs a little inside pass, and every softmax
// variant's Forward then returns finite values that match its Reference.
func TestCheckRange(t *testing.T) {
	s := variants.Shape{B: 1, H: 2, N: 8, M: 8, D: 4}
	// Rows along one axis, so Cauchy–Schwarz is tight: the largest logit
	// is scale·c²·(N/8)·(M/8) = scale·c² exactly.
	build := func(c float64) (q, k, v variants.Tensor) {
		q, k, v, err := inputs.Generate("gaussian", s, 1)
		if err != nil {
			t.Fatal(err)
		}
		clear(q.Data)
		clear(k.Data)
		for r := range s.B * s.H * s.N {
			i := r % s.N
			q.Data[r*s.D] = float32(c * float64(i+1) / 8)
			k.Data[r*s.D] = float32(c * float64(i+1) / 8)
		}
		return q, k, v
	}
	scale := 0.5 // 1/√D
	for _, name := range []string{"full", "flash", "window", "sparse", "lsh"} {
		v := mustLookup(t, name)
		o := withKnobs(t, false)
		if name == "lsh" {
			o = withKnobs(t, false, "shared-qk", "false")
		}
		for _, share := range []float64{0.25, 0.9, 1.1, 4} {
			c := math.Sqrt(share * math.MaxFloat32 / scale)
			q, k, vv := build(c)
			want := maxPairLogit64(q, k, scale)
			err := variants.CheckRange(v, q, k, vv, o)
			if over := want > math.MaxFloat32; over != (err != nil) {
				t.Errorf("%s: max logit %.3g: CheckRange = %v", name, want, err)
				continue
			}
			if err != nil {
				if !strings.Contains(err.Error(), "logits overflow float32") {
					t.Errorf("%s: %v does not name the cause", name, err)
				}
				continue
			}
			out := variants.NewTensor(s.B, s.H, s.N, s.D)
			if err := v.Forward(q, k, vv, out, o, variants.NewWorkspace()); err != nil {
				t.Fatal(err)
			}
			ref, err := v.Reference(q, k, vv, o)
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range out.Data {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) || math.Abs(float64(x)-ref[i]) > 1e-5 {
					t.Fatalf("%s: max logit %.3g passed the check but out[%d] = %v, want %v", name, want, i, x, ref[i])
				}
			}
		}
	}
}

// TestCheckRangeOrthogonal: rows of 1e20 in dimensions the keys leave at
// zero have huge norms but zero logits: no false alarm, and the outputs
// are the float64 definition's.
func TestCheckRangeOrthogonal(t *testing.T) {
	s := variants.Shape{B: 1, H: 1, N: 8, M: 8, D: 4}
	q, k, vv, err := inputs.Generate("gaussian", s, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.N {
		q.Data[i*s.D], q.Data[i*s.D+1] = 1e20, 1e20
		k.Data[i*s.D], k.Data[i*s.D+1] = 0, 0
	}
	for _, name := range []string{"full", "flash", "window", "sparse"} {
		v := mustLookup(t, name)
		o := withKnobs(t, false)
		if err := variants.CheckRange(v, q, k, vv, o); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		out := variants.NewTensor(s.B, s.H, s.N, s.D)
		if err := v.Forward(q, k, vv, out, o, variants.NewWorkspace()); err != nil {
			t.Fatal(err)
		}
		ref, _ := v.Reference(q, k, vv, o)
		for i, x := range out.Data {
			if math.Abs(float64(x)-ref[i]) > 1e-5 {
				t.Fatalf("%s: out[%d] = %v, want %v", name, i, x, ref[i])
			}
		}
	}
}

// TestCheckRangeLinear: linear elu on Q = K = 1e20 used to write NaNs
// (∞/∞) where the definition is the mean of V; FAVOR+'s ‖x′‖²/2 overflows
// there too. Both are refused; Gaussian inputs pass.
func TestCheckRangeLinear(t *testing.T) {
	v := mustLookup(t, "linear")
	s := variants.Shape{B: 1, H: 1, N: 16, M: 16, D: 8}
	for _, kernel := range []string{"elu", "favor"} {
		o := withKnobs(t, false, "kernel", kernel)
		q, k, vv, err := inputs.Generate("gaussian", s, 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := variants.CheckRange(v, q, k, vv, o); err != nil {
			t.Errorf("%s on gaussian inputs: %v", kernel, err)
		}
		for i := range q.Data {
			q.Data[i], k.Data[i] = 1e20, 1e20
		}
		err = variants.CheckRange(v, q, k, vv, o)
		if err == nil || !strings.Contains(err.Error(), "overflow float32") || !strings.Contains(err.Error(), kernel) {
			t.Errorf("%s on 1e20: CheckRange = %v; want an overflow error naming %s", kernel, err, kernel)
		}
	}
	// elu's bound M·‖φ(q)‖·‖φ(k)‖·max|v| by hand: rows of 1e18 (φ = 1e18+1),
	// D = 8, M = 16: 16·(√8·1e18)²·1 = 1.28e38 passes; 2e18 gives 5.1e38.
	for _, x := range []struct {
		val  float32
		pass bool
	}{{1e18, true}, {2e18, false}} {
		q, k, vv, _ := inputs.Generate("gaussian", s, 2)
		for i := range q.Data {
			q.Data[i], k.Data[i], vv.Data[i] = x.val, x.val, 0.5
		}
		if err := variants.CheckRange(v, q, k, vv, withKnobs(t, false)); (err == nil) != x.pass {
			t.Errorf("elu rows of %g: CheckRange = %v, want pass=%v", x.val, err, x.pass)
		}
	}
}
