package results

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// Existing is what a results file already holds.
type Existing struct {
	// Done counts the samples of each benchmark name (without the
	// "Benchmark" prefix).
	Done map[string]int
	// Config lists the configuration keys in effect at the end of a text
	// file.
	Config []string
	// Size is the file's length in bytes; EndsInNewline reports whether
	// its last line is complete.
	Size          int64
	EndsInNewline bool
	// Malformed counts lines that are not valid rows (a line cut short by
	// a kill, an edit by hand); they are left as they are and not counted.
	Malformed int
}

// ReadExisting reads the rows a file of the given format holds. A CSV file
// must have the header this schema writes, or rows could not be appended
// to it.
func ReadExisting(path string, format Format, schema Schema) (Existing, error) {
	ex := Existing{Done: map[string]int{}}
	b, err := os.ReadFile(path)
	if err != nil {
		return ex, fmt.Errorf("-resume: %v", unwrapPath(err))
	}
	ex.Size = int64(len(b))
	ex.EndsInNewline = len(b) == 0 || b[len(b)-1] == '\n'
	if len(b) == 0 {
		return ex, nil
	}
	switch format {
	case CSV:
		err = readCSV(b, schema, &ex)
	case JSON:
		err = readJSON(b, &ex)
	default:
		err = readText(b, path, &ex)
	}
	if err != nil {
		return ex, fmt.Errorf("-resume %s: %v", path, err)
	}
	return ex, nil
}

func readText(b []byte, path string, ex *Existing) error {
	r := benchfmt.NewReader(bytes.NewReader(b), path)
	var last *benchfmt.Result
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.Result:
			ex.Done[string(rec.Name)]++
			last = rec.Clone() // the reader reuses rec
		case *benchfmt.SyntaxError:
			ex.Malformed++
		}
	}
	if err := r.Err(); err != nil {
		return err
	}
	if last == nil && ex.Malformed > 0 {
		return fmt.Errorf("no benchmark results, %d malformed lines: is it a %s file?", ex.Malformed, Text)
	}
	// The configuration at the end of the file: the last result's, plus
	// keys set after it.
	ex.Config = endConfig(b, last)
	return nil
}

// endConfig returns the file configuration keys in effect at the end of a
// text file.
func endConfig(b []byte, last *benchfmt.Result) []string {
	set := map[string]bool{}
	if last != nil {
		for _, c := range last.Config {
			if c.File {
				set[c.Key] = true
			}
		}
	}
	// Lines after the last result can still set or delete keys; benchfmt
	// reports configuration only with results, so follow them here.
	if last != nil {
		_, line := last.Pos()
		sc := bufio.NewScanner(bytes.NewReader(b))
		for n := 1; sc.Scan(); n++ {
			if n <= line {
				continue
			}
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && isConfigKey(k) {
				set[k] = strings.TrimSpace(v) != ""
			}
		}
	}
	var keys []string
	for k, on := range set {
		if on {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func isConfigKey(k string) bool { return k != "" && checkConfig(KV{Key: k}) == nil }

func readCSV(b []byte, schema Schema, ex *Existing) error {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("reading the CSV header: %v", err)
	}
	if want := schema.columns(); !slices.Equal(header, want) {
		return fmt.Errorf("its columns differ from the ones this sweep writes (%d vs %d columns); write to a new file", len(header), len(want))
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil || len(rec) != len(header) {
			ex.Malformed++
			continue
		}
		ex.Done[rec[0]]++
	}
}

func readJSON(b []byte, ex *Existing) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var row struct {
			Name  string `json:"name"`
			Iters int    `json:"iters"`
		}
		if err := json.Unmarshal(line, &row); err != nil || row.Name == "" || row.Iters < 1 {
			ex.Malformed++
			continue
		}
		ex.Done[row.Name]++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(ex.Done) == 0 && ex.Malformed > 0 {
		return fmt.Errorf("no rows, %d malformed lines: is it a JSON lines file?", ex.Malformed)
	}
	return nil
}
