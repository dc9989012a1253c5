package variants

import (
	"testing"

	"github.com/attnbench/attnbench/asm"
)

// TestTuningLookup checks where a tuning's choices apply: the active kernel
// set's entries for the exact engine, d and causality; flags still win; no
// entry, another kernel set or no tuning means the defaults.
func TestTuningLookup(t *testing.T) {
	defer SetTuning(nil)
	s := Shape{B: 1, H: 1, N: 1000, M: 1000, D: 64}
	opt := DefaultOptions()
	check := func(what string, gotQ, gotK, wantQ, wantK int) {
		t.Helper()
		if gotQ != wantQ || gotK != wantK {
			t.Errorf("%s: tiles %d×%d, want %d×%d", what, gotQ, gotK, wantQ, wantK)
		}
	}
	// The defaults, written out: 64 query rows, 16384/d keys in 64..256.
	bq, bk := flashTiles(s, opt)
	check("flash, no tuning", bq, bk, 64, 256)
	bq, bk = fullTiles(s, opt)
	check("full, no tuning", bq, bk, 64, 256)
	check("block, no tuning, d=128", 0, keyTile(128), 0, 128)
	if TuningName() != "none" {
		t.Errorf("TuningName() = %q with no tuning, want none", TuningName())
	}

	SetTuning(&Tuning{Name: "x-1", Kernels: asm.Active().Name, Tiles: map[TileKey]Tiles{
		{EngineFlash, 64, false}: {BQ: 128, BK: 96},
		{EngineFull, 64, true}:   {BQ: 32, BK: 512},
		{EngineBlock, 64, false}: {BK: 80},
	}})
	bq, bk = flashTiles(s, opt)
	check("flash, tuned", bq, bk, 128, 96)
	o := opt
	o.BlockQ, o.BlockK = 16, 24
	bq, bk = flashTiles(s, o)
	check("flash, flags over the tuning", bq, bk, 16, 24)
	o = opt
	o.BlockK = 40
	bq, bk = flashTiles(s, o)
	check("flash, one flag over the tuning", bq, bk, 128, 40)
	o = opt
	o.Causal = true
	bq, bk = flashTiles(s, o)
	check("flash causal, not tuned", bq, bk, 64, 256)
	bq, bk = fullTiles(s, o)
	check("full causal, tuned", bq, bk, 32, 512)
	bq, bk = fullTiles(s, opt)
	check("full, not tuned", bq, bk, 64, 256)
	check("block d=64, tuned", 0, keyTile(64), 0, 80)
	check("block d=32, not tuned", 0, keyTile(32), 0, 256)
	bq, bk = flashTiles(Shape{B: 1, H: 1, N: 50, M: 70, D: 64}, opt)
	check("flash, tuned tiles cut to the shape", bq, bk, 50, 70)
	if TuningName() != "x-1" {
		t.Errorf("TuningName() = %q, want x-1", TuningName())
	}

	SetTuning(&Tuning{Name: "y", Kernels: "no-such-set", Tiles: map[TileKey]Tiles{{EngineFlash, 64, false}: {BQ: 128, BK: 96}}})
	bq, bk = flashTiles(s, opt)
	check("flash, tuning of another kernel set", bq, bk, 64, 256)
}

// TestFlashPassCut: a tuned pass (query tiles per pass over the keys)
// applies as chosen where the work has units to spare, and is cut where it
// would leave a thread fewer than flashUnitsPerThread units, or the keys
// are split (decode); it never exceeds a head's tiles.
func TestFlashPassCut(t *testing.T) {
	defer SetTuning(nil)
	SetTuning(&Tuning{Name: "x", Kernels: asm.Active().Name, Tiles: map[TileKey]Tiles{
		{EngineFlash, 64, false}: {Pass: 8},
		{EngineFlash, 64, true}:  {Pass: 8},
	}})
	for _, c := range []struct {
		what     string
		s        Shape
		threads  int
		causal   bool
		wantPass int
	}{
		{"64 tiles, 1 thread", Shape{B: 1, H: 1, N: 4096, M: 4096, D: 64}, 1, false, 8},
		{"64 tiles, 2 threads", Shape{B: 1, H: 1, N: 4096, M: 4096, D: 64}, 2, false, 8},
		{"64 tiles, 4 threads: 16 units", Shape{B: 1, H: 1, N: 4096, M: 4096, D: 64}, 4, false, 4},
		{"64 tiles, 16 threads", Shape{B: 1, H: 1, N: 4096, M: 4096, D: 64}, 16, false, 1},
		{"8 heads × 64 tiles, 16 threads", Shape{B: 1, H: 8, N: 4096, M: 4096, D: 64}, 16, true, 8},
		{"3 tiles a head", Shape{B: 4, H: 4, N: 150, M: 150, D: 64}, 1, false, 3},
		{"decode: keys split", Shape{B: 1, H: 32, Hkv: 8, N: 1, M: 16384, D: 64}, 1, true, 1},
	} {
		opt := DefaultOptions()
		opt.Threads, opt.Causal = c.threads, c.causal
		g := flashGeometry(c.s, opt)
		if g.pass != c.wantPass {
			t.Errorf("%s: pass %d, want %d", c.what, g.pass, c.wantPass)
		}
		if units := g.units(c.s); g.slices == 1 && c.wantPass > 1 && units < flashUnitsPerThread*c.threads {
			t.Errorf("%s: %d units for %d threads", c.what, units, c.threads)
		}
	}
}
