package main

import (
	"fmt"
	"io"

	"github.com/attnbench/attnbench/harness/npy"
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
	knobs := addKnobFlags(fs, false)
	if err := fs.Parse(args); err != nil {
		return err
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
		return badInput("%v", err)
	}
	opt, err := knobs.single(variants.DefaultOptions())
	if err != nil {
		return badInput("%v", err)
	}
	opt.Causal, opt.Threads = *causal, *threads

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
		return badInput("%s: %v", *variant, err)
	}
	out := variants.NewTensor(s.B, s.H, s.N, s.D)
	if err := v.Forward(q, k, vv, out, opt, variants.NewWorkspace()); err != nil {
		return badInput("%s: %v", *variant, err)
	}
	if err := npy.Save(*outPath, out, qShape); err != nil {
		return badInput("-o %v", err)
	}
	fmt.Fprintf(stderr, "attnbench run: %s on %v wrote %s\n", *variant, s, *outPath)
	return nil
}
