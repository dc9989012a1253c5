package variants

import (
	"fmt"
	"math"

	"github.com/attnbench/attnbench/asm"
)

// Linear is kernelised linear attention (docs/design.md §2): with a feature map φ,
//
//	out_i = φ(q_i)ᵀ Σ_{j∈C} φ(k_j) v_jᵀ / (φ(q_i)ᵀ Σ_{j∈C} φ(k_j) + ε),
//
// C = all keys, or j ≤ p_i when causal (p_i = i + M − N: the queries are
// the last N positions; rows with p_i < 0 are empty and output 0). No logit
// scale is applied. K and V may have fewer heads than Q (GQA): non-causal,
// S and z are built once per K/V head and serve its whole group.
//
//   - elu: φ(x) = elu(x) + 1, F = D features.
//   - favor (Performer's FAVOR+): x′ = x/D^¼, φ(x) = m^−½ exp(ωx′ − ‖x′‖²/2 −
//     stabiliser), F = m features; ω's rows come from stacked orthonormal
//     D×D blocks (Gram–Schmidt of Gaussian blocks, the Q of their QR), each
//     row scaled by the norm of a Gaussian D-vector, all from Seed. The
//     stabiliser is the row's own max of ωx′ for a query and, for keys, one
//     max of ωk′ over all keys and features of the K/V head; causal, for
//     query i, the max over the keys j ≤ p_i only (a prefix max), so that
//     no output depends on a later key.
//
// Forward never forms an N×M matrix. Non-causal: S = Σ_j φ(k_j)v_jᵀ (F×D)
// and z = Σ_j φ(k_j) per head, then each query tile is φ(Q)·S over φ(Q)·z.
// Causal: query/key blocks of 32 positions in order, carrying S and z (the
// prefix sums, O(D·F) state per head); block t adds φ(Q_t)·S, plus the
// masked in-block term (φ(Q_t)φ(K_t)ᵀ ∘ lower)·V_t, then folds K_t, V_t into
// S and z. All of it is GEMMs on the asm kernels; time O(N·D·F + N·32·(D+F)).
//
// FAVOR+'s key stabiliser needs the max over all keys before the first
// feature is exponentiated; Forward keeps a running max instead, rescaling
// S and z when it grows (as flash rescales its accumulator), so keys are
// mapped once. Non-causal, the running max has reached the global one when
// queries are applied. Causal, the prefix max must be exactly the max over
// keys j ≤ p_i for each query, so a block is cut where the running max
// grows: within each piece the prefix max is constant, S and z are
// rescaled to it before the piece, and the piece's queries divide by
// their own den + ε at once. A later key, however large, only cuts later
// pieces. On random keys the max grows O(log M) times, so pieces are rare.
//
// ε enters FAVOR+ as docs/design.md §2 writes it, after the stabilisers: the
// stabilised features are scaled by e^−(stabilisers), so on inputs of large
// norm (N(0,1) at D = 64: ‖x′‖² ≈ 8) the denominator falls below ε = 1e-6
// and the output tends to 0. That is the regime where FAVOR+'s variance,
// which grows as e^‖q′+k′‖², makes the estimate poor for any feature
// count; at half that norm the error falls as 1/√m as it should.
type Linear struct {
	fault linearFault
}

// linearFault names a deliberately injected bug (tests only).
type linearFault int

const (
	linearNoFault   linearFault = iota
	linearFaultPeek             // causal rows also see the next key of their block
)

func init() { Register("linear", func() Variant { return Linear{} }) }

func (Linear) Name() string     { return "linear" }
func (Linear) Exact() bool      { return false }
func (Linear) Params() []string { return []string{"kernel", "features", "eps", "seed"} }

