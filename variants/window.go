package variants

import (
	"fmt"

	"github.com/attnbench/attnbench/asm"
)

// Window is sliding-window attention as in Longformer (docs/design.md §2): query i
// attends to keys j = i + dilation·t for t ∈ [−w, w] (causal: t ∈ [−w, 0]),
// 0 ≤ j < M, plus g global tokens: the first g positions attend to all keys
// and are attended by all queries. Causal attention intersects every set
// with j ≤ i. Every i here is the query's position p_i = i + M − N (the
// queries are the last N positions); N > M without causal would put
// queries at negative positions, where a window means nothing, and is
// refused. K and V may have fewer heads than Q (GQA).
//
// Forward splits the queries into dilation residue classes: in class ρ the
// queries ρ + dilation·a and keys ρ + dilation·b form an ordinary window of
// radius w in a and b, and these rows sit at a fixed stride in Q, K, V and
// the output, so the tile GEMMs read K and V in place with a larger leading
// dimension (the queries are packed through a row list). A tile of query
// rows of one class attends to the global keys (a dense range) and then to
// the band of its class, so the work is (rows + 2w)·rows per tile instead
// of rows·M; the global query rows are dense tiles against every key. A
// tile packs the query heads that share a K/V head (GQA), position by
// position, so each K/V tile read serves all of them (a decode step is one
// tile per K/V head). Working memory is one tile per thread.
type Window struct {
	fault windowFault
}

// windowFault names a deliberately injected bug (tests only).
type windowFault int

const (
	windowNoFault   windowFault = iota
	windowFaultWide             // each row also sees one key beyond the left edge of its window
)

func init() { Register("window", func() Variant { return Window{} }) }

func (Window) Name() string     { return "window" }
func (Window) Exact() bool      { return false }
func (Window) Params() []string { return []string{"window", "dilation", "global"} }

func (Window) Validate(s Shape, opt Options) error {
	if err := s.Check(); err != nil {
		return err
	}
	switch {
	case opt.Window < 0:
		return badParam("window", opt.Window, "must be ≥ 0")
	case opt.Dilation < 1:
		return badParam("dilation", opt.Dilation, "must be ≥ 1")
	case opt.Global < 0:
		return badParam("global", opt.Global, "must be ≥ 0")
	}
	return positionsDefined(s, opt)
}

// positionsDefined refuses, for the position-based patterns, n > m without
// causal: the first queries would sit at negative positions (causal makes
// them empty rows instead).
func positionsDefined(s Shape, opt Options) error {
	if s.N > s.M && !opt.Causal {
		return fmt.Errorf("n=%d > m=%d without -causal: queries sit at positions i + m − n, some negative, where the pattern is not defined: %w", s.N, s.M, ErrUnsupported)
	}
	return nil
}

// windowKeys returns the number of keys query i sees (docs/design.md §2), in O(1).
func windowKeys(s Shape, opt Options, i int) int {
	g, w, dil := opt.Global, opt.Window, opt.Dilation
	i = s.QueryPos(i)
	if i < 0 { // causal: an empty row
		return 0
	}
	if i < g {
		if opt.Causal {
			return min(s.M, i+1)
		}
		return s.M
	}
	// Global keys j < g (all ≤ i), then the window keys j ≥ g:
	// t ∈ [−w, w] (causal [−w, 0]) with g ≤ i + dil·t ≤ M−1.
	tHi := w
	if opt.Causal {
		tHi = 0
	}
	tHi = min(tHi, floorDiv(s.M-1-i, dil))
	tLo := max(-w, ceilDiv(g-i, dil))
	return min(g, s.M) + max(0, tHi-tLo+1)
}

func (Window) Flops(s Shape, opt Options) float64 {
	var pairs float64
	for i := range s.N {
		pairs += float64(windowKeys(s, opt, i))
	}
	return attentionFlops(s, pairs)
}

// windowCandidates is the definition read directly: every key is tested.
func windowCandidates(s Shape, opt Options) candidates {
	g, w, dil := opt.Global, opt.Window, opt.Dilation
	return func(_, _, i int, buf []int) []int {
		i = s.QueryPos(i)
		for j := range s.M {
			if opt.Causal && j > i {
				continue
			}
			in := (i >= 0 && i < g) || j < g
			if d := j - i; !in && d%dil == 0 {
				t := d / dil
				in = -w <= t && t <= w
			}
			if in {
				buf = append(buf, j)
			}
		}
		return buf
	}
}

