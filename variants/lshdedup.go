package variants

import (
	"github.com/attnbench/attnbench/asm"
)

// LSH's dedup across rounds: the tile engine's masker (tileMasker) that
// drops the pairs an earlier round already counted.

// lshDedup drops, in round r > 0, the pairs that were candidates in an
// earlier round, so that each key counts once in the union: the tileMasker
// of LSH's tiles. It copies the slices it needs from the job, being passed
// by value (see tileMasker for why).
type lshDedup struct {
	active bool
	shared bool
	round  int
	n, m   int
	c, nc  int
	fault  lshFault

	qBkt, qInv, kCode []int32
	// qpos[i] is the current tile's row i's query position (beginTile
	// sets it); codes is one worker's scratch, 2·w int32 for the widest
	// tile.
	qpos, codes []int32
}

// lshDedupInts is the size of one worker's codes.
func lshDedupInts(g lshGeom) int { return mulSize(2, tileWidth(g.rowTile)) }

// dedup sets dd to the current round's test, off in round 0, keeping its
// scratch.
func (j *lshJob) dedup(dd *lshDedup) {
	*dd = lshDedup{active: j.round > 0 && j.fault != lshFaultTwice, shared: j.shared, round: j.round,
		n: j.s.N, m: j.s.M, c: j.g.c, nc: j.g.nc, fault: j.fault,
		qBkt: j.qBkt, qInv: j.qInv, kCode: j.kCode, codes: dd.codes}
}

func (dd lshDedup) on() bool { return dd.active }

// mask sets to −∞ the scores s[(κ−c0)·w + i] of the queries at positions
// qpos[i], i < rows, against the keys at sorted indices κ in [c0, c1) whose
// pair was a candidate in an earlier round rp: the same bucket and (shared)
// the key's chunk is the query's or the one before it. Only pairs inside
// the rows' spans matter (the rest are −∞ already), where the causal and
// self conditions hold.
func (dd lshDedup) mask(kern *asm.Kernels, rows int, s []float32, w, c0, c1 int) {
	qpos := dd.qpos[:rows]
	own, prev := dd.codes[:w], dd.codes[w:2*w]
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