func (Linear) Validate(s Shape, opt Options) error {
	if err := s.Check(); err != nil {
		return err
	}
	switch {
	case opt.Kernel != "elu" && opt.Kernel != "favor":
		return badParam("kernel", fmt.Sprintf("%q", opt.Kernel), "unknown (want elu or favor)")
	case opt.Kernel == "favor" && opt.Features < 1:
		return badParam("features", opt.Features, "must be ≥ 1")
	case math.IsNaN(opt.Eps) || math.IsInf(opt.Eps, 0) || opt.Eps < 0:
		return badParam("eps", opt.Eps, "must be a finite number ≥ 0")
	case opt.Scale != 0:
		// The feature maps of docs/design.md §2 have no logit scale (FAVOR+ scales
		// by D^-¼ itself); accepting one and ignoring it would mislead.
		return badParam("scale", opt.Scale, "linear attention has no logit scale")
	}
	return nil
}

// linearFeatures returns F.
func linearFeatures(s Shape, opt Options) int {
	if opt.Kernel == "favor" {
		return opt.Features
	}
	return s.D
}

// Flops is docs/design.md §4's 4·B·H·N·D·F (written 2·(N+M)·D·F, which is the same
// for M = N: building S costs 2·M·D·F, applying it 2·N·D·F) plus the
// feature map: 2·(N+M)·D·m for FAVOR+'s projections, (N+M)·D for elu.
func (Linear) Flops(s Shape, opt Options) float64 {
	f := float64(linearFeatures(s, opt))
	bh, rows, d := float64(s.B*s.H), float64(s.N+s.M), float64(s.D)
	fm := rows * d
	if opt.Kernel == "favor" {
		fm = 2 * rows * d * f
	}
	return bh * (2*rows*d*f + fm)
}

// favorFeatures fills omega (m×d, row-major) with FAVOR+'s orthogonal
// random features from seed. scratch holds d·d + d floats. Each block of d
// rows is a Gaussian d×d matrix orthonormalised row by row by classical
// Gram–Schmidt applied twice (as accurate as modified Gram–Schmidt, and
// made of GEMM calls); rows are then scaled by the norms of fresh Gaussian
// d-vectors, as Performer's gaussian_orthogonal_random_matrix does.
func favorFeatures(kern *asm.Kernels, d, m int, seed uint64, omega, scratch []float32) {
	rng := newSeededRand(seed, streamFavor)
	blk, proj := scratch[:d*d], scratch[d*d:d*d+d]
	for f0 := 0; f0 < m; f0 += d {
		for x := range blk {
			blk[x] = float32(rng.norm())
		}
		for i := range d {
			row := blk[i*d : (i+1)*d]
			for pass := 0; pass < 2 && i > 0; pass++ {
				kern.GemmNT(i, 1, d, blk, d, row, d, proj, 1)
				for x := range i {
					proj[x] = -proj[x]
				}
				kern.GemmNNAcc(1, d, i, proj, i, blk, d, row, d)
			}
			var ss float64
			for _, x := range row {
				ss += float64(x) * float64(x)
			}
			if ss > 0 {
				kern.Scale(row, float32(1/math.Sqrt(ss)))
			}
		}
		copy(omega[f0*d:], blk[:min(d, m-f0)*d])
	}
	for f := range m {
		var ss float64
		for range d {
			x := rng.norm()
			ss += x * x
		}
		kern.Scale(omega[f*d:(f+1)*d], float32(math.Sqrt(ss)))
	}
}

// favorOmega returns the features for a reference evaluation (allocating).
func favorOmega(d int, opt Options) []float32 {
	omega := make([]float32, opt.Features*d)
	favorFeatures(asm.Active(), d, opt.Features, opt.Seed, omega, make([]float32, d*d+d))
	return omega
}

// MaxLogit is, for the parity tolerance, the largest magnitude whose
// float32 rounding reaches an exponent: elu+1 has no exp of a product (0);
// FAVOR+ rounds ω·x′ and ‖x′‖²/2 before exp, so their sum bounds it.
func (Linear) MaxLogit(q, k Tensor, opt Options) float64 {
	if opt.Kernel != "favor" {
		return 0
	}
	d := q.D
	omega := favorOmega(d, opt)
	xs := math.Pow(float64(d), -0.25)
	var m float64
	for _, x := range [][]float32{q.Data, k.Data} {
		for r := 0; r < len(x); r += d {
			row := x[r : r+d]
			var half float64
			for _, v := range row {
				half += float64(v) * xs * float64(v) * xs / 2
			}
			for f := range opt.Features {
				var u float64
				for p, v := range row {
					u += float64(omega[f*d+p]) * float64(v) * xs
				}
				m = max(m, math.Abs(u)+half)
			}
		}
	}
	return m
}

