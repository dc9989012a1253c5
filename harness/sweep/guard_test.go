package sweep

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/attnbench/attnbench/harness/timing"
	"github.com/attnbench/attnbench/variants"
)

// TestRunRefusesOverflowAndNonFinite: npy inputs that overflow the logits
// (Q = K = 1e20) or the output (V = 3e38 summed over the keys) fail their
// case with the cause, and no row is written for it.
func TestRunRefusesOverflowAndNonFinite(t *testing.T) {
	for _, tc := range []struct {
		qk, v float32
		want  string
	}{
		{1e20, 0.5, "logits overflow float32"},
		{0, 3e38, "output holds +Inf"},
	} {
		spec := baseSpec("flash")
		spec.Inputs = "npy:" + t.TempDir()
		spec.LoadNPY = func(path string) (variants.Tensor, error) {
			x := variants.NewTensor(1, 1, 32, 8)
			fill := tc.qk
			if strings.HasSuffix(path, "v.npy") {
				fill = tc.v
			}
			for i := range x.Data {
				x.Data[i] = fill
			}
			return x, nil
		}
		cases, _, err := Expand(spec)
		if err != nil {
			t.Fatal(err)
		}
		sink := &memSink{done: map[string]int{}}
		sum, err := Run(context.Background(), cases, sink, Config{Count: 1, BenchTime: timing.BenchTime{N: 1}, MaxMem: 1 << 30})
		if !errors.Is(err, ErrFailed) || sum.Failed != 1 || len(sink.rows) != 0 {
			t.Errorf("%s: err %v, %d failed, %d rows; want the case failed", tc.want, err, sum.Failed, len(sink.rows))
		}
		if len(sink.comments) != 1 || !strings.Contains(sink.comments[0], tc.want) {
			t.Errorf("comments %q; want one naming %q", sink.comments, tc.want)
		}
	}
}

// TestRunSkipsHugeSizes: a shape whose sizes overflow int64 is skipped
// with the reason, not run (it used to panic in a worker).
func TestRunSkipsHugeSizes(t *testing.T) {
	spec := baseSpec("full", "flash", "window", "sparse", "lsh", "linear")
	spec.N, spec.D = []int{math.MaxInt / 2}, []int{4}
	cases, _, err := Expand(spec)
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{done: map[string]int{}}
	sum, err := Run(context.Background(), cases, sink, Config{Count: 1, BenchTime: timing.BenchTime{N: 1}, MaxMem: 1 << 30})
	if err != nil || sum.Skipped != len(cases) || len(sink.rows) != 0 {
		t.Fatalf("err %v, skipped %d of %d, %d rows", err, sum.Skipped, len(cases), len(sink.rows))
	}
	for _, c := range sink.comments {
		if !strings.Contains(c, "sizes overflow int64") {
			t.Errorf("comment %q does not give the reason", c)
		}
	}
	if EstimateBytes(cases[0], 0) != math.MaxInt64 {
		t.Error("EstimateBytes of an overflowing case is not saturated")
	}
}
