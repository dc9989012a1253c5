package variants_test

import (
	"fmt"
	"testing"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/harness/inputs"
	"github.com/attnbench/attnbench/harness/parity"
	"github.com/attnbench/attnbench/variants"
)

// TestTunedTilesParity runs the variants whose tiles a tuning chooses
// (flash, full, and window/sparse/lsh through the block engine) with odd
// tuned tile sizes, which leave partial tiles everywhere, against their
// float64 definitions, for every kernel set.
func TestTunedTilesParity(t *testing.T) {
	defer variants.SetTuning(nil)
	tiles := []variants.Tiles{{BQ: 20, BK: 7}, {BQ: 1, BK: 1}, {BQ: 48, BK: 40}}
	forEachKernelSet(t, func(t *testing.T) {
		for _, tl := range tiles {
			tun := &variants.Tuning{Name: "test", Kernels: asm.Active().Name, Tiles: map[variants.TileKey]variants.Tiles{}}
			for _, s := range parityShapes {
				for _, causal := range []bool{false, true} {
					tun.Tiles[variants.TileKey{Engine: variants.EngineFlash, D: s.D, Causal: causal}] = tl
					tun.Tiles[variants.TileKey{Engine: variants.EngineFull, D: s.D, Causal: causal}] = tl
				}
				tun.Tiles[variants.TileKey{Engine: variants.EngineBlock, D: s.D}] = variants.Tiles{BK: tl.BK}
			}
			variants.SetTuning(tun)
			for _, name := range []string{"flash", "full", "window", "sparse", "lsh"} {
				v, err := variants.Lookup(name)
				if err != nil {
					t.Fatal(err)
				}
				for _, base := range caseOptions(t, name) {
					for _, s := range parityShapes {
						for _, causal := range []bool{false, true} {
							opt := base
							opt.Causal = causal
							opt.Threads = 2
							if v.Validate(s, opt) != nil {
								continue
							}
							label := fmt.Sprintf("tiles %v: %s%s/%v/causal=%v", tl, name, knobString(v, opt), s, causal)
							q, k, vv, err := inputs.Generate("gaussian", s, 13)
							if err != nil {
								t.Fatal(err)
							}
							r, _, err := parity.CheckFastPath(v, q, k, vv, opt)
							if err != nil {
								t.Errorf("%s: %v", label, err)
								continue
							}
							if !r.Pass {
								t.Errorf("%s: max error %.3g exceeds tolerance %.3g", label, r.MaxErr, r.Tol)
							}
						}
					}
				}
			}
		}
	})
}
