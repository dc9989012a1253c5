//go:build !purego && (amd64 || arm64)

package asm

import (
	"math"
	"unsafe"
)

// simdFuncs are the assembly entry points of one SIMD kernel set. They work
// on whole vectors and whole register tiles only; kernels() wraps them into
// a Kernels whose functions take any length, doing the remainders in Go
// with the generic code. The wrappers check slice bounds before handing
// raw pointers to assembly, so a wrong length panics instead of corrupting
// memory.
type simdFuncs struct {
	name  string
	lanes int

	scale  func(dst, src *float32, n int, a float32)
	axpy   func(y, x *float32, n int, a float32)
	max    func(x *float32, n int) float32
	vmax   func(dst, src *float32, n int)
	dot    func(x, y *float32, n int) float32
	expsum func(x *float32, n int, m float32) float32

	exp2cols  func(sp *float32, rows, width, ld int, m, alpha, l *float32) // nil: generic
	exp2Group int                                                          // exp2cols needs width to be a multiple of this
	// exp2tail, when set, takes the columns past the last whole exp2Group
	// in groups of exp2TailGroup (AVX-512's 64-column groups leave the
	// narrow tiles of the sparse variants to AVX2's 8-column ones instead
	// of scalar Go).
	exp2tail      func(sp *float32, rows, width, ld int, m, alpha, l *float32)
	exp2TailGroup int

	// maskmatch and argmaxpm by decreasing lane count (nil: generic). A
	// set may list a narrower set's kernel after its own (AVX-512 runs the
	// AVX2 code too), for the widths its own vectors do not divide.
	maskmatch []laneKernel[maskMatchFunc]
	argmaxpm  []laneKernel[argMaxFunc]
	// argmaxmargin likewise, for ArgMaxPlusMinusMargin.
	argmaxmargin []laneKernel[argMarginFunc]
	// packt and colmax likewise (empty: generic).
	packt  []laneKernel[packTFunc]
	colmax []laneKernel[colMaxFunc]
	// scatternt has non-temporal stores (nil: ScatterRows is generic).
	scatternt *laneKernel[scatterFunc]
	// quant16 and dot16x64 are the int16 kernels (nil: generic):
	// whole 16-float chunks, and 6-row groups of one 64-column panel.
	quant16  func(x *float32, ldx int, q *int32, ldq int, rows, chunks int, mult *float32)
	dot16x64 func(a *int32, lda int, b *int32, ldb int, out *float32, ldo int, rows, pairs int, mult *float32)

	fmapeak      func(iters int)
	flopsPerIter int

	gemmnt func(a *float32, lda int, b *float32, ldb int, c *float32, ldc int, m, n, k int)
	// prefetch: gemmnt and the accumulate kernels prefetch prefetchRows
	// rows ahead.
	prefetch bool
	ntRows   int // gemmnt needs m to be a multiple of this (and n of 4)

	// gemms and gemmacc by decreasing tile width (floats); gemms may be nil.
	gemms, gemmacc []gemmKernel
}

// gemmKernel is one register-tile width of the strided-A GEMM kernel:
//
//	c[i][j] (=|+=) Σ_p a[i·aRow + p·aK]·b[p·ldb + j]   for j < cols
//
// gemms overwrites c and folds column maxima into vec; gemmacc scales row i
// of c by vec[i] (vec nil: no scaling) and accumulates.
type gemmKernel struct {
	cols int
	fn   func(a *float32, aRow, aK int, b *float32, ldb int, c *float32, ldc int, rows, k int, vec *float32)
}

// laneKernel is an assembly kernel that works on multiples of lanes floats.
type laneKernel[F any] struct {
	lanes int
	fn    F
}

// maskMatchFunc is MaskMatches on columns [0, width) of rows with stride
// ld, width a multiple of the kernel's lanes.
type maskMatchFunc func(codes *int32, rows, width, ld int, own, prev *int32, sp *float32)

// colMaxFunc is ColMax on columns [0, width) of rows with stride ld, width
// a multiple of the kernel's lanes.
type colMaxFunc func(sp *float32, rows, width, ld int, m *float32)

// argMaxFunc is ArgMaxPlusMinus for half a positive multiple of the
// kernel's lanes, writing −1 for a segment holding a NaN.
type argMaxFunc func(x *float32, half, ld, segs int, out *int32)

// argMarginFunc is argMaxFunc that also stores the runner-up |v|.
type argMarginFunc func(x *float32, half, ld, segs int, out *int32, second *float32)