// linearDefinition evaluates the quadratic form in T: for every query and
// every key of C, w_ij = φ(q_i)·φ(k_j), out_i = Σ w_ij v_j / (Σ w_ij + ε).
func linearDefinition[T float](q, k, v Tensor, opt Options) []T {
	s := Shape{B: q.B, H: q.H, N: q.S, M: k.S, D: q.D, Hkv: k.H}
	f := linearFeatures(s, opt)
	var omega []float32
	if opt.Kernel == "favor" {
		omega = favorOmega(s.D, opt)
	}
	out := make([]T, q.Len())
	phiQ, phiK := make([]T, s.N*f), make([]T, s.M*f)
	num := make([]T, s.D)
	eps := T(opt.Eps)
	prefixStab := opt.Kernel == "favor" && opt.Causal
	var proj, half, rowMax []T
	if prefixStab {
		proj, half, rowMax = make([]T, s.M*f), make([]T, s.M), make([]T, s.M)
	}
	for b := range s.B {
		for h := range s.H {
			kvh := s.KVHead(h)
			qh, kh, vh := q.Head(b, h), k.Head(b, kvh), v.Head(b, kvh)
			featureMap(qh, s.N, s.D, opt, omega, true, phiQ)
			if prefixStab {
				favorProject(kh, s.M, s.D, opt, omega, proj, half, rowMax)
			} else {
				featureMap(kh, s.M, s.D, opt, omega, false, phiK)
			}
			stab, mapped := T(math.Inf(-1)), 0
			oh := out[(b*s.H+h)*s.N*s.D:]
			for i := range s.N {
				end := s.M
				if opt.Causal {
					end = max(0, min(s.M, s.QueryPos(i)+1))
				}
				if end == 0 {
					continue // an empty row outputs 0
				}
				if prefixStab && end > 0 {
					// Query i's key stabiliser: the max over keys j ≤ p_i.
					// It only grows with i; the keys are mapped again
					// when it does.
					st := stab
					for _, x := range rowMax[mapped:end] {
						st = max(st, x)
					}
					if st != stab || mapped == 0 {
						favorKeys(proj, half, f, 0, end, st, phiK)
					} else {
						favorKeys(proj, half, f, mapped, end, st, phiK)
					}
					stab, mapped = st, end
				}
				clear(num)
				var den T
				for j := range end {
					var w T
					for x := range f {
						w += phiQ[i*f+x] * phiK[j*f+x]
					}
					den += w
					for x := range s.D {
						num[x] += w * T(vh[j*s.D+x])
					}
				}
				for x := range s.D {
					oh[i*s.D+x] = num[x] / (den + eps)
				}
			}
		}
	}
	return out
}

// featureMap sets phi (rows × F) to φ of the rows of x, in T.
func featureMap[T float](x []float32, rows, d int, opt Options, omega []float32, query bool, phi []T) {
	if opt.Kernel != "favor" {
		for i, v := range x[:rows*d] {
			t := T(v)
			if t > 0 {
				phi[i] = t + 1
			} else {
				phi[i] = T(math.Exp(float64(t)))
			}
		}
		return
	}
	m := opt.Features
	half, rowMax := make([]T, rows), make([]T, rows)
	favorProject(x, rows, d, opt, omega, phi, half, rowMax)
	keyMax := T(math.Inf(-1))
	for _, x := range rowMax {
		keyMax = max(keyMax, x)
	}
	if !query {
		favorKeys(phi, half, m, 0, rows, keyMax, phi)
		return
	}
	for i := range rows {
		u := phi[i*m : (i+1)*m]
		favorKeys(u, half[i:], m, 0, 1, rowMax[i], u)
	}
}

