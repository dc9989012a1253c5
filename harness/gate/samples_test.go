package gate

import (
	"math"
	"testing"

	"golang.org/x/perf/benchmath"
)

// MinPValue must be the p the U test itself gives for two samples that do
// not overlap: check it against benchmath on exactly such samples.
func TestMinPValueMatchesUTest(t *testing.T) {
	for n := 1; n <= 12; n++ {
		for m := 1; m <= 12; m++ {
			a := make([]float64, n)
			b := make([]float64, m)
			for i := range a {
				a[i] = float64(i)
			}
			for i := range b {
				b[i] = float64(100 + i)
			}
			th := &benchmath.Thresholds{CompareAlpha: 0.05}
			want := benchmath.AssumeNothing.Compare(benchmath.NewSample(a, th), benchmath.NewSample(b, th)).P
			if n == 1 && m == 1 {
				want = 1 // the U test gives 2·(1/2): p = 1
			}
			if got := MinPValue(n, m); math.Abs(got-want) > 1e-9*want {
				t.Errorf("MinPValue(%d, %d) = %v, U test on separated samples gives %v", n, m, got, want)
			}
		}
	}
}

func TestMinPValueKnownValues(t *testing.T) {
	// 2/C(2n, n): the smallest two-sided p of the exact U distribution.
	for _, tc := range []struct {
		n, m int
		want float64
	}{
		{3, 3, 0.1},       // 2/20
		{4, 4, 2.0 / 70},  // 0.0286: the first equal size below 0.05
		{5, 5, 2.0 / 252}, // 0.0079
		{10, 10, 2.0 / 184756},
		{1, 39, 0.05},     // 2/40: exactly alpha, not below it
		{2, 10, 2.0 / 66}, // 0.0303
		{0, 10, 1},
	} {
		if got := MinPValue(tc.n, tc.m); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("MinPValue(%d, %d) = %v, want %v", tc.n, tc.m, got, tc.want)
		}
	}
	if p := MinPValue(200, 200); !(p > 0 && p < 1e-100) {
		t.Errorf("MinPValue(200, 200) = %v, want a tiny positive number", p)
	}
}

func TestSamplesNeeded(t *testing.T) {
	for _, tc := range []struct {
		alpha float64
		want  int
	}{{0.05, 4}, {0.1, 4}, {0.11, 3}, {0.01, 5}, {0.001, 7}} {
		if got := SamplesNeeded(tc.alpha); got != tc.want {
			t.Errorf("SamplesNeeded(%v) = %d, want %d", tc.alpha, got, tc.want)
		}
	}
}
