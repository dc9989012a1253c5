package variants_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
	"github.com/attnbench/attnbench/variants/oracle"
)

// TestRandomConfigurations draws shapes (N, M, D, batch × heads, grouped
// K/V heads; M ≠ N with causal puts the queries at the last positions), causal,
// thread counts, scales, input kinds and every variant's knobs at random
// (the seed is fixed) and holds each valid case to its float64 definition
// with docs/design.md §3.1's rule; outputs must be finite. The listed shapes and
// knobs of TestParity are the cases someone thought of; these are the
// rest. ATTNBENCH_RANDOM_CASES=N runs N cases with seed N instead of 200.
func TestRandomConfigurations(t *testing.T) {
	iters, seed := 200, uint64(1)
	if n, err := strconv.Atoi(os.Getenv("ATTNBENCH_RANDOM_CASES")); err == nil && n > 0 {
		iters, seed = n, uint64(n)
	}
	rng := rand.New(rand.NewPCG(seed, 9))
	names := variants.Names()
	fails := 0
	for it := range iters {
		name := names[rng.IntN(len(names))]
		v, _ := variants.Lookup(name)
		s := variants.Shape{B: 1 + rng.IntN(2), H: 1 + rng.IntN(2), N: 1 + rng.IntN(300), D: 1 + rng.IntN(90)}
		s.M = s.N
		if rng.IntN(3) == 0 {
			s.M = 1 + rng.IntN(300)
		}
		// Grouped K/V heads: H = g·Hkv with g in 1..4.
		s.Hkv = s.H
		if rng.IntN(3) == 0 {
			s.H *= 1 + rng.IntN(4)
		}
		opt := variants.DefaultOptions()
		opt.Causal = rng.IntN(2) == 0
		opt.Threads = 1 + rng.IntN(3)
		if rng.IntN(4) == 0 {
			opt.Scale = float32(rng.Float64() * 0.5)
		}
		setString := func(k, val string) {
			if err := opt.Set(k, val); err != nil {
				t.Fatalf("#%d %s: Set(%q, %q): %v", it, name, k, val, err)
			}
		}
		set := func(k string, val int) { setString(k, strconv.Itoa(val)) }
		switch name {
		case "flash":
			set("block-q", 1+rng.IntN(100))
			set("block-k", 1+rng.IntN(300))
		case "window":
			set("window", rng.IntN(40))
			set("dilation", 1+rng.IntN(5))
			set("global", rng.IntN(10))
		case "sparse":
			switch rng.IntN(3) {
			case 0:
				set("stride", 1+rng.IntN(40))
			case 1:
				setString("pattern", "fixed")
				l := 1 + rng.IntN(40)
				set("stride", l)
				set("summary", rng.IntN(l+1))
			case 2:
				setString("pattern", "bigbird")
				set("block", 1+rng.IntN(40))
				set("random", rng.IntN(5))
				set("seed", rng.IntN(100))
			}
		case "lsh":
			set("chunk", 1+rng.IntN(64))
			if rng.IntN(2) == 0 {
				set("buckets", 2*(1+rng.IntN(20)))
			}
			set("rounds", 1+rng.IntN(4))
			if rng.IntN(3) == 0 {
				setString("shared-qk", "false")
			}
			set("seed", rng.IntN(100))
		case "linear":
			if rng.IntN(2) == 0 {
				setString("kernel", "favor")
				set("features", 1+rng.IntN(100))
				set("seed", rng.IntN(100))
			}
		}
		kind := inputs.Kinds[rng.IntN(len(inputs.Kinds))]
		label := fmt.Sprintf("#%d %s %+v %v causal=%v thr=%d scale=%v %s", it, name, opt, s, opt.Causal, opt.Threads, opt.Scale, kind)
		if err := v.Validate(s, opt); err != nil {
			if !errors.Is(err, variants.ErrUnsupported) {
				t.Logf("%s: invalid: %v", label, err)
			}
			continue
		}
		q, k, vv, err := inputs.Generate(kind, s, uint64(it))
		if err != nil {
			t.Fatal(err)
		}
		r, out, err := oracle.CheckFastPath(v, q, k, vv, opt)
		if err != nil {
			t.Errorf("%s: %v", label, err)
			fails++
			continue
		}
		bad := false
		for _, x := range out {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				bad = true
			}
		}
		if !r.Pass || bad {
			t.Errorf("%s: max error %.3g tol %.3g naive %.3g nan=%v", label, r.MaxErr, r.Tol, r.NaiveErr, bad)
			fails++
		}
		if fails > 10 {
			t.Fatal("more than 10 failures; stopping")
		}
	}
}
