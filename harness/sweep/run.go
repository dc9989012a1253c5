package sweep

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"

	"github.com/attnbench/attnbench/harness/guard"
	"github.com/attnbench/attnbench/harness/machine"
	"github.com/attnbench/attnbench/harness/results"
	"github.com/attnbench/attnbench/harness/timing"
	"github.com/attnbench/attnbench/internal/checked"
	"github.com/attnbench/attnbench/internal/setting"
	"github.com/attnbench/attnbench/internal/vocab"
	"github.com/attnbench/attnbench/variants"
	"github.com/attnbench/attnbench/variants/oracle"
)

// Sink receives rows as they are measured (a *results.Output).
type Sink interface {
	Write(results.Row) error
	Comment(line string)
	// Done returns the samples each case name already has (-resume).
	Done() map[string]int
}

// Config is how to run the cases.
type Config struct {
	Count     int // samples per case
	BenchTime timing.BenchTime
	// MaxMem skips a case whose estimated memory (EstimateBytes) exceeds it.
	MaxMem int64
	// ErrMaxN is the largest n (and m) for which relerr, maxerr, cosine
	// and coverage are computed: the exact float64 reference costs
	// O(B·H·N·M·D) scalar work per shape, which at large n would take
	// longer than the benchmark itself. 0 computes none.
	ErrMaxN int
	// Peak gives %peak; nil leaves the column out.
	Peak *machine.Peak
	// Clock is the timer's clock; nil is the wall clock.
	Clock timing.Clock
	// Progress reports progress and notes; nil reports nothing.
	Progress *Progress
	// Bandwidth measures the machine's streaming read bandwidth now, in
	// GB/s, on all cores. It runs just before each sample of a case whose
	// lines carry GB/s and whose K and V exceed BandwidthMinKV bytes (they
	// stream from memory), and those lines then also carry %bandwidth,
	// their share of it. A bandwidth measured beside the sample, not a
	// cached one, keeps the share honest on a machine whose memory is
	// shared with others (on the project's machine it moves between 27
	// and 49 GB/s within minutes). nil leaves %bandwidth out.
	Bandwidth      func() float64
	BandwidthMinKV float64
	// BandwidthBytes is the memory Bandwidth's buffers take: a case whose
	// estimate plus these exceeds MaxMem runs without the measurement.
	BandwidthBytes int64
}

// Summary counts what a run did.
type Summary struct {
	Cases   int // cases given
	Ran     int // cases measured (fully or partly) by this run
	Resumed int // cases already complete in the output
	Skipped int // cases over MaxMem
	Failed  int // cases whose Forward returned an error
	Rows    int // rows written by this run
}

// ErrInterrupted is returned (wrapped) when ctx is cancelled: every
// finished sample has been written.
var ErrInterrupted = errors.New("interrupted")

// ErrFailed is returned (wrapped) when some case's Forward failed; the
// other cases ran.
var ErrFailed = errors.New("some cases failed")

// Run measures every case, writing each sample to out as soon as it is
// taken. Cases that already have Count samples in out are skipped, and a
// case with fewer gets only the missing ones.
func Run(ctx context.Context, cases []Case, out Sink, cfg Config) (Summary, error) {
	sum := Summary{Cases: len(cases)}
	if cfg.Count < 1 {
		return sum, &setting.Error{Name: "count", Value: strconv.Itoa(cfg.Count), Reason: "must be ≥ 1"}
	}
	done := out.Done()
	prog := cfg.Progress
	prog.start(cases, cfg, done)
	defer prog.finish()

	st := &runState{}
	for i, c := range cases {
		have := done[c.Name]
		if have >= cfg.Count {
			sum.Resumed++
			prog.caseDone(i)
			continue
		}
		need, err := guard.Estimate(c.Variant, c.Shape, c.Opt, extras(c, cfg.ErrMaxN))
		if err == nil {
			// The exact outputs kept for this shape's other cases stay
			// alive beside this one's.
			need, err = checked.Add(need, st.exact.heldBytes(c))
		}
		if err != nil || (cfg.MaxMem > 0 && need > cfg.MaxMem) {
			msg := fmt.Sprintf("skipped: %s: needs %s > -max-mem %s", c.Name, FormatBytes(need), FormatBytes(cfg.MaxMem))
			if err != nil {
				msg = fmt.Sprintf("skipped: %s: %v", c.Name, err)
			}
			out.Comment(msg)
			prog.note(msg)
			sum.Skipped++
			prog.caseDone(i)
			continue
		}
		prog.caseStart(i, c)
		ccfg := cfg
		measure, fits := measuresBandwidth(c, cfg, need)
		if !measure {
			ccfg.Bandwidth = nil
		}
		if !fits && !st.bandwidthWarned {
			st.bandwidthWarned = true
			prog.note(fmt.Sprintf("%s runs without %%bandwidth: measuring the bandwidth beside it needs %s more than -max-mem %s leaves",
				c.Name, FormatBytes(cfg.BandwidthBytes), FormatBytes(cfg.MaxMem)))
		}
		rows, err := runCase(ctx, c, have, out, ccfg, st)
		sum.Rows += rows
		sum.Ran++
		switch {
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return sum, fmt.Errorf("%w after %d of %d cases", ErrInterrupted, i, len(cases))
		case errors.As(err, new(*caseError)):
			out.Comment(err.Error())
			prog.note(err.Error())
			sum.Failed++
		case err != nil:
			return sum, err // the output cannot be written
		}
		prog.caseDone(i)
	}
	if sum.Failed > 0 {
		return sum, fmt.Errorf("%w: %d of %d", ErrFailed, sum.Failed, len(cases))
	}
	return sum, nil
}