func (wn Window) Reference(q, k, v Tensor, opt Options) ([]float64, error) {
	s, err := ShapeOf(q, k, v)
	if err != nil {
		return nil, err
	}
	if err := wn.Validate(s, opt); err != nil {
		return nil, err
	}
	return candidateAttention[float64](q, k, v, float64(opt.ScaleFor(s.D)), windowCandidates(s, opt)), nil
}

func (wn Window) Naive(q, k, v Tensor, opt Options) ([]float32, error) {
	s, err := ShapeOf(q, k, v)
	if err != nil {
		return nil, err
	}
	if err := wn.Validate(s, opt); err != nil {
		return nil, err
	}
	return candidateAttention[float32](q, k, v, float64(opt.ScaleFor(s.D)), windowCandidates(s, opt)), nil
}

// windowTiles returns the query and key tile sizes. A tile of bq rows
// reads bq+2w keys (causal bq+w) for 2w+1 (w+1) candidates per row, so
// bq ≈ w/2 (causal w/4) keeps about 80% of the GEMM work useful; below 16
// rows the GEMMs get too thin.
func windowTiles(s Shape, w int, causal bool) (bq, bk int) {
	bq = w / 2
	if causal {
		bq = w / 4
	}
	return min(64, max(16, bq)), keyTile(s.D)
}

func (Window) WorkspaceBytes(s Shape, opt Options) int64 {
	j := newWindowJob(s, opt, Tensor{}, Tensor{}, Tensor{}, Tensor{}, windowNoFault)
	threads := threadCount(opt.Threads, mulSize(s.B, s.KVHeads(), j.perGroup))
	return workspaceBytes(mulSize(threads, addSize(tileFloats(s.D, j.rows, j.bk), tileInts(j.rows), j.rows)))
}

func (wn Window) Forward(q, k, v, out Tensor, opt Options, ws *Workspace) error {
	s, err := prepare(wn, q, k, v, out, opt)
	if err != nil {
		return err
	}
	job := newWindowJob(s, opt, q, k, v, out, wn.fault)
	clearEmptyRows(s, opt, out)
	items := s.B * s.KVHeads() * job.perGroup
	workers := newTeam(threadCount(threadsFor(opt.Threads, wn.Flops(s, opt)), items), func(int) tileWorker {
		return newTileWorker(ws, asm.Active(), s.D, opt.ScaleFor(s.D), job.rows, job.bk, job.rows)
	})
	onThreads(job, items, workers, windowJob.runItem)
	workers.each(func(w tileWorker) { w.release(ws) })
	return nil
}

func (j windowJob) runItem(it int, w tileWorker) { j.item(it, &w.t, w.perm) }

// windowJob is the geometry of one window Forward. A tile packs the G =
// H/Hkv query heads that share a K/V head, position by position (column c
// is head c mod G at the tile's (c/G)-th position), so the K/V tiles it
// reads serve all G heads. Work items per K/V head are the tiles of global
// query positions, then for each residue class of query positions its
// tiles of non-global ones. Queries are handled by position: positions
// [pLo, M) hold rows pLo − off … N−1 (off = M − N).
type windowJob struct {
	s             Shape
	w, dil, g     int
	causal        bool
	bq, bk        int
	group         int // G
	rq            int // positions per tile
	rows          int // tile rows: rq·G
	off, pLo      int // M − N; the first query position ≥ 0
	globalEnd     int // query positions [pLo, globalEnd) are global
	globalTiles   int // tiles of the global query positions
	classes       int // residue classes that hold queries: min(dilation, queries)
	tilesPerClass int // enough tiles for the largest class
	perGroup      int
	q, k, v, out  Tensor
	fault         windowFault
}

func newWindowJob(s Shape, opt Options, q, k, v, out Tensor, fault windowFault) windowJob {
	j := windowJob{s: s, w: opt.Window, dil: opt.Dilation, g: opt.Global, causal: opt.Causal,
		q: q, k: k, v: v, out: out, fault: fault, group: s.Group()}
	j.bq, j.bk = windowTiles(s, j.w, j.causal)
	j.rq = max(1, j.bq/j.group)
	j.rows = j.rq * j.group
	j.off, j.pLo = s.Offset(), max(0, s.Offset())
	queries := s.M - j.pLo
	j.globalEnd = max(j.pLo, min(j.g, s.M))
	j.globalTiles = ceilDiv(j.globalEnd-j.pLo, j.rq)
	j.classes = min(j.dil, queries)
	j.tilesPerClass = ceilDiv(ceilDiv(queries, j.dil), j.rq)
	j.perGroup = addSize(j.globalTiles, mulSize(j.classes, j.tilesPerClass))
	return j
}

