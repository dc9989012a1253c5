package variants

import (
	"math"

	"github.com/attnbench/attnbench/asm"
)

// tileAttn is the block engine of the candidate-set variants (window, sparse,
// lsh): a tile of query rows against a contiguous range of key rows, cut
// into key tiles, with FlashAttention-2's online softmax (running max m,
// running sum l, rescale α = e^(m−m′)). Which keys a row may see is given
// per row as a span [lo, hi) of key indices minus an optional hole
// [xlo, xhi); scores outside it never enter the softmax and their
// probabilities are zero before O += P·V, so the two GEMMs stay dense while
// the pattern stays exact. Callers choose key ranges that are mostly
// inside the rows' spans, which is what keeps the work proportional to the
// candidate pairs; a key tile no row can see is skipped without a GEMM.
//
// Key rows are addressed as k[κ·ld : κ·ld+D] for key index κ, and V rows the
// same way, so a strided subsequence of positions (a dilated window, one
// residue class of the strided pattern) is a range of key indices with a
// larger leading dimension, without copying.
type tileAttn struct {
	kern  *asm.Kernels
	d     int
	scale float32
	bq    int       // most query rows per call
	bk    int       // key tile columns; leading dimension of s
	buf   []float32 // the workspace buffer s, m and l are cut from
	s     []float32
	// spans holds four int32 per row: lo, hi, xlo, xhi.
	spans []int32
	// m and l are per-row running max and sum for callers that keep the
	// state per tile (others pass their own slices).
	m, l []float32
	// dedup, when on, removes pairs already counted in an earlier LSH
	// round (see lsh.go). A value, not a pointer: the kernels are called
	// through function values, so everything a tile points to escapes.
	dedup lshDedup
}

// tileFloats and tileInts are the workspace sizes of one tileAttn.
func tileFloats(bq, bk int) int { return bq*bk + 2*bq }
func tileInts(bq int) int       { return 4 * bq }

// newTile takes a tileAttn's buffers from ws.
func newTile(ws *Workspace, kern *asm.Kernels, d int, scale float32, bq, bk int) tileAttn {
	f := ws.Float32s(tileFloats(bq, bk))
	return tileAttn{
		kern: kern, d: d, scale: scale, bq: bq, bk: bk, buf: f,
		s:     f[:bq*bk],
		m:     f[bq*bk : bq*bk+bq],
		l:     f[bq*bk+bq:],
		spans: ws.Int32s(tileInts(bq)),
	}
}

// release returns the buffers of newTile.
func (t *tileAttn) release(ws *Workspace) {
	ws.PutFloat32s(t.buf)
	ws.PutInt32s(t.spans)
}

// setSpan sets row i's visible keys to [lo, hi) minus [xlo, xhi).
func (t *tileAttn) setSpan(i, lo, hi, xlo, xhi int) {
	sp := t.spans[4*i : 4*i+4]
	sp[0], sp[1], sp[2], sp[3] = int32(lo), int32(hi), int32(xlo), int32(xhi)
}

// reset starts rows afresh: accumulator rows zero, m = −∞, l = 0.
func (t *tileAttn) reset(rows int, acc []float32, ldacc int, m, l []float32) {
	for i := range rows {
		clear(acc[i*ldacc : i*ldacc+t.d])
		m[i] = float32(math.Inf(-1))
		l[i] = 0
	}
}

// attend folds keys [k0, k1) into the state of rows query rows (q at ldq;
// accumulators acc at ldacc; m, l contiguous), each row seeing only its span.
// k and v hold key κ at κ·ld.
func (t *tileAttn) attend(rows int, q []float32, ldq int, k, v []float32, ld, k0, k1 int,
	acc []float32, ldacc int, m, l []float32) {
	kern, d := t.kern, t.d
	negInf := float32(math.Inf(-1))
	for t0 := k0; t0 < k1; t0 += t.bk {
		// Narrow the key tile to the keys some row can see, so that a
		// causal edge or a short row costs no GEMM columns.
		c0, c1 := min(k1, t0+t.bk), t0
		for i := range rows {
			sp := t.spans[4*i:]
			if lo, hi := max(int(sp[0]), t0), min(int(sp[1]), k1, t0+t.bk); lo < hi {
				c0, c1 = min(c0, lo), max(c1, hi)
			}
		}
		if c0 >= c1 {
			continue
		}
		cols := c1 - c0
		kern.GemmNT(rows, cols, d, q, ldq, k[c0*ld:], ld, t.s, t.bk)
		for i := range rows {
			row := t.s[i*t.bk : i*t.bk+cols]
			sp := t.spans[4*i : 4*i+4]
			lo := max(int(sp[0]), c0) - c0
			hi := min(int(sp[1]), c1) - c0
			if lo >= hi {
				clear(row)
				continue
			}
			kern.Scale(row[lo:hi], t.scale)
			for x := max(int(sp[2])-c0, lo); x < min(int(sp[3])-c0, hi); x++ {
				row[x] = negInf
			}
			if t.dedup.on {
				t.dedup.mask(i, row, lo, hi, c0)
			}
			t.fold(row, lo, hi, acc[i*ldacc:i*ldacc+d], &m[i], &l[i])
		}
		kern.GemmNNAcc(rows, d, cols, t.s, t.bk, v[c0*ld:], ld, acc, ldacc)
	}
}

// fold turns one row of scaled scores, live in [lo, hi) (−∞ for masked
// entries inside), into probabilities relative to the new running max,
// zero outside, and updates the row's m, l and accumulator.
func (t *tileAttn) fold(row []float32, lo, hi int, acc []float32, m, l *float32) {
	kern := t.kern
	mx := kern.Max(row[lo:hi])
	if math.IsInf(float64(mx), -1) {
		clear(row) // every live entry masked
		return
	}
	clear(row[:lo])
	clear(row[hi:])
	mNew := max(*m, mx)
	alpha := float32(math.Exp(float64(*m - mNew))) // 0 on the row's first keys
	sum := kern.ExpSum(row[lo:hi], mNew)
	if alpha != 1 {
		kern.Scale(acc, alpha)
	}
	*l = alpha**l + sum
	*m = mNew
}

// foldOne folds a single key with scaled score sc and value vrow into a
// row's state (LSH's self key when it is a query's only candidate).
func (t *tileAttn) foldOne(sc float32, vrow, acc []float32, m, l *float32) {
	mNew := max(*m, sc)
	alpha := float32(math.Exp(float64(*m - mNew)))
	p := float32(math.Exp(float64(sc - mNew)))
	if alpha != 1 {
		t.kern.Scale(acc, alpha)
	}
	t.kern.Axpy(acc, p, vrow)
	*l = alpha**l + p
	*m = mNew
}

// finish divides each accumulator row by its sum; a row that saw no key is
// zero, as DESIGN §2 defines an empty candidate set.
func (t *tileAttn) finish(rows int, acc []float32, ldacc int, l []float32) {
	for i := range rows {
		a := acc[i*ldacc : i*ldacc+t.d]
		if l[i] > 0 {
			t.kern.Scale(a, 1/l[i])
		} else {
			clear(a)
		}
	}
}
