package checked

import (
	"math"
	"math/big"
	"testing"
)

// TestMulAgainstBig checks Mul against math/big on products near the int64
// limit, on both sides of it.
func TestMulAgainstBig(t *testing.T) {
	cases := [][]int64{
		{}, {0}, {1}, {7, 9}, {math.MaxInt64}, {math.MaxInt64, 1}, {math.MaxInt64, 2},
		{1 << 31, 1 << 31}, {1 << 32, 1 << 31}, {1 << 32, 1 << 32}, {1 << 62, 2}, {1<<62 + 1, 2},
		{3037000499, 3037000499}, {3037000500, 3037000500}, {0, math.MaxInt64, math.MaxInt64},
		{65536, 65536, 65536, 65536}, {4611686018427387904, 4},
	}
	limit := big.NewInt(math.MaxInt64)
	for _, xs := range cases {
		want := big.NewInt(1)
		for _, x := range xs {
			want.Mul(want, big.NewInt(x))
		}
		got, err := Mul(xs...)
		if fits := want.Cmp(limit) <= 0; fits != (err == nil) {
			t.Errorf("Mul(%v) error = %v, exact product %v", xs, err, want)
			continue
		}
		if err == nil && got != want.Int64() {
			t.Errorf("Mul(%v) = %d, want %v", xs, got, want)
		}
	}
	if _, err := Mul(4, -1); err == nil {
		t.Error("Mul accepted a negative factor")
	}
}

func TestAdd(t *testing.T) {
	if s, err := Add(1, 2, 3); err != nil || s != 6 {
		t.Errorf("Add(1,2,3) = %d, %v", s, err)
	}
	if _, err := Add(math.MaxInt64, 1); err == nil {
		t.Error("Add overflowed silently")
	}
	if _, err := Add(1, -1); err == nil {
		t.Error("Add accepted a negative term")
	}
}

func TestInts(t *testing.T) {
	if p, err := Ints(2, 3, 4); err != nil || p != 24 {
		t.Errorf("Ints(2,3,4) = %d, %v", p, err)
	}
	if _, err := Ints(65536, 65536, 65536, 65536); err == nil {
		t.Error("Ints overflowed silently")
	}
}
