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
	rows     int // real queries (columns) of the current tile

	// narrow tiles (at most narrowWidth queries: decode, a few heads of
	// one K/V group) keep Q row-major and compute the scores with GemmNT,
	// whose SIMD runs along d: the transposed score kernel would compute
	// a whole 16-column vector per key for a handful of real columns,
	// which makes a decode step compute-bound instead of bound by reading
	// K and V.
	narrow bool
}

// narrowWidth is the width of a narrow tile: a whole number of 4-column
// blocks for GemmNT and one 8-column group for the softmax kernels.
const narrowWidth = 8

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
	t.startRows(q, nil, rows, scale)
}

// startRows is start with the rows gathered: row i is q[perm[i]·d:] (perm
// nil: i).
func (t *queryTile) startRows(q []float32, perm []int32, rows int, scale float32) {
	t.rows = rows
	t.pack(rows, q, t.d, perm, scale, nil)
	clear(t.o)
	for i := range t.m {
		t.m[i] = float32(math.Inf(-1))
	}
	clear(t.l)
}

// pack packs rows queries into the tile, Qᵀ (PackT) or, narrow, Q
// row-major, padding rows zero: row i is q[r·ldq:] with r = perm[i] (perm
// nil: i), times colScale[i] (nil: scale), the plain float32 multiply in
// both layouts.
func (t *queryTile) pack(rows int, q []float32, ldq int, perm []int32, scale float32, colScale []float32) {
	if !t.narrow {
		t.kern.PackT(rows, t.width, t.d, q, ldq, perm, scale, colScale, t.qt)
		return
	}
	d := t.d
	for i := range t.width {
		dst := t.qt[i*d : (i+1)*d]
		if i >= rows {
			clear(dst)
			continue
		}
		r, f := i, scale
		if perm != nil {
			r = int(perm[i])
		}
		if colScale != nil {
			f = colScale[i]
		}
		for p, x := range q[r*ldq : r*ldq+d] {
			dst[p] = f * x
		}
	}
}

// step adds keys [c0, c0+cols) of k and v (row-major, d wide) to the tile,
// with s (cols × width) as the score tile. When causal, column c of the
// tile is at position p0 + c/group (group > 1 packs the query heads that
// share one K/V head position by position) and sees key j only if
// j ≤ its position.
func (t *queryTile) step(k, v []float32, c0, cols, p0, group int, causal bool, s []float32) {
	kern, d, w := t.kern, t.d, t.width
	copy(t.alpha, t.m)
	kj := k[c0*d:]
	// Keys up to p0 are visible to every query of the tile; later ones
	// (the band across the diagonal) are masked per query.
	free := cols
	if causal {
		free = max(0, min(cols, p0-c0+1))
	}
	if free > 0 {
		t.scores(free, kj, s, t.m)
	}
	band := cols - free
	if band > 0 {
		t.scores(band, kj[free*d:], s[free*w:], t.junk)
		for j := free; j < cols; j++ {
			row := s[j*w : (j+1)*w]
			// Column c sees key c0+j when p0 + c/group ≥ c0+j.
			first := (c0 + j - p0) * group
			if t.fault == faultMaskOffByOne {
				first -= group
			}
			for i := range row[:min(first, w)] {
				row[i] = float32(math.Inf(-1))
			}
			kern.MaxInto(t.m, row)
		}
		if free == 0 {
			// A column that has seen no key yet and sees none here keeps
			// m = −∞; a finite stand-in keeps e^(s−m) from being NaN
			// (its probabilities and α are 0 either way).
			for i, m := range t.m {
				if math.IsInf(float64(m), -1) {
					t.m[i] = 0
				}
			}
		}
	}
	kern.SoftmaxT(cols, w, s, t.m, t.alpha, t.l)
	alpha := t.alpha
	if t.fault == faultNoRescale {
		alpha = nil
	}
	// Only the real rows: the padding columns' probabilities are never read.
	kern.AccumulatePV(cols, w, t.rows, d, s, v[c0*d:], d, t.o, d, alpha)
	if band > 0 && free == 0 {
		for i, l := range t.l {
			if l == 0 {
				t.m[i] = float32(math.Inf(-1))
			}
		}
	}
}

// scores sets s (rows × width) to the scores of rows keys k (d apart)
// against the tile's queries and folds their column maxima into colMax.
func (t *queryTile) scores(rows int, k, s, colMax []float32) {
	t.scoresLd(rows, k, t.d, s, colMax)
}

// scoresLd is scores with the key rows ldk apart.
func (t *queryTile) scoresLd(rows int, k []float32, ldk int, s, colMax []float32) {
	if !t.narrow {
		t.kern.ScoresT(rows, t.width, t.d, k, ldk, t.qt, t.width, s, colMax)
		return
	}
	// Only the real queries, in whole 4-column blocks; the padding
	// columns keep the finite values of the last softmax (never read).
	n := min(t.width, (t.rows+3)&^3)
	t.kern.GemmNT(rows, n, t.d, k, ldk, t.qt, t.d, s, t.width)
	t.kern.ColMax(rows, t.width, s, colMax)
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
