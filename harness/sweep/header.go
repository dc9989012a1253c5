package sweep

import (
	"fmt"
	"runtime"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/harness/guard"
	"github.com/attnbench/attnbench/harness/machine"
	"github.com/attnbench/attnbench/harness/results"
	"github.com/attnbench/attnbench/variants"
)

// Schema returns what a sweep's results file carries besides its rows
// (docs/design.md §5): the configuration lines goos, goarch, cpu, kernels, tuning
// (the cached tile choices in effect, or none: a tuned and an untuned run
// must not merge in benchstat), go, attnbench, peak-gflops and
// peak-gflops-all (with peak-method and peak-bandwidth, when a peak is
// known) and command; and the CSV/JSON columns.
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
		if peak.Bandwidth > 0 {
			cfg = append(cfg, results.KV{Key: "peak-bandwidth", Value: fmt.Sprintf("%.4g", peak.Bandwidth)})
		}
	}
	cfg = append(cfg, results.KV{Key: "command", Value: command})
	return results.Schema{
		Config:        cfg,
		KeyColumns:    KeyColumns(),
		ConfigColumns: []string{"goos", "goarch", "cpu", "kernels", "tuning", "go", "attnbench", "peak-gflops", "peak-gflops-all"},
	}
}

// ParseMaxMem parses a -max-mem value against memory bytes
// (guard.ParseMaxMem, shared by every command).
func ParseMaxMem(s string, memory int64) (int64, error) { return guard.ParseMaxMem(s, memory) }
