// Package variants defines attention variants behind one interface: what
// each computes (its float64 definition, Reference) beside how it computes it
// fast (Forward, float32).
//
// Tensors are float32, row-major and contiguous, shaped [batch, heads, seq,
// dim]. Q is [B,H,N,D]; K and V are [B,Hkv,M,D] with H a multiple of Hkv
// (grouped-query attention: query head h reads K/V head ⌊h·Hkv/H⌋); the
// output is [B,H,N,D]. Query i sits at position p_i = i + (M − N): the
// queries are the last N positions of the sequence (see Shape.QueryPos).
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

// Shape is the problem size of one attention call: B batches, H query
// heads, Hkv K/V heads (0 means H), N queries, M keys, head dimension D.
type Shape struct {
	B, H, N, M, D int
	Hkv           int
}

func (s Shape) String() string {
	if s.Hkv != 0 && s.Hkv != s.H {
		return fmt.Sprintf("B=%d H=%d Hkv=%d N=%d M=%d D=%d", s.B, s.H, s.Hkv, s.N, s.M, s.D)
	}
	return fmt.Sprintf("B=%d H=%d N=%d M=%d D=%d", s.B, s.H, s.N, s.M, s.D)
}

// KVHeads returns Hkv, the number of K/V heads (H when Hkv is unset).
func (s Shape) KVHeads() int {
	if s.Hkv == 0 {
		return s.H
	}
	return s.Hkv
}

// Group returns H/Hkv, the query heads that share one K/V head.
func (s Shape) Group() int { return s.H / s.KVHeads() }

// KVHead returns the K/V head that query head h reads: ⌊h·Hkv/H⌋, which is
// h/Group() when H is a multiple of Hkv.
func (s Shape) KVHead(h int) int { return h / s.Group() }

// Offset returns M − N: query i sits at position p_i = i + Offset() (the
// queries are the last N positions, as in decoding with a KV cache).
func (s Shape) Offset() int { return s.M - s.N }

// QueryPos returns query i's position p_i = i + M − N.
func (s Shape) QueryPos(i int) int { return i + s.M - s.N }

// FirstVisible returns the first query row whose position is ≥ 0:
// max(0, N − M). With causal attention the rows before it see no key and
// output 0.
func (s Shape) FirstVisible() int { return max(0, s.N-s.M) }

// Check reports a shape that no variant can run.
func (s Shape) Check() error {
	if s.B < 1 || s.H < 1 || s.N < 1 || s.M < 1 || s.D < 1 || s.Hkv < 0 {
		return fmt.Errorf("every size must be ≥ 1, got %v", s)
	}
	if s.H%s.KVHeads() != 0 {
		return fmt.Errorf("%d query heads are not a multiple of %d K/V heads", s.H, s.KVHeads())
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
	case k.H != v.H:
		return Shape{}, fmt.Errorf("K and V head counts differ: K %d, V %d", k.H, v.H)
	case k.H > q.H || q.H%k.H != 0:
		return Shape{}, fmt.Errorf("Q's %d heads are not a multiple of K and V's %d heads (grouped-query attention needs H = g·Hkv)", q.H, k.H)
	case k.D != q.D:
		return Shape{}, fmt.Errorf("Q and K head dimensions differ: Q %d, K %d", q.D, k.D)
	case v.D != q.D:
		return Shape{}, fmt.Errorf("V head dimension %d differs from Q's %d (attnbench needs them equal)", v.D, q.D)
	case v.S != k.S:
		return Shape{}, fmt.Errorf("K and V lengths differ: K %d, V %d", k.S, v.S)
	}
	return Shape{B: q.B, H: q.H, N: q.S, M: k.S, D: q.D, Hkv: k.H}, nil
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
