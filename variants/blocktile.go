package variants

import (
	"math"

	"github.com/attnbench/attnbench/asm"
)

// tileAttn is the block engine of the candidate-set variants (window, sparse,
// lsh): a tile of query rows against contiguous ranges of key rows, with
// FlashAttention-2's online softmax (running max m, running sum l, rescale
// α = e^(m−m′)) on the same fused transposed kernels as flash (queryTile,
// flashtile.go): scores Sᵀ = K·Qᵀ with the running max folded in, the
// softmax down columns, the rescale folded into O += P·V.
//
// Which keys a row may see is given per row as a span [lo, hi) of key
// indices minus an optional hole [xlo, xhi). A key tile that lies inside
// every row's span runs exactly as a flash tile; a tile that some span
// cuts (the boundary tiles of a band, a causal edge, a hole) gets its
// scores outside the spans set to −∞ before the column maxima are taken, so
// the GEMMs stay dense while the pattern stays exact. Callers choose key
// ranges that are mostly inside the rows' spans, which keeps the work
// proportional to the candidate pairs; keys no row can see are trimmed off
// each tile without a GEMM.
//
// Key rows are addressed as k[κ·ld : κ·ld+D] for key index κ, and V rows the
// same way, so a strided subsequence of positions (a dilated window, one
// residue class of the strided pattern) is a range of key indices with a
// larger leading dimension, without copying.
//
// A tile's life: begin (pack the queries, load or reset the state), setSpan
// and attend any number of times, then finish (write O/l) or store (write
// the unnormalised state back for a later pass).
type tileAttn struct {
	qt queryTile // Qᵀ, the accumulator and the per-query state
	// full is qt at the widest, for bq rows; each tile narrows qt to the
	// fewest 16-column vectors that hold its rows, so that a short tile
	// (an LSH bucket segment) does not pay for padding columns.
	full   queryTile
	scale  float32
	bq, bk int       // most query rows; most key rows per score tile
	buf    []float32 // the workspace buffer everything is cut from
	s      []float32 // score tile: bk × width
	// spans holds four int32 per row: lo, hi, xlo, xhi (ibuf).
	spans []int32
	ibuf  []int32

	// colScale, when a tile's rows have factors of their own (LSH packs
	// its queries as unit keys times scale·‖q‖), holds them; widest width.
	colScale []float32

	acc   []float32 // where finish or store writes the rows (ldacc apart)
	ldacc int

	// odst (ldo apart) is the accumulator the P·V kernel updates: qt.o,
	// or the caller's state rows themselves (inPlace), which saves
	// copying them in and out of every tile.
	odst    []float32
	ldo     int
	inPlace bool
}

// tileMasker removes, from a tile's scores, pairs that the rows' spans
// allow but the caller excludes (LSH: the pairs an earlier round already
// counted, lshdedup.go). attendMasked calls mask after the spans' masking,
// so every score outside the spans is −∞ already.
//
// A masker is passed by value and its methods have value receivers: the
// engine reaches it through the generic dictionary, where a pointer would
// escape and cost the single-threaded path an allocation.
type tileMasker interface {
	// on reports whether mask has work in this tile; when it has, no key
	// tile is taken as wholly inside the spans.
	on() bool
	// mask sets to −∞ the scores s[(κ−c0)·w + i], rows i < rows, of the
	// key rows κ in [c0, c1) that the caller excludes.
	mask(kern *asm.Kernels, rows int, s []float32, w, c0, c1 int)
}

// noMask is the tileMasker of the variants whose spans say it all.
type noMask struct{}

func (noMask) on() bool                                         { return false }
func (noMask) mask(*asm.Kernels, int, []float32, int, int, int) {}

// tileFloats and tileInts are the workspace sizes of one tileAttn.
func tileFloats(d, bq, bk int) int {
	w := tileWidth(bq)
	return addSize(queryTileFloats(d, w), mulSize(bk, w), w)
}
func tileInts(bq int) int { return mulSize(4, bq) }

