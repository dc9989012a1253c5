package main

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attnbench/attnbench/harness/npy"
	"github.com/attnbench/attnbench/variants"
)

// runCLI runs the command line in-process and returns exit code and output.
func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func randomTensor(rng *rand.Rand, b, h, s, d int, sd float64) variants.Tensor {
	t := variants.NewTensor(b, h, s, d)
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64() * sd)
	}
	return t
}

// softmaxAttention is written out here in float64, independently of the
// variants package, as the yardstick of `attnbench run`: query head h reads
// K/V head h·Hkv/H, query i sits at position i + M − N.
func softmaxAttention(q, k, v variants.Tensor, causal bool) []float64 {
	out := make([]float64, q.Len())
	scale := 1 / math.Sqrt(float64(q.D))
	for b := range q.B {
		for h := range q.H {
			kvh := h * k.H / q.H
			qh, kh, vh := q.Head(b, h), k.Head(b, kvh), v.Head(b, kvh)
			base := (b*q.H + h) * q.S * q.D
			for i := range q.S {
				logits := make([]float64, k.S)
				mx := math.Inf(-1)
				for j := range k.S {
					logits[j] = math.Inf(-1)
					if causal && j > i+k.S-q.S {
						continue
					}
					var dot float64
					for d := range q.D {
						dot += float64(qh[i*q.D+d]) * float64(kh[j*q.D+d])
					}
					logits[j] = dot * scale
					mx = math.Max(mx, logits[j])
				}
				var z float64
				for j := range logits {
					logits[j] = math.Exp(logits[j] - mx)
					z += logits[j]
				}
				for d := range q.D {
					var o float64
					for j := range logits {
						o += logits[j] / z * float64(vh[j*q.D+d])
					}
					out[base+i*q.D+d] = o
				}
			}
		}
	}
	return out
}

func TestRunMatchesFloat64(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := []struct {
		dims    []int // the .npy shape of Q; K and V take m for the length
		n, m, d int
		kvHeads int // 0: as Q
	}{
		{[]int{1, 7}, 1, 1, 7, 0},
		{[]int{33, 7}, 33, 50, 7, 0},
		{[]int{2, 65, 80}, 65, 65, 80, 0},
		{[]int{2, 3, 100, 16}, 100, 100, 16, 0},
		{[]int{1, 4, 1, 16}, 1, 90, 16, 2},
		{[]int{2, 6, 20, 8}, 20, 45, 8, 1},
		{[]int{4, 40, 8}, 40, 30, 8, 2},
	}
	for _, sh := range shapes {
		b, h := 1, 1
		if len(sh.dims) >= 3 {
			h = sh.dims[len(sh.dims)-3]
		}
		if len(sh.dims) == 4 {
			b = sh.dims[0]
		}
		hkv := h
		if sh.kvHeads > 0 {
			hkv = sh.kvHeads
		}
		kDims := append(append([]int(nil), sh.dims[:len(sh.dims)-2]...), sh.m, sh.d)
		if len(kDims) >= 3 {
			kDims[len(kDims)-3] = hkv
		}
		for _, sd := range []float64{1, 20} { // 20: logits in the hundreds
			q := randomTensor(rng, b, h, sh.n, sh.d, sd)
			k := randomTensor(rng, b, hkv, sh.m, sh.d, sd)
			v := randomTensor(rng, b, hkv, sh.m, sh.d, 1)
			qp, kp, vp := filepath.Join(dir, "q.npy"), filepath.Join(dir, "k.npy"), filepath.Join(dir, "v.npy")
			for _, f := range []struct {
				p    string
				t    variants.Tensor
				dims []int
			}{{qp, q, sh.dims}, {kp, k, kDims}, {vp, v, kDims}} {
				if err := npy.Save(f.p, f.t, f.dims); err != nil {
					t.Fatal(err)
				}
			}
			for _, variant := range []string{"full", "flash"} {
				for _, causal := range []bool{false, true} {
					op := filepath.Join(dir, "o.npy")
					args := []string{"run", "-variant", variant, "-q", qp, "-k", kp, "-v", vp, "-o", op}
					if causal {
						args = append(args, "-causal")
					}
					if code, _, errOut := runCLI(args...); code != 0 {
						t.Fatalf("%v: exit %d: %s", args, code, errOut)
					}
					got, gotShape, err := npy.LoadShape(op)
					if err != nil {
						t.Fatal(err)
					}
					if len(gotShape) != len(sh.dims) {
						t.Errorf("output shape %v, want rank of %v", gotShape, sh.dims)
					}
					want := softmaxAttention(q, k, v, causal)
					var maxErr float64
					for i := range want {
						maxErr = math.Max(maxErr, math.Abs(float64(got.Data[i])-want[i]))
					}
					// float32 precision: relative 1e-6 of |V| ~ a few units,
					// widened by the logit rounding error at sd=20 (|logit|
					// ~ 400·ε32 ≈ 5e-5).
					tol := 2e-6
					if sd > 1 {
						tol = 2e-4
					}
					if maxErr > tol {
						t.Errorf("%s causal=%v %v sd=%v: max error %.3g > %.3g", variant, causal, sh.dims, sd, maxErr, tol)
					}
				}
			}
		}
	}
}

func TestBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	write := func(name string, dims []int) string {
		n := 1
		for _, d := range dims {
			n *= d
		}
		p := filepath.Join(dir, name)
		if err := npy.Save(p, randomTensor(rng, 1, 1, 1, n, 1), dims); err != nil {
			t.Fatal(err)
		}
		return p
	}
	q := write("q.npy", []int{8, 4})
	k := write("k.npy", []int{8, 4})
	k5 := write("k5.npy", []int{8, 5})
	v9 := write("v9.npy", []int{9, 4})
	five := write("five.npy", []int{1, 1, 1, 8, 4})
	q3 := write("q3.npy", []int{3, 8, 4})
	k2 := write("k2.npy", []int{2, 8, 4})
	notNpy := filepath.Join(dir, "text.npy")
	os.WriteFile(notNpy, []byte("not an array"), 0o644)
	o := filepath.Join(dir, "o.npy")
	cases := map[string][]string{
		"no command":           {},
		"unknown command":      {"frobnicate"},
		"unknown variant":      {"run", "-variant", "nope", "-q", q, "-k", k, "-v", k, "-o", o},
		"missing -q":           {"run", "-variant", "full", "-k", k, "-v", k, "-o", o},
		"D differs":            {"run", "-variant", "full", "-q", q, "-k", k5, "-v", k5, "-o", o},
		"K/V lengths":          {"run", "-variant", "full", "-q", q, "-k", k, "-v", v9, "-o", o},
		"5-D":                  {"run", "-variant", "full", "-q", five, "-k", k, "-v", k, "-o", o},
		"heads not a multiple": {"run", "-variant", "flash", "-q", q3, "-k", k2, "-v", k2, "-o", o},
		"not npy":              {"run", "-variant", "full", "-q", notNpy, "-k", k, "-v", k, "-o", o},
		"missing file":         {"run", "-variant", "full", "-q", filepath.Join(dir, "none.npy"), "-k", k, "-v", k, "-o", o},
		"bad knob value":       {"run", "-variant", "flash", "-block-q", "-1", "-q", q, "-k", k, "-v", k, "-o", o},
		"knob not applied":     {"run", "-variant", "full", "-block-q", "16", "-q", q, "-k", k, "-v", k, "-o", o},
		"unknown flag":         {"run", "-variant", "full", "-frob", "-q", q, "-k", k, "-v", k, "-o", o},
		"unwritable out":       {"run", "-variant", "full", "-q", q, "-k", k, "-v", k, "-o", filepath.Join(dir, "no", "dir", "o.npy")},
		"parity n=0":           {"parity", "-n", "0"},
		"parity n=-5":          {"parity", "-n", "-5"},
		"parity variant":       {"parity", "-variants", "flash,nope"},
	}
	for what, args := range cases {
		code, _, errOut := runCLI(args...)
		if code != 2 {
			t.Errorf("%s: exit %d, want 2 (stderr %q)", what, code, errOut)
		}
		if strings.Contains(errOut, "goroutine") || strings.TrimSpace(errOut) == "" {
			t.Errorf("%s: stderr %q is not one clear line", what, errOut)
		}
	}
}

