// Package guard holds the checks every command runs on a case before and
// after its Forward, so that attnbench fails closed, in one line, instead
// of running out of memory, overflowing a size or printing a wrong answer:
//
//   - Kernels: ATTNBENCH_KERNELS names a kernel set this CPU can run.
//   - Estimate and Check: a case's memory, estimated by one function for
//     run, parity and sweep before anything is allocated, against -max-mem
//     (ParseMaxMem; by default half the memory of the machine or of its
//     cgroup, machine.Memory).
//   - variants.CheckRange before Forward (float32 overflow of the logits)
//     and Finite after it (no NaN or Inf in an output from finite inputs).
package guard

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/harness/machine"
	"github.com/attnbench/attnbench/internal/checked"
	"github.com/attnbench/attnbench/internal/setting"
	"github.com/attnbench/attnbench/variants"
)

// Kernels reports an ATTNBENCH_KERNELS value this CPU cannot honour (the
// error names the variable and the sets available).
func Kernels() error { return asm.EnvError }

// DefaultMaxMem is the -max-mem default of every command.
const DefaultMaxMem = "50%"

// MaxMemUsage is the -max-mem flag's help text, the same in every command.
const MaxMemUsage = "memory limit of a case, estimated before anything is allocated: a size (8GiB, 512MB, 2e9) or a share of the machine's memory or cgroup limit (50%)"