// favorProject sets proj (rows × m) to ω·x′ for the rows of x, half to
// ‖x′‖²/2 and rowMax to each row's largest projection, in T.
func favorProject[T float](x []float32, rows, d int, opt Options, omega []float32, proj, half, rowMax []T) {
	m := opt.Features
	xs := T(math.Pow(float64(d), -0.25))
	for i := range rows {
		row := x[i*d : (i+1)*d]
		var ss T
		for _, v := range row {
			ss += (T(v) * xs) * (T(v) * xs)
		}
		half[i] = ss / 2
		rowMax[i] = T(math.Inf(-1))
		for f := range m {
			var u T
			for p, v := range row {
				u += T(omega[f*d+p]) * (T(v) * xs)
			}
			proj[i*m+f] = u
			rowMax[i] = max(rowMax[i], u)
		}
	}
}

// favorKeys sets phi rows [r0, r1) (m wide) to m^−½·exp(proj − half −
// stab).
func favorKeys[T float](proj, half []T, m, r0, r1 int, stab T, phi []T) {
	ratio := T(1 / math.Sqrt(float64(m)))
	for i := r0; i < r1; i++ {
		for f := range m {
			phi[i*m+f] = ratio * T(math.Exp(float64(proj[i*m+f]-half[i]-stab)))
		}
	}
}

func (ln Linear) Reference(q, k, v Tensor, opt Options) ([]float64, error) {
	s, err := ShapeOf(q, k, v)
	if err != nil {
		return nil, err
	}
	if err := ln.Validate(s, opt); err != nil {
		return nil, err
	}
	return linearDefinition[float64](q, k, v, opt), nil
}

func (ln Linear) Naive(q, k, v Tensor, opt Options) ([]float32, error) {
	s, err := ShapeOf(q, k, v)
	if err != nil {
		return nil, err
	}
	if err := ln.Validate(s, opt); err != nil {
		return nil, err
	}
	return linearDefinition[float32](q, k, v, opt), nil
}

// linearBlockSize is the row block of the feature maps and, causal, of the
// prefix sums. A causal block of b rows costs b·(F+D) multiply-adds per row
// on top of the 2·F·D of the prefix sums, so causal blocks are smaller.
func linearBlockSize(causal bool) int {
	if causal {
		return 32
	}
	return 64
}

// linearScratch is the per-worker scratch in floats: φ(K) block, elu scratch,
// φ(Q) block, the in-block score tile, the denominators, the keys' largest
// projections, and (causal) the state S, z.
func linearScratch(f, d, blk int) int {
	return addSize(mulSize(3, blk, f), mulSize(blk, blk), mulSize(2, blk), mulSize(f, d), f)
}

func (Linear) WorkspaceBytes(s Shape, opt Options) int64 {
	f, d, blk := linearFeatures(s, opt), s.D, linearBlockSize(opt.Causal)
	n := mulSize(threadCount(opt.Threads, mulSize(s.B, s.H, ceilDiv(s.N, blk))), linearScratch(f, d, blk))
	n = addSize(n, mulSize(s.B, s.KVHeads(), addSize(mulSize(f, d), f, 1))) // per K/V head S, z, stabiliser
	if opt.Kernel == "favor" {
		n = addSize(n, mulSize(f, d), mulSize(d, d), d)
	}
	return workspaceBytes(n)
}

// linearJob is one Forward.
type linearJob struct {
	s            Shape
	f            int
	favor        bool
	causal       bool
	eps          float32
	xScale       float32 // D^−¼
	ratio        float32 // m^−½
	omega        []float32
	kern         *asm.Kernels
	q, k, v, out Tensor
	state        []float32 // non-causal: per K/V head S (F×D), z (F), stabiliser
	blk          int       // row block (linearBlockSize)
	qBlocks      int
	fault        linearFault
}

// linearWorker is one worker's scratch.
type linearWorker struct {
	buf                      []float32 // the workspace buffer
	phiK, phiT, phiQ, a, den []float32 // phiT: elu scratch
	rowMax                   []float32 // causal FAVOR+: each key's largest projection
	sz                       []float32 // causal: S then z
}