// clearEmptyRows zeroes, when causal, the rows whose position is negative
// (N > M): their candidate sets are empty.
func clearEmptyRows(s Shape, opt Options, out Tensor) {
	if !opt.Causal {
		return
	}
	for bh := range s.B * s.H {
		clear(out.Head(bh/s.H, bh%s.H)[:s.FirstVisible()*s.D])
	}
}

// classLen returns how many of 0..n−1 are ≡ ρ (mod dil) and how many of
// those are below g.
func classLen(n, g, rho, dil int) (count, below int) {
	if rho >= n {
		return 0, 0
	}
	count = ceilDiv(n-rho, dil)
	below = min(count, max(0, ceilDiv(g-rho, dil)))
	return count, below
}

func (j *windowJob) item(it int, t *tileAttn, perm []int32) {
	s, d, G := j.s, j.s.D, j.group
	bkv, r := it/j.perGroup, it%j.perGroup
	b, kvh := bkv/s.KVHeads(), bkv%s.KVHeads()
	kh, vh := j.k.Head(b, kvh), j.v.Head(b, kvh)
	// The group's query heads are consecutive, N·D apart.
	qg := j.q.Data[(b*s.H+kvh*G)*s.N*d:]

	if r < j.globalTiles {
		// Global query positions: every key (j ≤ p when causal).
		p0 := j.pLo + r*j.rq
		rq := min(j.rq, j.globalEnd-p0)
		for c := range rq * G {
			p := p0 + c/G
			perm[c] = int32((c%G)*s.N + p - j.off)
			hi := s.M
			if j.causal {
				hi = min(s.M, p+1)
			}
			t.setSpan(c, 0, hi, 0, 0)
		}
		kEnd := s.M
		if j.causal {
			kEnd = min(s.M, p0+rq)
		}
		t.beginLocal(rq*G, qg, d, perm[:rq*G], false, nil, d, nil, nil)
		t.attend(kh, vh, d, 0, kEnd)
		t.finishPacked(j.out, b, kvh*G, G, perm[:rq*G])
		return
	}

	r -= j.globalTiles
	c, tile := r/j.tilesPerClass, r%j.tilesPerClass
	// Class c holds the query positions pLo + c + dil·t; in class
	// coordinates a, position ρ + dil·a, like its keys ρ + dil·b.
	rho := (j.pLo + c) % j.dil
	na, ga := classLen(s.M, j.g, rho, j.dil)
	a0 := max(ga, (j.pLo+c)/j.dil) + tile*j.rq
	if a0 >= na {
		return
	}
	rq := min(j.rq, na-a0)
	rows := rq * G
	for x := range rows {
		perm[x] = int32((x%G)*s.N + rho + j.dil*(a0+x/G) - j.off)
	}
	t.beginLocal(rows, qg, d, perm[:rows], false, nil, d, nil, nil)

	// The global keys j < g: every non-global query sees all of them, and
	// they are below every such query, so causal masks none.
	if gk := min(j.g, s.M); gk > 0 {
		for x := range rows {
			t.setSpan(x, 0, gk, 0, 0)
		}
		t.attend(kh, vh, d, 0, gk)
	}

	// The band of this class, in class coordinates b (key ρ + dil·b),
	// leaving out the keys below g that the global pass counted.
	mb, gb := na, ga
	left := j.w
	if j.fault == windowFaultWide {
		left++
	}
	bLo, bHi := mb, 0
	for x := range rows {
		a := a0 + x/G
		lo := max(gb, a-left)
		hi := min(mb, a+j.w+1)
		if j.causal {
			hi = min(mb, a+1)
		}
		t.setSpan(x, lo, hi, 0, 0)
		if lo < hi {
			bLo, bHi = min(bLo, lo), max(bHi, hi)
		}
	}
	if bLo < bHi {
		ld := j.dil * d
		t.attend(kh[rho*d:], vh[rho*d:], ld, bLo, bHi)
	}
	t.finishPacked(j.out, b, kvh*G, G, perm[:rows])
}
