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

// forEach calls fn(worker, item) for every item in [0, items) on threads
// goroutines; worker is in [0, threads) and no two calls with the same
// worker run at once, so per-worker scratch needs no locking. Items are
// handed out from a shared counter, so uneven items (causal tiles) balance.
// Which worker computes an item never changes the item's result: callers
// keep all state that touches results per item, which is why outputs are
// bit-identical for any thread count.
//
// Callers run the threads == 1 case themselves, without forEach, so that
// the single-threaded path allocates nothing (a closure handed to a
// goroutine escapes to the heap).
func forEach(threads, items int, fn func(worker, item int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				it := int(next.Add(1)) - 1
				if it >= items {
					return
				}
				fn(w, it)
			}
		}()
	}
	wg.Wait()
}
