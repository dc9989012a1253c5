package variants_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
	"github.com/attnbench/attnbench/variants/oracle"
)

// parityShapes cover N=1, M≠N (both ways), odd and non-multiple-of-8 D,
// B×H > 1 and lengths that leave partial tiles.
var parityShapes = []variants.Shape{
	{B: 1, H: 1, N: 1, M: 1, D: 8},
	{B: 1, H: 1, N: 1, M: 5, D: 7},
	{B: 1, H: 1, N: 37, M: 53, D: 7},
	{B: 1, H: 2, N: 70, M: 33, D: 80},
	{B: 2, H: 3, N: 65, M: 65, D: 16},
	{B: 1, H: 1, N: 200, M: 200, D: 64},
	{B: 2, H: 1, N: 129, M: 129, D: 32},
}

// parityKnobs lists, per variant, the parameter settings tested beyond the
// defaults: small values so that the patterns are not trivially dense at
// the lengths above.
var parityKnobs = map[string][]map[string]string{
	"flash": {{"block-q": "16", "block-k": "24"}, {"block-q": "1", "block-k": "1"}, {"block-q": "64", "block-k": "64"}},
	"window": {
		{"window": "3"},
		{"window": "0"},
		{"window": "5", "dilation": "3"},
		{"window": "2", "global": "3"},
		{"window": "20", "dilation": "2", "global": "70"},
	},
	"sparse": {
		{"stride": "8"},
		{"stride": "5"},
		{"pattern": "fixed", "stride": "16", "summary": "4"},
		{"pattern": "fixed", "stride": "7", "summary": "2"},
		{"pattern": "bigbird", "block": "8", "random": "2"},
		{"pattern": "bigbird", "block": "5", "random": "1", "seed": "3"},
		{"pattern": "bigbird", "block": "16", "random": "0"},
	},
	"lsh": {
		{"chunk": "16"},
		{"chunk": "8", "buckets": "6", "rounds": "3"},
		{"chunk": "32", "buckets": "2", "rounds": "1", "seed": "4"},
		{"shared-qk": "false", "buckets": "4"},
		{"shared-qk": "false", "buckets": "8", "rounds": "3"},
	},
	"linear": {
		{"kernel": "favor", "features": "16"},
		{"kernel": "favor", "features": "40", "seed": "5"},
		{"eps": "0.1"},
	},
}

// caseOptions returns the option sets to test for a variant.
func caseOptions(t *testing.T, name string) []variants.Options {
	t.Helper()
	opts := []variants.Options{variants.DefaultOptions()}
	for _, knobs := range parityKnobs[name] {
		o := variants.DefaultOptions()
		for k, v := range knobs {
			if err := o.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		opts = append(opts, o)
	}
	return opts
}

// forEachKernelSet runs f with each kernel set this CPU can run active.
func forEachKernelSet(t *testing.T, f func(t *testing.T)) {
	prev := asm.Active().Name
	defer asm.Select(prev)
	for _, k := range asm.Impls() {
		if err := asm.Select(k.Name); err != nil {
			t.Fatal(err)
		}
		t.Run("kernels="+k.Name, f)
	}
}

func knobString(v variants.Variant, o variants.Options) string {
	s := ""
	for _, p := range o.NonDefault(v.Params()) {
		s += fmt.Sprintf("/%s=%s", p, o.Get(p))
	}
	return s
}

// TestParity holds every registered variant's Forward to its own float64
// definition with the tolerance rule of docs/design.md §3.1, for every kernel set.
func TestParity(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		for _, name := range variants.Names() {
			v, err := variants.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, base := range caseOptions(t, name) {
				for _, s := range parityShapes {
					for _, causal := range []bool{false, true} {
						for _, kind := range inputs.Kinds {
							opt := base
							opt.Causal = causal
							opt.Threads = 2
							label := fmt.Sprintf("%s%s/%v/causal=%v/%s", name, knobString(v, opt), s, causal, kind)
							if err := v.Validate(s, opt); errors.Is(err, variants.ErrUnsupported) {
								continue
							} else if err != nil {
								t.Errorf("%s: Validate: %v", label, err)
								continue
							}
							q, k, vv, err := inputs.Generate(kind, s, 11)
							if err != nil {
								t.Fatal(err)
							}
							r, _, err := oracle.CheckFastPath(v, q, k, vv, opt)
							if err != nil {
								t.Errorf("%s: %v", label, err)
								continue
							}
							if !r.Pass {
								t.Errorf("%s: max error %.3g exceeds tolerance %.3g (naive float32 error %.3g)", label, r.MaxErr, r.Tol, r.NaiveErr)
							}
						}
					}
				}
			}
		}
	})
}

