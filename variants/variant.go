package variants

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/attnbench/attnbench/internal/vocab"
)

// ErrUnsupported is wrapped by Validate errors for shapes or options a
// variant does not support by design (as opposed to values that make no
// sense), e.g. M ≠ N for a self-attention-only variant.
var ErrUnsupported = errors.New("not supported by this variant")

// Variant is one attention algorithm.
type Variant interface {
	// Name is the registry name: full, flash, window, sparse, lsh, linear.
	Name() string
	// Exact reports whether the variant computes exact softmax attention.
	Exact() bool
	// Params lists the names of the parameters (see Params) the variant
	// reads, beyond causal, scale and threads.
	Params() []string
	// Validate reports parameter values that make no sense for shape s.
	Validate(s Shape, opt Options) error
	// Forward computes out from q, k, v in float32. Every scratch byte comes
	// from ws. out must be allocated with q's shape.
	Forward(q, k, v, out Tensor, opt Options, ws *Workspace) error
	// Reference computes the variant's definition (docs/design.md §2) in float64 by
	// brute force, independently of Forward's algorithm.
	Reference(q, k, v Tensor, opt Options) ([]float64, error)
	// Naive evaluates the same definition as Reference in plain float32:
	// the yardstick of the parity tolerance (docs/design.md §3.1).
	Naive(q, k, v Tensor, opt Options) ([]float32, error)
	// Flops is the flop count of docs/design.md §4 for shape s: exact where the
	// candidate sets follow from the shape alone, a model where they
	// depend on the data (see DataFlopser and UsefulFlops).
	Flops(s Shape, opt Options) float64
	// WorkspaceBytes estimates the workspace peak of one Forward, so a sweep
	// can skip a case that would not fit in memory before running it.
	WorkspaceBytes(s Shape, opt Options) int64
}

// DataFlopser is implemented by variants whose useful work depends on the
// inputs, not only on the shape (LSH: its candidate sets follow the hash
// buckets). FlopsOn counts docs/design.md §4's useful flops exactly for these
// inputs; Flops stays a model of them, for planning before the inputs
// exist.
type DataFlopser interface {
	FlopsOn(q, k, v Tensor, opt Options) (float64, error)
}

// UsefulFlops returns the useful flops of v's Forward on these inputs
// (docs/design.md §4): counted by FlopsOn where v implements it, else Flops.
func UsefulFlops(v Variant, q, k, vv Tensor, opt Options) (float64, error) {
	if c, ok := v.(DataFlopser); ok {
		return c.FlopsOn(q, k, vv, opt)
	}
	s, err := ShapeOf(q, k, vv)
	if err != nil {
		return 0, err
	}
	return v.Flops(s, opt), nil
}

// ExactTargeter is implemented by variants whose natural exact counterpart
// is not plain softmax attention over Q, K, V (LSH in shared-QK mode
// compares with shared-QK attention that leaves each query's own position
// out). ExactTarget returns that exact attention in float64.
type ExactTargeter interface {
	ExactTarget(q, k, v Tensor, opt Options) ([]float64, error)
}

// ExactAttention returns the exact softmax attention that variant v
// approximates, in float64 (docs/design.md §3.2).
func ExactAttention(v Variant, q, k, vv Tensor, opt Options) ([]float64, error) {
	if t, ok := v.(ExactTargeter); ok {
		return t.ExactTarget(q, k, vv, opt)
	}
	return SoftmaxAttention64(q, k, vv, opt)
}

var registry = map[string]func() Variant{}

// Register adds a variant constructor under its name.
func Register(name string, newVariant func() Variant) {
	if _, dup := registry[name]; dup {
		panic("variants: registered twice: " + name)
	}
	registry[name] = newVariant
}

// Names returns the registered variant names in display order
// (vocab.VariantOrder), a variant not listed there after the listed ones,
// alphabetically.
func Names() []string {
	var names []string
	for n := range registry {
		names = append(names, n)
	}
	slices.SortFunc(names, vocab.CompareVariants)
	return names
}

// Lookup returns a new instance of the named variant.
func Lookup(name string) (Variant, error) {
	f, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown variant %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return f(), nil
}

// prepare is the common start of Forward: shapes agree, out fits, the
// parameters make sense.
func prepare(v Variant, q, k, vv, out Tensor, opt Options) (Shape, error) {
	s, err := ShapeOf(q, k, vv)
	if err != nil {
		return s, err
	}
	if err := checkOut(s, out); err != nil {
		return s, err
	}
	return s, v.Validate(s, opt)
}

// attentionFlops is 4·B·H·pairs·D: two multiply-adds per (query, key, dim)
// pair, one for Q·Kᵀ and one for P·V.
func attentionFlops(s Shape, pairsPerHead float64) float64 {
	return 4 * float64(s.B) * float64(s.H) * pairsPerHead * float64(s.D)
}

// LogitBounder is implemented by variants whose logits are not scale·q_i·k_j
// over the given Q and K (LSH in shared-QK mode uses normalised queries as
// keys; linear attention has no softmax logits and returns 0).
type LogitBounder interface {
	MaxLogit(q, k Tensor, opt Options) float64
}

// MaxLogit returns the largest |logit| a variant's softmax can see on these
// inputs: the variant's own bound when it has one, otherwise
// max |scale·q_i·k_j| over all pairs (a bound for any candidate set),
// computed in float64 by brute force.
func MaxLogit(v Variant, q, k Tensor, opt Options) float64 {
	if b, ok := v.(LogitBounder); ok {
		return b.MaxLogit(q, k, opt)
	}
	return maxPairLogit(q, k, float64(opt.ScaleFor(q.D)))
}

// maxPairLogit returns max |scale·q_i·k_j| over every pair of a head, in
// float64.
func maxPairLogit(q, k Tensor, scale float64) float64 {
	var m float64
	for b := range q.B {
		for h := range q.H {
			qh, kh := q.Head(b, h), k.Head(b, h/(q.H/k.H))
			for i := range q.S {
				qi := qh[i*q.D : (i+1)*q.D]
				for j := range k.S {
					kj := kh[j*k.D : (j+1)*k.D]
					var dot float64
					for d, x := range qi {
						dot += float64(x) * float64(kj[d])
					}
					m = max(m, math.Abs(scale*dot))
				}
			}
		}
	}
	return m
}
