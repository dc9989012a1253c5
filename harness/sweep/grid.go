// Package sweep runs attention variants over a grid of shapes and
// parameters and writes one benchmark row per sample as it is measured.
//
// The grid is expanded and every case checked (each knob value with
// Options.Set, each case with Variant.Validate) before anything runs, so a
// bad value costs nothing and leaves an existing results file alone. Cases
// come in a fixed order: shapes outermost (batch, heads, kv-heads, d, n, m), then
// causal, threads, variant and the variant's knobs; the same spec always
// gives the same list, which is what makes -shard and -resume work.
package sweep

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/attnbench/attnbench/internal/setting"
	"github.com/attnbench/attnbench/internal/vocab"
	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
)

// Knob is a variant parameter with the list of values to sweep.
type Knob struct {
	Name   string
	Values []string
}

// Spec is what to sweep. Every list must hold at least one value, except M
// (empty: m = n for each n) and Knobs.
type Spec struct {
	Variants []string
	N, M     []int // query and key lengths
	D        []int // head dimension
	Heads    []int
	KVHeads  []int // K/V heads (grouped-query attention); empty: = heads
	Batch    []int
	Causal   []bool
	Threads  []int // 0 = all cores
	Knobs    []Knob

	// Inputs is gaussian, local, peaked (seeded with InputSeed) or
	// npy:DIR, where DIR holds q.npy, k.npy and v.npy and fixes the shape:
	// N, M, D, Heads and Batch are then ignored.
	Inputs    string
	InputSeed uint64
	// ErrInputs is the input kind relerr, maxerr, cosine and coverage are
	// computed on, when it is not Inputs: the cases are then timed on
	// Inputs and their error measured on ErrInputs (same shape and seed),
	// and their names carry an err-inputs key. "" is Inputs.
	ErrInputs string
	// LoadNPY reads one .npy file (harness/npy.Load); needed only for
	// npy:DIR inputs.
	LoadNPY func(path string) (variants.Tensor, error)
}

// Case is one point of the grid: one variant with its options on one
// shape and input.
type Case struct {
	Variant variants.Variant
	Shape   variants.Shape
	Opt     variants.Options
	// Name is the benchmark name (without "Benchmark"), docs/design.md §5.
	Name string
	// Keys holds every name key with defaults filled in, the columns of
	// CSV and JSON output.
	Keys map[string]string

	src    *source
	errSrc *source // the inputs error figures come from
}

// Skipped is a case left out before running, and why.
type Skipped struct {
	Name string
	Err  error // wraps variants.ErrUnsupported
}

// Expand checks spec and returns its cases in order, and the cases that a
// variant does not support by design (variants.ErrUnsupported, e.g. m ≠ n
// for a self-attention-only variant), which are skipped with their reason.
// Any other problem is an error; a bad setting is a *setting.Error naming it.
func Expand(spec Spec) ([]Case, []Skipped, error) {
	if len(spec.Variants) == 0 {
		return nil, nil, &setting.Error{Name: "variants", Reason: "no variant given"}
	}
	var vs []variants.Variant
	for _, name := range spec.Variants {
		v, err := variants.Lookup(name)
		if err != nil {
			return nil, nil, &setting.Error{Name: "variants", Err: err}
		}
		if slices.ContainsFunc(vs, func(x variants.Variant) bool { return x.Name() == name }) {
			return nil, nil, &setting.Error{Name: "variants", Reason: name + " given twice"}
		}
		vs = append(vs, v)
	}
	src, err := newSource(spec)
	if err != nil {
		return nil, nil, err
	}
	errSrc := src
	if spec.ErrInputs != "" && spec.ErrInputs != spec.Inputs {
		es := spec
		es.Inputs = spec.ErrInputs
		if errSrc, err = newSource(es); err != nil {
			return nil, nil, fmt.Errorf("error inputs: %w", err)
		}
		if errSrc.label == src.label {
			errSrc = src
		}
	}
	knobs, err := checkKnobs(spec.Knobs, vs)
	if err != nil {
		return nil, nil, err
	}
	shapes, err := shapes(spec, src)
	if err != nil {
		return nil, nil, err
	}
	if err := checkList("causal", spec.Causal); err != nil {
		return nil, nil, err
	}
	if err := checkInts("threads", spec.Threads, 0); err != nil {
		return nil, nil, err
	}

	var cases []Case
	var skipped []Skipped
	seen := map[string]bool{}
	for _, s := range shapes {
		for _, causal := range spec.Causal {
			for _, threads := range spec.Threads {
				for _, v := range vs {
					for _, opt := range combinations(v, knobs) {
						opt.Causal, opt.Threads = causal, threads
						c := newCase(v, s, opt, src, errSrc)
						if err := v.Validate(s, opt); errors.Is(err, variants.ErrUnsupported) {
							skipped = append(skipped, Skipped{c.Name, err})
							continue
						} else if err != nil {
							return nil, nil, fmt.Errorf("%s: %w", c.Name, err)
						}
						if seen[c.Name] {
							return nil, nil, fmt.Errorf("%s: the same case twice (a value given twice?)", c.Name)
						}
						seen[c.Name] = true
						cases = append(cases, c)
					}
				}
			}
		}
	}
	if len(cases) == 0 {
		const msg = "no case to run: every case is unsupported by its variant"
		if len(skipped) > 0 {
			return nil, skipped, fmt.Errorf(msg+" (%s: %w)", skipped[0].Name, skipped[0].Err)
		}
		return nil, skipped, errors.New(msg)
	}
	return cases, skipped, nil
}

