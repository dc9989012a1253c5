package variants

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// threadCount resolves Options.Threads (0 = all cores) and caps it by the
// number of independent work items.
func threadCount(threads, items int) int {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return max(1, min(threads, items))
}

// minParallelFlops is the least work, in model flops (Variant.Flops), that
// a Forward spreads over more than one goroutine: below it, waking a second
// core costs more than it saves. Measured on the project's 2-core Zen 4
// (2026-12-03, decode steps, H = 32, Hkv = 8, d = 128, one thread against
// two): window (2.1 MFLOP) 52 against 70 µs; sparse strided at m = 16384
// (4.2 MFLOP) 96–131 against 138–158 µs; flash with one K/V head at
// m = 1024 (2.1 MFLOP) 37 against 45 µs, at m = 4096 (8.4 MFLOP) 146
// against 115 µs.
const minParallelFlops = 8e6

// threadsFor is Options.Threads, or 1 for a Forward of fewer than
// minParallelFlops flops. The split of the work never depends on the
// thread count, so neither does the result. WorkspaceBytes keeps counting
// Options.Threads workers: an upper bound, and O(1) for any shape, where
// the flop count of a candidate-set variant takes O(N).
func threadsFor(threads int, flops float64) int {
	if flops < minParallelFlops {
		return 1
	}
	return threads
}

// forEach calls fn(worker, item) for every item in [0, items) on threads
// goroutines; worker is in [0, threads) and no two calls with the same
// worker run at once, so per-worker scratch needs no locking. Items are
// handed out from a shared counter, so uneven items (causal tiles) balance.
// Which worker computes an item never changes the item's result: callers
// keep all state that touches results per item, which is why outputs are
// bit-identical for any thread count.
//
// forEach starts threads−1 goroutines (the caller is worker 0) and its
// closure escapes to the heap: variants run their items through
// onThreads, whose single-threaded path allocates nothing.
func forEach(threads, items int, fn func(worker, item int)) {
	var next atomic.Int64
	run := func(w int) {
		for {
			it := int(next.Add(1)) - 1
			if it >= items {
				return
			}
			fn(w, it)
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(w)
		}()
	}
	// The caller is worker 0: it starts on the items at once instead of
	// waiting for a goroutine to be scheduled, which on a small Forward
	// (a decode step with a window: tens of microseconds) is most of the
	// gain of a second thread.
	run(0)
	wg.Wait()
}

// team is the per-worker state of a parallel run: worker w's S, made from
// the workspace. One worker's team holds no slice, so a single-threaded run
// allocates nothing.
type team[S any] struct {
	first S   // worker 0
	rest  []S // workers 1 …
}

// newTeam makes threads workers' states with newWorker(w).
func newTeam[S any](threads int, newWorker func(w int) S) team[S] {
	t := team[S]{first: newWorker(0)}
	if threads > 1 {
		t.rest = make([]S, threads-1)
		for w := range t.rest {
			t.rest[w] = newWorker(w + 1)
		}
	}
	return t
}

func (t team[S]) size() int { return 1 + len(t.rest) }

func (t team[S]) worker(w int) S {
	if w == 0 {
		return t.first
	}
	return t.rest[w-1]
}

// each calls fn with every worker's state (to release it).
func (t team[S]) each(fn func(S)) {
	fn(t.first)
	for _, s := range t.rest {
		fn(s)
	}
}

// onThreads calls work(job, item, state) for every item in [0, items),
// state being the calling worker's: on the team's goroutines as forEach
// hands the items out, or with one worker in order on the calling
// goroutine. Which worker runs an item must not change its result (see
// forEach).
//
// job and the states go by value, so that the single-threaded path
// allocates nothing: a pointer that reaches a goroutine, or a call through
// a function value, escapes to the heap. So work may change only what lies
// behind their slices (workspace buffers and outputs); a change to a field
// is lost when the item ends; TestNoAllocs catches a job or state that
// points into the caller's stack. The multi-threaded path allocates its
// closure and a copy of job per call.
func onThreads[J, S any](job J, items int, t team[S], work func(job J, item int, s S)) {
	if len(t.rest) == 0 {
		for it := range items {
			work(job, it, t.first)
		}
		return
	}
	shared, workers := job, t // declared here, so only this path moves them to the heap
	forEach(min(workers.size(), items), items, func(w, it int) { work(shared, it, workers.worker(w)) })
}
