package main

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/harness/machine"
)

var update = flag.Bool("update", false, "rewrite testdata/vocabulary.golden from the current code")

// goldenPath holds what a results file of attnbench calls things: the
// benchmark names of the default sweep, the Unit lines, the units of each
// result line, the configuration keys and the CSV columns. Refactors of the
// shared vocabulary must leave it unchanged; run the test with -update only
// when a change of names is meant.
const goldenPath = "testdata/vocabulary.golden"

// TestVocabularyGolden writes the vocabulary of the results files the
// CLI writes now and compares it with the committed golden file.
func TestVocabularyGolden(t *testing.T) {
	isolatePeakCache(t)
	// Names end in -GOMAXPROCS (as go test writes them): fix it, so the
	// file is the same on every machine.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	// A cached peak with a bandwidth, so result lines carry %peak and the
	// file every peak configuration line.
	k := asm.Active()
	if _, err := machine.SavePeak(machine.Peak{CPU: machine.CPUModel(), Kernels: k.Name, Method: machine.Method(k.Name),
		Cores: machine.Cores(), GFLOPS1: 10, GFLOPSAll: 20, Bandwidth: 30}); err != nil {
		t.Fatal(err)
	}

	var got strings.Builder
	section := func(title string, lines []string) {
		got.WriteString("## " + title + "\n")
		for _, l := range lines {
			// The example of docs/variants.md is registered by another
			// test of this package, or not: the real registry is what
			// counts.
			if strings.Contains(l, "variant="+exampleName+"/") {
				continue
			}
			got.WriteString(l + "\n")
		}
		got.WriteString("\n")
	}
	section("benchmark names of `attnbench sweep` with no flags, in case order (GOMAXPROCS 2)", sweepNames(t))
	// Every name key, each knob away from its default: the order of the
	// keys in a name.
	every := []string{"-n", "256", "-m", "512", "-heads", "4", "-kv-heads", "2", "-threads", "1", "-inputs", "local", "-causal", "true",
		"-variants", "full,flash,window,sparse,lsh", "-block-q", "32", "-block-k", "16", "-window", "8", "-dilation", "2", "-global", "1",
		"-pattern", "strided,fixed,bigbird", "-stride", "16", "-summary", "4", "-block", "8", "-random", "1",
		"-buckets", "4", "-rounds", "1", "-chunk", "32", "-shared-qk=false", "-scale", "0.5", "-seed", "3"}
	section("benchmark names of `attnbench sweep "+strings.Join(every, " ")+"`", sweepNames(t, every...))
	// Linear attention takes no scale; its error inputs differ from its
	// timing inputs.
	linear := []string{"-variants", "linear", "-n", "256", "-m", "512", "-heads", "4", "-kv-heads", "2", "-kernel", "favor", "-features", "16", "-eps", "1e-5", "-seed", "3"}
	section("benchmark names of `attnbench sweep "+strings.Join(linear, " ")+"`", sweepNames(t, linear...))

	dir := t.TempDir()
	txt := filepath.Join(dir, "r.txt")
	small := []string{"sweep", "-n", "16,32", "-d", "8", "-heads", "2", "-count", "1", "-benchtime", "1x"}
	if code, _, errOut := runCLI(append(small, "-o", txt)...); code != 0 {
		t.Fatalf("small sweep: exit %d: %s", code, errOut)
	}
	cfg, units, lines := readTextVocabulary(t, txt)
	section("configuration keys of a results file (cached peak with bandwidth, attention maps)", cfg)
	section("Unit lines", units)
	section("units of each result line of `attnbench "+strings.Join(small, " ")+"`", lines)

	csvPath := filepath.Join(dir, "r.csv")
	if code, _, errOut := runCLI("sweep", "-variants", "full", "-n", "16", "-d", "8", "-heads", "1", "-count", "1", "-benchtime", "1x", "-o", csvPath); code != 0 {
		t.Fatalf("csv sweep: exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(string(b), "\n")
	section("CSV columns", strings.Split(header, ","))

	if *update {
		if err := os.WriteFile(goldenPath, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (go test -run TestVocabularyGolden -update writes it)", err)
	}
	if got.String() != string(want) {
		gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("the vocabulary of the results files changed (-update rewrites %s if that is meant); first difference, line %d:\n got  %q\n want %q", goldenPath, i+1, g, w)
			}
		}
	}
}

// benchName finds a benchmark name in a message line.
var benchName = regexp.MustCompile(`Attention/[^\s]*[^\s:]`)

// sweepNames returns the names of the cases of `attnbench sweep args`,
// without running them: a memory limit below every case skips each one,
// and the sweep names each case it skips or its variant does not support.
func sweepNames(t *testing.T, args ...string) []string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "none.txt")
	code, _, errOut := runCLI(append([]string{"sweep", "-max-mem", "4096B", "-pattern-n", "0", "-o", out}, args...)...)
	if code != 0 {
		t.Fatalf("sweep %v: exit %d: %s", args, code, errOut)
	}
	var names []string
	for _, l := range strings.Split(errOut, "\n") {
		if n := benchName.FindString(l); n != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		t.Fatalf("no skipped case named in %q", errOut)
	}
	return names
}

// readTextVocabulary reads a Go benchmark format file as text: its
// configuration keys, its Unit lines, and for each result line its name
// and units.
func readTextVocabulary(t *testing.T, path string) (config, units, results []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "Unit "):
			units = append(units, l)
		case strings.HasPrefix(l, "Benchmark"):
			fields := strings.Fields(l)
			line := fields[0]
			for i := 3; i < len(fields); i += 2 {
				line += " " + fields[i]
			}
			results = append(results, line)
		case strings.Contains(l, ":") && !strings.HasPrefix(l, "#"):
			key, _, _ := strings.Cut(l, ":")
			config = append(config, key)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return config, units, results
}