// checkKnobs checks every value of every knob with Options.Set, and that
// each knob is read by at least one selected variant. It returns the knobs
// in variants.Params order, so the order of flags does not change the case
// order.
func checkKnobs(knobs []Knob, vs []variants.Variant) ([]Knob, error) {
	byName := map[string]Knob{}
	for _, k := range knobs {
		if _, ok := variants.LookupParam(k.Name); !ok {
			return nil, &setting.Error{Name: k.Name, Reason: "unknown parameter"}
		}
		if _, dup := byName[k.Name]; dup {
			return nil, &setting.Error{Name: k.Name, Reason: "given twice"}
		}
		if len(k.Values) == 0 {
			return nil, &setting.Error{Name: k.Name, Reason: "no value given"}
		}
		seen := map[string]bool{}
		for _, val := range k.Values {
			opt := variants.DefaultOptions()
			if err := opt.Set(k.Name, val); err != nil {
				return nil, err
			}
			if seen[val] {
				return nil, &setting.Error{Name: k.Name, Reason: val + " given twice"}
			}
			seen[val] = true
		}
		if err := CheckApplies(k.Name, vs); err != nil {
			return nil, err
		}
		byName[k.Name] = k
	}
	var ordered []Knob
	for _, p := range variants.Params() {
		if k, ok := byName[p.Name]; ok {
			ordered = append(ordered, k)
		}
	}
	return ordered, nil
}

// CheckApplies reports a parameter that none of the variants vs reads: a
// knob no selected variant reads is a mistake (another variant's knob, a
// variant left out of the list), not something to ignore. The universal
// parameters (vocab.Universal) apply to every variant.
func CheckApplies(param string, vs []variants.Variant) error {
	if slices.ContainsFunc(vs, func(v variants.Variant) bool { return reads(v, param) }) {
		return nil
	}
	var names, params []string
	for _, v := range vs {
		names = append(names, v.Name())
		params = append(params, v.Params()...)
	}
	slices.Sort(params)
	params = slices.Compact(params)
	if len(params) == 0 {
		params = []string{"none"}
	}
	if len(vs) == 1 {
		return &setting.Error{Name: param, Reason: fmt.Sprintf("does not apply to variant %s (its parameters: %s)", names[0], strings.Join(params, ", "))}
	}
	return &setting.Error{Name: param, Reason: fmt.Sprintf("does not apply to %s (their parameters: %s)", strings.Join(names, ", "), strings.Join(params, ", "))}
}

// reads reports whether variant v reads parameter name.
func reads(v variants.Variant, name string) bool {
	return vocab.IsUniversal(name) || slices.Contains(v.Params(), name)
}

// combinations returns the options for every combination of the knob
// values variant v reads, the last knob varying fastest; knobs v does not
// read stay at their defaults.
func combinations(v variants.Variant, knobs []Knob) []variants.Options {
	out := []variants.Options{variants.DefaultOptions()}
	for _, k := range knobs {
		if !reads(v, k.Name) {
			continue
		}
		next := make([]variants.Options, 0, len(out)*len(k.Values))
		for _, o := range out {
			for _, val := range k.Values {
				_ = o.Set(k.Name, val) // checked by checkKnobs
				next = append(next, o)
			}
		}
		out = next
	}
	return out
}

