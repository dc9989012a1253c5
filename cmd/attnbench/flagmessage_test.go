package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attnbench/attnbench/internal/setting"
	"github.com/attnbench/attnbench/variants"
)

// TestKnobSetErrorsAreOneFlagLine: every value Options.Set refuses, for
// every parameter, comes out of the commands that take it as the one line
// "attnbench CMD: -name value: reason", the library's *setting.Error
// spelled as the flag, and exit 2.
func TestKnobSetErrorsAreOneFlagLine(t *testing.T) {
	isolatePeakCache(t)
	out := filepath.Join(t.TempDir(), "r.txt")
	refused := 0
	for _, p := range variants.Params() {
		for _, value := range []string{"x", "-1", "3", "1.5", "maybe"} {
			var o variants.Options
			err := o.Set(p.Name, value)
			if err == nil {
				continue
			}
			var bad *setting.Error
			if !errors.As(err, &bad) || bad.Name != p.Name || bad.Value != value {
				t.Errorf("Set(%s, %s): %v (%T), want a *setting.Error naming %s and %s", p.Name, value, err, err, p.Name, value)
				continue
			}
			refused++
			flag := []string{"-" + p.Name, value}
			if p.Bool {
				flag = []string{"-" + p.Name + "=" + value}
			}
			for _, cmd := range [][]string{
				append([]string{"sweep", "-o", out}, flag...),
				append([]string{"parity"}, flag...),
				append([]string{"run"}, flag...),
			} {
				code, stdout, stderr := runCLI(cmd...)
				want := "attnbench " + cmd[0] + ": -" + err.Error() + "\n"
				if code != exitBadInput || stderr != want || stdout != "" {
					t.Errorf("%q: exit %d, stderr %q, stdout %q; want exit 2 and %q", cmd, code, stderr, stdout, want)
				}
			}
		}
	}
	if refused < len(variants.Params()) {
		t.Errorf("only %d refused values for %d parameters: every parameter should refuse one", refused, len(variants.Params()))
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused flag wrote the results file")
	}
}

// TestValidateErrorsAreFlagLines: a parameter Validate refuses on the
// shape the command line asked for reads, in the one line the command
// prints, as the library's error spelled as the flag: "-scale 2: …".
func TestValidateErrorsAreFlagLines(t *testing.T) {
	isolatePeakCache(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "r.txt")
	validate := func(name string, s variants.Shape, knobs ...string) string {
		t.Helper()
		opt := variants.DefaultOptions()
		for i := 0; i < len(knobs); i += 2 {
			if err := opt.Set(knobs[i], knobs[i+1]); err != nil {
				t.Fatal(err)
			}
		}
		v, err := variants.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		err = v.Validate(s, opt)
		var bad *setting.Error
		if !errors.As(err, &bad) {
			t.Fatalf("%s %v %v: Validate gave %v, want a *setting.Error", name, s, knobs, err)
		}
		return "-" + err.Error()
	}
	sq := variants.Shape{B: 1, H: 4, N: 16, M: 16, D: 8}
	cross := variants.Shape{B: 1, H: 4, N: 16, M: 32, D: 8}
	grouped := variants.Shape{B: 1, H: 4, Hkv: 2, N: 16, M: 16, D: 8}
	shape := []string{"-n", "16", "-d", "8", "-heads", "4"}
	for _, c := range []struct {
		args   []string
		want   string // the flag's part of the line
		suffix string // what follows it on the line
	}{
		{[]string{"-variants", "linear", "-scale", "2"}, validate("linear", sq, "scale", "2"), ""},
		{[]string{"-variants", "sparse", "-pattern", "bigbird"}, validate("sparse", sq, "pattern", "bigbird"), ")"},
		{[]string{"-variants", "sparse", "-pattern", "bigbird", "-block", "8", "-m", "32"}, validate("sparse", cross, "pattern", "bigbird", "block", "8"), ")"},
		{[]string{"-variants", "lsh", "-m", "32"}, validate("lsh", cross), ")"},
		{[]string{"-variants", "lsh", "-kv-heads", "2"}, validate("lsh", grouped), ")"},
	} {
		for _, cmd := range []string{"sweep", "parity"} {
			args := append(append([]string{cmd}, shape...), c.args...)
			if cmd == "sweep" {
				args = append(args, "-o", out)
			} else {
				if strings.Contains(strings.Join(c.args, " "), "kv-heads") {
					continue // parity checks grouped heads itself, with its own -heads
				}
				args = append(args, "-inputs", "gaussian", "-llm-shapes=false")
			}
			code, _, stderr := runCLI(args...)
			if code != exitBadInput || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "attnbench "+cmd+": ") ||
				!strings.HasSuffix(stderr, c.want+c.suffix+"\n") {
				t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line ending %q", args, code, stderr, c.want+c.suffix)
			}
		}
	}

	// run names the variant, then the flag.
	_, q, k, v := runFiles(t)
	code, _, stderr := runCLI("run", "-variant", "linear", "-q", q, "-k", k, "-v", v, "-o", filepath.Join(dir, "o.npy"), "-scale", "2")
	if want := "attnbench run: linear: " + validate("linear", variants.Shape{B: 1, H: 1, N: 8, M: 8, D: 4}, "scale", "2") + "\n"; code != exitBadInput || stderr != want {
		t.Errorf("run -scale 2: exit %d, stderr %q; want %q", code, stderr, want)
	}

	// A case left out as unsupported is reported, on stderr and in the
	// results file, with the flag's spelling too.
	code, _, stderr = runCLI(append(append([]string{"sweep", "-o", out, "-benchtime", "1x", "-count", "1", "-pattern-n", "0"}, shape...),
		"-variants", "sparse", "-pattern", "bigbird,strided")...)
	want := validate("sparse", sq, "pattern", "bigbird")
	if code != exitOK || !strings.Contains(stderr, "unsupported, not run: ") || !strings.Contains(stderr, ": "+want+"\n") {
		t.Errorf("sweep with an unsupported case: exit %d, stderr %q; want a line ending %q", code, stderr, want)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "# unsupported: ") || !strings.Contains(string(b), ": "+want+"\n") {
		t.Errorf("results file: %v, want a comment ending %q:\n%s", err, want, b)
	}
}

