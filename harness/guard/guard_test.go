package guard

import (
	"errors"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/attnbench/attnbench/internal/setting"
	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
)

func TestParseMaxMem(t *testing.T) {
	page := int64(os.Getpagesize())
	for in, want := range map[string]int64{
		"8GiB": 8 << 30, "512MB": 512e6, "2e9": 2e9, "50%": 500 << 20, "100%": 1000 << 20,
		"4096": 4096, "4KiB": 4096, "1%": 10 << 20,
	} {
		if got, err := ParseMaxMem(in, 1000<<20); err != nil || got != want {
			t.Errorf("ParseMaxMem(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	// Below one page: they used to round to 0, which read as "no limit".
	for _, in := range []string{"0.5", "1e-12%", "1B", "4095", "1KiB", "0.0001%"} {
		_, err := ParseMaxMem(in, 1000<<20)
		var bad *setting.Error
		if !errors.As(err, &bad) || bad.Name != "max-mem" || bad.Value != in || !strings.Contains(bad.Reason, "below one page") {
			t.Errorf("ParseMaxMem(%q) = %v; want an error naming -max-mem and the page (%d B)", in, err, page)
		}
	}
	for _, in := range []string{"", "0", "-1", "lots", "101%", "0%", "NaN", "Inf", "1e300"} {
		var bad *setting.Error
		if _, err := ParseMaxMem(in, 1000<<20); !errors.As(err, &bad) || bad.Name != "max-mem" {
			t.Errorf("ParseMaxMem(%q) = %v; want an error naming -max-mem", in, err)
		}
	}
}

func allVariants(t *testing.T) []variants.Variant {
	var vs []variants.Variant
	for _, n := range variants.Names() {
		v, err := variants.Lookup(n)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func knobbed(t *testing.T, kv ...string) variants.Options {
	o := variants.DefaultOptions()
	for i := 0; i < len(kv); i += 2 {
		if err := o.Set(kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// TestEstimateHuge: sizes far past int64 (shapes and knobs from a hostile
// command line) are ErrTooLarge for every variant, never a panic or a
// wrapped small number.
func TestEstimateHuge(t *testing.T) {
	const big = 1 << 62
	shapes := []variants.Shape{
		{B: 1, H: 4, N: big, M: big, D: 4},
		{B: 65536, H: 65536, N: 65536, M: 65536, D: 65536},
		{B: 1, H: 1, N: math.MaxInt, M: math.MaxInt, D: math.MaxInt},
		{B: 1, H: 1, N: 1 << 31, M: 1 << 31, D: 64}, // fits the tensors, not full's N×M scores
	}
	opts := []variants.Options{
		variants.DefaultOptions(),
		knobbed(t, "kernel", "favor", "features", "4611686018427387904"),
		knobbed(t, "buckets", "4611686018427387904", "rounds", "4611686018427387904"),
		knobbed(t, "pattern", "bigbird", "block", "1", "random", "4611686018427387904"),
		knobbed(t, "pattern", "fixed", "stride", "1", "summary", "4611686018427387904"),
		knobbed(t, "window", "4611686018427387904", "dilation", "1"),
		knobbed(t, "block-q", "9223372036854775807", "block-k", "9223372036854775807"),
	}
	for _, v := range allVariants(t) {
		for _, s := range shapes {
			for _, o := range opts {
				need, err := Estimate(v, s, o, Extras{Definition: true, Exact: true, UsefulFlops: true})
				if err == nil && need < 1<<40 {
					t.Errorf("%s %v %+v: estimate %d for a case of at least 2^40 bytes", v.Name(), s, o, need)
				}
				if err != nil && !errors.Is(err, ErrTooLarge) {
					t.Errorf("%s %v: %v; want ErrTooLarge", v.Name(), s, err)
				}
				if err := Check(v, s, o, Extras{}, 8<<30); err == nil {
					t.Errorf("%s %v %+v: passed the guard at 8 GiB", v.Name(), s, o)
				}
			}
		}
	}
}

// TestEstimateBoundsAllocation: on small cases the estimate is at least what
// the Go heap hands out for everything parity and sweep compute (inputs,
// Forward with its workspace, Reference, Naive, MaxLogit, exact attention,
// counted flops, the range check), measured with runtime.MemStats — a
// total that includes garbage, so more than the peak the estimate bounds.
func TestEstimateBoundsAllocation(t *testing.T) {
	s := variants.Shape{B: 1, H: 1, N: 200, M: 200, D: 16}
	opts := map[string][]variants.Options{
		"full": {variants.DefaultOptions()}, "flash": {variants.DefaultOptions()},
		"window": {knobbed(t, "window", "8")},
		"sparse": {knobbed(t, "stride", "16"), knobbed(t, "pattern", "fixed", "stride", "16"), knobbed(t, "pattern", "bigbird", "block", "16", "random", "3")},
		"linear": {variants.DefaultOptions(), knobbed(t, "kernel", "favor", "features", "64")},
	}
	opts["lsh"] = []variants.Options{knobbed(t, "chunk", "32"), knobbed(t, "chunk", "32", "shared-qk", "false")}
	for _, v := range allVariants(t) {
		for _, o := range opts[v.Name()] {
			o.Threads = 1
			need, err := Estimate(v, s, o, Extras{Definition: true, Exact: true, UsefulFlops: true})
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			q, k, vv, err := inputs.Generate("gaussian", s, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := variants.CheckRange(v, q, k, vv, o); err != nil {
				t.Fatal(err)
			}
			out := variants.NewTensor(s.B, s.H, s.N, s.D)
			if err := v.Forward(q, k, vv, out, o, variants.NewWorkspace()); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Reference(q, k, vv, o); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Naive(q, k, vv, o); err != nil {
				t.Fatal(err)
			}
			variants.MaxLogit(v, q, k, o)
			if _, err := variants.ExactAttention(v, q, k, vv, o); err != nil {
				t.Fatal(err)
			}
			if _, err := variants.UsefulFlops(v, q, k, vv, o); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			if got := int64(after.TotalAlloc - before.TotalAlloc); got > need {
				t.Errorf("%s %+v: allocated %d bytes, estimate %d", v.Name(), o, got, need)
			}
		}
	}
}

// TestEstimateByHand: flash's estimate is Q, K, V and the output in
// float32 plus its workspace, written out here, with the allocator's
// slack: 64 KiB and one eighth.
func TestEstimateByHand(t *testing.T) {
	v, _ := variants.Lookup("flash")
	s := variants.Shape{B: 2, H: 3, N: 100, M: 50, D: 8}
	o := variants.DefaultOptions()
	buffers := 4*int64(2*3*100*8)*2 + 4*int64(2*3*50*8)*2 + v.WorkspaceBytes(s, o) + 64<<10
	want := buffers + buffers/8
	if got, err := Estimate(v, s, o, Extras{}); err != nil || got != want {
		t.Errorf("Estimate = %d, %v; want %d", got, err, want)
	}
	err := Check(v, s, o, Extras{}, want-1)
	if err == nil || !strings.Contains(err.Error(), FormatBytes(want)) || !strings.Contains(err.Error(), "-max-mem "+FormatBytes(want-1)) {
		t.Errorf("Check over the limit = %v; want the estimate and the limit", err)
	}
	if err := Check(v, s, o, Extras{}, want); err != nil {
		t.Errorf("Check at the limit = %v", err)
	}
}

func TestFinite(t *testing.T) {
	x := make([]float32, 12)
	if err := Finite(x, 4); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		x[9] = bad
		err := Finite(x, 4)
		if err == nil || !strings.Contains(err.Error(), "index 9 (row 2)") {
			t.Errorf("Finite with %v at 9 = %v", bad, err)
		}
	}
}

// TestForwardRefusesOverflow: Q = K = 1e20 everywhere makes every logit
// equal (exact attention is the mean of V), but 1e41 overflows float32: the
// guarded Forward names the cause instead of returning zeros or NaNs.
func TestForwardRefusesOverflow(t *testing.T) {
	s := variants.Shape{B: 1, H: 1, N: 32, M: 32, D: 64}
	q, k, vv, err := inputs.Generate("gaussian", s, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range q.Data {
		q.Data[i], k.Data[i] = 1e20, 1e20
	}
	for _, v := range allVariants(t) {
		for _, o := range []variants.Options{variants.DefaultOptions(), knobbed(t, "kernel", "favor", "shared-qk", "false")} {
			_, err := Forward(v, q, k, vv, o, 1<<30)
			if v.Name() == "lsh" && o.SharedQK {
				// Shared-QK keys are unit vectors: logits ≤ |scale|·‖q‖ fit,
				// and LSH normalises rows of any norm (TestLSHExtremeRowNorms).
				if err != nil {
					t.Errorf("lsh shared-qk: %v", err)
				}
				continue
			}
			if err == nil || !strings.Contains(err.Error(), "overflow float32") {
				t.Errorf("%s %+v: %v; want an overflow error", v.Name(), o, err)
			}
		}
	}
}

// TestForwardRefusesNonFinite: V = 3e38 passes the logit check, but flash's
// unnormalised accumulator sums M such rows to +Inf: an error, not exit 0.
func TestForwardRefusesNonFinite(t *testing.T) {
	v, _ := variants.Lookup("flash")
	s := variants.Shape{B: 1, H: 1, N: 8, M: 64, D: 4}
	q, k, vv, err := inputs.Generate("gaussian", s, 3)
	if err != nil {
		t.Fatal(err)
	}
	clear(q.Data)
	for i := range vv.Data {
		vv.Data[i] = 3e38
	}
	_, err = Forward(v, q, k, vv, variants.DefaultOptions(), 1<<30)
	if err == nil || !strings.Contains(err.Error(), "output holds") {
		t.Errorf("Forward = %v; want a non-finite output error", err)
	}
}