func shapes(spec Spec, src *source) ([]variants.Shape, error) {
	if src.npy != nil {
		return []variants.Shape{src.shape}, nil
	}
	for _, l := range []struct {
		flag string
		vals []int
	}{{"batch", spec.Batch}, {"heads", spec.Heads}, {"d", spec.D}, {"n", spec.N}} {
		if err := checkInts(l.flag, l.vals, 1); err != nil {
			return nil, err
		}
	}
	if len(spec.M) > 0 {
		if err := checkInts("m", spec.M, 1); err != nil {
			return nil, err
		}
	}
	if len(spec.KVHeads) > 0 {
		if err := checkInts("kv-heads", spec.KVHeads, 1); err != nil {
			return nil, err
		}
	}
	var out []variants.Shape
	for _, b := range spec.Batch {
		for _, h := range spec.Heads {
			kvs := spec.KVHeads
			if len(kvs) == 0 {
				kvs = []int{h}
			}
			for _, kv := range kvs {
				if kv > h || h%kv != 0 {
					return nil, &setting.Error{Name: "kv-heads", Value: strconv.Itoa(kv), Reason: fmt.Sprintf("-heads %d is not a multiple of it (each K/V head serves H/Hkv query heads)", h)}
				}
				for _, d := range spec.D {
					for _, n := range spec.N {
						ms := spec.M
						if len(ms) == 0 {
							ms = []int{n}
						}
						for _, m := range ms {
							out = append(out, variants.Shape{B: b, H: h, Hkv: kv, N: n, M: m, D: d})
						}
					}
				}
			}
		}
	}
	return out, nil
}

func checkInts(flag string, vals []int, least int) error {
	if err := checkList(flag, vals); err != nil {
		return err
	}
	for _, v := range vals {
		if v < least {
			return &setting.Error{Name: flag, Value: strconv.Itoa(v), Reason: fmt.Sprintf("must be ≥ %d", least)}
		}
	}
	return nil
}

func checkList[T comparable](flag string, vals []T) error {
	if len(vals) == 0 {
		return &setting.Error{Name: flag, Reason: "no value given"}
	}
	for i, v := range vals {
		if slices.Contains(vals[:i], v) {
			return &setting.Error{Name: flag, Reason: fmt.Sprintf("%v given twice", v)}
		}
	}
	return nil
}

// newCase names a case. Its keys come in vocab.NameKeys order (docs/design.md
// §5): variant, causal, batch, heads, kv-heads (only when it differs from
// heads), n, m (only when m ≠ n), d; then, only when not at their
// defaults, threads, inputs (default gaussian), err-inputs (only when the
// error figures come from other inputs than the timing), the variant's own
// parameters and the universal ones (scale, seed). The suffix is
// GOMAXPROCS, as go test writes it.
func newCase(v variants.Variant, s variants.Shape, opt variants.Options, src, errSrc *source) Case {
	threads := opt.Threads
	if threads == 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	cols := map[string]string{
		"variant": v.Name(), "causal": strconv.FormatBool(opt.Causal),
		"batch": strconv.Itoa(s.B), "heads": strconv.Itoa(s.H), "kv-heads": strconv.Itoa(s.KVHeads()),
		"n": strconv.Itoa(s.N), "m": strconv.Itoa(s.M), "d": strconv.Itoa(s.D),
		"threads": strconv.Itoa(threads), "inputs": src.label, "err-inputs": errSrc.label,
	}
	var read []string
	for _, p := range variants.Params() {
		if reads(v, p.Name) {
			cols[p.Name] = opt.Get(p.Name)
			read = append(read, p.Name)
		}
	}

	// A name leaves out what goes without saying.
	omit := map[string]bool{
		"kv-heads":   s.KVHeads() == s.H,
		"m":          s.M == s.N,
		"threads":    opt.Threads == 0,
		"inputs":     src.label == "gaussian",
		"err-inputs": errSrc.label == src.label,
	}
	keys := slices.DeleteFunc(vocab.Keys(vocab.CaseKey), func(k string) bool { return omit[k] })
	keys = append(keys, opt.NonDefault(read)...)
	slices.SortStableFunc(keys, func(a, b string) int { return vocab.KeyRank(a) - vocab.KeyRank(b) })

	var b strings.Builder
	b.WriteString("Attention")
	for _, k := range keys {
		fmt.Fprintf(&b, "/%s=%s", k, nameValue(cols[k]))
	}
	if p := runtime.GOMAXPROCS(0); p != 1 {
		fmt.Fprintf(&b, "-%d", p)
	}
	return Case{Variant: v, Shape: s, Opt: opt, Name: b.String(), Keys: cols, src: src, errSrc: errSrc}
}

