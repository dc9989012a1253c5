package variants_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/inputs"
	"github.com/attnbench/attnbench/variants/oracle"
)

// This file holds every variant to docs/design.md §1–§2 on the shapes of language
// model inference, with float64 brute force written here from the design's
// words, not from the package's references:
//   - grouped heads: K and V have Hkv heads; query head h reads K/V head
//     ⌊h·Hkv/H⌋;
//   - positions: query i sits at p_i = i + M − N; every position rule uses
//     p_i, causal keeps j ≤ p_i, and a row with p_i < 0 and causal is empty
//     and outputs 0.

// llmShapes: GQA (Hkv = 1, 1 < Hkv < H, Hkv = H) crossed with decode
// (N = 1), a prefill chunk (N < M), N = M and N > M.
var llmShapes = []variants.Shape{
	{B: 1, H: 4, Hkv: 1, N: 1, M: 45, D: 8},
	{B: 2, H: 4, Hkv: 2, N: 1, M: 70, D: 16},
	{B: 1, H: 6, Hkv: 2, N: 13, M: 50, D: 7},
	{B: 1, H: 4, Hkv: 1, N: 40, M: 40, D: 12},
	{B: 1, H: 2, Hkv: 2, N: 29, M: 61, D: 9},
	{B: 1, H: 4, Hkv: 2, N: 50, M: 29, D: 6},
	{B: 1, H: 3, Hkv: 1, N: 35, M: 9, D: 5},
}

// kvHead is docs/design.md §1's head mapping.
func kvHead(s variants.Shape, h int) int { return h * s.Hkv / s.H }

// bruteSoftmax is exact softmax over set(h, p) for each query, in float64,
// K/V head by the design's mapping, query positions p_i = i + M − N.
func bruteSoftmax(s variants.Shape, q, k, v variants.Tensor, scale float64, causal bool, set func(h, p int) []int) []float64 {
	out := make([]float64, q.Len())
	for b := range s.B {
		for h := range s.H {
			qh, kh, vh := q.Head(b, h), k.Head(b, kvHead(s, h)), v.Head(b, kvHead(s, h))
			for i := range s.N {
				p := i + s.M - s.N
				var js []int
				for _, j := range set(h, p) {
					if !causal || j <= p {
						js = append(js, j)
					}
				}
				if len(js) == 0 {
					continue
				}
				w := make([]float64, len(js))
				mx := math.Inf(-1)
				for t, j := range js {
					for d := range s.D {
						w[t] += float64(qh[i*s.D+d]) * float64(kh[j*s.D+d])
					}
					w[t] *= scale
					mx = max(mx, w[t])
				}
				var z float64
				for t := range w {
					w[t] = math.Exp(w[t] - mx)
					z += w[t]
				}
				o := out[((b*s.H+h)*s.N+i)*s.D:]
				for t, j := range js {
					for d := range s.D {
						o[d] += w[t] / z * float64(vh[j*s.D+d])
					}
				}
			}
		}
	}
	return out
}

func keysWhere(m int, in func(j int) bool) []int {
	var js []int
	for j := range m {
		if in(j) {
			js = append(js, j)
		}
	}
	return js
}

func floorMod(a, n int) int { return ((a % n) + n) % n }

// llmCase is one variant setting with its candidate set read from docs/design.md §2
// (nil set: not a candidate-set variant).
type llmCase struct {
	variant string
	knobs   map[string]string
	set     func(s variants.Shape, causal bool) func(h, p int) []int
}

var llmCases = []llmCase{
	{"full", nil, allSet},
	{"flash", nil, allSet},
	{"flash", map[string]string{"block-q": "8", "block-k": "16"}, allSet},
	{"flash", map[string]string{"block-q": "1", "block-k": "1"}, allSet},
	{"window", map[string]string{"window": "4"}, windowSetP(4, 1, 0)},
	{"window", map[string]string{"window": "3", "dilation": "3", "global": "2"}, windowSetP(3, 3, 2)},
	{"window", map[string]string{"window": "20", "dilation": "2", "global": "33"}, windowSetP(20, 2, 33)},
	{"sparse", map[string]string{"stride": "5"}, stridedSetP(5)},
	{"sparse", map[string]string{"stride": "8"}, stridedSetP(8)},
	{"sparse", map[string]string{"pattern": "fixed", "stride": "8", "summary": "3"}, fixedSetP(8, 3)},
	{"sparse", map[string]string{"pattern": "fixed", "stride": "5", "summary": "1"}, fixedSetP(5, 1)},
	{"sparse", map[string]string{"pattern": "bigbird", "block": "4", "random": "0"}, bigbirdSetP(4)},
	{"lsh", map[string]string{"shared-qk": "false", "buckets": "4", "rounds": "2", "seed": "3"}, nil},
	{"lsh", map[string]string{"shared-qk": "false", "buckets": "8", "rounds": "3"}, nil},
	{"linear", nil, nil},
	{"linear", map[string]string{"kernel": "favor", "features": "24", "seed": "2"}, nil},
}

