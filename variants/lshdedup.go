package variants

import (
	"github.com/attnbench/attnbench/asm"
)

// LSH's dedup across rounds: the tile engine's masker (tileMasker) that
// drops the pairs an earlier round already counted.

// lshDedup drops, in round r > 0, the pairs that were candidates in an
// earlier round, so that each key counts once in the union. It copies the
// slices it needs from the job (see tileAttn.dedup for why).
type lshDedup struct {
	on     bool
	shared bool
	round  int
	n, m   int
	c, nc  int
	fault  lshFault

	qBkt, qInv, kCode []int32
}

// dedup returns the current round's lshDedup, off in round 0.
func (j *lshJob) dedup() lshDedup {
	return lshDedup{on: j.round > 0 && j.fault != lshFaultTwice, shared: j.shared, round: j.round,
		n: j.s.N, m: j.s.M, c: j.g.c, nc: j.g.nc, fault: j.fault,
		qBkt: j.qBkt, qInv: j.qInv, kCode: j.kCode}
}

// mask sets to −∞ the scores s[(κ−c0)·w + i] of the queries at positions
// qpos[i] against the keys at sorted indices κ in [c0, c1) whose pair was a
// candidate in an earlier round rp: the same bucket and (shared) the key's
// chunk is the query's or the one before it. codes is scratch for 2·w
// int32. Only pairs inside the rows' spans matter (the rest are −∞
// already), where the causal and self conditions hold.
func (dd *lshDedup) mask(kern *asm.Kernels, qpos, codes []int32, s []float32, w, c0, c1 int) {
	own, prev := codes[:w], codes[w:2*w]
	// The tile's padding columns match no key (codes are ≥ 0).
	for i := len(qpos); i < w; i++ {
		own[i], prev[i] = -1, -1
	}
	for rp := range dd.round {
		// The key codes that match, per query: own chunk and previous
		// chunk.
		for i, qi := range qpos {
			o := dd.qBkt[rp*dd.n+int(qi)]
			p := o
			if dd.shared {
				nc := int32(dd.nc)
				ci := dd.qInv[rp*dd.n+int(qi)] / int32(dd.c)
				o, p = o*nc+ci, o*nc+(ci-1+nc)%nc
				if ci == 0 && dd.fault == lshFaultNoWrap {
					p = o
				}
			}
			own[i], prev[i] = o, p
		}
		kern.MaskMatches(c1-c0, w, dd.kCode[rp*dd.m+c0:rp*dd.m+c1], own, prev, s)
	}
}