// caseError is a failure of the variant on one case (not of the sweep).
type caseError struct {
	name string
	err  error
}

func (e *caseError) Error() string { return fmt.Sprintf("error: %s: %v", e.name, e.err) }

// runState is what a run keeps from case to case.
type runState struct {
	inputs     inputCache
	errInputs  inputCache // the error inputs, when they are not the timing inputs
	exact      exactCache
	peakWarned bool
	// bandwidthWarned: the note that a case runs without %bandwidth
	// (its buffers over -max-mem) was given.
	bandwidthWarned bool
}

// runCase warms up, computes the approximation error, then takes the
// missing samples, writing each.
func runCase(ctx context.Context, c Case, have int, out Sink, cfg Config, st *runState) (rows int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	q, k, v, err := st.inputs.get(c.src, c.Shape)
	if err != nil {
		return 0, &caseError{c.Name, err}
	}
	if err := variants.CheckRange(c.Variant, q, k, v, c.Opt); err != nil {
		return 0, &caseError{c.Name, err}
	}
	o, err := variants.AllocTensor(c.Shape.B, c.Shape.H, c.Shape.N, c.Shape.D)
	if err != nil {
		return 0, &caseError{c.Name, err}
	}
	ws := variants.NewWorkspace()
	tm := timing.New(func() error { return c.Variant.Forward(q, k, v, o, c.Opt, ws) }, cfg.BenchTime, cfg.Clock)
	// The warm-up fills the workspace pool, so the timed calls allocate
	// nothing a steady-state Forward would not.
	if _, err := tm.WarmUp(); err != nil {
		return 0, &caseError{c.Name, err}
	}
	// Every timed call computes this same output: checked once, untimed.
	if err := guard.Finite(o.Data, c.Shape.D); err != nil {
		return 0, &caseError{c.Name, err}
	}
	var approx *oracle.Approximation
	var coverage *float64
	if computesError(c, cfg.ErrMaxN) {
		if approx, coverage, err = errorFigures(c, q, k, v, o, ws, st); err != nil {
			return 0, &caseError{c.Name, err}
		}
	}
	// Useful flops as docs/design.md §4 counts them on these inputs (LSH's
	// candidate pairs depend on the data), counted once, outside the
	// timing.
	flops, err := variants.UsefulFlops(c.Variant, q, k, v, c.Opt)
	if err != nil {
		return 0, &caseError{c.Name, err}
	}
	for range cfg.Count - have {
		if err := ctx.Err(); err != nil {
			return rows, err
		}
		// The peak over every call of the sample is the peak of one call:
		// each Forward returns all its buffers before the next begins.
		var bandwidth float64
		if cfg.Bandwidth != nil {
			bandwidth = cfg.Bandwidth()
		}
		ws.ResetPeak()
		s, err := tm.Sample(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return rows, ctx.Err()
			}
			return rows, &caseError{c.Name, err}
		}
		r := row(c, s, ws.Peak(), flops, cfg.Peak, bandwidth, approx, coverage)
		if err := out.Write(r); err != nil {
			return rows, err
		}
		if pct, ok := r.Get(vocab.PctPeak); ok && pct > 100 && !st.peakWarned {
			// More than the peak is impossible: the peak was measured
			// low, most likely while something else ran.
			st.peakWarned = true
			cfg.Progress.note(fmt.Sprintf("%s runs at %.4g%% of the cached peak (%.4g GFLOP/s at %d threads): the peak was measured too low, perhaps under load; run attnbench peak again on an idle machine",
				c.Name, pct, cfg.Peak.For(c.Opt.Threads), threadsOf(c)))
		}
		rows++
		cfg.Progress.sample(c, s, flops)
	}
	return rows, nil
}

