package asm

import (
	"fmt"
	"testing"
	"time"
)

func TestMeasurePeak(t *testing.T) {
	for _, k := range Impls() {
		g := MeasurePeak(k, 1, 20*time.Millisecond)
		t.Logf("%s: %.1f GFLOP/s", k.Name, g)
		if !(g > 0) {
			t.Errorf("%s: peak %v", k.Name, g)
		}
	}
	if testing.Short() {
		return
	}
	if bw := MeasureBandwidth(50 * time.Millisecond); !(bw > 0) {
		t.Errorf("bandwidth %v", bw)
	} else {
		t.Logf("bandwidth %.1f GB/s", bw)
	}
	t.Logf("features: %v", Features())
}

// TestBandwidthOutgrowsCache: the bandwidth stream is at least 4× the
// largest cache and 256 MiB in all, so it measures memory, not L3.
func TestBandwidthOutgrowsCache(t *testing.T) {
	total := 2 * BandwidthBufferBytes()
	if total < 4*CacheBytes() || total < 256<<20 {
		t.Errorf("bandwidth buffers %d bytes in all; cache %d bytes", total, CacheBytes())
	}
}

func BenchmarkFMAPeak(b *testing.B) {
	for _, k := range Impls() {
		b.Run("impl="+k.Name, func(b *testing.B) {
			const iters = 1 << 16
			for b.Loop() {
				k.FMAPeak(iters)
			}
			b.ReportMetric(float64(iters)*float64(k.FlopsPerIter)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

var _ = fmt.Sprint
