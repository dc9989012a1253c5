package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Every kernel of every set this CPU can run (generic included) is checked
// against a float64 reference written here, independently of the kernels:
// lengths 0..257 and a few larger, starts one float off alignment, guard
// values around the output that must stay untouched, NaN and ±Inf, and
// tolerances that grow with the length of each sum.

const guardVal = float32(-7.75e30) // no kernel under test writes this value

var eps32 = math.Ldexp(1, -24) // float32 unit roundoff

// testLengths are the vector lengths of the elementwise tests.
func testLengths() []int {
	var ns []int
	for n := 0; n <= 257; n++ {
		ns = append(ns, n)
	}
	return append(ns, 1000, 1024, 4099)
}

// guarded returns vals copied into a buffer at offset off with guard values
// on both sides, and the view holding vals.
func guarded(vals []float32, off int) (buf, view []float32) {
	buf = make([]float32, off+len(vals)+9)
	for i := range buf {
		buf[i] = guardVal
	}
	view = buf[off : off+len(vals)]
	copy(view, vals)
	return buf, view
}

// checkGuards fails unless buf holds guard values outside [off, off+n).
func checkGuards(t testing.TB, what string, buf []float32, off, n int) {
	t.Helper()
	for i, v := range buf {
		if (i < off || i >= off+n) && v != guardVal {
			t.Fatalf("%s: wrote %v at %d, outside [%d, %d)", what, v, i-off, 0, n)
		}
	}
}

func randVec(r *rand.Rand, n int, lo, hi float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return x
}

// close64 reports whether got is want within tol (absolute), treating NaN
// and infinities exactly.
func close64(got float32, want, tol float64) bool {
	g := float64(got)
	switch {
	case math.IsNaN(want):
		return math.IsNaN(g)
	case math.IsInf(want, 0):
		return g == want
	}
	return math.Abs(g-want) <= tol
}

// ulpDiff is the distance between got and want in float32 ulps of want.
func ulpDiff(got float32, want float64) float64 {
	if float64(got) == want {
		return 0
	}
	w := float32(want)
	ulp := float64(math.Nextafter32(float32(math.Abs(float64(w))), float32(math.Inf(1)))) - math.Abs(float64(w))
	return math.Abs(float64(got)-want) / ulp
}

var offsets = []int{0, 1, 3}

func TestFMAPeakRuns(t *testing.T) {
	for _, k := range Impls() {
		if k.FlopsPerIter <= 0 || k.FMAPeak == nil {
			t.Fatalf("%s: no peak loop", k.Name)
		}
		k.FMAPeak(0)
		k.FMAPeak(1000)
	}
}

func TestLookup(t *testing.T) {
	impls := Impls()
	if impls[0].Name != "generic" {
		t.Fatalf("Impls()[0] = %s, want generic", impls[0].Name)
	}
	for _, k := range impls {
		if got, err := Lookup(k.Name); err != nil || got != k {
			t.Fatalf("Lookup(%s) = %v, %v", k.Name, got, err)
		}
	}
	if _, err := Lookup("nonesuch"); err == nil {
		t.Fatal("Lookup(nonesuch) succeeded")
	}
}

// sameBits fails unless got and want hold the same float32 bit patterns.
func sameBits(t testing.TB, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// expectPanic fails unless call panics.
func expectPanic(t *testing.T, what string, call func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatalf("%s did not panic", what)
		}
	}()
	call()
}
