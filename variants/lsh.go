package variants

import (
	"fmt"
)

// The LSH variant by file: lsh.go the variant and its knobs;
// lshdefinition.go the definition by brute force (Reference, Naive,
// ExactTarget); lshflops.go the flop model and count; lshhash.go the
// hashing and the sort by bucket; lshforward.go the Forward job;
// lshdedup.go the dedup across rounds (the tile engine's masker).

// LSH is Reformer attention (docs/design.md §2): exact softmax over the keys that
// share a hash bucket with the query in some round.
//
// Shared-QK (the default): the keys are the normalised queries, k_j =
// q_j/‖q_j‖, and the K input is ignored, so M must equal N (V has M rows).
// Per round r a Gaussian rotation R_r (D × nb/2, from Seed) hashes position
// j to h_r(q_j) = argmax([q_j R_r; −q_j R_r]), the first index on ties (the
// same bucket as k_j's, the hash being scale-invariant). Positions are
// stable-sorted by (bucket, position) and cut into chunks of c; query i's
// round-r set P_i^(r) is the positions of its bucket in its own chunk or the
// previous one, chunk 0 wrapping to the last. Causal keeps j ≤ i, and then
// i itself is left out unless it is the set's only member; C(i) = ∪_r
// P_i^(r), each key once. The self rule is applied per round, in the order
// docs/design.md §2 lists it, after the causal intersection (otherwise the first
// causal query would have no key at all).
//
// The rotations are shared by every head and batch element (docs/design.md §2 gives
// one R_r per round).
//
// With -shared-qk=false queries and keys are hashed with the same rotations
// and there is no chunking: C(i) = ∪_r {j : h_r(q_i) = h_r(k_j)} (∩ j ≤ p_i
// = i + M − N when causal), so M ≠ N and grouped K/V heads (Hkv < H) are
// supported; the cost follows the bucket sizes. Shared-QK needs M = N and
// Hkv = H.
//
// Forward, per head: hash every position with one product per 126 rows
// against the rounds' rotations (on AVX-512 VNNI at nb/2 ≥ 64, in int16
// with each argmax certified against a bound on the rounding, the rest in
// float32, giving the float32 path's buckets: see lshhash.go), counting-sort
// by bucket, and gather K and V
// and the running softmax state into sorted order (shared QK: each tile
// packs its queries from the sorted unit keys times scale·‖q‖, otherwise
// straight from position order; once the arrays outgrow half the cache
// the gathers use streaming stores). In sorted order a bucket is a
// contiguous range and, within it, sorted order is position order, so the
// rows of one bucket inside one chunk share one candidate range (the
// bucket's part of their chunk and the previous one); causal is a prefix of
// it and the self rule a one-key hole. Those dense tiles go to the tile
// engine. Each key counts once because a pair is dropped from round r when
// it was a candidate in an earlier round (a test of bucket and chunk per
// earlier round), so the rounds share one running softmax per query and
// need no log-sum-exp correction. Working memory is O(N·D) per head.
type LSH struct {
	fault lshFault // one int, so that LSH converts to Variant without allocating
}

// lshFault names a deliberately injected bug or a test mode (tests only).
type lshFault int

const (
	lshNoFault      lshFault = iota
	lshFaultNoWrap           // chunk 0 does not look back at the last chunk
	lshFaultTwice            // a key found in several rounds counts several times
	lshStreamAlways          // not a bug: the streaming stores of large inputs at every size
	lshInt16Always           // not a bug: the certified int16 hashing at every size and kernel set
)

func init() { Register("lsh", func() Variant { return LSH{} }) }

func (LSH) Name() string     { return "lsh" }
func (LSH) Exact() bool      { return false }
func (LSH) Params() []string { return []string{"buckets", "rounds", "chunk", "shared-qk", "seed"} }

func (LSH) Validate(s Shape, opt Options) error {
	if err := s.Check(); err != nil {
		return err
	}
	switch {
	case opt.Buckets < 0 || opt.Buckets == 1:
		return badParam("buckets", opt.Buckets, "must be an even number ≥ 2 (or 0 for 2·max(1, n/chunk))")
	case opt.Buckets%2 != 0:
		return badParam("buckets", opt.Buckets, "must be even")
	case opt.Rounds < 1:
		return badParam("rounds", opt.Rounds, "must be ≥ 1")
	case opt.Chunk < 1:
		return badParam("chunk", opt.Chunk, "must be ≥ 1")
	case opt.SharedQK && s.M != s.N:
		return unsupportedParam("shared-qk", "", fmt.Sprintf("the keys are the queries, so m must equal n (got n=%d m=%d; use -shared-qk=false for cross-attention)", s.N, s.M))
	case opt.SharedQK && s.KVHeads() != s.H:
		return unsupportedParam("shared-qk", "", fmt.Sprintf("the keys are the queries, so K/V heads must equal query heads (got %d and %d; use -shared-qk=false for grouped heads)", s.KVHeads(), s.H))
	}
	return nil
}

// lshBucketCount returns nb: the -buckets value, or 2·max(1, N/chunk).
func lshBucketCount(s Shape, opt Options) int {
	if opt.Buckets > 0 {
		return opt.Buckets
	}
	return mulSize(2, max(1, s.N/opt.Chunk))
}

// lshGeom is the per-Forward geometry.
type lshGeom struct {
	nb, half, rounds, c, nc int
	rowTile                 int
}

func lshGeometry(s Shape, opt Options) lshGeom {
	g := lshGeom{nb: lshBucketCount(s, opt), rounds: opt.Rounds, c: opt.Chunk}
	g.half = g.nb / 2
	g.nc = ceilDiv(s.N, g.c)
	g.rowTile = 64
	return g
}