// TestBrokenVariantsFail proves the parity rule can fail: flash with one
// injected bug must fail it on some standard case.
func TestBrokenVariantsFail(t *testing.T) {
	broken := map[string]variants.Variant{
		"mask off by one": variants.BrokenFlashMask,
		"missing rescale": variants.BrokenFlashRescale,
		"dropped tail":    variants.BrokenFlashTail,
	}
	forEachKernelSet(t, func(t *testing.T) {
		for what, v := range broken {
			caught := false
			for _, s := range parityShapes {
				for _, causal := range []bool{false, true} {
					opt := variants.DefaultOptions()
					opt.Causal = causal
					opt.BlockQ, opt.BlockK = 16, 24
					q, k, vv, _ := inputs.Generate("gaussian", s, 3)
					r, _, err := oracle.CheckFastPath(v, q, k, vv, opt)
					if err != nil {
						t.Fatal(err)
					}
					caught = caught || !r.Pass
				}
			}
			if !caught {
				t.Errorf("flash with %s passed every parity case", what)
			}
		}
	})
}

// TestAgainstDirectDefinition checks full and flash against a softmax
// written out here, independently of the package's reference helpers.
// Query i sits at position i + M − N (the last N positions).
func TestAgainstDirectDefinition(t *testing.T) {
	s := variants.Shape{B: 1, H: 2, N: 9, M: 13, D: 5}
	q, k, vv, _ := inputs.Generate("gaussian", s, 5)
	for _, causal := range []bool{false, true} {
		opt := variants.DefaultOptions()
		opt.Causal = causal
		opt.Scale = 0.7
		want := make([]float64, q.Len())
		for h := range s.H {
			qh, kh, vh := q.Head(0, h), k.Head(0, h), vv.Head(0, h)
			for i := range s.N {
				var w []float64
				for j := range s.M {
					if causal && j > i+s.M-s.N {
						w = append(w, math.Inf(-1))
						continue
					}
					var dot float64
					for d := range s.D {
						dot += float64(qh[i*s.D+d]) * float64(kh[j*s.D+d])
					}
					w = append(w, 0.7*dot)
				}
				mx := slices.Max(w)
				var z float64
				for j := range w {
					w[j] = math.Exp(w[j] - mx)
					z += w[j]
				}
				for d := range s.D {
					var o float64
					for j := range w {
						o += w[j] / z * float64(vh[j*s.D+d])
					}
					want[(h*s.N+i)*s.D+d] = o
				}
			}
		}
		for _, name := range []string{"full", "flash"} {
			v, _ := variants.Lookup(name)
			out := variants.NewTensor(s.B, s.H, s.N, s.D)
			if err := v.Forward(q, k, vv, out, opt, variants.NewWorkspace()); err != nil {
				t.Fatal(err)
			}
			if e := oracle.MaxAbsDiff(out.Data, want); e > 1e-5 {
				t.Errorf("%s causal=%v: max error %.3g against the direct definition", name, causal, e)
			}
		}
	}
}

// TestThreadDeterminism: the output is bit-identical for any thread count.
func TestThreadDeterminism(t *testing.T) {
	s := variants.Shape{B: 2, H: 3, N: 300, M: 300, D: 24}
	q, k, vv, _ := inputs.Generate("gaussian", s, 9)
	for _, name := range variants.Names() {
		v, _ := variants.Lookup(name)
		for _, causal := range []bool{false, true} {
			var first []float32
			for _, threads := range []int{1, 2, 3, 8} {
				opt := variants.DefaultOptions()
				opt.Causal = causal
				opt.Threads = threads
				if err := v.Validate(s, opt); errors.Is(err, variants.ErrUnsupported) {
					continue
				}
				out := variants.NewTensor(s.B, s.H, s.N, s.D)
				if err := v.Forward(q, k, vv, out, opt, variants.NewWorkspace()); err != nil {
					t.Fatal(err)
				}
				if first == nil {
					first = out.Data
				} else if !slices.Equal(first, out.Data) {
					t.Errorf("%s causal=%v: output with %d threads differs from 1 thread", name, causal, threads)
				}
			}
		}
	}
}

