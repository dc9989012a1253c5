package variants

import (
	"math"
	"slices"
	"testing"
)

// TestZigguratLayers: the layers tile the density. Each has area zigV
// (the recursion makes layers 1…126 so by construction; the top layer,
// up to f(0) = 1, closes only if zigR and zigV are a consistent pair), and
// layer 0, the base rectangle plus the tail, has area zigV too.
func TestZigguratLayers(t *testing.T) {
	x := func(i int) float64 { return zig.width[i] * (1 << 31) }
	top := x(zigLayers-1) * (1 - zig.f[zigLayers-1])
	if math.Abs(top-zigV) > 1e-9 {
		t.Errorf("top layer's area %.12g, want %.12g", top, zigV)
	}
	tail := math.Sqrt(math.Pi/2) * math.Erfc(zigR/math.Sqrt2) // ∫_r^∞ e^(−x²/2) dx
	if base := zigR*math.Exp(-0.5*zigR*zigR) + tail; math.Abs(base-zigV) > 1e-9 {
		t.Errorf("base strip's area %.12g, want %.12g", base, zigV)
	}
	for i := 1; i < zigLayers; i++ {
		if area := x(i) * (zig.f[i+1] - zig.f[i]); math.Abs(area-zigV) > 1e-9 {
			t.Errorf("layer %d: area %.12g, want %.12g", i, area, zigV)
		}
	}
}

// TestNormIsStandardNormal draws 2²⁰ deviates and holds them to the
// normal law: the Kolmogorov–Smirnov distance to Φ, the first four
// moments, and the tails beyond the base strip (only the tail sampler
// produces them) and beyond 4.
func TestNormIsStandardNormal(t *testing.T) {
	const n = 1 << 20
	r := newSeededRand(7, streamLSH)
	xs := make([]float64, n)
	var m1, m2, m4 float64
	var beyondR, beyond4, negative int
	for i := range xs {
		x := r.norm()
		xs[i] = x
		m1 += x
		m2 += x * x
		m4 += x * x * x * x
		if math.Abs(x) > zigR {
			beyondR++
		}
		if math.Abs(x) > 4 {
			beyond4++
		}
		if x < 0 {
			negative++
		}
	}
	slices.Sort(xs)
	var ks float64
	for i, x := range xs {
		phi := 0.5 * math.Erfc(-x/math.Sqrt2)
		ks = max(ks, math.Abs(phi-float64(i)/n), math.Abs(phi-float64(i+1)/n))
	}
	// 1.63/√n is the 1% critical value; the seed is fixed, so this is not
	// a flaky test, and a wrong layer moves the distance far beyond it.
	if crit := 1.63 / math.Sqrt(n); ks > crit {
		t.Errorf("Kolmogorov–Smirnov distance %.5f > %.5f", ks, crit)
	}
	// Five standard errors: mean (1/√n), variance (√2/√n), E x⁴ (√96/√n).
	se := 1 / math.Sqrt(n)
	if mean := m1 / n; math.Abs(mean) > 5*se {
		t.Errorf("mean %.5f", mean)
	}
	if v := m2 / n; math.Abs(v-1) > 5*math.Sqrt2*se {
		t.Errorf("variance %.5f", v)
	}
	if k := m4 / n; math.Abs(k-3) > 5*math.Sqrt(96)*se {
		t.Errorf("fourth moment %.4f, want 3", k)
	}
	count := func(name string, got int, p float64) {
		want := p * n
		if sd := math.Sqrt(want * (1 - p)); math.Abs(float64(got)-want) > 5*sd {
			t.Errorf("%s: %d deviates, want %.0f ± %.0f", name, got, want, sd)
		}
	}
	count("|x| > zigR", beyondR, math.Erfc(zigR/math.Sqrt2))
	count("|x| > 4", beyond4, math.Erfc(4/math.Sqrt2))
	count("x < 0", negative, 0.5)
}
