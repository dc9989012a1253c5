// Package vocab is the one vocabulary of attnbench's results: the units a
// result line carries and which way each is better, the keys of a benchmark
// name in the order names carry them, the parameters every variant takes,
// and the order variants are shown in (docs/design.md §4, §5).
//
// It imports nothing of attnbench's, so the sweep that writes results
// (harness/), the variants that own the parameters (variants/) and the
// reports and gate that read results share this one copy instead of each
// keeping its own. A test in variants ties every registered variant and
// every parameter to these tables.
package vocab

import (
	"slices"
	"strings"
)

// Units, as result lines carry them (docs/design.md §4).
const (
	NsPerOp = "ns/op"   // time per Forward
	GFLOPS  = "GFLOP/s" // useful flops per second
	PctPeak = "%peak"   // GFLOP/s as a share of the cached FMA peak
	GBs     = "GB/s"    // K and V bytes read per second (small n, exact variants)
	// PctBandwidth is GB/s as a share of the streaming bandwidth measured
	// on all cores just before the sample.
	PctBandwidth = "%bandwidth"
	PeakBytes    = "peak-B/op" // workspace peak of one Forward
	BytesPerOp   = "B/op"      // heap bytes allocated per Forward
	AllocsPerOp  = "allocs/op" // heap allocations per Forward
	RelErr       = "relerr"    // relative Frobenius error against exact attention
	MaxErr       = "maxerr"    // largest absolute error
	Cosine       = "cosine"    // cosine similarity of the output rows
	Coverage     = "coverage"  // share of the exact attention mass the candidate sets keep

	// SecPerOp is ns/op as benchfmt readers tidy it (benchunit.Tidy): the
	// unit the gate and the reports see.
	SecPerOp = "sec/op"
)

// Better is the direction in which a unit improves, as a results file's
// `Unit X better=…` line writes it.
type Better string

const (
	Higher Better = "higher"
	Lower  Better = "lower"
)

// Sign is +1 for Higher, -1 for Lower and 0 for any other word.
func (b Better) Sign() int {
	switch b {
	case Higher:
		return +1
	case Lower:
		return -1
	}
	return 0
}

// Range is the values a measurement in a unit can take.
type Range int

const (
	// Positive: a time or a rate, zero only when nothing was measured.
	Positive Range = iota
	// NonNegative: a count, an error or a share; 0 is a fine value.
	NonNegative
	// Signed: any value (a cosine similarity).
	Signed
)

// Unit is a metric of a result line.
type Unit struct {
	Name   string
	Better Better
	Range  Range
}

// units lists every metric, in the order result lines carry them.
var units = []Unit{
	{NsPerOp, Lower, Positive},
	{GFLOPS, Higher, Positive},
	{PctPeak, Higher, Positive},
	{GBs, Higher, Positive},
	{PctBandwidth, Higher, Positive},
	{PeakBytes, Lower, NonNegative},
	{BytesPerOp, Lower, NonNegative},
	{AllocsPerOp, Lower, NonNegative},
	{RelErr, Lower, NonNegative},
	{MaxErr, Lower, NonNegative},
	{Cosine, Higher, Signed},
	{Coverage, Higher, NonNegative},
}

// Units returns every metric attnbench reports, in the order result lines
// carry them.
func Units() []Unit { return slices.Clone(units) }

// Kind says what a name key describes.
type Kind int

const (
	// CaseKey describes the case rather than a variant's knob: the
	// variant, the shape, the threads, the inputs. Every case has a value
	// for each (a CSV column), though a name leaves out the ones that go
	// without saying.
	CaseKey Kind = iota
	// VariantParam is a parameter some variants read (Variant.Params).
	VariantParam
	// UniversalParam is a parameter every variant takes (docs/design.md §2).
	UniversalParam
)

// NameKey is one key of a benchmark name.
type NameKey struct {
	Name string
	Kind Kind
	// Symbol is docs/design.md §2's symbol for a knob, which keeps legends short;
	// "" where the name is used.
	Symbol string
}

// nameKeys is every key of a benchmark name, in the order names carry them
// (docs/design.md §5): the case keys, each variant's own parameters (grouped by
// variant, as variants/options.go lists them), then the universal ones.
var nameKeys = []NameKey{
	{"variant", CaseKey, ""}, {"causal", CaseKey, ""},
	{"batch", CaseKey, ""}, {"heads", CaseKey, ""}, {"kv-heads", CaseKey, ""},
	{"n", CaseKey, ""}, {"m", CaseKey, ""}, {"d", CaseKey, ""},
	{"threads", CaseKey, ""}, {"inputs", CaseKey, ""}, {"err-inputs", CaseKey, ""},
	// flash
	{"block-q", VariantParam, ""}, {"block-k", VariantParam, ""},
	// window
	{"window", VariantParam, "w"}, {"dilation", VariantParam, ""}, {"global", VariantParam, "g"},
	// sparse
	{"pattern", VariantParam, ""}, {"stride", VariantParam, "l"}, {"summary", VariantParam, "c"},
	{"block", VariantParam, "b"}, {"random", VariantParam, "r"},
	// lsh
	{"buckets", VariantParam, "nb"}, {"rounds", VariantParam, ""}, {"chunk", VariantParam, "c"},
	{"shared-qk", VariantParam, ""},
	// linear
	{"kernel", VariantParam, ""}, {"features", VariantParam, "m"}, {"eps", VariantParam, ""},

	{"scale", UniversalParam, ""}, {"seed", UniversalParam, ""},
}

// NameKeys returns every name key, in the order benchmark names carry them.
func NameKeys() []NameKey { return slices.Clone(nameKeys) }

// Keys returns the names of the name keys of one kind, in name order.
func Keys(kind Kind) []string {
	var out []string
	for _, k := range nameKeys {
		if k.Kind == kind {
			out = append(out, k.Name)
		}
	}
	return out
}

// Universal returns the parameters every variant takes: they apply to
// every selected variant, and appear in a name when not at their defaults.
func Universal() []string { return Keys(UniversalParam) }

// IsUniversal reports whether every variant takes parameter name.
func IsUniversal(name string) bool {
	i := KeyRank(name)
	return i < len(nameKeys) && nameKeys[i].Kind == UniversalParam
}

// KeyRank is the place of key name in a benchmark name; a key not listed
// ranks after every listed one, at len(NameKeys()).
func KeyRank(name string) int {
	if i := slices.IndexFunc(nameKeys, func(k NameKey) bool { return k.Name == name }); i >= 0 {
		return i
	}
	return len(nameKeys)
}

// Symbol returns docs/design.md §2's symbol for key name, or name itself when it
// has none.
func Symbol(name string) string {
	if i := KeyRank(name); i < len(nameKeys) && nameKeys[i].Symbol != "" {
		return nameKeys[i].Symbol
	}
	return name
}

// variantOrder is the display order of the variants: exact first, then by
// family. It fixes the order of lists and each variant's colour and marker
// in every plot.
var variantOrder = []string{"full", "flash", "window", "sparse", "lsh", "linear"}

// VariantOrder returns the variants in display order.
func VariantOrder() []string { return slices.Clone(variantOrder) }

// VariantRank is the place of variant name in the display order; a variant
// not listed ranks after every listed one, at len(VariantOrder()).
func VariantRank(name string) int {
	if i := slices.Index(variantOrder, name); i >= 0 {
		return i
	}
	return len(variantOrder)
}

// CompareVariants orders variant names for display: in the display order,
// the unlisted ones after, alphabetically.
func CompareVariants(a, b string) int {
	if c := VariantRank(a) - VariantRank(b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}