// packTFunc is PackT on columns [0, cols) of a destination with row stride
// ldd, cols a multiple of the kernel's lanes, rows ≤ cols, d a positive
// multiple of 4.
type packTFunc func(src *float32, ld int, perm *int32, rows, cols, d int, dst *float32, ldd int, scale float32, colScale *float32)

// scatterFunc is ScatterRows with non-temporal stores, rows ≥ 1, width a
// positive multiple of the kernel's lanes and every destination row
// aligned to its vectors.
type scatterFunc func(src *float32, lds int, idx *int32, rows, width int, dst *float32, ldd int)

func (f *simdFuncs) kernels() *Kernels {
	return &Kernels{
		Name:                  f.name,
		Prefetch:              f.prefetch,
		GemmNT:                f.gemmNT,
		GemmNNAcc:             f.gemmNNAcc,
		Max:                   f.maxOf,
		ExpSum:                f.expSum,
		Scale:                 f.scaleBy,
		ScaleTo:               f.scaleTo,
		Dot:                   f.dotOf,
		Axpy:                  f.axpyTo,
		ScoresT:               f.scoresT,
		SoftmaxT:              f.softmaxT,
		AccumulatePV:          f.accumulatePV,
		MaxInto:               f.maxInto,
		MaskMatches:           f.maskMatches,
		ColMax:                f.colMax,
		ArgMaxPlusMinus:       f.argMaxPlusMinus,
		ArgMaxPlusMinusMargin: f.argMaxPlusMinusMargin,
		PackT:                 f.packT,
		ScatterRows:           f.scatterRows,
		Quantize16:            f.quantize16,
		Dot16:                 f.dot16,
		FastInt16:             f.dot16x64 != nil,
		Lanes:                 f.lanes,
		FMAPeak:               f.fmapeak,
		FlopsPerIter:          f.flopsPerIter,
	}
}

// whole is n rounded down to a multiple of the vector width.
func (f *simdFuncs) whole(n int) int { return n - n%f.lanes }

func (f *simdFuncs) scaleBy(x []float32, a float32) { f.scaleTo(x, x, a) }

func (f *simdFuncs) scaleTo(dst, src []float32, a float32) {
	src = src[:len(dst)]
	if n := f.whole(len(dst)); n > 0 {
		f.scale(&dst[0], &src[0], n, a)
		dst, src = dst[n:], src[n:]
	}
	scaleToGeneric(dst, src, a)
}

func (f *simdFuncs) dotOf(x, y []float32) float32 { return f.dotTail(x, y, len(x)) }

func (f *simdFuncs) axpyTo(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	if n := f.whole(len(y)); n > 0 {
		f.axpy(&y[0], &x[0], n, a)
		y, x = y[n:], x[n:]
	}
	axpyGeneric(y, a, x)
}

func (f *simdFuncs) maxOf(x []float32) float32 {
	n := f.whole(len(x))
	if n == 0 {
		return maxGeneric(x)
	}
	m := f.max(&x[0], n)
	t := maxGeneric(x[n:])
	if m != m || t > m || t != t {
		return max(m, t) // NaN from either side propagates
	}
	return m
}

func (f *simdFuncs) maxInto(dst, src []float32) {
	src = src[:len(dst)]
	if n := f.whole(len(dst)); n > 0 {
		f.vmax(&dst[0], &src[0], n)
		dst, src = dst[n:], src[n:]
	}
	maxIntoGeneric(dst, src)
}

func (f *simdFuncs) expSum(x []float32, m float32) float32 {
	var s float32
	if n := f.whole(len(x)); n > 0 {
		s = f.expsum(&x[0], n, m)
		x = x[n:]
	}
	return s + expSumGeneric(x, m)
}

// dotTail is Σ a[p]·b[p] for p < k, vectors first.
func (f *simdFuncs) dotTail(a, b []float32, k int) float32 {
	a, b = a[:k], b[:k]
	var s float32
	if n := f.whole(k); n > 0 {
		s = f.dot(&a[0], &b[0], n)
		a, b = a[n:], b[n:]
	}
	for p, v := range a {
		s += v * b[p]
	}
	return s
}

