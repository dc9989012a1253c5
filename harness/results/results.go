// Package results writes benchmark samples as they are measured, in the Go
// benchmark format (docs/design.md §5, read by benchstat), or as CSV or JSON lines
// for pandas, and reads back what a file already holds so an interrupted
// sweep can be resumed.
//
// A text file looks like this:
//
//	goos: linux
//	goarch: amd64
//	cpu: AMD EPYC
//	kernels: generic
//	go: go1.26.8
//	attnbench: v0.0.0-devel
//	peak-gflops: 12.8
//	peak-gflops-all: 27
//	peak-method: pure-Go estimate
//	command: attnbench sweep -variants full,flash -n 512,1024
//	Unit ns/op better=lower
//	Unit GFLOP/s better=higher
//	…
//	BenchmarkAttention/variant=flash/causal=false/batch=1/heads=4/n=512/d=64-2 40 6.1e+06 ns/op 7.0 GFLOP/s …
//
// Unit and result lines go through golang.org/x/perf/benchfmt's Writer.
// The configuration block is written here, before the Unit lines as the
// format's documentation shows them (benchfmt's Writer only writes
// configuration in front of a result); its keys and values are checked
// against the format's rules, and tests read every file back with benchfmt.
package results

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/attnbench/attnbench/internal/setting"
	"github.com/attnbench/attnbench/internal/vocab"
)

// Value is one metric of a row.
type Value struct {
	Unit  string
	Value float64
}

// KV is one configuration line or one column.
type KV struct {
	Key, Value string
}

// Row is one sample of one case.
type Row struct {
	// Name is the benchmark name without the "Benchmark" prefix, e.g.
	// "Attention/variant=flash/causal=false/batch=1/heads=4/n=512/d=64-2".
	Name  string
	Iters int
	// Values holds the metrics measured, in vocab.Units order; a metric not
	// measured (%peak without a known peak, relerr on large cases) is left
	// out.
	Values []Value
	// Keys holds the case's parameters as CSV and JSON columns: every name
	// key, with defaults filled in, so a table needs no name parsing.
	Keys map[string]string
}

// Get returns the row's value in unit; ok is false when the row has none.
func (r Row) Get(unit string) (v float64, ok bool) {
	for _, v := range r.Values {
		if v.Unit == unit {
			return v.Value, true
		}
	}
	return 0, false
}

// Format is the file format of an output.
type Format string

const (
	Text Format = "txt"  // Go benchmark format
	CSV  Format = "csv"  // one row per sample, a header line
	JSON Format = "json" // JSON lines: one object per sample
)

// FormatFor returns the format named by flag, or when flag is empty the one
// path's extension suggests (.csv, .json/.jsonl, anything else text).
func FormatFor(path, flag string) (Format, error) {
	switch flag {
	case "txt", "text":
		return Text, nil
	case "csv":
		return CSV, nil
	case "json", "jsonl":
		return JSON, nil
	case "":
	default:
		return "", &setting.Error{Name: "format", Value: flag, Reason: "want txt, csv or json"}
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return CSV, nil
	case ".json", ".jsonl":
		return JSON, nil
	}
	return Text, nil
}

// Schema fixes what a file holds beyond the metrics: the configuration
// lines of a text file and the columns of CSV and JSON.
type Schema struct {
	// Config is the configuration block of a text file, in order. A key
	// with an empty value is left out.
	Config []KV
	// KeyColumns are the CSV/JSON columns taken from Row.Keys, in order.
	KeyColumns []string
	// ConfigColumns are the configuration keys also written as CSV/JSON
	// columns (cpu, kernels, …), so rows from several machines stay
	// apart when files are merged.
	ConfigColumns []string
}

// columns returns the CSV header: name, iters, keys, metrics, config.
func (s Schema) columns() []string {
	cols := []string{"name", "iters"}
	cols = append(cols, s.KeyColumns...)
	for _, u := range vocab.Units() {
		cols = append(cols, u.Name)
	}
	return append(cols, s.ConfigColumns...)
}

func (s Schema) config(key string) string {
	for _, kv := range s.Config {
		if kv.Key == key {
			return kv.Value
		}
	}
	return ""
}

// checkConfig applies the benchmark format's rules to a configuration
// line: the key starts with a lower-case letter and holds no space or
// upper-case letter; the value is one line.
func checkConfig(kv KV) error {
	for i, r := range kv.Key {
		if (i == 0 && !unicode.IsLower(r)) || unicode.IsSpace(r) || unicode.IsUpper(r) || r == ':' {
			return fmt.Errorf("results: bad configuration key %q", kv.Key)
		}
	}
	if kv.Key == "" || strings.ContainsAny(kv.Value, "\r\n") {
		return fmt.Errorf("results: bad configuration line %q: %q", kv.Key, kv.Value)
	}
	return nil
}

// checkName rejects names the format cannot carry.
func checkName(name string) error {
	if name == "" || strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return fmt.Errorf("results: benchmark name %q is empty or has a space", name)
	}
	return nil
}