// newTile takes a tileAttn's buffers from ws.
func newTile(ws *Workspace, kern *asm.Kernels, d int, scale float32, bq, bk int) tileAttn {
	w := tileWidth(bq)
	f := ws.Float32s(tileFloats(d, bq, bk))
	qt := newQueryTile(kern, d, w, f, noFault)
	ib := ws.Int32s(tileInts(bq))
	return tileAttn{
		ibuf: ib, spans: ib,
		qt: qt, full: qt,
		scale: scale, bq: bq, bk: bk, buf: f,
		s:        f[queryTileFloats(d, w):][:bk*w],
		colScale: f[queryTileFloats(d, w)+bk*w:][:w],
	}
}

// release returns the buffers of newTile.
func (t *tileAttn) release(ws *Workspace) {
	ws.PutFloat32s(t.buf)
	ws.PutInt32s(t.ibuf)
}

// setSpan sets row i's visible keys to [lo, hi) minus [xlo, xhi).
func (t *tileAttn) setSpan(i, lo, hi, xlo, xhi int) {
	sp := t.spans[4*i : 4*i+4]
	sp[0], sp[1], sp[2], sp[3] = int32(lo), int32(hi), int32(xlo), int32(xhi)
}

// begin starts a tile of rows query rows (q, ldq apart) whose results go to
// acc (ldacc apart). With m and l nil the rows start afresh; otherwise
// their unnormalised accumulators are read from acc and their running max
// and sum from m and l (as a store left them).
func (t *tileAttn) begin(rows int, q []float32, ldq int, acc []float32, ldacc int, m, l []float32) {
	t.beginLocal(rows, q, ldq, nil, false, acc, ldacc, m, l)
	t.acc, t.ldacc = acc, ldacc
}

// fitRows sets the query tile to the columns rows queries need: the
// fewest 16-column vectors, or a narrow tile (queryTile.narrow: decode, a
// few heads of one K/V group) when they fit in narrowWidth.
func (t *tileAttn) fitRows(rows int) {
	qt, full := &t.qt, &t.full
	w := tileWidth(rows)
	qt.narrow = rows <= narrowWidth
	if qt.narrow {
		w = narrowWidth
	}
	qt.width = w
	qt.qt, qt.o = full.qt[:qt.d*w], full.o[:w*qt.d]
	qt.m, qt.alpha, qt.l, qt.junk = full.m[:w], full.alpha[:w], full.l[:w], full.junk[:w]
}

// beginInPlace starts a tile of rows queries (row i at q[qperm[i]·ldq],
// qperm nil: i; packed into the tile's Qᵀ times the logit scale, or with
// colScale times t.colScale[i]) whose unnormalised accumulators are the
// caller's rows o[i·ldo : i·ldo+D], updated in place. With m and l nil the
// rows start afresh (o is cleared); otherwise their running max and sum are
// read from m and l. store writes m and l back; the accumulators are
// already there.
func (t *tileAttn) beginInPlace(rows int, q []float32, ldq int, qperm []int32, colScale bool, o []float32, ldo int, m, l []float32) {
	t.startRows(rows, q, ldq, qperm, colScale, m, l)
	t.acc, t.ldacc = o, ldo
	t.odst, t.ldo, t.inPlace = o, ldo, true
	if m == nil {
		for i := range rows {
			clear(o[i*ldo : i*ldo+t.qt.d])
		}
	}
}

// beginLocal starts a tile like beginInPlace, but the rows accumulate in
// the tile's own buffer: their state is copied in from o (ldo apart) and m,
// l, or (m nil) starts afresh. The caller takes the result from t.qt (o, m,
// l), e.g. to scatter it elsewhere.
func (t *tileAttn) beginLocal(rows int, q []float32, ldq int, qperm []int32, colScale bool, o []float32, ldo int, m, l []float32) {
	t.startRows(rows, q, ldq, qperm, colScale, m, l)
	qt := &t.qt
	d := qt.d
	t.acc, t.ldacc = nil, 0
	t.odst, t.ldo, t.inPlace = qt.o, d, false
	switch {
	case m == nil:
		clear(qt.o)
	case ldo == d:
		copy(qt.o[:rows*d], o[:rows*d])
	default:
		for i := range rows {
			copy(qt.o[i*d:(i+1)*d], o[i*ldo:i*ldo+d])
		}
	}
}

