package variants_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
	"github.com/attnbench/attnbench/variants/oracle"
)

// TestTunedTilesParity runs the variants whose tiles a tuning chooses
// (flash, full, and window/sparse/lsh through the block engine) with odd
// tuned tile sizes, which leave partial tiles everywhere, and flash with
// passes of 3 query tiles, against their float64 definitions, for every
// kernel set.
func TestTunedTilesParity(t *testing.T) {
	defer variants.SetTuning(nil)
	tiles := []variants.Tiles{{BQ: 20, BK: 7}, {BQ: 48, BK: 40}, {BQ: 16, BK: 24, Pass: 3}}
	forEachKernelSet(t, func(t *testing.T) {
		for _, tl := range tiles {
			tun := &variants.Tuning{Name: "test", Kernels: asm.Active().Name, Tiles: map[variants.TileKey]variants.Tiles{}}
			for _, s := range parityShapes {
				for _, causal := range []bool{false, true} {
					tun.Tiles[variants.TileKey{Engine: variants.EngineFlash, D: s.D, Causal: causal}] = tl
					tun.Tiles[variants.TileKey{Engine: variants.EngineFull, D: s.D, Causal: causal}] = variants.Tiles{BQ: tl.BQ, BK: tl.BK} // a pass is flash's only
				}
				tun.Tiles[variants.TileKey{Engine: variants.EngineBlock, D: s.D}] = variants.Tiles{BK: tl.BK}
			}
			variants.SetTuning(tun)
			for _, name := range []string{"flash", "full", "window", "sparse", "lsh"} {
				v, err := variants.Lookup(name)
				if err != nil {
					t.Fatal(err)
				}
				// The defaults and the first knob setting: the tiles, not
				// the patterns, are under test (TestParity covers those).
				opts := caseOptions(t, name)
				for _, base := range opts[:min(2, len(opts))] {
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
							r, _, err := oracle.CheckFastPath(v, q, k, vv, opt)
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

// TestFlashPassOrderBits: flash's loop order (Tiles.Pass, query tiles
// sharing a pass over the keys) changes the order of the work only, never
// a query's arithmetic, so every pass gives the bits of the default order,
// on 1 and 2 threads, causal or not, with grouped heads, N ≠ M and tiles
// that leave partial ones everywhere; and the default order is itself held
// to the float64 definition by TestTunedTilesParity and TestParity.
func TestFlashPassOrderBits(t *testing.T) {
	defer variants.SetTuning(nil)
	flash, err := variants.Lookup("flash")
	if err != nil {
		t.Fatal(err)
	}
	shapes := append([]variants.Shape{
		{B: 1, H: 4, Hkv: 2, N: 150, M: 130, D: 24},
		{B: 2, H: 2, Hkv: 1, N: 90, M: 160, D: 33},
	}, parityShapes...)
	forEachKernelSet(t, func(t *testing.T) {
		for _, s := range shapes {
			q, k, v, err := inputs.Generate("gaussian", s, 21)
			if err != nil {
				t.Fatal(err)
			}
			for _, causal := range []bool{false, true} {
				for _, threads := range []int{1, 2} {
					opt := variants.DefaultOptions()
					opt.Causal, opt.Threads = causal, threads
					var want []float32
					for _, pass := range []int{1, 2, 3, 8, 100} {
						variants.SetTuning(&variants.Tuning{Name: "test", Kernels: asm.Active().Name, Tiles: map[variants.TileKey]variants.Tiles{
							{Engine: variants.EngineFlash, D: s.D, Causal: causal}: {BQ: 16, BK: 24, Pass: pass},
						}})
						out := variants.NewTensor(s.B, s.H, s.N, s.D)
						if err := flash.Forward(q, k, v, out, opt, variants.NewWorkspace()); err != nil {
							t.Fatal(err)
						}
						if want == nil {
							want = out.Data
							continue
						}
						for i := range want {
							if math.Float32bits(out.Data[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%v causal=%v threads=%d: pass %d differs from pass 1 at %d: %g vs %g",
									s, causal, threads, pass, i, out.Data[i], want[i])
							}
						}
					}
				}
			}
		}
	})
}

// TestFullDirtyWorkspace: full takes its score matrix uncleared, so it must
// write every score before reading it: a workspace whose buffers hold NaN
// gives bit for bit the output of a fresh one.
func TestFullDirtyWorkspace(t *testing.T) {
	v, err := variants.Lookup("full")
	if err != nil {
		t.Fatal(err)
	}
	forEachKernelSet(t, func(t *testing.T) {
		for _, s := range parityShapes {
			for _, causal := range []bool{false, true} {
				opt := variants.DefaultOptions()
				opt.Causal, opt.Threads = causal, 2
				q, k, vv, _ := inputs.Generate("gaussian", s, 17)
				fresh := variants.NewTensor(s.B, s.H, s.N, s.D)
				if err := v.Forward(q, k, vv, fresh, opt, variants.NewWorkspace()); err != nil {
					t.Fatal(err)
				}
				ws := variants.NewWorkspace()
				poison := ws.Float32s(4*s.N*s.M + 4096)
				for i := range poison {
					poison[i] = float32(math.NaN())
				}
				ws.PutFloat32s(poison)
				out := variants.NewTensor(s.B, s.H, s.N, s.D)
				if err := v.Forward(q, k, vv, out, opt, ws); err != nil {
					t.Fatal(err)
				}
				for i, x := range out.Data {
					if math.Float32bits(x) != math.Float32bits(fresh.Data[i]) {
						t.Errorf("%v causal=%v: out[%d] = %v from a NaN-filled workspace, %v from a fresh one", s, causal, i, x, fresh.Data[i])
						break
					}
				}
			}
		}
	})
}
