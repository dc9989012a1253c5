package reports

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/attnbench/attnbench/internal/vocab"
)

// TestPlotsAgainstM: a decode sweep (n fixed, m varies) gets the time-vs-m
// plot with one curve per family, the points in m order, and the GB/s plot
// with the bandwidth the file gives.
func TestPlotsAgainstM(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "decode.txt")
	if err := os.WriteFile(path, []byte(`cpu: x
peak-bandwidth: 20.5
BenchmarkAttention/variant=flash/causal=true/batch=1/heads=32/kv-heads=8/n=1/m=4096/d=128-2 10 300000 ns/op 28 GB/s 70 %bandwidth
BenchmarkAttention/variant=flash/causal=true/batch=1/heads=32/kv-heads=8/n=1/m=1024/d=128-2 10 90000 ns/op 23 GB/s
BenchmarkAttention/variant=flash/causal=true/batch=1/heads=32/kv-heads=8/n=1/m=16384/d=128-2 10 1200000 ns/op 28 GB/s 75 %bandwidth
BenchmarkAttention/variant=window/causal=true/batch=1/heads=32/kv-heads=8/n=1/m=1024/d=128-2 10 9000 ns/op 1 GB/s
BenchmarkAttention/variant=window/causal=true/batch=1/heads=32/kv-heads=8/n=1/m=4096/d=128-2 10 9100 ns/op 1 GB/s
`), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Load([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := r.Groups[0]
	if g.Machine.PeakBandwidth != 20.5 {
		t.Errorf("peak bandwidth %v, want 20.5", g.Machine.PeakBandwidth)
	}
	curves := g.mCurves(vocab.SecPerOp)
	if len(curves) != 2 {
		t.Fatalf("%d curves against m, want 2 (flash, window)", len(curves))
	}
	want := []pt{{1024, 90000e-9, 0, 0}, {4096, 300000e-9, 0, 0}, {16384, 1200000e-9, 0, 0}}
	for i, p := range curves[0].pts {
		if p.x != want[i].x || math.Abs(p.y-want[i].y) > 1e-12 {
			t.Errorf("flash point %d: (%g, %g), want (%g, %g)", i, p.x, p.y, want[i].x, want[i].y)
		}
	}
	share := g.mCurves(vocab.PctBandwidth)
	if len(share) != 1 || len(share[0].pts) != 2 || share[0].pts[0].x != 4096 || share[0].pts[0].y != 70 || share[0].pts[1].y != 75 {
		t.Errorf("%%bandwidth curves %+v, want flash's two points (4096, 70), (16384, 75)", share)
	}
	ps := g.mPanels()
	if len(ps) != 3 || ps[0].kind != "time-m" || ps[1].kind != "bandwidth-m" || ps[2].kind != "bandwidth-share-m" || ps[0].fig == nil || ps[1].fig == nil || ps[2].fig == nil {
		t.Fatalf("panels %+v, want time-m, bandwidth-m and bandwidth-share-m drawn", ps)
	}
}
