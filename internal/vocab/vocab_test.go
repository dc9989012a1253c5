package vocab

import (
	"slices"
	"testing"
)

// TestTablesHoldEachNameOnce: a name listed twice would rank by its first
// place and make the second unreachable.
func TestTablesHoldEachNameOnce(t *testing.T) {
	var keys, unitNames []string
	for _, k := range NameKeys() {
		if slices.Contains(keys, k.Name) {
			t.Errorf("name key %s listed twice", k.Name)
		}
		keys = append(keys, k.Name)
	}
	for _, u := range Units() {
		if slices.Contains(unitNames, u.Name) {
			t.Errorf("unit %s listed twice", u.Name)
		}
		if u.Better != Higher && u.Better != Lower {
			t.Errorf("unit %s: better=%q", u.Name, u.Better)
		}
		unitNames = append(unitNames, u.Name)
	}
	if slices.Contains(unitNames, SecPerOp) {
		t.Errorf("%s is how readers tidy %s, not a unit of its own", SecPerOp, NsPerOp)
	}
	for i, v := range VariantOrder() {
		if VariantRank(v) != i {
			t.Errorf("variant %s listed twice", v)
		}
	}
}

// TestKindsComeInNameOrder: the case keys first, the universal parameters
// last, so a variant's own knobs sit between what the case is and what
// every variant takes (docs/design.md §5).
func TestKindsComeInNameOrder(t *testing.T) {
	last := CaseKey
	for _, k := range NameKeys() {
		if k.Kind < last {
			t.Errorf("%s (kind %d) after a key of kind %d", k.Name, k.Kind, last)
		}
		last = k.Kind
	}
	if got := Universal(); !slices.Equal(got, []string{"scale", "seed"}) {
		t.Errorf("universal parameters %v, want docs/design.md §2's scale and seed", got)
	}
	if !IsUniversal("seed") || IsUniversal("window") || IsUniversal("nope") {
		t.Error("IsUniversal")
	}
	if Higher.Sign() != +1 || Lower.Sign() != -1 || Better("up").Sign() != 0 {
		t.Error("Sign")
	}
	if Symbol("buckets") != "nb" || Symbol("rounds") != "rounds" || Symbol("nope") != "nope" {
		t.Error("Symbol")
	}
	names := []string{"zeta", "linear", "alpha", "full"}
	slices.SortFunc(names, CompareVariants)
	if !slices.Equal(names, []string{"full", "linear", "alpha", "zeta"}) {
		t.Errorf("CompareVariants sorts to %v, want the listed in display order, then the unlisted alphabetically", names)
	}
	if KeyRank("nope") != len(NameKeys()) || VariantRank("nope") != len(VariantOrder()) {
		t.Error("an unlisted name does not rank last")
	}
}