func (j *linearJob) newWorker(ws *Workspace) linearWorker {
	buf := ws.Float32s(linearScratch(j.f, j.s.D, j.blk))
	w := linearWorker{buf: buf}
	take := func(n int) []float32 { b := buf[:n:n]; buf = buf[n:]; return b }
	w.phiK, w.phiT, w.phiQ = take(j.blk*j.f), take(j.blk*j.f), take(j.blk*j.f)
	w.a, w.den, w.rowMax, w.sz = take(j.blk*j.blk), take(j.blk), take(j.blk), take(j.f*j.s.D+j.f)
	return w
}

func (w *linearWorker) release(ws *Workspace) { ws.PutFloat32s(w.buf) }

func (ln Linear) Forward(q, k, v, out Tensor, opt Options, ws *Workspace) error {
	s, err := prepare(ln, q, k, v, out, opt)
	if err != nil {
		return err
	}
	j := linearJob{s: s, f: linearFeatures(s, opt), favor: opt.Kernel == "favor", causal: opt.Causal,
		eps: float32(opt.Eps), kern: asm.Active(), q: q, k: k, v: v, out: out,
		blk: linearBlockSize(opt.Causal), fault: ln.fault}
	j.qBlocks = ceilDiv(s.N, j.blk)
	if j.favor {
		j.xScale = float32(math.Pow(float64(s.D), -0.25))
		j.ratio = float32(1 / math.Sqrt(float64(j.f)))
		buf := ws.Float32s(j.f*s.D + s.D*s.D + s.D)
		j.omega = buf[:j.f*s.D]
		favorFeatures(j.kern, s.D, j.f, opt.Seed, j.omega, buf[j.f*s.D:])
		defer ws.PutFloat32s(buf)
	}
	heads := s.B * s.H
	newWorker := func(int) linearWorker { return j.newWorker(ws) }
	release := func(w linearWorker) { w.release(ws) }
	if j.causal {
		workers := newTeam(threadCount(opt.Threads, heads), newWorker)
		onThreads(j, heads, workers, linearJob.runCausalHead)
		workers.each(release)
		return nil
	}
	kvHeads := s.B * s.KVHeads()
	j.state = ws.Float32s(kvHeads * (j.f*s.D + j.f + 1))
	defer ws.PutFloat32s(j.state)
	items := heads * j.qBlocks
	workers := newTeam(threadCount(opt.Threads, items), newWorker)
	onThreads(j, kvHeads, workers, linearJob.runKeySums)
	onThreads(j, items, workers, linearJob.runQueryBlock)
	workers.each(release)
	return nil
}

func (j linearJob) runCausalHead(bh int, w linearWorker) { j.causalHead(bh, &w) }
func (j linearJob) runKeySums(bkv int, w linearWorker)   { j.keySums(bkv, &w) }
func (j linearJob) runQueryBlock(it int, w linearWorker) { j.queryBlock(it, &w) }

// project sets phi (rows × F) to the FAVOR+ projections ωx′ of the rows of
// x and returns their max.
func (j *linearJob) project(rows int, x, phi []float32) float32 {
	j.kern.GemmNT(rows, j.f, j.s.D, x, j.s.D, j.omega, j.s.D, phi, j.f)
	all := phi[:rows*j.f]
	j.kern.Scale(all, j.xScale)
	return j.kern.Max(all)
}

// halfNorm returns ‖x′‖²/2 for one row x.
func (j *linearJob) halfNorm(x []float32) float32 {
	var ss float32
	for _, v := range x {
		ss += v * v
	}
	return ss * j.xScale * j.xScale / 2
}

// keys sets phi to φ of rows key rows of x; for FAVOR+, phi already holds
// the projections and stab is the running key stabiliser.
func (j *linearJob) keys(rows int, x, phi, scratch []float32, stab float32) {
	if !j.favor {
		j.elu(rows, x, phi, scratch)
		return
	}
	d, f := j.s.D, j.f
	for i := range rows {
		u := phi[i*f : (i+1)*f]
		j.kern.ExpSum(u, j.halfNorm(x[i*d:(i+1)*d])+stab)
		j.kern.Scale(u, j.ratio)
	}
}

