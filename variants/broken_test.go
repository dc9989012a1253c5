package variants_test

import (
	"errors"
	"testing"

	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
	"github.com/attnbench/attnbench/variants/oracle"
)

// TestBrokenEfficientVariantsFail proves the parity cases of TestParity can
// catch a bug in each efficient variant: each broken copy must fail at
// least one of them (same shapes, knobs and causal settings), and a broken
// copy is only run on cases its bug is about (pattern), so passing cases
// elsewhere do not hide it.
func TestBrokenEfficientVariantsFail(t *testing.T) {
	broken := []struct {
		what    string
		name    string // whose knob list to use
		v       variants.Variant
		pattern string // sparse only: the pattern the bug lives in
	}{
		{"window sees one key too many", "window", variants.BrokenWindowWide, ""},
		{"strided column misses a key", "sparse", variants.BrokenSparseColumn, "strided"},
		{"fixed misses a summary key", "sparse", variants.BrokenSparseSummary, "fixed"},
		{"bigbird without random blocks", "sparse", variants.BrokenSparseNoRandom, "bigbird"},
		{"lsh without chunk wrap-around", "lsh", variants.BrokenLSHNoWrap, ""},
		{"lsh counting repeated keys twice", "lsh", variants.BrokenLSHTwice, ""},
		{"linear causal mask off by one", "linear", variants.BrokenLinearPeek, ""},
	}
	for _, b := range broken {
		caught := false
		for _, base := range caseOptions(t, b.name) {
			if caught {
				break
			}
			if b.pattern != "" && base.Pattern != b.pattern {
				continue
			}
			for _, s := range parityShapes {
				for _, causal := range []bool{false, true} {
					opt := base
					opt.Causal = causal
					if err := b.v.Validate(s, opt); errors.Is(err, variants.ErrUnsupported) {
						continue
					}
					q, k, vv, _ := inputs.Generate("gaussian", s, 3)
					r, _, err := oracle.CheckFastPath(b.v, q, k, vv, opt)
					if err != nil {
						t.Fatal(err)
					}
					caught = caught || !r.Pass
				}
			}
		}
		if !caught {
			t.Errorf("%s passed every parity case", b.what)
		}
	}
}
