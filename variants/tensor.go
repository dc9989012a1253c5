// Package variants defines attention variants behind one interface: what
// each computes (its float64 definition, Reference) beside how it computes it
// fast (Forward, float32).
//
// Tensors are float32, row-major and contiguous, shaped [batch, heads, seq,
// dim]. Q is [B,H,N,D]; K and V are [B,H,M,D]; the output is [B,H,N,D].
package variants

import (
	"fmt"
)

// Tensor is a contiguous float32 array of shape [B, H, S, D].
type Tensor struct {
	B, H, S, D int
	Data       []float32
}

// NewTensor allocates a zeroed tensor. It panics when b·h·s·d overflows:
// shapes from users go through AllocTensor (or the memory guard) first.
func NewTensor(b, h, s, d int) Tensor {
	t, err := AllocTensor(b, h, s, d)
	if err != nil {
		panic("variants: NewTensor: " + err.Error())
	}
	return t
}

// AllocTensor allocates a zeroed tensor, or returns an error when a
// dimension is negative or b·h·s·d overflows.
func AllocTensor(b, h, s, d int) (Tensor, error) {
	n, err := TensorLen(b, h, s, d)
	if err != nil {
		return Tensor{}, fmt.Errorf("tensor [%d %d %d %d]: %v", b, h, s, d, err)
	}
	return Tensor{B: b, H: h, S: s, D: d, Data: make([]float32, n)}, nil
}

// Head returns the [S, D] matrix of batch b, head h, sharing t's storage.
func (t Tensor) Head(b, h int) []float32 {
	n := t.S * t.D
	off := (b*t.H + h) * n
	return t.Data[off : off+n : off+n]
}

// Len returns B·H·S·D (TooLarge when that overflows).
func (t Tensor) Len() int { return mulSize(t.B, t.H, t.S, t.D) }

func (t Tensor) check(name string) error {
	if t.B < 1 || t.H < 1 || t.S < 1 || t.D < 1 {
		return fmt.Errorf("%s: every dimension must be ≥ 1, got shape [%d %d %d %d]", name, t.B, t.H, t.S, t.D)
	}
	if len(t.Data) != t.Len() {
		return fmt.Errorf("%s: shape [%d %d %d %d] needs %d values, has %d", name, t.B, t.H, t.S, t.D, t.Len(), len(t.Data))
	}
	return nil
}

// Shape is the problem size of one attention call: B batches, H heads, N
// queries, M keys, head dimension D.
type Shape struct {
	B, H, N, M, D int
}

func (s Shape) String() string {
	return fmt.Sprintf("B=%d H=%d N=%d M=%d D=%d", s.B, s.H, s.N, s.M, s.D)
}

// Check reports a shape that no variant can run.
func (s Shape) Check() error {
	if s.B < 1 || s.H < 1 || s.N < 1 || s.M < 1 || s.D < 1 {
		return fmt.Errorf("every size must be ≥ 1, got %v", s)
	}
	return nil
}

// ShapeOf checks that q, k, v (and out, when it has data) agree and returns
// the problem shape.
func ShapeOf(q, k, v Tensor) (Shape, error) {
	for _, c := range []struct {
		name string
		t    Tensor
	}{{"Q", q}, {"K", k}, {"V", v}} {
		if err := c.t.check(c.name); err != nil {
			return Shape{}, err
		}
	}
	switch {
	case k.B != q.B || v.B != q.B:
		return Shape{}, fmt.Errorf("batch sizes differ: Q %d, K %d, V %d", q.B, k.B, v.B)
	case k.H != q.H || v.H != q.H:
		return Shape{}, fmt.Errorf("head counts differ: Q %d, K %d, V %d", q.H, k.H, v.H)
	case k.D != q.D:
		return Shape{}, fmt.Errorf("Q and K head dimensions differ: Q %d, K %d", q.D, k.D)
	case v.D != q.D:
		return Shape{}, fmt.Errorf("V head dimension %d differs from Q's %d (attnbench needs them equal)", v.D, q.D)
	case v.S != k.S:
		return Shape{}, fmt.Errorf("K and V lengths differ: K %d, V %d", k.S, v.S)
	}
	return Shape{B: q.B, H: q.H, N: q.S, M: k.S, D: q.D}, nil
}

// checkOut checks that out has q's shape.
func checkOut(s Shape, out Tensor) error {
	if err := out.check("output"); err != nil {
		return err
	}
	if out.B != s.B || out.H != s.H || out.S != s.N || out.D != s.D {
		return fmt.Errorf("output shape [%d %d %d %d] differs from Q's [%d %d %d %d]", out.B, out.H, out.S, out.D, s.B, s.H, s.N, s.D)
	}
	return nil
}
