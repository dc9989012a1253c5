package variants

import (
	"slices"
	"sync"
)

// Workspace supplies every scratch buffer of a Forward call and records the
// peak number of bytes in use, so memory is measured, not declared.
//
// Buffers are pooled: once a Forward has run, later calls of the same shape
// take their buffers from the pool and allocate nothing. A Workspace may be
// shared by the goroutines of one Forward (it is locked), but not by two
// concurrent Forward calls whose peaks are to be told apart.
type Workspace struct {
	mu          sync.Mutex
	freeF32     [][]float32
	freeI32     [][]int32
	inUse, peak int64
	reserved    int64
}

// NewWorkspace returns an empty workspace.
func NewWorkspace() *Workspace { return &Workspace{} }

// Float32s returns a zeroed buffer of n float32s.
func (w *Workspace) Float32s(n int) []float32 { return take(w, &w.freeF32, n, true) }

// Float32sDirty is Float32s without the zeroing: the contents are left
// from earlier use, for a caller that writes every element before reading
// it (clearing megabytes it is about to overwrite costs it time).
func (w *Workspace) Float32sDirty(n int) []float32 { return take(w, &w.freeF32, n, false) }

// Int32s returns a zeroed buffer of n int32s.
func (w *Workspace) Int32s(n int) []int32 { return take(w, &w.freeI32, n, true) }

// Int32sDirty is Int32s without the zeroing (see Float32sDirty).
func (w *Workspace) Int32sDirty(n int) []int32 { return take(w, &w.freeI32, n, false) }

// PutFloat32s returns a buffer obtained from Float32s.
func (w *Workspace) PutFloat32s(b []float32) { give(w, &w.freeF32, b) }

// PutInt32s returns a buffer obtained from Int32s.
func (w *Workspace) PutInt32s(b []int32) { give(w, &w.freeI32, b) }

// element is a 4-byte element type the workspace pools.
type element interface{ ~float32 | ~int32 }

// take hands out a buffer of n elements from free, the smallest that
// fits, or a new one; it counts 4·n bytes in use.
func take[T element](w *Workspace, free *[][]T, n int, zero bool) []T {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.account(int64(n) * 4)
	if i := bestFit(*free, n); i >= 0 {
		b := (*free)[i][:n]
		*free = slices.Delete(*free, i, i+1)
		if zero {
			clear(b)
		}
		return b
	}
	w.reserved += int64(n) * 4
	return make([]T, n)
}

// give returns a buffer to free.
func give[T element](w *Workspace, free *[][]T, b []T) {
	w.mu.Lock()
	w.inUse -= int64(len(b)) * 4
	*free = append(*free, b)
	w.mu.Unlock()
}

func (w *Workspace) account(bytes int64) {
	w.inUse += bytes
	if w.inUse > w.peak {
		w.peak = w.inUse
	}
}

// bestFit returns the index of the smallest free buffer holding n elements,
// or -1.
func bestFit[T any](free [][]T, n int) int {
	best := -1
	for i, b := range free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(free[best])) {
			best = i
		}
	}
	return best
}

// Peak returns the largest number of bytes in use at once since the last
// ResetPeak (or since creation).
func (w *Workspace) Peak() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.peak
}

// InUse returns the bytes handed out and not yet returned.
func (w *Workspace) InUse() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.inUse
}

// Reserved returns the bytes the pool has allocated from the Go heap.
func (w *Workspace) Reserved() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reserved
}

// ResetPeak starts a new peak measurement.
func (w *Workspace) ResetPeak() {
	w.mu.Lock()
	w.peak = w.inUse
	w.mu.Unlock()
}
