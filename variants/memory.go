package variants

// Memory estimates of the brute-force evaluations (Reference, Naive,
// MaxLogit, ExactAttention, FlopsOn), so that a command can refuse a case
// before allocating anything (harness/guard). Like WorkspaceBytes they
// are upper bounds that saturate at TooLarge instead of overflowing; the
// tests hold them against the bytes the evaluations allocate.

// evalSizer is implemented by variants whose brute-force evaluations hold
// more than candidateEvalBytes counts: feature maps, hash buckets, random
// blocks.
type evalSizer interface {
	// definitionExtra is the extra memory of one evaluation of the
	// definition with elements of elem bytes.
	definitionExtra(s Shape, opt Options, elem int) int
	// maxLogitBytes is the memory MaxLogit allocates.
	maxLogitBytes(s Shape, opt Options) int
}

// candidateEvalBytes is what candidateAttention holds with elements of
// elem bytes: its output, the keys converted to the element type, one row
// of logits and the candidate list (grown by append: up to 4·M ints with
// the copies it leaves behind).
func candidateEvalBytes(s Shape, elem int) int {
	return addSize(mulSize(elem, s.B, s.H, s.N, s.D), mulSize(elem, s.B, s.H, s.M, s.D), mulSize(elem+32, s.M))
}

// DefinitionBytes estimates the memory of docs/design.md §3.1's check of v's
// fast path beyond Forward's: Reference (float64) and Naive (float32), both
// outputs held at once, and MaxLogit.
func DefinitionBytes(v Variant, s Shape, opt Options) int64 {
	n := addSize(candidateEvalBytes(s, 8), candidateEvalBytes(s, 4))
	if e, ok := v.(evalSizer); ok {
		n = addSize(n, e.definitionExtra(s, opt, 8), e.definitionExtra(s, opt, 4), e.maxLogitBytes(s, opt))
	}
	return int64(n)
}

// ExactBytes estimates the memory of ExactAttention or ExactWithLSE: exact
// softmax attention (or the variant's ExactTarget, which has the same
// layout) in float64, its row log-sum-exps, and a row of logits and
// candidates per worker.
func ExactBytes(v Variant, s Shape, opt Options) int64 {
	workers := threadCount(opt.Threads, max(1, s.B*s.H))
	return int64(addSize(candidateEvalBytes(s, 8), mulSize(8, s.B, s.H, s.N), mulSize(workers, 40, s.M)))
}

// UsefulFlopsBytes estimates the memory UsefulFlops allocates: nothing
// where the flops follow from the shape (or for a DataFlopser that does
// not say); the hash buckets and their sort for LSH.
func UsefulFlopsBytes(v Variant, s Shape, opt Options) int64 {
	if l, ok := v.(LSH); ok {
		g := lshGeometry(s, opt)
		// Per head: the buckets of the queries and keys, and per round
		// the sort's perm, inv, start and cursor.
		sort := mulSize(g.rounds, addSize(mulSize(2, max(s.N, s.M)), mulSize(2, g.nb), 1))
		return int64(mulSize(4, addSize(l.hashBytesWords(s, opt), sort)))
	}
	return 0
}

// hashBytesWords is the reference hasher, the buckets of one head's
// queries and keys and the hashing scratch each of the two allocates, in
// 4-byte words.
func (LSH) hashBytesWords(s Shape, opt Options) int {
	g := lshGeometry(s, opt)
	rotF, rotI := lshHashSizes(s.D, g.half, g.rounds)
	scF, scI := lshHashScratchSizes(s.D, g.half, g.rounds)
	return addSize(rotF, rotI, mulSize(2, addSize(scF, scI)), mulSize(g.rounds, addSize(s.N, s.M)))
}

func (l LSH) definitionExtra(s Shape, opt Options, elem int) int {
	// lshCandidates: the hasher and buckets, chunkOf and order (ints),
	// inSet (bools); the normalised keys are the converted keys counted
	// by candidateEvalBytes.
	return addSize(mulSize(4, l.hashBytesWords(s, opt)), mulSize(8, opt.Rounds, s.N), s.M, mulSize(8, s.N))
}

func (LSH) maxLogitBytes(s Shape, opt Options) int {
	if !opt.SharedQK {
		return 0
	}
	return mulSize(4, s.B, s.H, s.N, s.D) // the normalised queries
}

func (Linear) definitionExtra(s Shape, opt Options, elem int) int {
	f := linearFeatures(s, opt)
	// φ(Q) and φ(K) of one head, the numerator row and ‖x′‖²/2, and the
	// FAVOR+ features with their scratch.
	n := addSize(mulSize(elem, addSize(s.N, s.M), f), mulSize(elem, s.D), mulSize(elem, max(s.N, s.M)))
	if opt.Kernel == "favor" {
		n = addSize(n, mulSize(4, addSize(mulSize(f, s.D), mulSize(s.D, s.D), s.D)))
	}
	return n
}

func (Linear) maxLogitBytes(s Shape, opt Options) int {
	if opt.Kernel != "favor" {
		return 0
	}
	return mulSize(4, addSize(mulSize(opt.Features, s.D), mulSize(s.D, s.D), s.D))
}

func (Sparse) definitionExtra(s Shape, opt Options, elem int) int {
	if opt.Pattern != "bigbird" {
		return 0
	}
	return mulSize(4, s.H, bigbirdBlocks(s, opt), opt.Random)
}

func (Sparse) maxLogitBytes(Shape, Options) int { return 0 }
