package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/attnbench/attnbench/harness/guard"
	"github.com/attnbench/attnbench/harness/parity"
	"github.com/attnbench/attnbench/harness/sweep"
	"github.com/attnbench/attnbench/internal/vocab"
	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
)

func init() {
	register(command{
		name:    "parity",
		summary: "check each variant against its float64 definition and report its error vs exact attention",
		run:     runParity,
	})
}

func runParity(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("parity", stderr)
	variantList := fs.String("variants", strings.Join(variants.Names(), ","), "variants to check")
	nList := fs.String("n", "1,77,300", "query lengths")
	mList := fs.String("m", "", "key lengths (default: m = n)")
	dList := fs.String("d", "7,64", "head dimensions")
	heads := fs.Int("heads", 2, "heads")
	batch := fs.Int("batch", 1, "batch size")
	causalList := fs.String("causal", "false,true", "causal settings to check")
	inputList := fs.String("inputs", strings.Join(inputs.Kinds, ","), "input kinds: "+strings.Join(inputs.Kinds, ", "))
	seed := fs.Uint64("input-seed", 1, "seed of the generated inputs")
	threads := fs.Int("threads", 0, "goroutines (0 = all cores)")
	verbose := fs.Bool("v", false, "print every case, not only failures and the approximation summary")
	maxMem := fs.String("max-mem", guard.DefaultMaxMem, guard.MaxMemUsage)
	llmShapes := fs.Bool("llm-shapes", true, "also check language-model inference shapes: 4 query heads on 2 and on 1 K/V heads, decode (n=1) and chunks (n=77) against m=300 keys, n=300 against m=77, causal")
	knobs := addKnobFlags(fs, true)
	if err := fs.Parse(args); err != nil {
		return knobs.parseError(err)
	}
	if fs.NArg() > 0 {
		return unexpectedArgs(fs, args, "")
	}
	spec := sweep.Spec{
		Variants:  splitList(*variantList),
		Heads:     []int{*heads},
		Batch:     []int{*batch},
		Threads:   []int{*threads},
		Knobs:     knobs.sweepKnobs(),
		InputSeed: *seed,
	}
	var err error
	if spec.N, err = parseInts("n", *nList, 1); err != nil {
		return badInput("%w", err)
	}
	if *mList != "" {
		if spec.M, err = parseInts("m", *mList, 1); err != nil {
			return badInput("%w", err)
		}
	}
	if spec.D, err = parseInts("d", *dList, 1); err != nil {
		return badInput("%w", err)
	}
	if spec.Causal, err = parseBools("causal", *causalList); err != nil {
		return badInput("%w", err)
	}
	kinds := splitList(*inputList)
	if len(kinds) == 0 {
		return badInput("-inputs: no input kind given")
	}
	for _, k := range kinds {
		if !slices.Contains(inputs.Kinds, k) {
			return badInput("-inputs: unknown input kind %q (want %s)", k, strings.Join(inputs.Kinds, ", "))
		}
	}

	// The same grid as a sweep's, once per input kind; every case is built
	// and checked before any work is done.
	var cases []parity.Case
	for _, kind := range kinds {
		spec.Inputs = kind
		grid, unsupported, err := sweep.Expand(spec)
		if err != nil {
			return badInput("%w", err)
		}
		for _, u := range unsupported {
			fmt.Fprintf(stderr, "attnbench parity: unsupported, not checked: %s: %s\n", u.Name, flagMessage(u.Err))
		}
		for _, c := range grid {
			cases = append(cases, parity.Case{Variant: c.Variant.Name(), Shape: c.Shape, Opt: c.Opt, Input: kind, Seed: *seed})
		}
		if !*llmShapes {
			continue
		}
		// Grouped K/V heads and queries at the last positions (p_i = i +
		// m − n): decode, a prefill chunk, more queries than keys, and
		// n = m with both causal settings.
		for _, g := range []struct {
			n, m   []int
			causal []bool
		}{{[]int{1, 77}, []int{300}, []bool{true}}, {[]int{300}, []int{77}, []bool{true}}, {[]int{77}, nil, []bool{false, true}}} {
			llm := spec
			llm.Heads, llm.KVHeads, llm.N, llm.M, llm.Causal = []int{4}, []int{2, 1}, g.n, g.m, g.causal
			if slices.Contains(llm.Variants, "lsh") && !slices.ContainsFunc(llm.Knobs, func(k sweep.Knob) bool { return k.Name == "shared-qk" }) {
				// Shared-QK LSH needs Hkv = H and m = n: check the
				// separate hashing, which takes these shapes.
				llm.Knobs = append(slices.Clone(llm.Knobs), sweep.Knob{Name: "shared-qk", Values: []string{"false"}})
			}
			grid, _, err := sweep.Expand(llm)
			if err != nil {
				return badInput("%w", err)
			}
			for _, c := range grid {
				cases = append(cases, parity.Case{Variant: c.Variant.Name(), Shape: c.Shape, Opt: c.Opt, Input: kind, Seed: *seed})
			}
		}
	}
	names := spec.Variants
	limit, err := guard.Limit(*maxMem)
	if err != nil {
		return badInput("%w", err)
	}
	for _, c := range cases {
		if err := parity.CheckMemory(c, limit); err != nil {
			return badInput("%w", err)
		}
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "variant\tknobs\tcausal\tinput\tshape\tmaxerr\ttolerance\tnaive f32\tcheck\trelerr vs exact\tcosine\tcoverage\t")
	failed := 0
	worst := map[string]parity.Result{} // per variant, the case closest to its tolerance
	for _, c := range cases {
		r, err := parity.Run(c)
		if err != nil {
			tw.Flush()
			return badInput("%w", err)
		}
		verdict := "ok"
		if !r.FastPath.Pass {
			verdict = "FAIL"
			failed++
		}
		if w, ok := worst[c.Variant]; !ok || ratio(r) > ratio(w) {
			worst[c.Variant] = r
		}
		v, _ := variants.Lookup(c.Variant)
		if *verbose || !r.FastPath.Pass || !v.Exact() {
			cov := "—"
			if r.HasCoverage {
				cov = fmt.Sprintf("%.4f", r.Coverage)
			}
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%.2g\t%.2g\t%.2g\t%s\t%.3g\t%.4f\t%s\t\n",
				c.Variant, knobText(v, c.Opt), c.Opt.Causal, c.Input, shapeText(c.Shape),
				r.FastPath.MaxErr, r.FastPath.Tol, r.FastPath.NaiveErr, verdict, r.Approx.RelErr, r.Approx.Cosine, cov)
		}
	}
	tw.Flush()
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "closest to tolerance, per variant:")
	for _, name := range names {
		if w, ok := worst[name]; ok {
			fmt.Fprintf(stdout, "  %-7s maxerr %.3g, tolerance %.3g (%.0f%%), on %s causal=%v %v\n",
				name, w.FastPath.MaxErr, w.FastPath.Tol, 100*ratio(w), w.Input, w.Opt.Causal, w.Shape)
		}
	}
	fmt.Fprintf(stdout, "parity: %d passed, %d failed\n", len(cases)-failed, failed)
	if failed > 0 {
		return checkFailed("%d of %d cases exceed the tolerance of docs/design.md §3.1", failed, len(cases))
	}
	return nil
}

// knobText renders the variant's non-default parameters, or "-".
func knobText(v variants.Variant, o variants.Options) string {
	var parts []string
	for _, p := range o.NonDefault(append(vocab.Universal(), v.Params()...)) {
		parts = append(parts, p+"="+o.Get(p))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

// ratio is a case's error as a share of its tolerance.
func ratio(r parity.Result) float64 {
	if r.FastPath.Tol == 0 {
		return 0
	}
	return r.FastPath.MaxErr / r.FastPath.Tol
}

// shapeText writes a shape as BxHxNxMxD, with the K/V heads as H/Hkv when
// they differ from the query heads.
func shapeText(s variants.Shape) string {
	h := fmt.Sprint(s.H)
	if s.KVHeads() != s.H {
		h += fmt.Sprintf("/%d", s.KVHeads())
	}
	return fmt.Sprintf("%dx%sx%dx%dx%d", s.B, h, s.N, s.M, s.D)
}
