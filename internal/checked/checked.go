// Package checked does the size arithmetic on numbers that come from users
// (shapes, knobs, file headers) with overflow checks, so that a hostile size
// becomes an error instead of a wrapped count, a panic in make, or an
// allocation of the wrong size.
package checked

import (
	"fmt"
	"math"
	"math/bits"
)

// Mul returns the product of xs, or an error when any factor is negative or
// the product does not fit in an int64. The empty product is 1.
func Mul(xs ...int64) (int64, error) {
	p := uint64(1)
	for _, x := range xs {
		if x < 0 {
			return 0, fmt.Errorf("negative size %d", x)
		}
		hi, lo := bits.Mul64(p, uint64(x))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("size %s overflows", product(xs))
		}
		p = lo
	}
	return int64(p), nil
}

// Add returns the sum of xs, or an error when any term is negative or the
// sum does not fit in an int64.
func Add(xs ...int64) (int64, error) {
	var s int64
	for _, x := range xs {
		if x < 0 {
			return 0, fmt.Errorf("negative size %d", x)
		}
		if s > math.MaxInt64-x {
			return 0, fmt.Errorf("sum of sizes %s overflows", list(xs))
		}
		s += x
	}
	return s, nil
}

// Ints is Mul over ints that must also fit in an int (the length of a Go
// slice).
func Ints(xs ...int) (int, error) {
	ys := make([]int64, len(xs))
	for i, x := range xs {
		ys[i] = int64(x)
	}
	p, err := Mul(ys...)
	if err != nil {
		return 0, err
	}
	if p > math.MaxInt {
		return 0, fmt.Errorf("size %s overflows", product(ys))
	}
	return int(p), nil
}

// list writes xs as %v does ([1 2 3]); building the string here, not in
// fmt, keeps xs on the caller's stack, so that Add allocates nothing when
// it succeeds.
func list(xs []int64) string {
	s := "["
	for i, x := range xs {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprint(x)
	}
	return s + "]"
}

func product(xs []int64) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += "×"
		}
		s += fmt.Sprint(x)
	}
	return s
}
