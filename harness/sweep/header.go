package sweep

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/harness/machine"
	"github.com/attnbench/attnbench/harness/results"
	"github.com/attnbench/attnbench/variants"
)

// Schema returns what a sweep's results file carries besides its rows
// (DESIGN §5): the configuration lines goos, goarch, cpu, kernels, tuning
// (the cached tile choices in effect, or none: a tuned and an untuned run
// must not merge in benchstat), go, attnbench, peak-gflops and
// peak-gflops-all (with peak-method, when a peak is known) and command; and
// the CSV/JSON columns.
func Schema(peak *machine.Peak, command string) results.Schema {
	cfg := []results.KV{
		{Key: "goos", Value: runtime.GOOS},
		{Key: "goarch", Value: runtime.GOARCH},
		{Key: "cpu", Value: machine.CPUModel()},
		{Key: "kernels", Value: asm.Active().Name},
		{Key: "tuning", Value: variants.TuningName()},
		{Key: "go", Value: runtime.Version()},
		{Key: "attnbench", Value: machine.Version()},
	}
	if peak != nil {
		cfg = append(cfg,
			results.KV{Key: "peak-gflops", Value: fmt.Sprintf("%.4g", peak.GFLOPS1)},
			results.KV{Key: "peak-gflops-all", Value: fmt.Sprintf("%.4g", peak.GFLOPSAll)},
			results.KV{Key: "peak-method", Value: peak.Method},
		)
	}
	cfg = append(cfg, results.KV{Key: "command", Value: command})
	return results.Schema{
		Config:        cfg,
		KeyColumns:    KeyColumns(),
		ConfigColumns: []string{"goos", "goarch", "cpu", "kernels", "tuning", "go", "attnbench", "peak-gflops", "peak-gflops-all"},
	}
}

// ParseMaxMem parses a memory limit: bytes with an optional unit (k, M, G,
// T, decimal; Ki, Mi, Gi, Ti, binary; a trailing B is allowed), or a
// percentage of memory.
func ParseMaxMem(s string, memory int64) (int64, error) {
	bad := fmt.Errorf("-max-mem %s: want a size such as 8GiB, 512MB, 2e9, or a share of memory such as 50%%", s)
	t := strings.TrimSpace(s)
	if pct, ok := strings.CutSuffix(t, "%"); ok {
		p, err := strconv.ParseFloat(pct, 64)
		if err != nil || !(p > 0 && p <= 100) {
			return 0, bad
		}
		return int64(p / 100 * float64(memory)), nil
	}
	t = strings.TrimSuffix(t, "B")
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{
		{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
		{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
	} {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = num, u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || !(v > 0) || math.IsInf(v*mult, 0) || v*mult > math.MaxInt64/2 {
		return 0, bad
	}
	return int64(v * mult), nil
}
