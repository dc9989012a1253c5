package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/attnbench/attnbench/harness/guard"
	"github.com/attnbench/attnbench/harness/npy"
	"github.com/attnbench/attnbench/internal/atomicfile"
	"github.com/attnbench/attnbench/variants"
)

func init() {
	register(command{
		name:    "run",
		summary: "one forward pass on .npy arrays: -variant V -q q.npy -k k.npy -v v.npy -o out.npy",
		run:     runRun,
	})
}

func runRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	variant := fs.String("variant", "", "variant name (see attnbench list)")
	qPath := fs.String("q", "", "queries .npy, shape [N,D], [H,N,D] or [B,H,N,D]")
	kPath := fs.String("k", "", "keys .npy, [M,D], [Hkv,M,D] or [B,Hkv,M,D]; Hkv < H (grouped-query attention) when H is a multiple of it")
	vPath := fs.String("v", "", "values .npy, same shape as the keys")
	outPath := fs.String("o", "", "output .npy, written with the queries' shape")
	causal := fs.Bool("causal", false, "causal attention (query i, at position i + m − n, sees keys j ≤ i + m − n)")
	threads := fs.Int("threads", 0, "goroutines (0 = all cores)")
	maxMem := fs.String("max-mem", guard.DefaultMaxMem, guard.MaxMemUsage)
	knobs := addKnobFlags(fs, false)
	if err := fs.Parse(args); err != nil {
		return knobs.parseError(err)
	}
	if fs.NArg() > 0 {
		return unexpectedArgs(fs, args, "")
	}
	for _, f := range []struct{ name, val string }{{"variant", *variant}, {"q", *qPath}, {"k", *kPath}, {"v", *vPath}, {"o", *outPath}} {
		if f.val == "" {
			return badInput("-%s is required", f.name)
		}
	}
	if *threads < 0 {
		return badInput("-threads %d: must be ≥ 0", *threads)
	}
	v, err := variants.Lookup(*variant)
	if err != nil {
		return badInput("-variant: %v", err)
	}
	if err := knobs.checkApplies([]string{*variant}); err != nil {
		return badInput("%w", err)
	}
	opt, err := knobs.single(variants.DefaultOptions())
	if err != nil {
		return badInput("%w", err)
	}
	opt.Causal, opt.Threads = *causal, *threads
	if err := refuseOutputOverInput(*outPath, [][2]string{{"q", *qPath}, {"k", *kPath}, {"v", *vPath}}); err != nil {
		return err
	}
	limit, err := guard.Limit(*maxMem)
	if err != nil {
		return badInput("%w", err)
	}

	q, qShape, err := npy.LoadShape(*qPath)
	if err != nil {
		return badInput("-q %v", err)
	}
	k, kShape, err := npy.LoadShape(*kPath)
	if err != nil {
		return badInput("-k %v", err)
	}
	vv, vShape, err := npy.LoadShape(*vPath)
	if err != nil {
		return badInput("-v %v", err)
	}
	if len(qShape) != len(kShape) || len(qShape) != len(vShape) {
		return badInput("-q, -k, -v have shapes %v, %v, %v: the number of dimensions differs", qShape, kShape, vShape)
	}
	s, err := variants.ShapeOf(q, k, vv)
	if err != nil {
		return badInput("-q %s, -k %s, -v %s: %v", *qPath, *kPath, *vPath, err)
	}
	if err := v.Validate(s, opt); err != nil {
		return badInput("%s: %w", *variant, err)
	}
	out, err := guard.Forward(v, q, k, vv, opt, limit)
	if err != nil {
		return badInput("%w", err)
	}
	if err := npy.Save(*outPath, out, qShape); err != nil {
		return badInput("-o %v", err)
	}
	fmt.Fprintf(stderr, "attnbench run: %s on %v wrote %s\n", *variant, s, *outPath)
	return nil
}

// refuseOutputOverInput checks -o before any work: it must not be one of
// the inputs (flag name and path), and its directory must exist, so that a
// bad -o fails at once rather than after the forward pass. npy.Save then
// writes it atomically.
func refuseOutputOverInput(out string, inputs [][2]string) error {
	for _, in := range inputs {
		if atomicfile.SameFile(out, in[1]) {
			return badInput("-o %s is also the -%s input: refusing to overwrite an input", out, in[0])
		}
	}
	if st, err := os.Stat(out); err == nil && !st.Mode().IsRegular() {
		return badInput("-o %s: not a regular file", out)
	}
	dir := filepath.Dir(out)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return badInput("-o %s: directory %s does not exist", out, dir)
	}
	return nil
}