// ParseMaxMem parses a memory limit: bytes with an optional unit (k, M, G,
// T, decimal; Ki, Mi, Gi, Ti, binary; a trailing B is allowed), or a
// percentage of memory. A limit below one page is refused: it would round
// to nothing, and 0 is not "no limit".
func ParseMaxMem(s string, memory int64) (int64, error) {
	bad := &setting.Error{Name: "max-mem", Value: s, Reason: "want a size such as 8GiB, 512MB, 2e9, or a share of memory such as 50%"}
	t := strings.TrimSpace(s)
	var limit float64
	if pct, ok := strings.CutSuffix(t, "%"); ok {
		p, err := strconv.ParseFloat(pct, 64)
		if err != nil || !(p > 0 && p <= 100) {
			return 0, bad
		}
		limit = p / 100 * float64(memory)
	} else {
		t = strings.TrimSuffix(t, "B")
		mult := 1.0
		for _, u := range []struct {
			suffix string
			mult   float64
		}{
			{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
			{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
		} {
			if num, ok := strings.CutSuffix(t, u.suffix); ok {
				t, mult = num, u.mult
				break
			}
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil || !(v > 0) || math.IsInf(v*mult, 0) || v*mult > math.MaxInt64/2 {
			return 0, bad
		}
		limit = v * mult
	}
	if page := os.Getpagesize(); limit < float64(page) {
		return 0, &setting.Error{Name: "max-mem", Value: s, Reason: fmt.Sprintf("%s is below one page (%d B); give a limit a case can fit in", FormatBytes(int64(limit)), page)}
	}
	return int64(limit), nil
}

// Limit parses a -max-mem value against this machine's memory.
func Limit(maxMem string) (int64, error) {
	memory, _ := machine.Memory()
	return ParseMaxMem(maxMem, memory)
}

// Extras says what a command computes for a case beyond Forward's output.
type Extras struct {
	// Definition: the §3.1 check's Reference (float64), Naive (float32)
	// and logit bound (parity).
	Definition bool
	// Exact: exact attention in float64 (parity for approximate
	// variants; sweep's relerr and maxerr).
	Exact bool
	// ErrorInputs: a second set of inputs and output, on which the error
	// is measured (the sweep's err-inputs, when they are not the timing
	// inputs).
	ErrorInputs bool
	// UsefulFlops: the flops counted on the data (sweep's GFLOP/s).
	UsefulFlops bool
}

// runtimeSlack is the fixed part of an estimate: goroutines, closures and
// the small allocations of a Forward and its checks.
const runtimeSlack = 64 << 10

// ErrTooLarge is returned (wrapped) by Estimate when a size overflows.
var ErrTooLarge = errors.New("sizes overflow int64")

// Estimate returns the bytes a case needs at its peak: Q, K and V, the
// output, the variant's workspace (WorkspaceBytes), what CheckRange
// allocates, and the extras the command computes. Every term saturates or
// is summed with overflow checks: a shape or knob too large to count is
// ErrTooLarge, never a wrapped small number.
func Estimate(v variants.Variant, s variants.Shape, opt variants.Options, x Extras) (int64, error) {
	q, err1 := checked.Mul(4, int64(s.B), int64(s.H), int64(s.N), int64(s.D))
	kv, err2 := checked.Mul(2*4, int64(s.B), int64(s.KVHeads()), int64(s.M), int64(s.D))
	if err := cmp.Or(err1, err2); err != nil {
		return 0, fmt.Errorf("%w (%v)", ErrTooLarge, err)
	}
	terms := []int64{q, kv, q, v.WorkspaceBytes(s, opt), variants.RangeCheckBytes(v, s, opt)}
	if x.Definition {
		terms = append(terms, variants.DefinitionBytes(v, s, opt))
	}
	if x.Exact {
		terms = append(terms, variants.ExactBytes(v, s, opt))
	}
	if x.ErrorInputs {
		terms = append(terms, q, kv, q)
	}
	if x.UsefulFlops {
		terms = append(terms, variants.UsefulFlopsBytes(v, s, opt))
	}
	for _, t := range terms {
		if t >= variants.TooLarge {
			return 0, fmt.Errorf("%w (the variant's buffers for %v)", ErrTooLarge, s)
		}
	}
	// Go rounds each allocation up to a size class (at most 1/8 more) and
	// keeps a little for itself: an estimate of the heap, not of the
	// buffers alone.
	terms = append(terms, runtimeSlack)
	sum, err := checked.Add(terms...)
	if err != nil {
		return 0, fmt.Errorf("%w (%v)", ErrTooLarge, err)
	}
	total, err := checked.Add(sum, sum/8)
	if err != nil {
		return 0, fmt.Errorf("%w (%v)", ErrTooLarge, err)
	}
	return total, nil
}

// Check estimates a case (Estimate) and returns an error, one line with
// the estimate and the limit, when it needs more than limit bytes.
func Check(v variants.Variant, s variants.Shape, opt variants.Options, x Extras, limit int64) error {
	need, err := Estimate(v, s, opt, x)
	if err != nil {
		return fmt.Errorf("%s on %v: %w; refused before allocating", v.Name(), s, err)
	}
	if need > limit {
		return fmt.Errorf("%s on %v needs an estimated %s, over -max-mem %s; refused before allocating", v.Name(), s, FormatBytes(need), FormatBytes(limit))
	}
	return nil
}

// Finite returns an error naming the first NaN or Inf of an output. The
// inputs were finite (the .npy reader and the generators see to that), so
// a non-finite output is an overflow the range checks did not foresee: a
// wrong answer, never a result.
func Finite(out []float32, d int) error {
	for i, x := range out {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("output holds %v at index %d (row %d) from finite inputs: float32 overflow in the fast path", x, i, i/max(d, 1))
		}
	}
	return nil
}

// FormatBytes writes n in binary units: 512 B, 1.5 KiB, 3.0 GiB.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for x := n / unit; x >= unit && exp < 5; x /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Forward runs v once on q, k, vv as run does, under every guard: the
// range check, the memory estimate against limit before the output is
// allocated, and the finite check of the output.
func Forward(v variants.Variant, q, k, vv variants.Tensor, opt variants.Options, limit int64) (variants.Tensor, error) {
	s, err := variants.ShapeOf(q, k, vv)
	if err != nil {
		return variants.Tensor{}, err
	}
	if err := Check(v, s, opt, Extras{}, limit); err != nil {
		return variants.Tensor{}, err
	}
	if err := variants.CheckRange(v, q, k, vv, opt); err != nil {
		return variants.Tensor{}, fmt.Errorf("%s: %w", v.Name(), err)
	}
	out, err := variants.AllocTensor(s.B, s.H, s.N, s.D)
	if err != nil {
		return out, err
	}
	if err := v.Forward(q, k, vv, out, opt, variants.NewWorkspace()); err != nil {
		return out, fmt.Errorf("%s: %w", v.Name(), err)
	}
	if err := Finite(out.Data, s.D); err != nil {
		return out, fmt.Errorf("%s: %w", v.Name(), err)
	}
	return out, nil
}
