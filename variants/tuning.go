package variants

import (
	"cmp"
	"sync/atomic"

	"github.com/attnbench/attnbench/asm"
)

// Tuning holds the tile sizes that `attnbench tune` measured as fastest on
// this machine for one kernel set, by tile engine, head dimension and
// causality. Forward consults it where it would otherwise take a built-in
// default: a flag that sets a tile size still wins, and a shape or kernel
// set the tuning does not list keeps the defaults.
type Tuning struct {
	// Name names the tuning in result files ("tuning: NAME"), so that a
	// tuned and an untuned run never merge.
	Name string
	// Kernels is the kernel set it was measured with; under another set
	// it is not used.
	Kernels string
	Tiles   map[TileKey]Tiles
	// PrefetchRows is how far ahead the GEMM kernels prefetch
	// (asm.SetPrefetchRows); 0 keeps asm.DefaultPrefetchRows.
	PrefetchRows int
}

// Engine names one tile engine whose tile sizes a Tuning chooses.
type Engine string

const (
	EngineFlash Engine = "flash" // flash: query tile rows and key tile rows
	EngineFull  Engine = "full"  // full: query rows per block and key tile rows
	// EngineBlock is the candidate-set engine of window, sparse and lsh
	// (tileAttn): its key tile rows (their query tiles follow the pattern).
	EngineBlock Engine = "block"
)

// Engines lists the tile engines a Tuning covers.
func Engines() []Engine { return []Engine{EngineFlash, EngineFull, EngineBlock} }

// TileKey is what a tile choice depends on besides the kernel set.
type TileKey struct {
	Engine Engine
	D      int
	Causal bool
}

// Tiles is a choice of tile sizes, and of flash's loop order: BQ query
// rows, BK key rows, Pass query tiles sharing each pass over the keys
// (flash only; see Flash); 0 leaves a field at its default.
type Tiles struct{ BQ, BK, Pass int }

var tuning atomic.Pointer[Tuning]

// SetTuning makes t the tuning Forward consults (nil: the defaults), and
// sets the kernels' prefetch distance to its choice when it was measured
// with the kernel set in use (else to the default). Set it once at
// start-up, or between Forward calls.
func SetTuning(t *Tuning) {
	tuning.Store(t)
	rows := asm.DefaultPrefetchRows
	if t != nil && t.Kernels == asm.Active().Name && t.PrefetchRows > 0 {
		rows = t.PrefetchRows
	}
	asm.SetPrefetchRows(rows)
}

// ActiveTuning returns the tuning in use, nil when none.
func ActiveTuning() *Tuning { return tuning.Load() }

// TuningName is the name the result files carry: the active tuning's, or
// "none".
func TuningName() string {
	if t := tuning.Load(); t != nil && t.Name != "" {
		return t.Name
	}
	return "none"
}

// tuned returns the active tuning's choice for key under the active kernel
// set (zero where it has none).
func tuned(key TileKey) Tiles {
	t := tuning.Load()
	if t == nil || t.Kernels != asm.Active().Name {
		return Tiles{}
	}
	return t.Tiles[key]
}

// DefaultTiles returns the built-in tile sizes of engine e at head dimension
// d, the ones an untuned Forward uses.
func DefaultTiles(e Engine, d int) Tiles {
	// A K tile and a V tile of bk×D floats each stay in L2 with room to
	// spare; bk in 64..256 as docs/design.md §2 says.
	bk := min(256, max(64, 16384/max(d, 1)))
	switch e {
	case EngineFlash:
		return Tiles{BQ: 64, BK: bk, Pass: 1}
	case EngineFull:
		return Tiles{BQ: 64, BK: bk}
	}
	return Tiles{BK: bk}
}

// tilesFor returns engine e's tile sizes for head dimension d: the tuned
// ones where the active tuning has them, else the defaults.
func tilesFor(e Engine, d int, causal bool) Tiles {
	t, def := tuned(TileKey{e, d, causal}), DefaultTiles(e, d)
	return Tiles{BQ: cmp.Or(t.BQ, def.BQ), BK: cmp.Or(t.BK, def.BK), Pass: cmp.Or(t.Pass, def.Pass)}
}