// TestFlagMessageOfEveryValidateError: every parameter Validate refuses,
// reachable from the command line or not, is a *setting.Error that
// flagMessage words as one line "-name …", wherever it is wrapped.
func TestFlagMessageOfEveryValidateError(t *testing.T) {
	s := variants.Shape{B: 1, H: 2, N: 100, M: 100, D: 16}
	cross := variants.Shape{B: 1, H: 2, N: 100, M: 80, D: 16}
	grouped := variants.Shape{B: 1, H: 2, Hkv: 1, N: 100, M: 100, D: 16}
	for _, c := range []struct {
		variant, name string
		shape         variants.Shape
		set           func(o *variants.Options)
	}{
		{"flash", "block-q", s, func(o *variants.Options) { o.BlockQ = -1 }},
		{"flash", "block-k", s, func(o *variants.Options) { o.BlockK = -1 }},
		{"window", "window", s, func(o *variants.Options) { o.Window = -1 }},
		{"window", "dilation", s, func(o *variants.Options) { o.Dilation = 0 }},
		{"window", "global", s, func(o *variants.Options) { o.Global = -1 }},
		{"sparse", "stride", s, func(o *variants.Options) { o.Stride = 0 }},
		{"sparse", "summary", s, func(o *variants.Options) { o.Pattern, o.Summary = "fixed", 0 }},
		{"sparse", "block", s, func(o *variants.Options) { o.Pattern, o.Block = "bigbird", 0 }},
		{"sparse", "random", s, func(o *variants.Options) { o.Pattern, o.Random = "bigbird", -1 }},
		{"sparse", "pattern", cross, func(o *variants.Options) { o.Pattern = "bigbird" }},
		{"sparse", "block", s, func(o *variants.Options) { o.Pattern, o.Block = "bigbird", 128 }},
		{"sparse", "pattern", s, func(o *variants.Options) { o.Pattern = "" }},
		{"lsh", "buckets", s, func(o *variants.Options) { o.Buckets = 1 }},
		{"lsh", "buckets", s, func(o *variants.Options) { o.Buckets = 5 }},
		{"lsh", "rounds", s, func(o *variants.Options) { o.Rounds = 0 }},
		{"lsh", "chunk", s, func(o *variants.Options) { o.Chunk = 0 }},
		{"lsh", "shared-qk", cross, func(o *variants.Options) {}},
		{"lsh", "shared-qk", grouped, func(o *variants.Options) {}},
		{"linear", "kernel", s, func(o *variants.Options) { o.Kernel = "relu" }},
		{"linear", "features", s, func(o *variants.Options) { o.Kernel, o.Features = "favor", 0 }},
		{"linear", "eps", s, func(o *variants.Options) { o.Eps = math.Inf(1) }},
		{"linear", "scale", s, func(o *variants.Options) { o.Scale = 0.5 }},
	} {
		v, err := variants.Lookup(c.variant)
		if err != nil {
			t.Fatal(err)
		}
		opt := variants.DefaultOptions()
		c.set(&opt)
		err = v.Validate(c.shape, opt)
		var bad *setting.Error
		if !errors.As(err, &bad) || bad.Name != c.name {
			t.Errorf("%s %s: Validate gave %v (%T), want a *setting.Error naming %s", c.variant, c.name, err, err, c.name)
			continue
		}
		line := flagMessage(err)
		if !strings.HasPrefix(line, "-"+c.name+" ") && !strings.HasPrefix(line, "-"+c.name+":") || strings.Contains(line, "\n") {
			t.Errorf("%s %s: %q, want one line starting -%s", c.variant, c.name, line, c.name)
		}
		for _, wrap := range []string{"Attention/variant=%s: %%w", "no case to run (%s: %%w)", "%s on [1 2 100 16]: %%w; refused"} {
			wrapped := fmt.Errorf(fmt.Sprintf(wrap, c.variant), err)
			want := strings.Replace(wrapped.Error(), err.Error(), line, 1)
			if got := flagMessage(wrapped); got != want {
				t.Errorf("%s %s wrapped: %q, want %q", c.variant, c.name, got, want)
			}
		}
	}
	// Text that is not a setting error is left as it is.
	if got := flagMessage(errors.New("window: not a setting")); got != "window: not a setting" {
		t.Errorf("flagMessage of a plain error: %q", got)
	}
}

// TestThresholdErrorIsOneFlagLine: a -threshold gate.ParseThreshold
// refuses reads as the flag, its value and the reason, once.
func TestThresholdErrorIsOneFlagLine(t *testing.T) {
	for value, reason := range map[string]string{
		"-1": "want a percentage such as 5% or a fraction such as 0.05",
		"5":  "a fraction above 1; write 5% for a percentage",
	} {
		code, _, stderr := runCLI("gate", "a.txt", "b.txt", "-threshold", value)
		if want := "attnbench gate: -threshold " + value + ": " + reason + "\n"; code != exitBadInput || stderr != want {
			t.Errorf("-threshold %s: exit %d, stderr %q; want %q", value, code, stderr, want)
		}
	}
}