// nameValue makes a value safe inside a benchmark name: no '/', which
// separates keys, and no space, which ends the name.
func nameValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == '\t' || r == '\n' {
			return '_'
		}
		return r
	}, s)
}

// KeyColumns returns the CSV/JSON columns of every case: the case keys
// (vocab.CaseKey), then every variant parameter in the parameter table's
// order. It depends only on the tables, so files written by different
// sweeps share one header.
func KeyColumns() []string {
	cols := vocab.Keys(vocab.CaseKey)
	for _, p := range variants.Params() {
		cols = append(cols, p.Name)
	}
	return cols
}

// source makes the inputs of a case.
type source struct {
	kind  string // an inputs.Kinds entry, or "npy"
	seed  uint64
	label string // the inputs name key

	// npy:DIR inputs, loaded once.
	npy   *[3]variants.Tensor
	shape variants.Shape
}

func newSource(spec Spec) (*source, error) {
	kind := spec.Inputs
	if kind == "" {
		kind = "gaussian"
	}
	dir, isNPY := strings.CutPrefix(kind, "npy:")
	if !isNPY {
		if !slices.Contains(inputs.Kinds, kind) {
			return nil, &setting.Error{Name: "inputs", Value: kind, Reason: "want " + strings.Join(inputs.Kinds, ", ") + " or npy:DIR"}
		}
		return &source{kind: kind, seed: spec.InputSeed, label: kind}, nil
	}
	if dir == "" {
		return nil, &setting.Error{Name: "inputs", Value: "npy:DIR", Reason: "no directory given"}
	}
	if spec.LoadNPY == nil {
		return nil, &setting.Error{Name: "inputs", Value: "npy", Reason: "this build cannot read .npy files"}
	}
	var t [3]variants.Tensor
	for i, name := range []string{"q.npy", "k.npy", "v.npy"} {
		var err error
		if t[i], err = spec.LoadNPY(filepath.Join(dir, name)); err != nil {
			return nil, &setting.Error{Name: "inputs", Value: kind, Err: err}
		}
	}
	s, err := variants.ShapeOf(t[0], t[1], t[2])
	if err != nil {
		return nil, &setting.Error{Name: "inputs", Value: kind, Err: err}
	}
	label := "npy:" + nameValue(filepath.Base(filepath.Clean(dir)))
	return &source{kind: "npy", label: label, npy: &t, shape: s}, nil
}

// make returns the inputs for shape s.
func (src *source) make(s variants.Shape) (q, k, v variants.Tensor, err error) {
	if src.npy != nil {
		return src.npy[0], src.npy[1], src.npy[2], nil
	}
	return inputs.Generate(src.kind, s, src.seed)
}

// Shard returns the k-th of n slices of cases (k from 1): every n-th case,
// starting at the k-th. Dealing cases out in turn, rather than cutting the
// list in n blocks, gives every shard a similar mix of small and large
// cases. The n slices partition the list.
func Shard(cases []Case, k, n int) []Case {
	var out []Case
	for i := k - 1; i < len(cases); i += n {
		out = append(out, cases[i])
	}
	return out
}

// ParseShard parses "k/n" with 1 ≤ k ≤ n.
func ParseShard(s string) (k, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	switch {
	case !ok || err1 != nil || err2 != nil:
		return 0, 0, &setting.Error{Name: "shard", Value: s, Reason: "want k/n, e.g. 2/4"}
	case n < 1:
		return 0, 0, &setting.Error{Name: "shard", Value: s, Reason: "n must be ≥ 1"}
	case k < 1 || k > n:
		return 0, 0, &setting.Error{Name: "shard", Value: s, Reason: fmt.Sprintf("k must be between 1 and %d", n)}
	}
	return k, n, nil
}
