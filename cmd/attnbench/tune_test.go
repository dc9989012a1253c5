package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/harness/tune"
	"github.com/attnbench/attnbench/variants"
)

// TestTuneCommand runs a short tune of the kernel set in use and checks
// what it prints and caches, and that cpu then reports the cache.
func TestTuneCommand(t *testing.T) {
	isolatePeakCache(t)
	defer variants.SetTuning(nil)
	k := asm.Active().Name
	code, out, errOut := runCLI("tune", "-time", "2s", "-kernels", k, "-d", "16", "-n", "48")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	// One row per case measured (flash and full, causal and not, the
	// block engine, and the decode case where the kernels prefetch: 5 or
	// 6 when the budget held them all).
	cases := len(tune.Cases(tune.Config{Kernels: []string{k}, Ds: []int{16}}))
	want := 5
	if asm.Active().Prefetch {
		want = 6
	}
	if cases != want {
		t.Errorf("%d cases for %s, want %d", cases, k, want)
	}
	rows := strings.Count(out, k+"  ")
	if rows < 1 || rows > cases {
		t.Errorf("%d result rows, want 1 to %d:\n%s", rows, cases, out)
	}
	if !strings.Contains(out, "cached in") || !strings.Contains(errOut, fmt.Sprintf("tune: [1/%d] %s flash d=16 causal=false", cases, k)) {
		t.Errorf("no cache line on stdout or progress on stderr:\n%s\n%s", out, errOut)
	}
	c, _, note := tune.Load(k)
	if c == nil || note != "" || len(c.Choices) != rows || c.N != 48 {
		t.Fatalf("cache after tune: %+v, note %q; want %d choices", c, note, rows)
	}
	code, out, _ = runCLI("cpu")
	if code != 0 || !strings.Contains(out, "tuning:") || !strings.Contains(out, "measured") {
		t.Errorf("cpu does not report the cached tuning:\n%s", out)
	}
}

// TestTuningConfigLine: a sweep names the tuning in effect in its config
// lines, none without one, and a corrupt cache is passed over with a note.
func TestTuningConfigLine(t *testing.T) {
	isolatePeakCache(t)
	defer variants.SetTuning(nil)
	k := asm.Active().Name
	sweepTuning := func(what string) (tuning, stderr string) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "r.txt")
		code, _, errOut := runCLI(append(tinySweep, "-o", path)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", what, code, errOut)
		}
		res, _ := readResults(t, path)
		return res[0].GetConfig("tuning"), errOut
	}
	if got, _ := sweepTuning("no cache"); got != "none" {
		t.Errorf("without a cache: tuning: %q, want none", got)
	}

	def := variants.DefaultTiles(variants.EngineFlash, 8)
	cache := tune.NewCache(k, 32, []tune.Choice{{
		Case:    tune.Case{Kernels: k, Engine: variants.EngineFlash, D: 8},
		Default: def, Tiles: variants.Tiles{BQ: 16, BK: 8}, DefaultNs: 2, BestNs: 1,
	}})
	path, err := tune.Save(cache)
	if err != nil {
		t.Fatal(err)
	}
	want := cache.Tuning().Name
	if got, _ := sweepTuning("tuned"); got != want {
		t.Errorf("with a cache: tuning: %q, want %q", got, want)
	}
	if _, out, _ := runCLI("cpu"); !strings.Contains(out, want) {
		t.Errorf("cpu does not name tuning %s:\n%s", want, out)
	}

	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, errOut := sweepTuning("corrupt cache")
	if got != "none" || !strings.Contains(errOut, "ignored: corrupt") {
		t.Errorf("corrupt cache: tuning: %q, stderr %q; want none and a note", got, errOut)
	}
	// Bad usage still gets its one line, the note not added to it.
	if code, _, errOut := runCLI("sweep", "-n", "zero"); code != 2 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("bad -n with a corrupt cache: exit %d, stderr %q; want 2 and one line", code, errOut)
	}
	if code, out, _ := runCLI("cpu"); code != 0 || !strings.Contains(out, "tuning:    none: ") {
		t.Errorf("cpu with a corrupt cache: exit %d\n%s", code, out)
	}
}

// TestTuneBadFlags: each bad flag is one line on stderr and exit 2.
func TestTuneBadFlags(t *testing.T) {
	isolatePeakCache(t)
	for what, args := range map[string][]string{
		"zero time":     {"-time", "0s"},
		"bad time":      {"-time", "soon"},
		"kernel set":    {"-kernels", "avx9000"},
		"zero d":        {"-d", "0"},
		"huge d":        {"-d", "4096"},
		"short n":       {"-n", "4"},
		"one round":     {"-rounds", "1"},
		"gain":          {"-min-gain", "1.5"},
		"stray args":    {"now"},
		"unknown flag":  {"-fast"},
		"negative gain": {"-min-gain", "-0.1"},
	} {
		code, _, errOut := runCLI(append([]string{"tune"}, args...)...)
		if code != 2 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || errOut == "" {
			t.Errorf("%s: exit %d, stderr %q; want 2 and one line", what, code, errOut)
		}
	}
}
