package sweep

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/attnbench/attnbench/harness/timing"
	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
	"github.com/attnbench/attnbench/variants/oracle"
)

// With ErrInputs set, cases are timed on Inputs but their error figures
// are those of the variant on the error inputs, recomputed here from
// scratch (Forward, exact softmax and Coverage, no log-sum-exp reuse), and
// every name says where they came from.
func TestErrorFiguresFromErrInputs(t *testing.T) {
	spec := baseSpec("window", "lsh", "linear")
	spec.N, spec.D, spec.Heads = []int{96}, []int{16}, []int{2}
	spec.Knobs = []Knob{{Name: "window", Values: []string{"4"}}, {Name: "chunk", Values: []string{"16"}}}
	spec.ErrInputs = "llm"
	cases, _, err := Expand(spec)
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{done: map[string]int{}}
	if _, err := Run(context.Background(), cases, sink, Config{Count: 1, BenchTime: timing.BenchTime{N: 1}, ErrMaxN: 96}); err != nil {
		t.Fatal(err)
	}
	s := variants.Shape{B: 1, H: 2, N: 96, M: 96, D: 16}
	q, k, vv, _ := inputs.Generate("llm", s, spec.InputSeed)
	for i, r := range sink.rows {
		c := cases[i]
		if !strings.Contains(r.Name, "/err-inputs=llm") || r.Keys["err-inputs"] != "llm" || r.Keys["inputs"] != "gaussian" {
			t.Errorf("%s: want the err-inputs=llm key and column (keys %v)", r.Name, r.Keys)
		}
		out := variants.NewTensor(1, 2, 96, 16)
		if err := c.Variant.Forward(q, k, vv, out, c.Opt, variants.NewWorkspace()); err != nil {
			t.Fatal(err)
		}
		exact, _ := variants.ExactAttention(c.Variant, q, k, vv, c.Opt)
		want := oracle.Approximate(out.Data, exact, 16)
		for _, u := range []struct {
			unit string
			want float64
		}{{"relerr", want.RelErr}, {"maxerr", want.MaxErr}, {"cosine", want.Cosine}} {
			got, ok := value(r, u.unit)
			if !ok || math.Abs(got-u.want) > 1e-3*math.Abs(u.want) {
				t.Errorf("%s: %s %v, want %v (on llm inputs)", r.Name, u.unit, got, u.want)
			}
		}
		cov, hasCov, _ := variants.Coverage(c.Variant, q, k, vv, c.Opt)
		got, ok := value(r, "coverage")
		if ok != hasCov || (ok && math.Abs(got-cov) > 1e-3*cov) {
			t.Errorf("%s: coverage %v (present %v), want %v (present %v)", r.Name, got, ok, cov, hasCov)
		}
	}

	// Without ErrInputs: no key, and the figures are those of the timing
	// inputs, which differ.
	spec.ErrInputs = ""
	plain, _, _ := Expand(spec)
	sink2 := &memSink{done: map[string]int{}}
	if _, err := Run(context.Background(), plain, sink2, Config{Count: 1, BenchTime: timing.BenchTime{N: 1}, ErrMaxN: 96}); err != nil {
		t.Fatal(err)
	}
	for i, r := range sink2.rows {
		if strings.Contains(r.Name, "err-inputs") || r.Keys["err-inputs"] != "gaussian" {
			t.Errorf("%s: err-inputs key without ErrInputs (column %q)", r.Name, r.Keys["err-inputs"])
		}
		a, _ := value(r, "relerr")
		b, _ := value(sink.rows[i], "relerr")
		if a == b {
			t.Errorf("%s: the same relerr %v on gaussian and llm inputs", r.Name, a)
		}
	}
}
