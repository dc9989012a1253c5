// Package timing measures how long one call of a function takes, the way
// Go's testing.B does: a warm-up call, then runs of growing iteration counts
// until one run lasts at least the target time; that run is the sample.
//
// Unlike testing.B, a Timer keeps what it learned between samples: the
// second and later samples start at the iteration count that the previous
// sample predicts, instead of ramping up from 1 again. Each sample still
// lasts at least the target time, so the numbers mean what go test's mean.
package timing

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/attnbench/attnbench/internal/setting"
)

// BenchTime is the -benchtime setting: a minimum duration per sample, or a
// fixed number of iterations per sample (written "100x").
type BenchTime struct {
	D     time.Duration // when N == 0
	N     int           // fixed iteration count, when > 0
	input string
}

// ParseBenchTime parses a duration ("1s", "250ms") or an iteration count
// ("100x"), as go test's -benchtime does.
func ParseBenchTime(s string) (BenchTime, error) {
	if c, ok := strings.CutSuffix(s, "x"); ok {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 {
			return BenchTime{}, &setting.Error{Name: "benchtime", Value: s, Reason: "want a positive iteration count such as 100x"}
		}
		return BenchTime{N: n, input: s}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return BenchTime{}, &setting.Error{Name: "benchtime", Value: s, Reason: "want a positive duration (1s, 250ms) or an iteration count (100x)"}
	}
	return BenchTime{D: d, input: s}, nil
}

func (b BenchTime) String() string {
	switch {
	case b.input != "":
		return b.input
	case b.N > 0:
		return fmt.Sprintf("%dx", b.N)
	}
	return b.D.String()
}

// Clock returns the time elapsed since some fixed origin. Tests substitute
// a fake one; nil means the monotonic wall clock.
type Clock func() time.Duration

func wallClock() Clock {
	origin := time.Now()
	return func() time.Duration { return time.Since(origin) }
}

// Sample is one measurement: Iters calls took Elapsed in total and
// allocated AllocBytes in Allocs heap objects (runtime.MemStats deltas, so
// allocations by goroutines the function starts count too).
type Sample struct {
	Iters      int
	Elapsed    time.Duration
	AllocBytes uint64
	Allocs     uint64
}

// NsPerOp is the mean time of one call.
func (s Sample) NsPerOp() float64 { return float64(s.Elapsed.Nanoseconds()) / float64(s.Iters) }

// BytesPerOp is the mean heap allocation of one call.
func (s Sample) BytesPerOp() float64 { return float64(s.AllocBytes) / float64(s.Iters) }

// AllocsPerOp is the mean number of heap allocations of one call.
func (s Sample) AllocsPerOp() float64 { return float64(s.Allocs) / float64(s.Iters) }

// maxIters bounds one run, as testing.B does.
const maxIters = 1_000_000_000

// Timer takes samples of one function.
type Timer struct {
	op    func() error
	bt    BenchTime
	clock Clock

	// The last run: its iteration count and duration predict the next.
	lastN       int
	lastElapsed time.Duration
}

// New returns a Timer for op. clock may be nil (wall clock).
func New(op func() error, bt BenchTime, clock Clock) *Timer {
	if clock == nil {
		clock = wallClock()
	}
	return &Timer{op: op, bt: bt, clock: clock}
}

// WarmUp calls op once, untimed as far as results go: it fills caches and
// pools (the variants' workspace) and gives the first estimate of the
// cost of a call.
func (t *Timer) WarmUp() (time.Duration, error) {
	start := t.clock()
	if err := t.op(); err != nil {
		return 0, err
	}
	t.lastN, t.lastElapsed = 1, t.clock()-start
	return t.lastElapsed, nil
}

// Sample takes one sample. With a duration target it runs op in growing
// batches until a batch lasts at least the target; that batch is the
// sample. With a fixed count it runs exactly that many calls. A cancelled
// ctx abandons the sample between batches (never inside one).
func (t *Timer) Sample(ctx context.Context) (Sample, error) {
	if t.lastN == 0 {
		if _, err := t.WarmUp(); err != nil {
			return Sample{}, err
		}
	}
	if t.bt.N > 0 {
		return t.run(t.bt.N)
	}
	goal := t.bt.D
	n := predict(goal, t.lastN, t.lastElapsed)
	for {
		if err := ctx.Err(); err != nil {
			return Sample{}, err
		}
		s, err := t.run(n)
		if err != nil {
			return Sample{}, err
		}
		if s.Elapsed >= goal || n >= maxIters {
			return s, nil
		}
		// Short of the target: grow at least by one, as testing.B does.
		n = max(predict(goal, n, s.Elapsed), n+1)
	}
}

// predict returns the iteration count expected to last goal at the rate
// of the last run, plus 20% (as testing.B), rounded up so that a call
// slower than half the goal still gets a run that reaches it, and growing
// at most 100× per step.
func predict(goal time.Duration, lastN int, lastElapsed time.Duration) int {
	prevNs := float64(max(lastElapsed.Nanoseconds(), 1))
	n := math.Ceil(1.2 * float64(goal.Nanoseconds()) * float64(lastN) / prevNs)
	n = min(n, 100*float64(lastN), maxIters)
	return int(max(n, 1))
}

// run times n calls. The garbage collector runs first so that one
// sample's garbage is not collected on the next one's time.
func (t *Timer) run(n int) (Sample, error) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := t.clock()
	for range n {
		if err := t.op(); err != nil {
			return Sample{}, err
		}
	}
	elapsed := t.clock() - start
	runtime.ReadMemStats(&after)
	t.lastN, t.lastElapsed = n, elapsed
	return Sample{
		Iters:      n,
		Elapsed:    elapsed,
		AllocBytes: after.TotalAlloc - before.TotalAlloc,
		Allocs:     after.Mallocs - before.Mallocs,
	}, nil
}