// TestNoAllocs: in steady state a single-threaded Forward takes all its
// memory from the workspace.
func TestNoAllocs(t *testing.T) {
	s := variants.Shape{B: 1, H: 2, N: 150, M: 150, D: 32}
	q, k, vv, _ := inputs.Generate("gaussian", s, 2)
	for _, name := range variants.Names() {
		v, _ := variants.Lookup(name)
		for _, causal := range []bool{false, true} {
			opt := variants.DefaultOptions()
			opt.Causal = causal
			opt.Threads = 1
			ws := variants.NewWorkspace()
			out := variants.NewTensor(s.B, s.H, s.N, s.D)
			var ferr error
			allocs := testing.AllocsPerRun(5, func() {
				if err := v.Forward(q, k, vv, out, opt, ws); err != nil {
					ferr = err
				}
			})
			if ferr != nil {
				t.Fatal(ferr)
			}
			if allocs != 0 {
				t.Errorf("%s causal=%v: %.1f heap allocations per Forward", name, causal, allocs)
			}
			if ws.InUse() != 0 {
				t.Errorf("%s: %d workspace bytes not returned", name, ws.InUse())
			}
		}
	}
}

// TestWorkspacePeak: full's measured peak grows with N·M, flash's does not
// grow with N.
func TestWorkspacePeak(t *testing.T) {
	peak := func(name string, n int) int64 {
		v, _ := variants.Lookup(name)
		s := variants.Shape{B: 1, H: 1, N: n, M: n, D: 16}
		q, k, vv, _ := inputs.Generate("gaussian", s, 1)
		opt := variants.DefaultOptions()
		opt.Threads = 1
		ws := variants.NewWorkspace()
		if err := v.Forward(q, k, vv, variants.NewTensor(1, 1, n, 16), opt, ws); err != nil {
			t.Fatal(err)
		}
		return ws.Peak()
	}
	// full: the N×M score matrix plus one query tile's scratch (Qᵀ, the
	// output accumulator, four vectors), which does not grow with N.
	if p1, p2 := peak("full", 256), peak("full", 512); p1-4*256*256 != p2-4*512*512 || p1 < 4*256*256 || p1-4*256*256 > 4*(2*16*64+4*64) {
		t.Errorf("full peak: %d at n=256, %d at n=512; want the N×M score matrix (%d, %d) plus a constant tile", p1, p2, 4*256*256, 4*512*512)
	}
	if p1, p2 := peak("flash", 512), peak("flash", 2048); p1 != p2 || p1 == 0 {
		t.Errorf("flash peak: %d at n=512, %d at n=2048; want equal and non-zero", p1, p2)
	}
}

func TestBadShapes(t *testing.T) {
	ok := variants.NewTensor(1, 2, 8, 4)
	cases := map[string][3]variants.Tensor{
		"K dim":      {ok, variants.NewTensor(1, 2, 8, 5), variants.NewTensor(1, 2, 8, 5)},
		"V length":   {ok, ok, variants.NewTensor(1, 2, 9, 4)},
		"heads":      {ok, variants.NewTensor(1, 3, 8, 4), variants.NewTensor(1, 3, 8, 4)},
		"zero size":  {variants.NewTensor(1, 2, 0, 4), ok, ok},
		"short data": {{B: 1, H: 2, S: 8, D: 4, Data: make([]float32, 10)}, ok, ok},
	}
	for _, name := range variants.Names() {
		v, _ := variants.Lookup(name)
		for what, c := range cases {
			out := variants.NewTensor(1, 2, 8, 4)
			if err := v.Forward(c[0], c[1], c[2], out, variants.DefaultOptions(), variants.NewWorkspace()); err == nil {
				t.Errorf("%s: %s mismatch accepted", name, what)
			}
		}
		if err := v.Forward(ok, ok, ok, variants.NewTensor(1, 2, 7, 4), variants.DefaultOptions(), variants.NewWorkspace()); err == nil {
			t.Errorf("%s: wrong output shape accepted", name)
		}
	}
}