func allSet(s variants.Shape, causal bool) func(h, p int) []int {
	return func(_, p int) []int { return keysWhere(s.M, func(int) bool { return true }) }
}

// windowSetP: j = p + dil·t, t ∈ [−w, w] (causal [−w, 0]), 0 ≤ j < M, plus
// the global keys j < g, and every key for a global query 0 ≤ p < g.
func windowSetP(w, dil, g int) func(s variants.Shape, causal bool) func(h, p int) []int {
	return func(s variants.Shape, causal bool) func(h, p int) []int {
		return func(_, p int) []int {
			return keysWhere(s.M, func(j int) bool {
				if j < g || (p >= 0 && p < g) {
					return true
				}
				d := j - p
				if d%dil != 0 {
					return false
				}
				t := d / dil
				return -w <= t && (t <= w && !causal || t <= 0)
			})
		}
	}
}

// stridedSetP: non-causal |p−j| < l or (p−j) mod l = 0; causal p−l < j ≤ p
// or (p−j) mod l = 0.
func stridedSetP(l int) func(s variants.Shape, causal bool) func(h, p int) []int {
	return func(s variants.Shape, causal bool) func(h, p int) []int {
		return func(_, p int) []int {
			return keysWhere(s.M, func(j int) bool {
				if floorMod(p-j, l) == 0 {
					return true
				}
				if causal {
					return p-l < j && j <= p
				}
				return p-j < l && j-p < l
			})
		}
	}
}

// fixedSetP: ⌊j/l⌋ = ⌊p/l⌋ or j mod l ≥ l−c.
func fixedSetP(l, c int) func(s variants.Shape, causal bool) func(h, p int) []int {
	return func(s variants.Shape, causal bool) func(h, p int) []int {
		return func(_, p int) []int {
			return keysWhere(s.M, func(j int) bool {
				return floorDiv(j, l) == floorDiv(p, l) || j%l >= l-c
			})
		}
	}
}

func floorDiv(a, b int) int {
	if a < 0 {
		return -((-a + b - 1) / b)
	}
	return a / b
}

// bigbirdSetP without random blocks: own and neighbouring blocks, the first
// and last block, and every key for the first and last query block.
func bigbirdSetP(b int) func(s variants.Shape, causal bool) func(h, p int) []int {
	return func(s variants.Shape, causal bool) func(h, p int) []int {
		nb := (s.M + b - 1) / b
		return func(_, p int) []int {
			beta := p / b
			return keysWhere(s.M, func(j int) bool {
				g := j / b
				return beta == 0 || beta == nb-1 || g == 0 || g == nb-1 || (g >= beta-1 && g <= beta+1)
			})
		}
	}
}

// lshSet: keys sharing a bucket with the query in some round (no shared
// QK), hashed with the variant's own rotations (the hash is not what is
// tested here; the head mapping and positions are).
func lshSet(s variants.Shape, q, k variants.Tensor, opt variants.Options, b int) func(h, p int) []int {
	return func(h, p int) []int {
		qb := variants.LSHBuckets(q.Head(b, h), s.N, s.D, opt.Buckets, opt.Rounds, opt.Seed)
		kb := variants.LSHBuckets(k.Head(b, kvHead(s, h)), s.M, s.D, opt.Buckets, opt.Rounds, opt.Seed)
		i := p - (s.M - s.N)
		return keysWhere(s.M, func(j int) bool {
			for r := range opt.Rounds {
				if qb[r*s.N+i] == kb[r*s.M+j] {
					return true
				}
			}
			return false
		})
	}
}

// bruteLinear is docs/design.md §2's linear attention read directly: elu+1, or
// FAVOR+ with the query's own stabiliser and, for keys, the max of ω·k′
// over all keys of the K/V head, or (causal) over the keys j ≤ p_i only.
func bruteLinear(s variants.Shape, q, k, v variants.Tensor, opt variants.Options, omega []float32) []float64 {
	return bruteLinearStab(s, q, k, v, opt, omega, false)
}