// row assembles one result line. Values are rounded to the digits that
// mean something (timing noise is far above 1e-5), so the file stays
// readable: 5 significant digits for ns/op, 4 for rates and errors; B/op
// and allocs/op are whole numbers as go test writes them.
func row(c Case, s timing.Sample, peakBytes int64, flops float64, peak *machine.Peak, bandwidth float64, approx *oracle.Approximation, coverage *float64) results.Row {
	ns := s.NsPerOp()
	gflops := flops / ns // flop/ns = GFLOP/s
	vals := []results.Value{
		{Unit: vocab.NsPerOp, Value: sig(ns, 5)},
		{Unit: vocab.GFLOPS, Value: sig(gflops, 4)},
	}
	if peak != nil {
		if p := peak.For(c.Opt.Threads); p > 0 {
			vals = append(vals, results.Value{Unit: vocab.PctPeak, Value: sig(100*gflops/p, 4)})
		}
	}
	if carriesGBs(c) {
		gbs := KVBytes(c.Shape) / ns
		vals = append(vals, results.Value{Unit: vocab.GBs, Value: sig(gbs, 4)})
		if bandwidth > 0 {
			vals = append(vals, results.Value{Unit: vocab.PctBandwidth, Value: sig(100*gbs/bandwidth, 4)})
		}
	}
	vals = append(vals,
		results.Value{Unit: vocab.PeakBytes, Value: float64(peakBytes)},
		results.Value{Unit: vocab.BytesPerOp, Value: float64(s.AllocBytes / uint64(s.Iters))},
		results.Value{Unit: vocab.AllocsPerOp, Value: float64(s.Allocs / uint64(s.Iters))},
	)
	if approx != nil {
		vals = append(vals,
			results.Value{Unit: vocab.RelErr, Value: sig(approx.RelErr, 4)},
			results.Value{Unit: vocab.MaxErr, Value: sig(approx.MaxErr, 4)},
			results.Value{Unit: vocab.Cosine, Value: sig(approx.Cosine, 6)},
		)
	}
	if coverage != nil {
		vals = append(vals, results.Value{Unit: vocab.Coverage, Value: sig(*coverage, 4)})
	}
	return results.Row{Name: c.Name, Iters: s.Iters, Values: vals, Keys: c.Keys}
}

// KVBoundN is the largest N whose result lines carry GB/s: with so few
// queries per K/V row the time is bound by reading K and V (decode, small
// prefill chunks), and bytes per second is the figure to hold against the
// machine's memory bandwidth (docs/design.md §4). Only exact variants carry it:
// they read every key, while a window or a sparse pattern reads a few.
const KVBoundN = 16

// carriesGBs reports whether c's result lines carry GB/s (KVBoundN).
func carriesGBs(c Case) bool { return c.Shape.N <= KVBoundN && c.Variant.Exact() }

// measuresBandwidth reports whether case c, estimated to need need bytes,
// measures the bandwidth beside its samples (Config.Bandwidth), and, when
// it would but the measurement's buffers do not fit under MaxMem, fits =
// false.
func measuresBandwidth(c Case, cfg Config, need int64) (measure, fits bool) {
	if cfg.Bandwidth == nil || !carriesGBs(c) || KVBytes(c.Shape) <= cfg.BandwidthMinKV {
		return false, true
	}
	total, err := checked.Add(need, cfg.BandwidthBytes)
	fits = err == nil && (cfg.MaxMem <= 0 || total <= cfg.MaxMem)
	return fits, fits
}

// HasGBs reports whether some case's lines carry GB/s, so that a caller
// knows whether Config.Bandwidth will be used.
func HasGBs(cases []Case) bool {
	for _, c := range cases {
		if carriesGBs(c) {
			return true
		}
	}
	return false
}

// KVBytes is the K and V bytes one Forward reads at least once:
// 2·B·Hkv·M·D·4.
func KVBytes(s variants.Shape) float64 {
	return 2 * 4 * float64(s.B) * float64(s.KVHeads()) * float64(s.M) * float64(s.D)
}

// threadsOf returns the goroutines a case's Forward may use.
func threadsOf(c Case) int {
	if c.Opt.Threads > 0 {
		return c.Opt.Threads
	}
	return runtime.GOMAXPROCS(0)
}

// sig rounds x to digits significant digits.
func sig(x float64, digits int) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', digits, 64), 64)
	if err != nil {
		return x // ±Inf, NaN
	}
	return r
}

// computesError reports whether the error figures are computed for c.
func computesError(c Case, errMaxN int) bool {
	return max(c.Shape.N, c.Shape.M) <= errMaxN
}

