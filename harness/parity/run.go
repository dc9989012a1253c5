// Package parity runs docs/design.md §3's checks over a grid of cases: it makes each
// case's inputs, refuses what would not fit in memory, and asks
// variants/oracle both questions (is the fast path right, how far is it from
// exact attention) plus the variant's coverage.
package parity

import (
	"fmt"

	"github.com/attnbench/attnbench/harness/guard"
	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
	"github.com/attnbench/attnbench/variants/oracle"
)

// Case is one parity check: a variant with its options on one shape and
// input kind.
type Case struct {
	Variant string
	Shape   variants.Shape
	Opt     variants.Options
	Input   string // an inputs.Kinds entry
	Seed    uint64 // input seed
}

// Result holds both answers of docs/design.md §3 for one case.
type Result struct {
	Case
	FastPath oracle.FastPath
	Approx   oracle.Approximation
	// Coverage is the exact attention mass the variant's candidate sets
	// keep (variants.Coverage); HasCoverage is false for variants without
	// candidate sets.
	Coverage    float64
	HasCoverage bool
}

// CheckMemory refuses a case whose estimated memory (guard.Estimate of
// everything Run computes) is over limit, before anything is allocated.
func CheckMemory(c Case, limit int64) error {
	v, err := variants.Lookup(c.Variant)
	if err != nil {
		return err
	}
	return guard.Check(v, c.Shape, c.Opt, guard.Extras{Definition: true, Exact: !v.Exact()}, limit)
}

// Run checks one case: Forward against the variant's Reference (§3.1) and
// against exact softmax attention (§3.2).
func Run(c Case) (Result, error) {
	r := Result{Case: c}
	v, err := variants.Lookup(c.Variant)
	if err != nil {
		return r, err
	}
	if err := v.Validate(c.Shape, c.Opt); err != nil {
		return r, err
	}
	q, k, vv, err := inputs.Generate(c.Input, c.Shape, c.Seed)
	if err != nil {
		return r, err
	}
	if err := variants.CheckRange(v, q, k, vv, c.Opt); err != nil {
		return r, fmt.Errorf("%s on %v: %w", c.Variant, c.Shape, err)
	}
	fp, out, ref, err := oracle.CheckFastPathWithReference(v, q, k, vv, c.Opt)
	if err != nil {
		return r, fmt.Errorf("%s: %w", c.Variant, err)
	}
	r.FastPath = fp
	// An exact variant's definition is exact attention: no second float64
	// evaluation.
	exact := ref
	if !v.Exact() {
		if exact, err = variants.ExactAttention(v, q, k, vv, c.Opt); err != nil {
			return r, err
		}
	}
	r.Approx = oracle.Approximate(out, exact, c.Shape.D)
	if r.Coverage, r.HasCoverage, err = variants.Coverage(v, q, k, vv, c.Opt); err != nil {
		return r, err
	}
	return r, nil
}
