// Package reports turns attnbench result files into plots, an HTML page and
// a Markdown summary.
//
// It reads result files only (Go benchmark format, docs/design.md §5) through
// golang.org/x/perf/benchfmt, and imports neither harness nor variants, so a
// report can be drawn from files made on any machine by any build.
//
// # Pipeline
//
//  1. Load reads every file with benchfmt.Files (arguments may be
//     "label=path"); a missing file, a syntax error (reported as file:line),
//     a file without benchmark lines or unit metadata that contradicts itself
//     is an error. Benchmark lines without a /variant= key are not attention
//     results: they are counted and left out with a note.
//  2. Build groups the results with benchproc. Results whose goos, goarch,
//     cpu, kernels, attnbench version, GOMAXPROCS or label differ form
//     separate configuration groups that are never mixed: each gets its own
//     plots and table, shown side by side. Within a group a series is one
//     setting of every name key except n (variant, causal, batch, heads, m,
//     d, threads, inputs and the variant's knobs); a point is one n.
//     Samples are summarised with benchmath.AssumeNothing: the median and
//     its 95% confidence interval (infinite below 6 samples, and then not
//     drawn).
//  3. Write draws each plot as PNG and SVG, and writes index.html (plots
//     embedded as PNG data, so the page renders offline on its own, with
//     links to the PNG and SVG files beside it) and summary.md.
//
// # Plots
//
// Every variant keeps one colour and marker across every plot, in the fixed
// order full, flash, window, sparse, lsh, linear; series of one variant with
// different knobs share its colour in lighter or darker shades and differ in
// dash pattern. Legends sit to the right of the plot so they never hide data.
//
//   - time: median time per op against n, log-log, with the 95% interval as
//     error bars and the least-squares slope of log(median) on log(n) in the
//     legend (2 for quadratic attention, 1 for linear-cost variants).
//   - memory: median peak workspace bytes per op (peak-B/op) against n.
//   - gflops: model GFLOP/s against n, with the measured FMA peak of the
//     kernel set as a horizontal line: the 1-thread peak (peak-gflops) for
//     threads=1 rows, the all-thread peak (peak-gflops-all) for rows at the
//     default thread count, and min(k·1-thread, all-thread) for threads=k.
//   - relerr-n, relerr-KNOB: relative Frobenius error against exact softmax
//     attention, against n and against each numeric knob that takes two or
//     more values (at the n where that knob has the most values).
//   - coverage-n, coverage-KNOB: the share of exact attention mass the
//     candidate sets of window, sparse and lsh keep (docs/accuracy.md),
//     against n and against each knob, on a linear 0–1 axis; the summary
//     table shows it beside relerr.
//   - patterns: attention maps of one head at small n, exact beside each
//     approximate variant's effective weights, on one log colour scale,
//     keys outside a query's candidate set in white. The sweep writes them
//     to a file beside the results and names it in a "patterns:"
//     configuration line (resolved against the results file's directory);
//     the plot is drawn when the results name one.
//   - pareto: relerr against time at one n (by default the largest n at which
//     the most variants have both), with the Pareto front (nothing both
//     faster and more accurate) marked.
//   - speedup: baseline time / series time against n, where the baseline is
//     flash with the same causal, batch, heads, m, d, threads and inputs (or
//     full when there is no such flash); crossovers, where the ratio crosses
//     1, are interpolated linearly in log n–log ratio space and marked.
//
// A plot whose data is absent, or whose values are all non-positive on a log
// axis, is replaced by a note saying why; dropped or clamped values are
// noted too.
package reports