// queries sets phi to φ of rows query rows of x.
func (j *linearJob) queries(rows int, x, phi, scratch []float32) {
	if !j.favor {
		j.elu(rows, x, phi, scratch)
		return
	}
	d, f := j.s.D, j.f
	j.project(rows, x, phi)
	for i := range rows {
		u := phi[i*f : (i+1)*f]
		j.kern.ExpSum(u, j.halfNorm(x[i*d:(i+1)*d])+j.kern.Max(u))
		j.kern.Scale(u, j.ratio)
	}
}

// elu sets phi = elu(x) + 1 = exp(min(x, 0)) + max(x, 0), all of it on
// the vector kernels (scalar Go branches on the sign, which Gaussian inputs
// make unpredictable): pos = max(0, x), phi = x − pos = min(x, 0) exactly,
// then exp, then + pos. pos is scratch of rows·D floats.
func (j *linearJob) elu(rows int, x, phi, pos []float32) {
	n := rows * j.s.D
	pos, phi = pos[:n], phi[:n]
	clear(pos)
	j.kern.MaxInto(pos, x[:n])
	copy(phi, x[:n])
	j.kern.Axpy(phi, -1, pos)
	j.kern.ExpSum(phi, 0)
	j.kern.Axpy(phi, 1, pos)
}

// foldKeys adds rows keys (features phiK, values v) into S and z: S +=
// φ(K)ᵀV is flash's P·V kernel with φ(K) as the transposed P, so φ(K) is
// never transposed.
func (j *linearJob) foldKeys(rows int, phiK, v, sMat, z []float32) {
	f, d := j.f, j.s.D
	for i := range rows {
		j.kern.Axpy(z, 1, phiK[i*f:(i+1)*f])
	}
	j.kern.AccumulatePV(rows, f, f, d, phiK, v, d, sMat, d, nil)
}

// rescale multiplies S and z by e^(old−new) when the key stabiliser grows.
func (j *linearJob) rescale(sz []float32, old, new float32) {
	if !math.IsInf(float64(old), -1) {
		j.kern.Scale(sz, float32(math.Exp(float64(old-new))))
	}
}

// keySums computes K/V head bkv's S and z (non-causal), which every query
// head of its group reads.
func (j *linearJob) keySums(bkv int, w *linearWorker) {
	s, f, d := j.s, j.f, j.s.D
	b, kvh := bkv/s.KVHeads(), bkv%s.KVHeads()
	st := j.state[bkv*(f*d+f+1) : (bkv+1)*(f*d+f+1)]
	sz, stab := st[:f*d+f], float32(math.Inf(-1))
	clear(sz)
	kh, vh := j.k.Head(b, kvh), j.v.Head(b, kvh)
	for j0 := 0; j0 < s.M; j0 += j.blk {
		rows := min(j.blk, s.M-j0)
		if j.favor {
			if bm := j.project(rows, kh[j0*d:], w.phiK); bm > stab {
				j.rescale(sz, stab, bm)
				stab = bm
			}
		}
		j.keys(rows, kh[j0*d:], w.phiK, w.phiT, stab)
		j.foldKeys(rows, w.phiK, vh[j0*d:], sz[:f*d], sz[f*d:])
	}
	st[f*d+f] = stab
}

// queryBlock applies head bh's S and z to one block of queries.
func (j *linearJob) queryBlock(it int, w *linearWorker) {
	s, f, d := j.s, j.f, j.s.D
	bh, blk := it/j.qBlocks, it%j.qBlocks
	b, h := bh/s.H, bh%s.H
	st := j.state[(b*s.KVHeads()+s.KVHead(h))*(f*d+f+1):]
	r0 := blk * j.blk
	rows := min(j.blk, s.N-r0)
	j.queries(rows, j.q.Head(b, h)[r0*d:], w.phiQ, w.phiT)
	o := j.out.Head(b, h)[r0*d : (r0+rows)*d]
	clear(o)
	j.kern.GemmNNAcc(rows, d, f, w.phiQ, f, st[:f*d], d, o, d)
	j.kern.GemmNT(rows, 1, f, w.phiQ, f, st[f*d:f*d+f], f, w.den, 1)
	for i := range rows {
		j.kern.Scale(o[i*d:(i+1)*d], 1/(w.den[i]+j.eps))
	}
}