// bruteLinearStab is bruteLinear with FAVOR+'s key stabiliser over every key
// of the K/V head when allKeys is set (the definition before causal
// FAVOR+ took it over j ≤ p_i; the same when not causal).
func bruteLinearStab(s variants.Shape, q, k, v variants.Tensor, opt variants.Options, omega []float32, allKeys bool) []float64 {
	out := make([]float64, q.Len())
	xs := math.Pow(float64(s.D), -0.25)
	proj := func(x []float32, f int) float64 {
		var u float64
		for d, y := range x {
			u += float64(omega[f*s.D+d]) * float64(y) * xs
		}
		return u
	}
	half := func(x []float32) float64 {
		var ss float64
		for _, y := range x {
			ss += float64(y) * xs * float64(y) * xs
		}
		return ss / 2
	}
	m := opt.Features
	phi := func(x []float32, stab float64) []float64 {
		if opt.Kernel != "favor" {
			r := make([]float64, len(x))
			for d, y := range x {
				if y > 0 {
					r[d] = float64(y) + 1
				} else {
					r[d] = math.Exp(float64(y))
				}
			}
			return r
		}
		r := make([]float64, m)
		hx := half(x)
		for f := range m {
			r[f] = math.Exp(proj(x, f)-hx-stab) / math.Sqrt(float64(m))
		}
		return r
	}
	for b := range s.B {
		for h := range s.H {
			qh, kh, vh := q.Head(b, h), k.Head(b, kvHead(s, h)), v.Head(b, kvHead(s, h))
			for i := range s.N {
				p := i + s.M - s.N
				end := s.M
				if opt.Causal {
					end = max(0, min(s.M, p+1))
				}
				qi := qh[i*s.D : (i+1)*s.D]
				qStab, kStab := math.Inf(-1), math.Inf(-1)
				if opt.Kernel == "favor" {
					for f := range m {
						qStab = max(qStab, proj(qi, f))
					}
					stabEnd := end
					if allKeys {
						stabEnd = s.M
					}
					for j := range stabEnd {
						for f := range m {
							kStab = max(kStab, proj(kh[j*s.D:(j+1)*s.D], f))
						}
					}
				}
				pq := phi(qi, qStab)
				num := make([]float64, s.D)
				var den float64
				for j := range end {
					pk := phi(kh[j*s.D:(j+1)*s.D], kStab)
					var w float64
					for f := range pq {
						w += pq[f] * pk[f]
					}
					den += w
					for d := range s.D {
						num[d] += w * float64(vh[j*s.D+d])
					}
				}
				o := out[((b*s.H+h)*s.N+i)*s.D:]
				for d := range s.D {
					o[d] = num[d] / (den + opt.Eps)
				}
			}
		}
	}
	return out
}

// TestLLMShapes: every variant, GQA and M ≠ N (N = 1, N < M, N > M), causal
// and not, Forward against the brute force above within docs/design.md §3.1's
// tolerance (its naive float32 error measured against the same brute
// force); causal rows with p_i < 0 are exactly 0.
func TestLLMShapes(t *testing.T) {
	for _, c := range llmCases {
		v, err := variants.Lookup(c.variant)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range llmShapes {
			for _, causal := range []bool{false, true} {
				opt := variants.DefaultOptions()
				for kn, val := range c.knobs {
					if err := opt.Set(kn, val); err != nil {
						t.Fatal(err)
					}
				}
				opt.Causal = causal
				opt.Threads = 2
				label := fmt.Sprintf("%s %v %v causal=%v", c.variant, c.knobs, s, causal)
				if err := v.Validate(s, opt); err != nil {
					if !errors.Is(err, variants.ErrUnsupported) {
						t.Errorf("%s: %v", label, err)
					}
					continue
				}
				q, k, vv, err := inputs.Generate("gaussian", s, 31)
				if err != nil {
					t.Fatal(err)
				}
				want := llmWant(t, c, s, q, k, vv, opt)
				out := variants.NewTensor(s.B, s.H, s.N, s.D)
				if err := v.Forward(q, k, vv, out, opt, variants.NewWorkspace()); err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				naive, err := v.Naive(q, k, vv, opt)
				if err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				tol := oracle.Tolerance(oracle.MaxAbsDiff(naive, want), oracle.MaxAbs(vv.Data), variants.MaxLogit(v, q, k, opt))
				if e := oracle.MaxAbsDiff(out.Data, want); !(e <= tol) {
					t.Errorf("%s: Forward differs from the brute force by %.3g (tolerance %.3g)", label, e, tol)
				}
				if causal {
					for bh := range s.B * s.H {
						for i := range max(0, s.N-s.M) {
							for _, x := range out.Head(bh/s.H, bh%s.H)[i*s.D : (i+1)*s.D] {
								if x != 0 {
									t.Fatalf("%s: row %d (position %d) is %v, want 0", label, i, i+s.M-s.N, x)
								}
							}
						}
					}
				}
			}
		}
	}
}

