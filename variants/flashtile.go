package variants

import (
	"math"

	"github.com/attnbench/attnbench/asm"
)

// queryTile is the state of one query tile of exact attention, shared by
// flash (many key tiles, online softmax) and full (one key tile holding
// every key, its scores kept in the N×M workspace).
//
// Scores are computed transposed, Sᵀ = K·Qᵀ: one row per key, one column per
// query. The query tile is packed once as Qᵀ (width columns, zero-padded
// past the real rows) and pre-multiplied by the logit scale (exact for the
// power-of-two scales of D = 16, 64, 256), so the softmax runs down
// columns: the running max folds into the score
// kernel, the rescale α into the P·V kernel, and no kernel needs a
// horizontal reduction (asm.Kernels ScoresT, SoftmaxT, AccumulatePV).
type queryTile struct {
	kern     *asm.Kernels
	d, width int
	qt       []float32 // Qᵀ: d × width
	o        []float32 // output accumulator: width × d
	m        []float32 // running max per query
	alpha    []float32 // old max in, rescale factor out
	l        []float32 // running sum per query
	junk     []float32 // column maxima that must not count (masked rows)
	fault    flashFault
}

// tileWidth is the number of query columns of a tile of bq queries: a whole
// number of 16-float vectors, so every SIMD set runs its full-width kernels.
func tileWidth(bq int) int { return roundUp16(bq) }

// queryTileFloats is the scratch a queryTile needs, in floats.
func queryTileFloats(d, width int) int { return addSize(mulSize(2, d, width), mulSize(4, width)) }

// newQueryTile lays a query tile out in scratch (queryTileFloats long).
func newQueryTile(kern *asm.Kernels, d, width int, scratch []float32, fault flashFault) queryTile {
	t := queryTile{kern: kern, d: d, width: width, fault: fault}
	t.qt, scratch = scratch[:d*width], scratch[d*width:]
	t.o, scratch = scratch[:width*d], scratch[width*d:]
	t.m, scratch = scratch[:width], scratch[width:]
	t.alpha, scratch = scratch[:width], scratch[width:]
	t.l, scratch = scratch[:width], scratch[width:]
	t.junk = scratch[:width]
	return t
}

// start packs rows queries of q (row-major, d wide) and resets the running
// state.
func (t *queryTile) start(q []float32, rows int, scale float32) {
	t.kern.PackT(rows, t.width, t.d, q, t.d, nil, scale, nil, t.qt)
	clear(t.o)
	for i := range t.m {
		t.m[i] = float32(math.Inf(-1))
	}
	clear(t.l)
}

// step adds keys [c0, c0+cols) of k and v (row-major, d wide) to the tile
// whose first query is r0, with s (cols × width) as the score tile. When
// causal, query r0+i sees key j only if j ≤ r0+i.
func (t *queryTile) step(k, v []float32, c0, cols, r0 int, causal bool, s []float32) {
	kern, d, w := t.kern, t.d, t.width
	copy(t.alpha, t.m)
	kj := k[c0*d:]
	// Keys up to r0 are visible to every query of the tile; later ones
	// (the band across the diagonal) are masked per query.
	free := cols
	if causal {
		free = max(0, min(cols, r0-c0+1))
	}
	if free > 0 {
		kern.ScoresT(free, w, d, kj, d, t.qt, w, s, t.m)
	}
	if band := cols - free; band > 0 {
		kern.ScoresT(band, w, d, kj[free*d:], d, t.qt, w, s[free*w:], t.junk)
		for j := free; j < cols; j++ {
			row := s[j*w : (j+1)*w]
			// Query r0+i sees key c0+j when i ≥ c0+j−r0.
			first := c0 + j - r0
			if t.fault == faultMaskOffByOne {
				first--
			}
			for i := range row[:min(first, w)] {
				row[i] = float32(math.Inf(-1))
			}
			kern.MaxInto(t.m, row)
		}
	}
	kern.SoftmaxT(cols, w, s, t.m, t.alpha, t.l)
	alpha := t.alpha
	if t.fault == faultNoRescale {
		alpha = nil
	}
	kern.AccumulatePV(cols, w, w, d, s, v[c0*d:], d, t.o, d, alpha)
}

// finish writes the first rows queries' outputs, O/l, to out (row-major);
// a query that saw no key gets 0.
func (t *queryTile) finish(out []float32, rows int) {
	d := t.d
	for i := range rows {
		oi := out[i*d : (i+1)*d]
		if l := t.l[i]; l > 0 {
			inv := 1 / l
			for c, x := range t.o[i*d : (i+1)*d] {
				oi[c] = x * inv
			}
		} else {
			clear(oi)
		}
	}
}