// causalHead runs query head bh's causal prefix sums, key block by key
// block in position order: a block's keys are folded into S and z after
// the queries at the same positions have read them (through S and z for
// earlier keys, through the masked in-block product for the block's own).
// For FAVOR+ a block is cut into pieces where the running key max grows,
// so each query's key stabiliser is the max over keys j ≤ p_i exactly.
func (j *linearJob) causalHead(bh int, w *linearWorker) {
	s, f, d := j.s, j.f, j.s.D
	b, h := bh/s.H, bh%s.H
	kvh := s.KVHead(h)
	qh, kh, vh, oh := j.q.Head(b, h), j.k.Head(b, kvh), j.v.Head(b, kvh), j.out.Head(b, h)
	off, i0 := s.Offset(), s.FirstVisible()
	clear(oh[:i0*d]) // rows before key 0: empty sets
	sz := w.sz
	clear(sz)
	sMat, z := sz[:f*d], sz[f*d:]
	stab := float32(math.Inf(-1))
	for p0 := 0; p0 < s.M; p0 += j.blk {
		keys := min(j.blk, s.M-p0)
		if j.favor {
			j.project(keys, kh[p0*d:], w.phiK)
			for x := range keys {
				w.rowMax[x] = j.kern.Max(w.phiK[x*f : (x+1)*f])
			}
		} else {
			j.keys(keys, kh[p0*d:], w.phiK, w.phiT, 0)
		}
		for a := 0; a < keys; {
			e := keys
			if j.favor {
				if mx := w.rowMax[a]; mx > stab {
					j.rescale(sz, stab, mx)
					stab = mx
				}
				e = a + 1
				for e < keys && w.rowMax[e] <= stab {
					e++
				}
				j.keys(e-a, kh[(p0+a)*d:], w.phiK[a*f:], w.phiT, stab)
			}
			j.piece(p0+a, e-a, qh, vh, oh, w, off, i0)
			j.foldKeys(e-a, w.phiK[a*f:], vh[(p0+a)*d:], sMat, z)
			a = e
		}
	}
}

// piece computes the outputs of the queries at positions [k0, k0+nk) (the
// keys of the piece, their features at w.phiK[(k0 mod blk)·F:]): φ(q)·S and
// φ(q)·z for the earlier keys, plus the in-block keys up to each query's
// position, over den + ε.
func (j *linearJob) piece(k0, nk int, qh, vh, oh []float32, w *linearWorker, off, i0 int) {
	f, d := j.f, j.s.D
	qa, qe := max(i0, k0-off), min(j.s.N, k0+nk-off)
	if qa >= qe {
		return
	}
	rows := qe - qa
	phiK := w.phiK[(k0%j.blk)*f:]
	j.queries(rows, qh[qa*d:], w.phiQ, w.phiT)
	o := oh[qa*d : qe*d]
	clear(o)
	// Earlier keys, through the prefix sums.
	j.kern.GemmNNAcc(rows, d, f, w.phiQ, f, w.sz[:f*d], d, o, d)
	j.kern.GemmNT(rows, 1, f, w.phiQ, f, w.sz[f*d:], f, w.den, 1)
	// This piece: key k0+x is visible to query qa+i (position qa+i+off)
	// when k0+x ≤ qa+i+off.
	j.kern.GemmNT(rows, nk, f, w.phiQ, f, phiK, f, w.a, j.blk)
	for i := range rows {
		row := w.a[i*j.blk : i*j.blk+nk]
		vis := min(nk, qa+i+off-k0+1)
		if j.fault == linearFaultPeek {
			vis = min(nk, vis+1)
		}
		clear(row[vis:])
		var sum float32
		for _, x := range row[:vis] {
			sum += x
		}
		w.den[i] += sum
	}
	j.kern.GemmNNAcc(rows, d, nk, w.a, j.blk, vh[k0*d:], d, o, d)
	for i := range rows {
		j.kern.Scale(o[i*d:(i+1)*d], 1/(w.den[i]+j.eps))
	}
}
