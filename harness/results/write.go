package results

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchunit"

	"github.com/attnbench/attnbench/internal/vocab"
)

// encoder turns rows into bytes of one format. Each method writes whole
// lines to w in one Write call, so that a file cut short by a kill ends at
// a line boundary.
type encoder interface {
	// header starts a file, or with appending, a continuation of an
	// existing one.
	header(w io.Writer, appending bool) error
	row(w io.Writer, r Row) error
	comment(w io.Writer, line string) error
}

func newEncoder(f Format, s Schema, prevConfig []string) encoder {
	switch f {
	case CSV:
		return &csvEncoder{schema: s}
	case JSON:
		return &jsonEncoder{schema: s}
	}
	return &textEncoder{schema: s, prevConfig: prevConfig}
}

// textEncoder writes the Go benchmark format.
type textEncoder struct {
	schema     Schema
	prevConfig []string // configuration keys an appended-to file has set
	buf        bytes.Buffer
	bw         *benchfmt.Writer
	vals       []benchfmt.Value
}

func (e *textEncoder) header(w io.Writer, appending bool) error {
	e.buf.Reset()
	if appending {
		e.buf.WriteByte('\n')
	}
	set := map[string]bool{}
	for _, kv := range e.schema.Config {
		if kv.Value == "" {
			continue
		}
		if err := checkConfig(kv); err != nil {
			return err
		}
		fmt.Fprintf(&e.buf, "%s: %s\n", kv.Key, kv.Value)
		set[kv.Key] = true
	}
	// A key the earlier part of the file set and this run does not (a
	// peak measured then, unknown now) is deleted, so it does not carry
	// over to these rows.
	for _, k := range e.prevConfig {
		if !set[k] {
			fmt.Fprintf(&e.buf, "%s:\n", k)
		}
	}
	e.bw = benchfmt.NewWriter(&e.buf)
	for _, u := range vocab.Units() {
		_, tidy := benchunit.Tidy(1, u.Name)
		md := &benchfmt.UnitMetadata{
			UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: tidy, Key: "better"},
			OrigUnit:        u.Name,
			Value:           string(u.Better),
		}
		if err := e.bw.Write(md); err != nil {
			return err
		}
	}
	_, err := w.Write(e.buf.Bytes())
	return err
}

func (e *textEncoder) row(w io.Writer, r Row) error {
	if err := checkName(r.Name); err != nil {
		return err
	}
	e.vals = e.vals[:0]
	for _, v := range r.Values {
		e.vals = append(e.vals, benchfmt.Value{Value: v.Value, Unit: v.Unit})
	}
	e.buf.Reset()
	if err := e.bw.Write(&benchfmt.Result{Name: benchfmt.Name(r.Name), Iters: r.Iters, Values: e.vals}); err != nil {
		return err
	}
	_, err := w.Write(e.buf.Bytes())
	return err
}

// comment writes a line benchfmt readers skip: it starts with '#', so it
// is neither a result, a Unit line nor a key: value line.
func (e *textEncoder) comment(w io.Writer, line string) error {
	_, err := fmt.Fprintf(w, "# %s\n", line)
	return err
}

// csvEncoder writes one row per sample under a fixed header.
type csvEncoder struct {
	schema Schema
	buf    bytes.Buffer
}

func (e *csvEncoder) write(w io.Writer, record []string) error {
	for _, f := range record {
		// One record per line, so that a cut file ends at a line
		// boundary and a reader can tell a cut line from the rest.
		if strings.ContainsAny(f, "\r\n") {
			return fmt.Errorf("results: CSV field %q holds a line break", f)
		}
	}
	e.buf.Reset()
	cw := csv.NewWriter(&e.buf)
	if err := cw.Write(record); err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	_, err := w.Write(e.buf.Bytes())
	return err
}

func (e *csvEncoder) header(w io.Writer, appending bool) error {
	if appending {
		return nil // the existing header was checked when the file was read
	}
	return e.write(w, e.schema.columns())
}

func (e *csvEncoder) row(w io.Writer, r Row) error {
	if err := checkName(r.Name); err != nil {
		return err
	}
	rec := []string{r.Name, strconv.Itoa(r.Iters)}
	for _, k := range e.schema.KeyColumns {
		rec = append(rec, r.Keys[k])
	}
	for _, u := range vocab.Units() {
		rec = append(rec, formatValue(r, u.Name))
	}
	for _, k := range e.schema.ConfigColumns {
		rec = append(rec, e.schema.config(k))
	}
	return e.write(w, rec)
}

// comment is a no-op: CSV has no comment lines pandas reads by default.
func (e *csvEncoder) comment(io.Writer, string) error { return nil }

func formatValue(r Row, unit string) string {
	if v, ok := r.Get(unit); ok {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return ""
}

// jsonEncoder writes JSON lines: one object per sample, fields in the
// schema's order, metrics as numbers, name keys as numbers or booleans when
// they are, absent metrics left out.
type jsonEncoder struct {
	schema Schema
	buf    bytes.Buffer
}

func (e *jsonEncoder) header(io.Writer, bool) error { return nil }

func (e *jsonEncoder) row(w io.Writer, r Row) error {
	if err := checkName(r.Name); err != nil {
		return err
	}
	e.buf.Reset()
	e.buf.WriteByte('{')
	first := true
	field := func(k string, v any) error {
		kb, err := json.Marshal(k)
		if err != nil {
			return err
		}
		vb, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("results: %s: %v", k, err)
		}
		if !first {
			e.buf.WriteByte(',')
		}
		first = false
		e.buf.Write(kb)
		e.buf.WriteByte(':')
		e.buf.Write(vb)
		return nil
	}
	if err := field("name", r.Name); err != nil {
		return err
	}
	if err := field("iters", r.Iters); err != nil {
		return err
	}
	for _, k := range e.schema.KeyColumns {
		if v, ok := r.Keys[k]; ok && v != "" {
			if err := field(k, typed(v)); err != nil {
				return err
			}
		}
	}
	for _, v := range r.Values {
		// JSON has no Inf or NaN: a diverged error is written as null.
		var x any = v.Value
		if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
			x = nil
		}
		if err := field(v.Unit, x); err != nil {
			return err
		}
	}
	for _, k := range e.schema.ConfigColumns {
		if v := e.schema.config(k); v != "" {
			if err := field(k, v); err != nil {
				return err
			}
		}
	}
	e.buf.WriteString("}\n")
	_, err := w.Write(e.buf.Bytes())
	return err
}

func (e *jsonEncoder) comment(io.Writer, string) error { return nil }

// typed returns s as an integer, a float or a boolean when it is one.
func typed(s string) any {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return f
	}
	if b, err := strconv.ParseBool(s); err == nil && (s == "true" || s == "false") {
		return b
	}
	return s
}
