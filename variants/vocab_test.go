package variants_test

import (
	"slices"
	"testing"

	"github.com/attnbench/attnbench/internal/vocab"
	"github.com/attnbench/attnbench/variants"
)

// TestVocabularyCoversVariants ties the registered variants and the
// parameter table to internal/vocab, the one list the sweep names cases
// by, the reports sort and draw by and the gate reads units by: a variant
// or knob added here without its entry there fails.
func TestVocabularyCoversVariants(t *testing.T) {
	order := vocab.VariantOrder()
	for _, name := range variants.Names() {
		if !slices.Contains(order, name) {
			t.Errorf("variant %s is not in vocab's display order %v (internal/vocab: variantOrder)", name, order)
		}
		v, err := variants.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range v.Params() {
			if _, ok := variants.LookupParam(p); !ok {
				t.Errorf("%s.Params() lists %s, which the parameter table (variants/options.go) lacks", name, p)
			}
			if k := paramKey(p); k == nil {
				t.Errorf("%s.Params() lists %s, which has no place in vocab's name keys (internal/vocab: nameKeys)", name, p)
			}
		}
	}
	for _, name := range order {
		if _, err := variants.Lookup(name); err != nil {
			t.Errorf("vocab's display order lists %s, which is not registered", name)
		}
	}

	// Every parameter of the table is a vocab parameter key and the other
	// way round, in the same order apart from the universal ones, which the
	// table lists first and names last: so CSV columns (table order) and
	// name keys (vocab order) agree.
	var table, own []string
	for _, p := range variants.Params() {
		table = append(table, p.Name)
		k := paramKey(p.Name)
		switch {
		case k == nil:
			t.Errorf("parameter %s has no place in vocab's name keys", p.Name)
		case k.Kind == vocab.VariantParam:
			own = append(own, p.Name)
		}
	}
	if want := vocab.Keys(vocab.VariantParam); !slices.Equal(own, want) {
		t.Errorf("variant parameters in table order %v, in vocab order %v", own, want)
	}
	for _, u := range vocab.Universal() {
		if !slices.Contains(table, u) {
			t.Errorf("universal parameter %s is not in the parameter table", u)
		}
	}
	// Every variant parameter vocab lists is read by some variant: no
	// stale entries.
	for _, p := range vocab.Keys(vocab.VariantParam) {
		if !slices.ContainsFunc(variants.Names(), func(name string) bool {
			v, _ := variants.Lookup(name)
			return slices.Contains(v.Params(), p)
		}) {
			t.Errorf("vocab lists %s as a variant parameter, which no variant reads", p)
		}
	}
}

// paramKey returns the vocab name key of parameter p, or nil when it is
// not a parameter key.
func paramKey(p string) *vocab.NameKey {
	for _, k := range vocab.NameKeys() {
		if k.Name == p && k.Kind != vocab.CaseKey {
			return &k
		}
	}
	return nil
}
