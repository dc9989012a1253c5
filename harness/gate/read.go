package gate

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchunit"

	"github.com/attnbench/attnbench/internal/vocab"
)

// machineKeys are the config lines that must agree between BASE and NEW:
// timings from another CPU, architecture or kernel set measure a different
// machine, not a different version of the code.
var machineKeys = []string{"cpu", "goarch", "kernels"}

// resultSet is one side of a comparison: every sample of every benchmark in
// one results file.
type resultSet struct {
	path string
	// names lists benchmark full names in the order they first appear.
	names []string
	// samples maps a benchmark's full name to its samples per (tidied) unit.
	samples map[string]map[string][]float64
	// unitsSeen is every unit that appears on some benchmark line.
	unitsSeen map[string]bool
	// units is the file's `Unit X key=value` metadata.
	units benchfmt.UnitMetadataMap
	// invalid maps a benchmark's full name and unit to the first value
	// that cannot be a measurement of it (a timing of 0, a negative
	// count), as file:line and what is wrong.
	invalid map[[2]string]string
	// machine maps each of machineKeys to the distinct values it had on
	// this file's benchmark lines ("" when the line is absent), in order of
	// appearance. Config can change mid-file when files are concatenated.
	machine map[string][]string
}

// readFile reads a results file. Every failure is the input's fault and is
// reported as one line naming the file.
func readFile(path string) (*resultSet, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: %v", path, pe.Err)
		}
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, not a results file", path)
	}
	return readResults(f, path)
}

// readResults parses Go benchmark format from r. Unlike benchstat, which
// reports syntax errors and carries on, the gate stops at the first one: a
// gate that silently drops malformed samples could pass on what is left.
func readResults(r io.Reader, path string) (*resultSet, error) {
	set := &resultSet{
		path:      path,
		samples:   map[string]map[string][]float64{},
		unitsSeen: map[string]bool{},
		invalid:   map[[2]string]string{},
		machine:   map[string][]string{},
	}
	reader := benchfmt.NewReader(r, path)
	for reader.Scan() {
		switch rec := reader.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, rec
		case *benchfmt.Result:
			if err := set.add(rec); err != nil {
				return nil, err
			}
		}
	}
	if err := reader.Err(); err != nil {
		return nil, err
	}
	if len(set.names) == 0 {
		return nil, fmt.Errorf("%s: no benchmark results (expected lines like \"BenchmarkX-2  10  123 ns/op\")", path)
	}
	set.units = reader.Units()
	return set, nil
}

func (s *resultSet) add(res *benchfmt.Result) error {
	name := res.Name.String()
	byUnit, ok := s.samples[name]
	if !ok {
		byUnit = map[string][]float64{}
		s.samples[name] = byUnit
		s.names = append(s.names, name)
	}
	for _, v := range res.Values {
		if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
			file, line := res.Pos()
			return fmt.Errorf("%s:%d: %s: value %v %s is not a finite number", file, line, name, v.Value, v.Unit)
		}
		// benchfmt tidies ns/op into sec/op only when the value changes,
		// so "0 ns/op" keeps its unit: tidy the unit whatever the value.
		val, unit := v.Value, v.Unit
		if v.OrigUnit != "" {
			val, unit = v.OrigValue, v.OrigUnit
		}
		val, unit = benchunit.Tidy(val, unit)
		if why := invalidValue(unit, val); why != "" {
			key := [2]string{name, unit}
			if _, seen := s.invalid[key]; !seen {
				file, line := res.Pos()
				s.invalid[key] = fmt.Sprintf("%s:%d: %s: %v %s: %s", file, line, name, val, unit, why)
			}
		}
		byUnit[unit] = append(byUnit[unit], val)
		s.unitsSeen[unit] = true
	}
	for _, key := range machineKeys {
		val := res.GetConfig(key)
		if !slices.Contains(s.machine[key], val) {
			s.machine[key] = append(s.machine[key], val)
		}
	}
	return nil
}

// invalidValue says why val cannot be a measurement in unit ("" when it
// can), by the unit's range (knownUnits): a time or a rate must be
// positive; a count, an error or a share of attnbench or Go's testing
// package (B/op, allocs/op, peak-B/op, relerr, maxerr, coverage) must not
// be negative, though 0 is a fine count. Other units (and cosine, which
// may be negative) are taken as they are.
func invalidValue(unit string, val float64) string {
	u, ok := knownUnits[unit]
	switch {
	case ok && u.Range == vocab.Positive && val <= 0:
		return "a time or rate must be positive: the measurement is missing"
	case ok && u.Range == vocab.NonNegative && val < 0:
		return "a count or an error cannot be negative"
	}
	return ""
}
