package timing

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeOp is a function of known cost on a fake clock: each call advances
// the clock by cost.
type fakeOp struct {
	now   time.Duration
	cost  time.Duration
	calls int
}

func (f *fakeOp) clock() time.Duration { return f.now }
func (f *fakeOp) call() error {
	f.now += f.cost
	f.calls++
	return nil
}

func TestRampLikeTestingB(t *testing.T) {
	op := &fakeOp{cost: 3 * time.Millisecond}
	tm := New(op.call, BenchTime{D: time.Second}, op.clock)
	if d, err := tm.WarmUp(); err != nil || d != 3*time.Millisecond {
		t.Fatalf("warm-up: %v, %v", d, err)
	}
	s, err := tm.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// testing.B's sequence for 3ms per call and 1s: 1 (warm-up), then
	// min(1.2·1s/3ms, 100·1) = 100, then 1.2·1s/3ms = 400, which lasts
	// 1.2s ≥ 1s and is the sample.
	if s.Iters != 400 || s.Elapsed != 400*3*time.Millisecond {
		t.Errorf("first sample: %d iterations in %v, want 400 in 1.2s", s.Iters, s.Elapsed)
	}
	if got := s.NsPerOp(); got != 3e6 {
		t.Errorf("ns/op = %v, want 3e6", got)
	}
	if op.calls != 1+100+400 {
		t.Errorf("calls = %d, want %d", op.calls, 1+100+400)
	}
	// The next sample starts from the prediction and needs no ramp.
	before := op.calls
	s2, err := tm.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s2.Iters != 400 || op.calls-before != 400 {
		t.Errorf("second sample: %d iterations, %d calls; want 400 and 400", s2.Iters, op.calls-before)
	}
}

func TestCallNearTheGoal(t *testing.T) {
	// 0.66s per call, 1s goal: the first run after the warm-up must be
	// 2 calls (1.32s), not 1 call falling short and then 2.
	op := &fakeOp{cost: 660 * time.Millisecond}
	tm := New(op.call, BenchTime{D: time.Second}, op.clock)
	for i := range 3 {
		s, err := tm.Sample(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.Iters != 2 {
			t.Errorf("sample %d: %d iterations, want 2", i, s.Iters)
		}
	}
	if op.calls != 1+3*2 {
		t.Errorf("calls = %d, want 7", op.calls)
	}
}

func TestSlowCallIsOneIteration(t *testing.T) {
	op := &fakeOp{cost: 3 * time.Second}
	tm := New(op.call, BenchTime{D: time.Second}, op.clock)
	s, err := tm.Sample(context.Background()) // warms up by itself
	if err != nil {
		t.Fatal(err)
	}
	if s.Iters != 1 || op.calls != 2 {
		t.Errorf("got %d iterations after %d calls, want 1 after 2 (warm-up + sample)", s.Iters, op.calls)
	}
}

func TestGrowthCappedAt100x(t *testing.T) {
	op := &fakeOp{cost: time.Microsecond}
	tm := New(op.call, BenchTime{D: time.Second}, op.clock)
	if _, err := tm.WarmUp(); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.Sample(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 1 → 100 → 10000 → 1000000, each capped at 100× the last (uncapped
	// they would be 1.2e6); the last lasts exactly 1s and is the sample.
	if want := 1 + 100 + 10_000 + 1_000_000; op.calls != want {
		t.Errorf("calls = %d, want %d", op.calls, want)
	}
}

func TestFixedCount(t *testing.T) {
	op := &fakeOp{cost: time.Millisecond}
	bt, err := ParseBenchTime("7x")
	if err != nil {
		t.Fatal(err)
	}
	tm := New(op.call, bt, op.clock)
	for range 3 {
		s, err := tm.Sample(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.Iters != 7 || s.Elapsed != 7*time.Millisecond {
			t.Errorf("sample %+v, want 7 iterations in 7ms", s)
		}
	}
	if op.calls != 1+3*7 {
		t.Errorf("calls = %d, want 22", op.calls)
	}
}

func TestCancelledBetweenBatches(t *testing.T) {
	op := &fakeOp{cost: time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	tm := New(func() error {
		if op.calls == 50 {
			cancel() // during the batch of 100
		}
		return op.call()
	}, BenchTime{D: time.Second}, op.clock)
	if _, err := tm.WarmUp(); err != nil {
		t.Fatal(err)
	}
	_, err := tm.Sample(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if op.calls != 101 {
		t.Errorf("calls = %d: the running batch must finish and no new one start (want 101)", op.calls)
	}
}

func TestOpError(t *testing.T) {
	boom := errors.New("boom")
	tm := New(func() error { return boom }, BenchTime{D: time.Second}, nil)
	if _, err := tm.Sample(context.Background()); !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
}

func TestAllocationsCounted(t *testing.T) {
	var sink []byte
	op := &fakeOp{cost: time.Millisecond}
	tm := New(func() error {
		sink = make([]byte, 4096)
		return op.call()
	}, BenchTime{N: 10}, op.clock)
	s, err := tm.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_ = sink
	if s.AllocsPerOp() < 1 || s.BytesPerOp() < 4096 {
		t.Errorf("allocs/op %v, B/op %v: want ≥ 1 and ≥ 4096", s.AllocsPerOp(), s.BytesPerOp())
	}
}

func TestParseBenchTime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want BenchTime
	}{
		{"1s", BenchTime{D: time.Second}},
		{"250ms", BenchTime{D: 250 * time.Millisecond}},
		{"100x", BenchTime{N: 100}},
	} {
		got, err := ParseBenchTime(c.in)
		if err != nil || got.D != c.want.D || got.N != c.want.N || got.String() != c.in {
			t.Errorf("ParseBenchTime(%q) = %+v, %v", c.in, got, err)
		}
	}
	for _, bad := range []string{"", "garbage", "0s", "-1s", "0x", "x", "-3x", "1.5x"} {
		if _, err := ParseBenchTime(bad); err == nil {
			t.Errorf("ParseBenchTime(%q): no error", bad)
		}
	}
}
