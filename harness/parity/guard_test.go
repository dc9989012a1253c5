package parity

import (
	"strings"
	"testing"

	"github.com/attnbench/attnbench/variants"
)

// TestRunRefusesLogitOverflow: a scale that carries the logits past
// float32 is an error naming the cause, not a failed check or a pass.
func TestRunRefusesLogitOverflow(t *testing.T) {
	opt := variants.DefaultOptions()
	if err := opt.Set("scale", "1e38"); err != nil {
		t.Fatal(err)
	}
	_, err := Run(Case{Variant: "flash", Shape: variants.Shape{B: 1, H: 1, N: 8, M: 8, D: 4}, Opt: opt, Input: "gaussian", Seed: 1})
	if err == nil || !strings.Contains(err.Error(), "logits overflow float32") {
		t.Errorf("Run = %v; want a logit overflow error", err)
	}
}

// TestCheckMemory: every buffer of the §3.1 and §3.2 checks is estimated:
// full at n = 100000 (80 GB of scores, 1.6 MB of inputs) is refused at
// 8 GiB; a small case passes.
func TestCheckMemory(t *testing.T) {
	big := Case{Variant: "full", Shape: variants.Shape{B: 1, H: 2, N: 100000, M: 100000, D: 7}, Opt: variants.DefaultOptions(), Input: "gaussian"}
	err := CheckMemory(big, 8<<30)
	if err == nil || !strings.Contains(err.Error(), "over -max-mem 8.0 GiB") {
		t.Errorf("CheckMemory(full, n=100000) = %v", err)
	}
	small := big
	small.Shape.N, small.Shape.M = 100, 100
	if err := CheckMemory(small, 8<<30); err != nil {
		t.Errorf("CheckMemory(full, n=100) = %v", err)
	}
}
