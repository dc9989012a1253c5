package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/attnbench/attnbench/variants"
)

// sinksExample is the worked example of adding a variant (docs/variants.md,
// "Adding a variant"): one type implementing variants.Variant and one
// Register call. It is StreamingLLM's pattern, exact softmax over the first
// sinkKeys keys and the keys within recent positions of the query (behind
// it only, when causal); it has no knobs, so it needs no parameter entries.
// It lives in a test so that the real registry stays the six variants; the
// test below runs it through sweep, parity and report like any other.
type sinksExample struct{}

const (
	sinkKeys     = 4
	sinkRecent   = 16
	exampleName  = "sinks-example"
	sinkMaxCands = sinkKeys + 2*sinkRecent + 1
)

var registerExample sync.Once

func (sinksExample) Name() string     { return exampleName }
func (sinksExample) Exact() bool      { return false }
func (sinksExample) Params() []string { return nil }

func (sinksExample) Validate(s variants.Shape, opt variants.Options) error { return s.Check() }

// candidates appends C(i) for query i of n queries over m keys, in
// increasing order: query i sits at position p = i + m − n.
func (sinksExample) candidates(i, n, m int, causal bool, buf []int) []int {
	p := i + m - n
	hi := p + sinkRecent
	if causal {
		hi = p
	}
	for j := range m {
		if (j < sinkKeys || j >= p-sinkRecent) && j <= hi && (!causal || j <= p) {
			buf = append(buf, j)
		}
	}
	return buf
}

// attend evaluates exact softmax over the candidate sets in T, the way a
// reader of the definition would write it.
func attendSinks[T float32 | float64](q, k, v variants.Tensor, opt variants.Options, out []T, logits []T, set []int) {
	scale := T(opt.ScaleFor(q.D))
	for b := range q.B {
		for h := range q.H {
			qh, kh, vh := q.Head(b, h), k.Head(b, h*k.H/q.H), v.Head(b, h*v.H/q.H)
			oh := out[(b*q.H+h)*q.S*q.D:]
			for i := range q.S {
				set = sinksExample{}.candidates(i, q.S, k.S, opt.Causal, set[:0])
				oi := oh[i*q.D : (i+1)*q.D]
				clear(oi)
				if len(set) == 0 {
					continue
				}
				mx := T(math.Inf(-1))
				for t, j := range set {
					var dot T
					for d := range q.D {
						dot += T(qh[i*q.D+d]) * T(kh[j*q.D+d])
					}
					logits[t] = scale * dot
					mx = max(mx, logits[t])
				}
				var sum T
				for t := range set {
					logits[t] = T(math.Exp(float64(logits[t] - mx)))
					sum += logits[t]
				}
				for t, j := range set {
					p := logits[t] / sum
					for d := range q.D {
						oi[d] += p * T(vh[j*q.D+d])
					}
				}
			}
		}
	}
}

func (e sinksExample) Forward(q, k, v, out variants.Tensor, opt variants.Options, ws *variants.Workspace) error {
	if _, err := variants.ShapeOf(q, k, v); err != nil {
		return err
	}
	logits := ws.Float32s(sinkMaxCands)
	defer ws.PutFloat32s(logits)
	var set [sinkMaxCands]int
	attendSinks(q, k, v, opt, out.Data, logits, set[:0])
	return nil
}

func (sinksExample) Reference(q, k, v variants.Tensor, opt variants.Options) ([]float64, error) {
	out := make([]float64, q.Len())
	attendSinks(q, k, v, opt, out, make([]float64, sinkMaxCands), nil)
	return out, nil
}

func (sinksExample) Naive(q, k, v variants.Tensor, opt variants.Options) ([]float32, error) {
	out := make([]float32, q.Len())
	attendSinks(q, k, v, opt, out, make([]float32, sinkMaxCands), nil)
	return out, nil
}

func (e sinksExample) Flops(s variants.Shape, opt variants.Options) float64 {
	var pairs int
	var buf []int
	for i := range s.N {
		pairs += len(e.candidates(i, s.N, s.M, opt.Causal, buf[:0]))
	}
	return 4 * float64(s.B) * float64(s.H) * float64(pairs) * float64(s.D)
}

func (sinksExample) WorkspaceBytes(s variants.Shape, opt variants.Options) int64 {
	return 4 * sinkMaxCands
}

// TestExampleVariantEndToEnd registers the example variant and runs it
// through the three commands a new variant must work with: sweep (a
// benchstat file with its rows), parity (its fast path against its float64
// definition, and its error against exact attention) and report (its
// series in the summary).
func TestExampleVariantEndToEnd(t *testing.T) {
	registerExample.Do(func() { variants.Register(exampleName, func() variants.Variant { return sinksExample{} }) })
	isolatePeakCache(t)
	dir := t.TempDir()
	res := filepath.Join(dir, "example.txt")
	code, out, errOut := runCLI("sweep", "-variants", "flash,"+exampleName, "-n", "32,96", "-d", "8", "-heads", "2",
		"-count", "2", "-benchtime", "2x", "-o", res)
	if code != 0 {
		t.Fatalf("sweep exit %d: %s\n%s", code, out, errOut)
	}
	rows, _ := readResults(t, res)
	names := countNames(rows)
	for _, n := range []string{"32", "96"} {
		name := "Attention/variant=" + exampleName + "/causal=false/batch=1/heads=2/n=" + n + "/d=8"
		found := false
		for got := range names {
			if strings.HasPrefix(got, name) {
				found = true
			}
		}
		if !found {
			t.Errorf("sweep wrote no row named %s...; names: %v", name, names)
		}
	}
	code, out, errOut = runCLI("parity", "-variants", exampleName, "-n", "1,40,70", "-d", "7", "-causal", "false,true")
	if code != 0 || !strings.Contains(out, exampleName) || !strings.Contains(out, " 0 failed") {
		t.Fatalf("parity exit %d:\n%s\n%s", code, out, errOut)
	}
	rep := filepath.Join(dir, "report")
	code, out, errOut = runCLI("report", "-o", rep, res)
	if code != 0 {
		t.Fatalf("report exit %d: %s\n%s", code, out, errOut)
	}
	summary, err := os.ReadFile(filepath.Join(rep, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(summary), exampleName) {
		t.Errorf("summary.md does not mention %s:\n%s", exampleName, summary)
	}
}
