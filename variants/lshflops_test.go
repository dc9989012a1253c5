package variants

import (
	"math/rand/v2"
	"testing"
)

// TestLSHFlopsOnCountsCandidates checks FlopsOn's pair count against the
// brute-force candidate sets of the Reference (lshCandidates), which tests
// chunk membership key by key: 4·D·Σ_i |C(i)| plus the hashing.
func TestLSHFlopsOnCountsCandidates(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	gauss := func(b, h, s, d int) Tensor {
		x := NewTensor(b, h, s, d)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		return x
	}
	cases := []struct {
		b, h, n, m, d int
		knobs         map[string]string
	}{
		{1, 1, 64, 64, 8, nil},
		{2, 3, 77, 77, 16, map[string]string{"chunk": "8"}},
		{1, 2, 50, 50, 8, map[string]string{"chunk": "4", "buckets": "2", "rounds": "3"}}, // buckets span chunk 0 and the last
		{1, 1, 33, 33, 8, map[string]string{"chunk": "16", "buckets": "6", "rounds": "4"}},
		{1, 1, 40, 40, 8, map[string]string{"chunk": "64"}},                 // one chunk
		{1, 1, 41, 41, 8, map[string]string{"chunk": "20", "buckets": "4"}}, // three chunks, the last short
		{2, 1, 45, 60, 8, map[string]string{"shared-qk": "false", "buckets": "4", "rounds": "3"}},
		{1, 2, 30, 30, 16, map[string]string{"shared-qk": "false", "buckets": "2"}},
	}
	for _, c := range cases {
		for _, causal := range []bool{false, true} {
			opt := DefaultOptions()
			for k, v := range c.knobs {
				if err := opt.Set(k, v); err != nil {
					t.Fatal(err)
				}
			}
			opt.Causal = causal
			q, k, v := gauss(c.b, c.h, c.n, c.d), gauss(c.b, c.h, c.m, c.d), gauss(c.b, c.h, c.m, c.d)
			if opt.SharedQK {
				k = gauss(c.b, c.h, c.n, c.d)
				v = gauss(c.b, c.h, c.n, c.d)
			}
			s, err := ShapeOf(q, k, v)
			if err != nil {
				t.Fatal(err)
			}
			cand := lshCandidates(q, k, opt)
			pairs := 0
			var buf []int
			for b := range s.B {
				for h := range s.H {
					for i := range s.N {
						buf = cand(b, h, i, buf[:0])
						pairs += len(buf)
					}
				}
			}
			got, err := LSH{}.FlopsOn(q, k, v, opt)
			if err != nil {
				t.Fatal(err)
			}
			if want := 4*float64(s.D)*float64(pairs) + lshHashFlops(s, opt); got != want {
				t.Errorf("%v %v causal=%v: FlopsOn %g, want %g (Σ|C(i)| = %d)", s, c.knobs, causal, got, want, pairs)
			}
		}
	}
}