// TestBoolFlagWithSpace: "-shared-qk false" is a true/false flag given
// its value after a space; the error says to write -shared-qk=false.
func TestBoolFlagWithSpace(t *testing.T) {
	for _, args := range [][]string{
		{"sweep", "-variants", "lsh", "-shared-qk", "false", "-n", "64"},
		{"parity", "-variants", "lsh", "-shared-qk", "false,true"},
		{"run", "-variant", "full", "-causal", "true", "-q", "x.npy"},
	} {
		code, _, errOut := runCLI(args...)
		flagName := args[3]
		want := flagName + "=" + args[4]
		if code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 suggesting %s", args, code, errOut, want)
		}
	}
}

func TestParityCommandPasses(t *testing.T) {
	code, out, errOut := runCLI("parity", "-n", "1,40", "-d", "7", "-inputs", "gaussian,peaked")
	if code != 0 {
		t.Fatalf("parity exit %d: %s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "0 failed") {
		t.Errorf("parity output lacks the summary line:\n%s", out)
	}
}

// TestRunPlumbsVariantFlags: `run` with a variant's flags gives exactly the
// output of an in-process Forward with those options set by name.
func TestRunPlumbsVariantFlags(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 8))
	q, k, v := randomTensor(rng, 1, 2, 40, 8, 1), randomTensor(rng, 1, 2, 40, 8, 1), randomTensor(rng, 1, 2, 40, 8, 1)
	qp, kp, vp, op := filepath.Join(dir, "q.npy"), filepath.Join(dir, "k.npy"), filepath.Join(dir, "v.npy"), filepath.Join(dir, "o.npy")
	for p, x := range map[string]variants.Tensor{qp: q, kp: k, vp: v} {
		if err := npy.Save(p, x, []int{2, 40, 8}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		variant string
		flags   []string
	}{
		{"flash", []string{"-block-q", "7", "-block-k", "9", "-scale", "0.3"}},
		{"window", []string{"-window", "3", "-dilation", "2", "-global", "1"}},
		{"sparse", []string{"-pattern", "fixed", "-stride", "8", "-summary", "2"}},
		{"sparse", []string{"-pattern", "bigbird", "-block", "8", "-random", "1", "-seed", "5"}},
		{"lsh", []string{"-buckets", "4", "-rounds", "3", "-chunk", "8", "-seed", "2"}},
		{"lsh", []string{"-shared-qk=false", "-buckets", "6", "-rounds", "2"}},
		{"linear", []string{"-kernel", "favor", "-features", "16", "-seed", "3", "-eps", "0.01"}},
	}
	for _, c := range cases {
		for _, causal := range []bool{false, true} {
			args := append([]string{"run", "-variant", c.variant, "-q", qp, "-k", kp, "-v", vp, "-o", op, "-threads", "1"}, c.flags...)
			opt := variants.DefaultOptions()
			for i := 0; i < len(c.flags); i++ {
				name, val := strings.TrimPrefix(c.flags[i], "-"), "true"
				if n, v, ok := strings.Cut(name, "="); ok {
					name, val = n, v
				} else {
					i++
					val = c.flags[i]
				}
				if err := opt.Set(name, val); err != nil {
					t.Fatal(err)
				}
			}
			if causal {
				args = append(args, "-causal")
				opt.Causal = true
			}
			if code, _, errOut := runCLI(args...); code != 0 {
				t.Fatalf("%v: exit %d: %s", args, code, errOut)
			}
			got, err := npy.Load(op)
			if err != nil {
				t.Fatal(err)
			}
			vr, _ := variants.Lookup(c.variant)
			want := variants.NewTensor(1, 2, 40, 8)
			opt.Threads = 1
			if err := vr.Forward(q, k, v, want, opt, variants.NewWorkspace()); err != nil {
				t.Fatal(err)
			}
			for i := range want.Data {
				if got.Data[i] != want.Data[i] {
					t.Errorf("%v: output differs from Forward with the same options at %d", args, i)
					break
				}
			}
		}
	}
}
