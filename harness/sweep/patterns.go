package sweep

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/attnbench/attnbench/internal/atomicfile"
	"github.com/attnbench/attnbench/internal/setting"
	"github.com/attnbench/attnbench/variants"
)

// The attention maps of a sweep (docs/accuracy.md): for one head at a small
// n, exact attention's weights beside each approximate variant's effective
// weights, written to a sidecar file that the results name in a
// "patterns:" configuration line, so a report draws them from files alone.

// PatternsConfigKey is the configuration line that says the results have
// a sidecar file of attention maps. Its value, PatternsSuffix, is the same
// for every results file, so that the line never sets two files apart
// (benchstat's tables are split by configuration): the sidecar of FILE.txt
// is FILE.patterns.json.gz.
const PatternsConfigKey = "patterns"

// PatternsSuffix replaces the results file's extension in its sidecar's
// name, and is the value of the PatternsConfigKey line.
const PatternsSuffix = ".patterns.json.gz"

// PatternOutside marks, in PatternMap.Log10, a key outside the query's
// candidate set: the variant gives it no weight by construction.
const PatternOutside = math.MinInt16

// patternFloor is the smallest Log10 value written (weights below 1e-30
// are written as 1e-30).
const patternFloor = -3000

// Patterns is the sidecar file's content (gzip-compressed JSON).
type Patterns struct {
	Format int    `json:"format"` // 1
	Inputs string `json:"inputs"` // the input kind, as in the err-inputs key
	Seed   uint64 `json:"seed"`
	// The shape of the inputs; the maps are of batch 0, head Head.
	B      int          `json:"b"`
	H      int          `json:"h"`
	N      int          `json:"n"`
	M      int          `json:"m"`
	D      int          `json:"d"`
	Head   int          `json:"head"`
	Causal bool         `json:"causal"`
	Maps   []PatternMap `json:"maps"`
	// Notes say which variants have no map and why.
	Notes []string `json:"notes,omitempty"`
}

// PatternMap is one N×M weight matrix, row-major (query i, key j).
type PatternMap struct {
	Name    string `json:"name"`    // "exact", or the variant
	Options string `json:"options"` // its non-default parameters, "window=64 global=2"
	// Coverage is the exact mass this head's candidate sets keep (mean
	// over its queries); absent for exact and linear attention.
	Coverage *float64 `json:"coverage,omitempty"`
	// Log10 is round(100·log10(weight)), at least -3000, or
	// PatternOutside where the key is not in the query's candidate set.
	Log10 []int16 `json:"log10"`
}

// PatternsPath is the sidecar file of a results file: beside it, its
// extension replaced by PatternsSuffix.
func PatternsPath(resultsPath string) string {
	return strings.TrimSuffix(resultsPath, filepath.Ext(resultsPath)) + PatternsSuffix
}

// MakePatterns computes the attention maps for the variants of cases at n
// queries and keys: on the cases' error inputs, with the batch of one, the
// heads, d and causality of the first case, head 0, and each approximate
// variant's options of its first case. Exact variants (full, flash) are
// the exact map and get none of their own. It returns nil, with no error,
// when the inputs are .npy files, whose shape is fixed.
func MakePatterns(cases []Case, n int) (*Patterns, error) {
	if len(cases) == 0 || n < 1 {
		return nil, &setting.Error{Name: "pattern-n", Value: fmt.Sprint(n), Reason: "must be ≥ 1"}
	}
	first := cases[0]
	src := first.errSrc
	if src.npy != nil {
		return nil, nil
	}
	s := variants.Shape{B: 1, H: first.Shape.H, N: n, M: n, D: first.Shape.D}
	q, k, v, err := src.make(s)
	if err != nil {
		return nil, err
	}
	p := &Patterns{Format: 1, Inputs: src.label, Seed: src.seed, B: s.B, H: s.H, N: n, M: n, D: s.D, Causal: first.Opt.Causal}
	exactOpt := variants.DefaultOptions()
	exactOpt.Causal, exactOpt.Scale = first.Opt.Causal, first.Opt.Scale
	exact, err := variants.ExactMap(q, k, exactOpt, 0, p.Head)
	if err != nil {
		return nil, err
	}
	p.Maps = append(p.Maps, PatternMap{Name: "exact", Log10: encodeMap(exact)})
	seen := map[string]bool{}
	for _, c := range cases {
		name := c.Variant.Name()
		if seen[name] || c.Variant.Exact() || c.Opt.Causal != first.Opt.Causal {
			continue
		}
		seen[name] = true
		opt := c.Opt
		opt.Threads = 0
		m, ok, err := variants.EffectiveMap(c.Variant, q, k, v, opt, 0, p.Head)
		if err != nil || !ok {
			why := "it has no attention weights"
			if err != nil {
				why = err.Error()
			}
			p.Notes = append(p.Notes, fmt.Sprintf("%s: no map at n=%d: %s", name, n, why))
			continue
		}
		pm := PatternMap{Name: name, Options: optionsText(c), Log10: encodeMap(m)}
		if name == "lsh" && opt.SharedQK {
			// Its weights are on its own keys, the normalised queries.
			pm.Options = strings.TrimSpace(pm.Options + " shared-QK")
		}
		if cov, ok := headCoverage(c.Variant, q, k, v, opt, p.Head); ok {
			pm.Coverage = &cov
		}
		p.Maps = append(p.Maps, pm)
	}
	return p, nil
}

// headCoverage is Coverage restricted to one head of batch 0.
func headCoverage(v variants.Variant, q, k, vv variants.Tensor, opt variants.Options, h int) (float64, bool) {
	one := func(t variants.Tensor) variants.Tensor {
		return variants.Tensor{B: 1, H: 1, S: t.S, D: t.D, Data: t.Head(0, h)}
	}
	cov, ok, err := variants.Coverage(v, one(q), one(k), one(vv), opt)
	return cov, ok && err == nil
}

// optionsText lists a case's non-default variant parameters.
func optionsText(c Case) string {
	var parts []string
	for _, p := range c.Opt.NonDefault(c.Variant.Params()) {
		parts = append(parts, p+"="+c.Opt.Get(p))
	}
	return strings.Join(parts, " ")
}

func encodeMap(m variants.AttentionMap) []int16 {
	out := make([]int16, len(m.Weights))
	for x, w := range m.Weights {
		switch {
		case !m.In[x]:
			out[x] = PatternOutside
		case w <= 0:
			out[x] = patternFloor
		default:
			out[x] = int16(max(patternFloor, math.Round(100*math.Log10(w))))
		}
	}
	return out
}

// WritePatterns writes p to path, gzip-compressed JSON, atomically.
func WritePatterns(path string, p *Patterns) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(p); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}