func (f *simdFuncs) gemmNT(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 {
		for i := range m {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	_, _, _ = a[(m-1)*lda+k-1], b[(n-1)*ldb+k-1], c[(m-1)*ldc+n-1]
	mb, nb, kb := m-m%f.ntRows, n-n%4, f.whole(k)
	if mb > 0 && nb > 0 {
		f.gemmnt(&a[0], lda, &b[0], ldb, &c[0], ldc, mb, nb, kb)
		if kb < k {
			for i := range mb {
				ai := a[i*lda+kb : i*lda+k]
				ci := c[i*ldc : i*ldc+nb]
				for j := range ci {
					bj := b[j*ldb+kb : j*ldb+k]
					var s float32
					for p, v := range ai {
						s += v * bj[p]
					}
					ci[j] += s
				}
			}
		}
	}
	// Edge rows and columns, one dot product each.
	for i := range m {
		j0 := nb
		if i >= mb {
			j0 = 0
		}
		for j := j0; j < n; j++ {
			c[i*ldc+j] = f.dotTail(a[i*lda:], b[j*ldb:], k)
		}
	}
}

// gemmColumns runs the widest kernels that fit over the columns [0, n) and
// returns the first column left for the generic tail.
func gemmColumns(ks []gemmKernel, a []float32, aRow, aK int, b []float32, ldb int, c []float32, ldc int, rows, k, n int, vec []float32, vecPerColumn bool) int {
	col := 0
	for _, kern := range ks {
		for n-col >= kern.cols {
			var v *float32
			if vec != nil {
				if vecPerColumn {
					v = &vec[col]
				} else {
					v = &vec[0]
				}
			}
			kern.fn(&a[0], aRow, aK, &b[col], ldb, &c[col], ldc, rows, k, v)
			col += kern.cols
		}
	}
	return col
}

func (f *simdFuncs) gemmNNAcc(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m <= 0 || n <= 0 || k <= 0 {
		return
	}
	_, _, _ = a[(m-1)*lda+k-1], b[(k-1)*ldb+n-1], c[(m-1)*ldc+n-1]
	col := gemmColumns(f.gemmacc, a, lda, 1, b, ldb, c, ldc, m, k, n, nil, false)
	if col < n {
		for i := range m {
			ci := c[i*ldc+col : i*ldc+n]
			for p, av := range a[i*lda : i*lda+k] {
				axpyGeneric(ci, av, b[p*ldb+col:p*ldb+n])
			}
		}
	}
}

func (f *simdFuncs) scoresT(rows, width, d int, k []float32, ldk int, qt []float32, ldq int, s, colMax []float32) {
	if rows <= 0 || width <= 0 {
		return
	}
	if d <= 0 {
		scoresTGeneric(rows, width, d, k, ldk, qt, ldq, s, colMax)
		return
	}
	_, _, _, _ = k[(rows-1)*ldk+d-1], qt[(d-1)*ldq+width-1], s[rows*width-1], colMax[width-1]
	if f.gemms == nil {
		// No fused kernel: S = 0 + K·Qᵀ, then the column maxima row by row.
		clear(s[:rows*width])
		f.gemmNNAcc(rows, width, d, k, ldk, qt, ldq, s, width)
		for j := range rows {
			f.maxInto(colMax[:width], s[j*width:(j+1)*width])
		}
		return
	}
	col := gemmColumns(f.gemms, k, ldk, 1, qt, ldq, s, width, rows, d, width, colMax, true)
	scoresTColumns(col, rows, width, d, k, ldk, qt, ldq, s, colMax)
}

func (f *simdFuncs) softmaxT(rows, width int, s, m, alpha, l []float32) {
	if width <= 0 {
		return
	}
	_, _, _ = m[width-1], alpha[width-1], l[width-1]
	wb := 0
	if f.exp2cols != nil {
		wb = width - width%f.exp2Group
	}
	if wb > 0 {
		var sp *float32
		if rows > 0 {
			_ = s[rows*width-1]
			sp = &s[0]
		}
		f.exp2cols(sp, max(rows, 0), wb, width, &m[0], &alpha[0], &l[0])
	}
	if f.exp2tail != nil {
		if wt := (width - wb) - (width-wb)%f.exp2TailGroup; wt > 0 {
			var sp *float32
			if rows > 0 {
				_ = s[rows*width-1]
				sp = &s[wb]
			}
			f.exp2tail(sp, max(rows, 0), wt, width, &m[wb], &alpha[wb], &l[wb])
			wb += wt
		}
	}
	softmaxTColumns(wb, rows, width, s, m, alpha, l)
}

func (f *simdFuncs) accumulatePV(rows, width, outRows, d int, pt, v []float32, ldv int, o []float32, ldo int, alpha []float32) {
	if outRows <= 0 || d <= 0 {
		return
	}
	if rows <= 0 {
		accumulatePVGeneric(0, width, outRows, d, pt, v, ldv, o, ldo, alpha)
		return
	}
	_, _, _ = pt[(rows-1)*width+outRows-1], v[(rows-1)*ldv+d-1], o[(outRows-1)*ldo+d-1]
	if alpha != nil {
		_ = alpha[outRows-1]
	}
	col := gemmColumns(f.gemmacc, pt, 1, width, v, ldv, o, ldo, outRows, rows, d, alpha, false)
	accumulatePVColumns(col, rows, width, outRows, d, pt, v, ldv, o, ldo, alpha)
}

func (f *simdFuncs) colMax(rows, width int, s, m []float32) {
	if rows <= 0 || width <= 0 {
		return
	}
	_, _ = m[width-1], s[rows*width-1]
	col := 0
	for _, kern := range f.colmax {
		if w := (width - col) - (width-col)%kern.lanes; w > 0 {
			kern.fn(&s[col], rows, w, width, &m[col])
			col += w
		}
	}
	colMaxColumns(col, rows, width, s, m)
}

func (f *simdFuncs) maskMatches(rows, width int, codes, own, prev []int32, s []float32) {
	if rows <= 0 || width <= 0 {
		return
	}
	_, _, _, _ = codes[rows-1], own[width-1], prev[width-1], s[rows*width-1]
	col := 0
	for _, kern := range f.maskmatch {
		if w := (width - col) - (width-col)%kern.lanes; w > 0 {
			kern.fn(&codes[0], rows, w, width, &own[col], &prev[col], &s[col])
			col += w
		}
	}
	maskMatchesColumns(col, rows, width, codes, own, prev, s)
}

func (f *simdFuncs) argMaxPlusMinus(segs, half, ld int, x []float32, out []int32) {
	if segs <= 0 {
		return
	}
	for _, kern := range f.argmaxpm {
		if half > 0 && half%kern.lanes == 0 && ld >= half {
			_, _ = x[(segs-1)*ld+half-1], out[segs-1]
			kern.fn(&x[0], half, ld, segs, &out[0])
			// The segments holding a NaN, by the scalar scan.
			for g, a := range out[:segs] {
				if a < 0 {
					out[g] = int32(argMaxPlusMinus(x[g*ld : g*ld+half]))
				}
			}
			return
		}
	}
	argMaxPlusMinusGeneric(segs, half, ld, x, out)
}

func (f *simdFuncs) argMaxPlusMinusMargin(segs, half, ld int, x []float32, out []int32, second []float32) {
	if segs <= 0 {
		return
	}
	for _, kern := range f.argmaxmargin {
		if half > 0 && half%kern.lanes == 0 && ld >= half {
			_, _, _ = x[(segs-1)*ld+half-1], out[segs-1], second[segs-1]
			kern.fn(&x[0], half, ld, segs, &out[0], &second[0])
			for g, a := range out[:segs] {
				if a < 0 { // a NaN: the scalar scan
					out[g], second[g] = argMaxMargin(x[g*ld : g*ld+half])
				}
			}
			return
		}
	}
	argMaxPlusMinusMarginGeneric(segs, half, ld, x, out, second)
}

func (f *simdFuncs) packT(rows, width, d int, src []float32, ld int, perm []int32, scale float32, colScale, dst []float32) {
	db := d - d%4 // the kernels take four destination rows at a time
	if len(f.packt) == 0 || rows <= 0 || db <= 0 || rows > width || ld < 0 || width > math.MaxInt32 || d > math.MaxInt32 {
		packTGeneric(rows, width, d, src, ld, perm, scale, colScale, dst)
		return
	}
	if colScale != nil && len(colScale) < width {
		packTGeneric(rows, width, d, src, ld, perm, scale, colScale, dst) // panics
		return
	}
	maxRow := rows - 1
	if perm != nil {
		perm = perm[:rows]
		lo, hi := perm[0], perm[0]
		for _, r := range perm {
			lo, hi = min(lo, r), max(hi, r)
		}
		if lo < 0 {
			packTGeneric(rows, width, d, src, ld, perm, scale, colScale, dst) // panics on the bad row
			return
		}
		maxRow = int(hi)
	}
	if ld > 0 && maxRow > (math.MaxInt-d)/ld {
		packTGeneric(rows, width, d, src, ld, perm, scale, colScale, dst) // r·ld would wrap
		return
	}
	_, _ = src[maxRow*ld+d-1], dst[(d-1)*width+width-1]
	col := 0
	for _, kern := range f.packt {
		w := (width - col) - (width-col)%kern.lanes
		if w <= 0 {
			continue
		}
		// The kernel's rows start at column col: its perm from perm[col],
		// or (perm nil) its src from row col.
		live, sp := min(max(rows-col, 0), w), &src[0]
		var pp *int32
		var cs *float32
		if colScale != nil {
			cs = &colScale[col]
		}
		if live > 0 {
			if perm != nil {
				pp = &perm[col]
			} else {
				sp = &src[col*ld]
			}
		}
		kern.fn(sp, ld, pp, live, w, db, &dst[col], width, scale, cs)
		col += w
	}
	// The columns past the kernels', then the last d%4 rows of dst.
	packTColumns(col, rows, width, db, src, ld, perm, scale, colScale, dst)
	if db < d {
		packTColumns(0, rows, width, d-db, src[db:], ld, perm, scale, colScale, dst[db*width:])
	}
}

func (f *simdFuncs) scatterRows(rows, width int, src []float32, lds int, idx []int32, dst []float32, ldd int, streaming bool) {
	k := f.scatternt
	if !streaming || k == nil || rows <= 0 || width <= 0 || width%k.lanes != 0 || lds < 0 || ldd < 0 {
		scatterRowsGeneric(rows, width, src, lds, idx, dst, ldd, streaming)
		return
	}
	align := uintptr(4 * k.lanes)
	if uintptr(unsafe.Pointer(unsafe.SliceData(dst)))%align != 0 || uintptr(4*ldd)%align != 0 {
		scatterRowsGeneric(rows, width, src, lds, idx, dst, ldd, streaming)
		return
	}
	idx = idx[:rows]
	lo, hi := idx[0], idx[0]
	for _, r := range idx {
		lo, hi = min(lo, r), max(hi, r)
	}
	// Rows past either slice, or offsets past int: the generic code
	// panics on them.
	if lo < 0 || (lds > 0 && rows-1 > (math.MaxInt-width)/lds) || (ldd > 0 && int(hi) > (math.MaxInt-width)/ldd) ||
		(rows-1)*lds+width > len(src) || int(hi)*ldd+width > len(dst) {
		scatterRowsGeneric(rows, width, src, lds, idx, dst, ldd, streaming)
		return
	}
	k.fn(&src[0], lds, &idx[0], rows, width, &dst[0], ldd)
}

func (f *simdFuncs) quantize16(rows, d int, x []float32, ldx int, mult []float32, q []int32, ldq int) {
	if rows <= 0 || d <= 0 {
		return
	}
	_, _, _ = x[(rows-1)*ldx+d-1], mult[rows-1], q[(rows-1)*ldq+(d-1)/2]
	chunks := 0
	if f.quant16 != nil {
		chunks = d / 16
	}
	if chunks > 0 {
		f.quant16(&x[0], ldx, &q[0], ldq, rows, chunks, &mult[0])
	}
	if done := 16 * chunks; done < d {
		quantize16Generic(rows, d-done, x[done:], ldx, mult, q[done/2:], ldq)
	}
}

func (f *simdFuncs) dot16(rows, width, d int, a []int32, lda int, b []int32, ldb int, mult, out []float32, ldo int) {
	if rows <= 0 || width <= 0 {
		return
	}
	pairs := (d + 1) / 2
	if pairs <= 0 || f.dot16x64 == nil {
		dot16Generic(rows, width, d, a, lda, b, ldb, mult, out, ldo)
		return
	}
	_, _, _, _ = a[(rows-1)*lda+pairs-1], b[(pairs-1)*ldb+width-1], mult[rows-1], out[(rows-1)*ldo+width-1]
	r6, w64 := rows-rows%6, width-width%64
	if r6 > 0 {
		for col := 0; col < w64; col += 64 {
			f.dot16x64(&a[0], lda, &b[col], ldb, &out[col], ldo, r6, pairs, &mult[0])
		}
		if w64 < width {
			dot16Generic(r6, width-w64, d, a, lda, b[w64:], ldb, mult, out[w64:], ldo)
		}
	}
	if r6 < rows {
		dot16Generic(rows-r6, width, d, a[r6*lda:], lda, b, ldb, mult[r6:], out[r6*ldo:], ldo)
	}
}