// extras is what a sweep computes for c beyond Forward: the counted flops,
// and, where the approximation error is computed, the exact output with its
// row log-sum-exps, on inputs of their own when the error inputs differ
// from the timing inputs.
func extras(c Case, errMaxN int) guard.Extras {
	e := computesError(c, errMaxN)
	return guard.Extras{Exact: e, ErrorInputs: e && c.errSrc != c.src, UsefulFlops: true}
}

// EstimateBytes is the memory a case needs (guard.Estimate, the estimate
// run and parity use too); math.MaxInt64 when its sizes overflow.
func EstimateBytes(c Case, errMaxN int) int64 {
	need, err := guard.Estimate(c.Variant, c.Shape, c.Opt, extras(c, errMaxN))
	if err != nil {
		return math.MaxInt64
	}
	return need
}

// FormatBytes writes n in binary units (guard.FormatBytes).
func FormatBytes(n int64) string { return guard.FormatBytes(n) }

// inputCache keeps the inputs of the last shape: consecutive cases share a
// shape (variants vary fastest), so inputs are made once per shape, and
// only one shape's inputs are alive at a time.
type inputCache struct {
	src     *source
	shape   variants.Shape
	q, k, v variants.Tensor
	ok      bool
}

func (ic *inputCache) get(src *source, shape variants.Shape) (q, k, v variants.Tensor, err error) {
	if !ic.ok || ic.src != src || ic.shape != shape {
		*ic = inputCache{} // let the old inputs go before making new ones
		if q, k, v, err = src.make(shape); err != nil {
			return q, k, v, err
		}
		*ic = inputCache{src: src, shape: shape, q: q, k: k, v: v, ok: true}
	}
	return ic.q, ic.k, ic.v, nil
}

// exactCache keeps the exact attention outputs of the current shape, with
// their row log-sum-exps (for coverage): every variant compared with plain
// softmax attention on the same inputs, causality and scale shares one.
type exactCache struct {
	src   *source
	shape variants.Shape
	outs  map[string]exactResult
}

// heldBytes is the memory of the exact outputs the cache keeps while c
// runs: those of c's shape (another shape's are dropped first).
func (ec *exactCache) heldBytes(c Case) int64 {
	if ec.src != c.errSrc || ec.shape != c.Shape {
		return 0
	}
	var n int64
	for _, r := range ec.outs {
		n += 8 * int64(len(r.out)+len(r.lse))
	}
	return n
}

type exactResult struct{ out, lse []float64 }

func (ec *exactCache) get(c Case, q, k, v variants.Tensor) (out, lse []float64, err error) {
	if ec.src != c.errSrc || ec.shape != c.Shape {
		*ec = exactCache{src: c.errSrc, shape: c.Shape, outs: map[string]exactResult{}}
	}
	key := fmt.Sprintf("softmax causal=%v scale=%v", c.Opt.Causal, c.Opt.ScaleFor(c.Shape.D))
	if _, own := c.Variant.(variants.ExactTargeter); own {
		// The variant defines its own exact target, which may depend on
		// any of its options.
		key = fmt.Sprintf("%s %+v", c.Variant.Name(), c.Opt)
	}
	if r, ok := ec.outs[key]; ok {
		return r.out, r.lse, nil
	}
	out, lse, err = variants.ExactWithLSE(c.Variant, q, k, v, c.Opt)
	if err != nil {
		return nil, nil, err
	}
	ec.outs[key] = exactResult{out, lse}
	return out, lse, nil
}

// errorFigures computes the approximation error of c (relerr, maxerr,
// cosine; coverage for candidate-set variants) on its error inputs: the
// timing inputs q, k, v with their output o, or, when the error comes from
// other inputs, those, with one more Forward.
func errorFigures(c Case, q, k, v, o variants.Tensor, ws *variants.Workspace, st *runState) (*oracle.Approximation, *float64, error) {
	if c.errSrc != c.src {
		var err error
		if q, k, v, err = st.errInputs.get(c.errSrc, c.Shape); err != nil {
			return nil, nil, err
		}
		o = variants.NewTensor(c.Shape.B, c.Shape.H, c.Shape.N, c.Shape.D)
		if err := c.Variant.Forward(q, k, v, o, c.Opt, ws); err != nil {
			return nil, nil, err
		}
	}
	want, lse, err := st.exact.get(c, q, k, v)
	if err != nil {
		return nil, nil, err
	}
	a := oracle.Approximate(o.Data, want, c.Shape.D)
	var cov float64
	var ok bool
	if lse != nil {
		cov, ok, err = variants.CoverageGiven(c.Variant, q, k, v, c.Opt, lse)
	} else {
		cov, ok, err = variants.Coverage(c.Variant, q, k, v, c.Opt)
	}
	if err != nil || !ok {
		return &a, nil, err
	}
	return &a, &cov, nil
}
