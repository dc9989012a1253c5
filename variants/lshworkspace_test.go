package variants

import (
	"math"
	"testing"
)

// TestLSHDirtyWorkspace: LSH takes its big buffers unzeroed, so it must
// write every element before reading it. A workspace whose pooled buffers
// hold NaN and out-of-range indices must give the output, bit for bit, of
// a fresh one, for each mode, with empty buckets and a ragged last chunk.
func TestLSHDirtyWorkspace(t *testing.T) {
	for _, c := range []struct {
		n, m   int
		shared bool
		causal bool
		rounds int
		chunk  int
		nb     int
	}{
		{300, 300, true, false, 2, 16, 0}, {300, 300, true, true, 3, 16, 0}, {257, 190, false, false, 2, 128, 8},
		{257, 190, false, true, 3, 128, 4}, {64, 64, true, false, 1, 128, 2}, {1000, 1000, true, true, 2, 128, 0},
		{200, 200, true, false, 2, 7, 6}, {200, 200, true, false, 2, 64, 64},
	} {
		s := Shape{B: 2, H: 2, N: c.n, M: c.m, D: 64}
		opt := DefaultOptions()
		opt.SharedQK, opt.Causal, opt.Rounds, opt.Chunk, opt.Buckets = c.shared, c.causal, c.rounds, c.chunk, c.nb
		q, k, v := NewTensor(2, 2, c.n, 64), NewTensor(2, 2, c.m, 64), NewTensor(2, 2, c.m, 64)
		rng := newSeededRand(5, streamLSH)
		for _, x := range []Tensor{q, k, v} {
			for i := range x.Data {
				x.Data[i] = float32(rng.norm())
			}
		}
		for _, threads := range []int{1, 2} {
			opt.Threads = threads
			want := NewTensor(2, 2, c.n, 64)
			if err := (LSH{}).Forward(q, k, v, want, opt, NewWorkspace()); err != nil {
				t.Fatal(err)
			}
			ws := NewWorkspace()
			g := lshGeometry(s, opt)
			fb := ws.Float32s(lshHeadFloats(s, g) + 1000)
			for i := range fb {
				fb[i] = float32(math.NaN())
			}
			ib := ws.Int32s(lshHeadInts(s, g, opt.SharedQK) + 1000)
			for i := range ib {
				ib[i] = 1 << 30
			}
			ws.PutFloat32s(fb)
			ws.PutInt32s(ib)
			// Both hashing paths (the int16 one forced) on the dirty
			// buffers, one after the other.
			for _, ls := range []LSH{{}, {fault: lshInt16Always}} {
				got := NewTensor(2, 2, c.n, 64)
				if err := ls.Forward(q, k, v, got, opt, ws); err != nil {
					t.Fatal(err)
				}
				for i := range got.Data {
					if math.Float32bits(got.Data[i]) != math.Float32bits(want.Data[i]) {
						t.Fatalf("%+v threads %d fault %d: differs at %d: %v vs %v", c, threads, ls.fault, i, got.Data[i], want.Data[i])
					}
				}
			}
		}
	}
}