// startRows narrows the tile to rows queries, packs them (see
// beginInPlace) and loads their running max and sum from m and l, or (m
// nil) starts them afresh.
func (t *tileAttn) startRows(rows int, q []float32, ldq int, qperm []int32, colScale bool, m, l []float32) {
	qt := &t.qt
	t.fitRows(rows)
	qt.rows = rows
	var cs []float32
	if colScale {
		cs = t.colScale
	}
	t.packRows(rows, q, ldq, qperm, cs)
	clear(qt.l)
	for i := range qt.m {
		qt.m[i] = float32(math.Inf(-1))
	}
	if m != nil {
		copy(qt.m, m[:rows])
		copy(qt.l, l[:rows])
	}
}

// packRows packs rows query rows, scaled, into the tile's Qᵀ and zeroes its
// padding columns: row i is q[r·ldq:] with r = perm[i] (perm nil: i), times
// colScale[i] (nil: the logit scale).
func (t *tileAttn) packRows(rows int, q []float32, ldq int, perm []int32, colScale []float32) {
	t.qt.pack(rows, q, ldq, perm, t.scale, colScale)
}

// attend folds keys [k0, k1) into the tile's state, each row seeing only its
// span. k and v hold key κ at κ·ld.
func (t *tileAttn) attend(k, v []float32, ld, k0, k1 int) {
	attendMasked(t, noMask{}, k, v, ld, k0, k1)
}

// attendMasked is attend with the pairs masker excludes removed as well.
func attendMasked[M tileMasker](t *tileAttn, masker M, k, v []float32, ld, k0, k1 int) {
	qt := &t.qt
	kern, d, w, rows := qt.kern, qt.d, qt.width, qt.rows
	for t0 := k0; t0 < k1; t0 += t.bk {
		// Narrow the key tile to the keys some row can see, and find
		// whether every row sees all of them.
		e0 := min(k1, t0+t.bk)
		c0, c1 := e0, t0
		full := !masker.on()
		for i := range rows {
			sp := t.spans[4*i : 4*i+4]
			lo, hi := int(sp[0]), int(sp[1])
			if l, h := max(lo, t0), min(hi, e0); l < h {
				c0, c1 = min(c0, l), max(c1, h)
			}
			full = full && lo <= t0 && hi >= e0 && (sp[2] >= sp[3] || int(sp[3]) <= t0 || int(sp[2]) >= e0)
		}
		if c0 >= c1 {
			continue
		}
		cols := c1 - c0
		copy(qt.alpha, qt.m)
		kc, vc := k[c0*ld:], v[c0*ld:]
		if full {
			qt.scoresLd(cols, kc, ld, t.s, qt.m)
		} else {
			qt.scoresLd(cols, kc, ld, t.s, qt.junk)
			t.mask(c0, c1)
			if masker.on() {
				// Every score outside the spans is −∞ already, so the
				// masker may test the whole tile, key row by key row.
				masker.mask(kern, rows, t.s, w, c0, c1)
			}
			kern.ColMax(cols, w, t.s, qt.m)
			// A row that has seen no key yet and sees none here keeps
			// m = −∞; a finite stand-in keeps e^(s−m) from being NaN
			// (its probabilities and α are 0 either way).
			for i := range rows {
				if math.IsInf(float64(qt.m[i]), -1) {
					qt.m[i] = 0
				}
			}
		}
		kern.SoftmaxT(cols, w, t.s, qt.m, qt.alpha, qt.l)
		// Only the real rows: the padding columns' probabilities are
		// never read back.
		kern.AccumulatePV(cols, w, rows, d, t.s, vc, ld, t.odst, t.ldo, qt.alpha)
		if !full {
			for i := range rows {
				if qt.l[i] == 0 {
					qt.m[i] = float32(math.Inf(-1))
				}
			}
		}
	}
}