// llmWant is the brute force of case c.
func llmWant(t *testing.T, c llmCase, s variants.Shape, q, k, v variants.Tensor, opt variants.Options) []float64 {
	t.Helper()
	scale := float64(opt.ScaleFor(s.D))
	switch {
	case c.variant == "linear":
		var omega []float32
		if opt.Kernel == "favor" {
			omega = variants.FavorFeatures(s.D, opt.Features, opt.Seed)
		}
		return bruteLinear(s, q, k, v, opt, omega)
	case c.variant == "lsh":
		// One batch at a time: the buckets are per (batch, head).
		out := make([]float64, 0, q.Len())
		for b := range s.B {
			one := func(x variants.Tensor) variants.Tensor {
				n := x.H * x.S * x.D
				return variants.Tensor{B: 1, H: x.H, S: x.S, D: x.D, Data: x.Data[b*n : (b+1)*n]}
			}
			s1 := s
			s1.B = 1
			out = append(out, bruteSoftmax(s1, one(q), one(k), one(v), scale, opt.Causal, lshSet(s1, one(q), one(k), opt, 0))...)
		}
		return out
	default:
		return bruteSoftmax(s, q, k, v, scale, opt.Causal, c.set(s, opt.Causal))
	}
}

// TestFlashSplitK: decode and small chunks with few tiles split the keys
// (flash-decoding). The result is bit-identical for 1, 2, 3 and 7 threads,
// matches the brute force, and a single-threaded Forward allocates nothing.
func TestFlashSplitK(t *testing.T) {
	v, _ := variants.Lookup("flash")
	for _, s := range []variants.Shape{
		{B: 1, H: 8, Hkv: 2, N: 1, M: 5000, D: 32},
		{B: 1, H: 4, Hkv: 4, N: 1, M: 1100, D: 16},
		{B: 2, H: 4, Hkv: 1, N: 5, M: 3001, D: 24},
		{B: 1, H: 2, Hkv: 1, N: 70, M: 2100, D: 8},
	} {
		q, k, vv, _ := inputs.Generate("gaussian", s, 41)
		for _, causal := range []bool{false, true} {
			opt := variants.DefaultOptions()
			opt.Causal = causal
			label := fmt.Sprintf("%v causal=%v", s, causal)
			want := bruteSoftmax(s, q, k, vv, float64(opt.ScaleFor(s.D)), causal, allSet(s, causal))
			var first []float32
			for _, threads := range []int{1, 2, 3, 7} {
				opt.Threads = threads
				out := variants.NewTensor(s.B, s.H, s.N, s.D)
				ws := variants.NewWorkspace()
				if err := v.Forward(q, k, vv, out, opt, ws); err != nil {
					t.Fatal(err)
				}
				if e := oracle.MaxAbsDiff(out.Data, want); e > 1e-5 {
					t.Errorf("%s threads=%d: %.3g from the brute force", label, threads, e)
				}
				if first == nil {
					first = out.Data
					allocs := testing.AllocsPerRun(3, func() { v.Forward(q, k, vv, out, opt, ws) })
					if allocs != 0 {
						t.Errorf("%s: %.1f heap allocations per single-threaded Forward", label, allocs)
					}
					if ws.InUse() != 0 {
						t.Errorf("%s: %d workspace bytes not returned", label, ws.InUse())
					}
					continue
				}
				for x := range first {
					if math.Float32bits(first[x]) != math.Float32bits(out.Data[x]) {
						t.Fatalf("%s: threads=%d differs from threads=1 at %d", label, threads, x)
					}
				}
			}
		}
	}
}

// TestExactFlopsWithPositions: causal full and flash count the pairs each
// query sees, Σ_i min(M, p_i + 1), when M ≠ N (a decode step sees all M
// keys), and keep docs/design.md §4's half when M = N.
func TestExactFlopsWithPositions(t *testing.T) {
	opt := variants.DefaultOptions()
	opt.Causal = true
	for _, c := range []struct {
		s     variants.Shape
		pairs float64
	}{
		{variants.Shape{B: 1, H: 4, Hkv: 2, N: 1, M: 1000, D: 8}, 1000},
		{variants.Shape{B: 2, H: 2, N: 3, M: 10, D: 8}, 8 + 9 + 10},
		{variants.Shape{B: 1, H: 1, N: 5, M: 2, D: 8}, 0 + 0 + 0 + 1 + 2},
		{variants.Shape{B: 1, H: 1, N: 6, M: 6, D: 8}, 18},
	} {
		for _, name := range []string{"full", "flash"} {
			v, _ := variants.Lookup(name)
			if got, want := v.Flops(c.s, opt), 4*float64(c.s.B*c.s.H*c.s.D)*c.pairs; got != want {
				t.Errorf("%s %v: Flops %v, want %v", name, c.s, got, want)
			}
		}
	}
}
