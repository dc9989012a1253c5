package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The int16 kernels against references written on unpacked matrices: every
// set must give the same bits (the sums are exact integers).

// pack16Rows packs an r × d int16 matrix by rows, two depth elements per
// int32 (even one low), with row stride ld and guard values past each row.
func pack16Rows(m [][]int16, ld int) []int32 {
	q := make([]int32, len(m)*ld)
	for i := range q {
		q[i] = guard32
	}
	for i, row := range m {
		for p := 0; p < len(row); p += 2 {
			lo, hi := uint32(uint16(row[p])), uint32(0)
			if p+1 < len(row) {
				hi = uint32(uint16(row[p+1]))
			}
			q[i*ld+p/2] = int32(lo | hi<<16)
		}
	}
	return q
}

const guard32 = int32(-0x5a5a5a5b)

func randInt16Matrix(r *rand.Rand, rows, cols, limit int) [][]int16 {
	m := make([][]int16, rows)
	for i := range m {
		m[i] = make([]int16, cols)
		for j := range m[i] {
			m[i][j] = int16(r.IntN(2*limit+1) - limit)
		}
	}
	return m
}

func TestQuantize16(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 16))
	for _, k := range Impls() {
		for trial := range 300 {
			rows, d := 1+r.IntN(13), 1+r.IntN(80)
			if trial < 20 {
				d = 16 * (1 + trial%5) // whole chunks
			}
			pairs := (d + 1) / 2
			ldx, ldq := d+r.IntN(3), pairs+r.IntN(3)
			x := randVec(r, rows*ldx, -1, 1)
			mult := make([]float32, rows)
			for i := range mult {
				// Powers of two as LSH uses, and arbitrary factors.
				mult[i] = float32(math.Ldexp(1, r.IntN(40)-20))
				if r.IntN(3) == 0 {
					mult[i] = float32(r.Float64() * 1e3)
				}
				for p := range d {
					v := float32(r.Float64()*65000-32500) / mult[i]
					switch r.IntN(8) {
					case 0: // a tie: k + ½ exactly
						v = (float32(r.IntN(2000)-1000) + 0.5) / mult[i]
					case 1:
						v = float32(math.Copysign(0, -1))
					}
					x[i*ldx+p] = v
				}
			}
			q := make([]int32, rows*ldq)
			for i := range q {
				q[i] = guard32
			}
			k.Quantize16(rows, d, x, ldx, mult, q, ldq)
			for i := range rows {
				for p := range pairs {
					got := q[i*ldq+p]
					lo, hi := int16(got), int16(got>>16)
					want := func(e int) int16 {
						if e >= d {
							return 0
						}
						return int16(math.RoundToEven(float64(x[i*ldx+e] * mult[i])))
					}
					if lo != want(2*p) || hi != want(2*p+1) {
						t.Fatalf("%s rows=%d d=%d: row %d pair %d = (%d, %d), want (%d, %d)", k.Name, rows, d, i, p, lo, hi, want(2*p), want(2*p+1))
					}
				}
				for p := pairs; p < ldq; p++ {
					if q[i*ldq+p] != guard32 {
						t.Fatalf("%s rows=%d d=%d: wrote past the row's pairs at %d", k.Name, rows, d, p)
					}
				}
			}
		}
	}
}

func TestDot16(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 16))
	for _, k := range Impls() {
		for trial := range 200 {
			rows, width, d := 1+r.IntN(20), 1+r.IntN(200), 1+r.IntN(80)
			if trial < 30 {
				rows, width = 6*(1+r.IntN(4)), 64*(1+r.IntN(3)) // whole tiles
			}
			checkDot16(t, k, r, rows, width, d, 1<<13)
		}
	}
}

// checkDot16 runs one Dot16 case with entries in [−limit, limit].
func checkDot16(t testing.TB, k *Kernels, r *rand.Rand, rows, width, d, limit int) {
	t.Helper()
	am, bm := randInt16Matrix(r, rows, d, limit), randInt16Matrix(r, width, d, limit) // bm[t] = column t
	pairs := (d + 1) / 2
	lda, ldb, ldo := pairs+r.IntN(3), width+r.IntN(5), width+r.IntN(5)
	a := pack16Rows(am, lda)
	// b packed by pairs of depth: b[p'·ldb + t] holds column t's pair p'.
	b := make([]int32, pairs*ldb)
	for tt := range width {
		col := pack16Rows([][]int16{bm[tt]}, pairs)
		for p := range pairs {
			b[p*ldb+tt] = col[p]
		}
	}
	mult := make([]float32, rows)
	for i := range mult {
		mult[i] = float32(math.Ldexp(1+r.Float64(), r.IntN(20)-10))
	}
	out := make([]float32, rows*ldo)
	for i := range out {
		out[i] = guardVal
	}
	k.Dot16(rows, width, d, a, lda, b, ldb, mult, out, ldo)
	for i := range rows {
		for tt := range ldo {
			got := out[i*ldo+tt]
			if tt >= width {
				if got != guardVal {
					t.Fatalf("%s rows=%d width=%d d=%d: wrote past the row at (%d, %d)", k.Name, rows, width, d, i, tt)
				}
				continue
			}
			var sum int64
			for p := range d {
				sum += int64(am[i][p]) * int64(bm[tt][p])
			}
			if want := float32(int32(sum)) * mult[i]; got != want {
				t.Fatalf("%s rows=%d width=%d d=%d: out[%d][%d] = %v, want %v", k.Name, rows, width, d, i, tt, got, want)
			}
		}
	}
}

func FuzzDot16(f *testing.F) {
	f.Add(uint64(1), uint8(6), uint8(64), uint8(64))
	f.Add(uint64(2), uint8(7), uint8(130), uint8(3))
	f.Fuzz(func(t *testing.T, seed uint64, rows, width, d uint8) {
		if rows == 0 || width == 0 || d == 0 {
			return
		}
		r := rand.New(rand.NewPCG(seed, 17))
		for _, k := range Impls() {
			// Entries up to 2¹⁵⁻¹ on short depths, smaller on long ones, so
			// that the sums stay in int32.
			limit := min(32767, int(math.Sqrt(float64(1<<31)/float64(d)))-1)
			checkDot16(t, k, r, int(rows%40)+1, int(width)+1, int(d)%100+1, limit)
		}
	})
}

func ExampleKernels_Dot16() {
	// Two rows of depth 3 times two columns: [1 2 3; −1 0 4] · [[1 1] [1 0] [1 −2]].
	a := pack16Rows([][]int16{{1, 2, 3}, {-1, 0, 4}}, 2)
	cols := [][]int16{{1, 1, 1}, {1, 0, -2}}
	b := make([]int32, 2*2)
	for tt, c := range cols {
		packed := pack16Rows([][]int16{c}, 2)
		b[0*2+tt], b[1*2+tt] = packed[0], packed[1]
	}
	out := make([]float32, 4)
	Active().Dot16(2, 2, 3, a, 2, b, 2, []float32{1, 0.5}, out, 2)
	fmt.Println(out)
	// Output: [6 -5 1.5 -4.5]
}