// mask sets to −∞ the scores of key rows [c0, c1) that a row's span does not
// cover.
func (t *tileAttn) mask(c0, c1 int) {
	w, s := t.qt.width, t.s
	negInf := float32(math.Inf(-1))
	cut := func(i, a, b int) {
		for x := max(a, c0); x < min(b, c1); x++ {
			s[(x-c0)*w+i] = negInf
		}
	}
	for i := range t.qt.rows {
		sp := t.spans[4*i : 4*i+4]
		lo, hi := max(int(sp[0]), c0), min(int(sp[1]), c1)
		if lo >= hi {
			cut(i, c0, c1)
			continue
		}
		cut(i, c0, lo)
		cut(i, hi, c1)
		cut(i, max(int(sp[2]), lo), min(int(sp[3]), hi))
	}
}

// finish writes each row's O/l to acc; a row that saw no key is zero, as
// docs/design.md §2 defines an empty candidate set.
func (t *tileAttn) finish() {
	d := t.qt.d
	for i := range t.qt.rows {
		r := i
		a := t.acc[r*t.ldacc : r*t.ldacc+d]
		if l := t.qt.l[i]; l > 0 {
			inv := 1 / l
			for c, x := range t.odst[i*t.ldo : i*t.ldo+d] {
				a[c] = x * inv
			}
		} else {
			clear(a)
		}
	}
}

// finishPacked is finish for a tile that packs the group query heads
// h0 … h0+group−1 of batch b (grouped K/V heads): row x belongs to head
// h0 + x mod group, whose query row is perm[x] − (x mod group)·N (perm as
// the tile packed its queries from head h0's Q with the heads N·D apart).
// It writes O/l there, 0 for a row that saw no key; the tile must have
// been started with beginLocal.
func (t *tileAttn) finishPacked(out Tensor, b, h0, group int, perm []int32) {
	d := t.qt.d
	for x, r := range perm {
		g := x % group
		o := out.Head(b, h0+g)[(int(r)-g*out.S)*d:][:d]
		if l := t.qt.l[x]; l > 0 {
			inv := 1 / l
			for c, y := range t.qt.o[x*d : (x+1)*d] {
				o[c] = y * inv
			}
		} else {
			clear(o)
		}
	}
}

// store writes the unnormalised accumulators to acc and the running max and
// sum to m and l, for a later pass to continue.
func (t *tileAttn) store(m, l []float32) {
	d := t.qt.d
	for i := range t.qt.rows {
		r := i
		if !t.inPlace {
			copy(t.acc[r*t.ldacc:r*t.ldacc+d], t.qt.o[i*d:(i+1)*d])
		}
		m[r], l[r] = t.qt.m[i], t.qt.l[i]
	}
}

// foldOne folds a single key with scaled score sc and value vrow into a
// row's state (LSH's self key when it is a query's only candidate).
func foldOne(kern *asm.Kernels, sc float32, vrow, acc []float32, m, l *float32) {
	mNew := max(*m, sc)
	alpha := float32(math.Exp(float64(*m - mNew)))
	p := float32(math.Exp(float64(sc - mNew)))
	if alpha != 1 {
		kern.Scale(acc, alpha)
	}
	kern.Axpy(acc, p, vrow)
	*l = alpha**l + p
	*m = mNew
}

// tileWorker is one goroutine's tile and its row permutation (perm rows,
// none for 0), for onThreads.
type tileWorker struct {
	t    tileAttn
	perm []int32
}

func newTileWorker(ws *Workspace, kern *asm.Kernels, d int, scale float32, bq, bk, perm int) tileWorker {
	w := tileWorker{t: newTile(ws, kern, d, scale, bq, bk)}
	if perm > 0 {
		w.perm = ws.Int32s(perm)
	}
	return w
}

func (w tileWorker) release(ws *Workspace) {
	w.t.release(ws)
	if w.perm != nil {
		ws.PutInt32s(w.perm)
	}
}
