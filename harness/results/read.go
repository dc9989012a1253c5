package results

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/perf/benchfmt"

	"github.com/attnbench/attnbench/internal/setting"
	"github.com/attnbench/attnbench/internal/vocab"
)

// Existing is what a results file already holds, as -resume reads it.
type Existing struct {
	// Done counts the samples of each benchmark name (without the
	// "Benchmark" prefix).
	Done map[string]int
	// Config lists the configuration keys in effect at the end of a text
	// file.
	Config []string
	// Keep is the length of the file's leading part that holds complete
	// rows (and a text file's header): what a resumed sweep copies. The
	// rest is an unfinished last line, which is dropped.
	Keep int64
	// Dropped is that unfinished last line ("" when there is none).
	Dropped string
}

// ReadExisting reads the rows a file of the given format holds. Every row
// must be whole and valid, except the last line: one without its newline,
// or one that does not parse, was cut short by a kill and is left out (see
// Keep). A file that is not a results file of this format (binary data, no
// row at all, another CSV header, a bad line before the last) is refused
// with one line naming it.
func ReadExisting(path string, format Format, schema Schema) (Existing, error) {
	ex := Existing{Done: map[string]int{}}
	b, err := os.ReadFile(path)
	if err != nil {
		return ex, &setting.Error{Name: "resume", Value: path, Err: unwrapPath(err)}
	}
	p, err := parseRows(b, format, schema)
	if err != nil {
		where := path
		var bad *badLine
		if errors.As(err, &bad) {
			where = fmt.Sprintf("%s:%d", path, bad.num)
		}
		return ex, &setting.Error{Name: "resume", Value: where, Err: err}
	}
	for _, r := range p.rows {
		ex.Done[r.Name]++
	}
	ex.Config, ex.Keep, ex.Dropped = p.config, int64(p.keep), p.dropped
	return ex, nil
}

// parsed is what parseRows finds in a file.
type parsed struct {
	rows    []Row
	config  []string // text: configuration keys set at the end
	keep    int      // bytes of complete rows
	dropped string   // the unfinished last line left out
}

// line is one line of a file, without its newline.
type line struct {
	text  []byte
	start int // byte offset
	num   int // 1-based
}

// badLine is a line that is not a valid row; as an error it goes after the
// file's name and line number.
type badLine struct {
	num int
	msg string
}

func (b *badLine) Error() string { return b.msg + "; remove the line, or write to a new file" }

// parseRows reads the rows of a file in format. Its errors say what is
// wrong; the caller names the file (and, for a *badLine, the line).
func parseRows(b []byte, format Format, schema Schema) (*parsed, error) {
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
		return nil, errors.New("not a results file (it holds binary data)")
	}
	p := &parsed{}
	body := b
	// Every row is written with its newline in one call: a last line
	// without one was cut short.
	if i := bytes.LastIndexByte(b, '\n'); i+1 < len(b) {
		p.dropped = string(b[i+1:])
		body = b[:i+1]
	}
	lines := splitLines(body)
	var (
		rowLines []int // line number of each row
		bad      []badLine
		err      error
	)
	switch format {
	case CSV:
		p.rows, rowLines, bad, err = parseCSV(lines, schema)
	case JSON:
		p.rows, rowLines, bad = parseJSON(lines, schema)
	default:
		p.rows, rowLines, bad = parseText(body)
	}
	if err != nil {
		return nil, err
	}
	p.keep = len(body)
	last := lastNonBlank(lines)
	if len(bad) > 0 && bad[len(bad)-1].num == last && len(p.rows) > 0 {
		// The last complete line does not parse: a row cut short and
		// ended by hand (or by an older attnbench). Left out.
		l := lines[last-1]
		p.dropped = string(l.text) + "\n" + p.dropped
		p.keep = l.start
		bad = bad[:len(bad)-1]
	}
	if len(bad) > 0 {
		return nil, &bad[0]
	}
	if len(p.rows) == 0 && !headerOnly(lines[:min(last, len(lines))], format) {
		return nil, fmt.Errorf("not a %s results file (no result rows)", formatWord(format))
	}
	if format == Text {
		p.config = endConfig(body[:p.keep], rowLines)
	}
	return p, nil
}

func formatWord(f Format) string {
	switch f {
	case CSV:
		return "CSV"
	case JSON:
		return "JSON lines"
	}
	return "Go benchmark format"
}

func splitLines(body []byte) []line {
	var lines []line
	for start, num := 0, 1; start < len(body); num++ {
		end := bytes.IndexByte(body[start:], '\n')
		if end < 0 {
			end = len(body) - start
		}
		lines = append(lines, line{text: body[start : start+end], start: start, num: num})
		start += end + 1
	}
	return lines
}

// lastNonBlank returns the number of the last line that is not blank, 0
// when there is none.
func lastNonBlank(lines []line) int {
	for i := len(lines) - 1; i >= 0; i-- {
		if len(bytes.TrimSpace(lines[i].text)) > 0 {
			return lines[i].num
		}
	}
	return 0
}

// headerOnly reports whether lines without a row are still a results file:
// blank, or for text, nothing but configuration, Unit and comment lines
// (the header of a file whose first row was never written).
func headerOnly(lines []line, format Format) bool {
	for _, l := range lines {
		s := strings.TrimSpace(string(l.text))
		switch {
		case s == "":
		case format == CSV && l.num == 1:
			// The header, already checked against the schema.
		case format == Text && (strings.HasPrefix(s, "#") || strings.HasPrefix(s, "Unit ")):
		case format == Text && isConfigLine(s):
		default:
			return false
		}
	}
	return true
}

func isConfigLine(s string) bool {
	k, _, ok := strings.Cut(s, ":")
	return ok && isConfigKey(k)
}

// parseText reads the Go benchmark format with benchfmt, holding each
// result to the rules the writer follows.
func parseText(body []byte) (rows []Row, rowLines []int, bad []badLine) {
	r := benchfmt.NewReader(bytes.NewReader(body), "")
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.Result:
			_, num := rec.Pos()
			row := Row{Name: string(rec.Name), Iters: rec.Iters}
			for _, v := range rec.Values {
				// The file's own value and unit: benchfmt tidies ns/op
				// into sec/op, the writer writes what it is given.
				val := Value{Unit: v.Unit, Value: v.Value}
				if v.OrigUnit != "" {
					val = Value{Unit: v.OrigUnit, Value: v.OrigValue}
				}
				row.Values = append(row.Values, val)
			}
			if err := checkRow(row); err != nil {
				bad = append(bad, badLine{num, err.Error()})
				continue
			}
			rows = append(rows, row)
			rowLines = append(rowLines, num)
		case *benchfmt.SyntaxError:
			bad = append(bad, badLine{rec.Line, rec.Msg})
		}
	}
	// benchfmt.Reader reads from memory: no I/O error is possible.
	return rows, rowLines, bad
}

// checkRow holds a row read from a file to what the writer writes.
func checkRow(r Row) error {
	if err := checkName(r.Name); err != nil {
		return errors.New("not a result row: its name is empty or has a space")
	}
	if r.Iters < 1 {
		return fmt.Errorf("not a result row: %d iterations", r.Iters)
	}
	if len(r.Values) == 0 {
		return errors.New("not a result row: no values")
	}
	for _, v := range r.Values {
		if v.Unit == "" || strings.ContainsFunc(v.Unit, unicode.IsSpace) {
			return fmt.Errorf("not a result row: unit %q", v.Unit)
		}
	}
	return nil
}

// endConfig returns the file configuration keys in effect at the end of a
// text file: the last result's, plus keys set or deleted after it.
func endConfig(b []byte, rowLines []int) []string {
	set := map[string]bool{}
	after := 0
	if len(rowLines) > 0 {
		after = rowLines[len(rowLines)-1]
		r := benchfmt.NewReader(bytes.NewReader(b), "")
		for r.Scan() {
			if res, ok := r.Result().(*benchfmt.Result); ok {
				if _, num := res.Pos(); num == after {
					for _, c := range res.Config {
						if c.File {
							set[c.Key] = true
						}
					}
				}
			}
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, len(b)+1)
	for n := 1; sc.Scan(); n++ {
		if n <= after {
			continue
		}
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && isConfigKey(k) {
			set[k] = strings.TrimSpace(v) != ""
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

// parseCSV reads one record per line under the header this schema writes
// (the writer never puts a newline in a field).
func parseCSV(lines []line, schema Schema) (rows []Row, rowLines []int, bad []badLine, err error) {
	want := schema.columns()
	if len(lines) == 0 {
		return nil, nil, nil, nil
	}
	header, herr := csvRecord(lines[0].text)
	switch {
	case herr != nil || len(header) < 2 || header[0] != "name" || header[1] != "iters":
		return nil, nil, nil, errors.New("not a CSV results file (its first line is not a header name,iters,…)")
	case !slices.Equal(header, want):
		return nil, nil, nil, fmt.Errorf("its columns differ from the ones this sweep writes (%d vs %d columns); write to a new file", len(header), len(want))
	}
	keyAt := 2
	unitAt := keyAt + len(schema.KeyColumns)
	for _, l := range lines[1:] {
		if len(bytes.TrimSpace(l.text)) == 0 {
			continue
		}
		rec, err := csvRecord(l.text)
		if err != nil {
			bad = append(bad, badLine{l.num, "not a CSV record: " + err.Error()})
			continue
		}
		if len(rec) != len(want) {
			bad = append(bad, badLine{l.num, fmt.Sprintf("%d fields, want %d", len(rec), len(want))})
			continue
		}
		row, err := csvRow(rec, schema, keyAt, unitAt)
		if err != nil {
			bad = append(bad, badLine{l.num, err.Error()})
			continue
		}
		rows = append(rows, row)
		rowLines = append(rowLines, l.num)
	}
	return rows, rowLines, bad, nil
}

// csvRecord parses one line as one CSV record.
func csvRecord(text []byte) ([]string, error) {
	r := csv.NewReader(bytes.NewReader(append(slices.Clip(text), '\n')))
	r.FieldsPerRecord = -1
	rec, err := r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	if _, err := r.Read(); err == nil {
		return nil, errors.New("more than one record") // cannot happen on one line
	}
	for _, f := range rec {
		if strings.ContainsAny(f, "\r\n") {
			return nil, errors.New("a field holds a line break")
		}
	}
	return rec, nil
}

func csvRow(rec []string, schema Schema, keyAt, unitAt int) (Row, error) {
	iters, err := strconv.Atoi(rec[1])
	if err != nil {
		return Row{}, fmt.Errorf("iters %q is not an integer", rec[1])
	}
	row := Row{Name: rec[0], Iters: iters}
	for i, k := range schema.KeyColumns {
		if v := rec[keyAt+i]; v != "" {
			if row.Keys == nil {
				row.Keys = map[string]string{}
			}
			row.Keys[k] = v
		}
	}
	for i, u := range vocab.Units() {
		s := rec[unitAt+i]
		if s == "" {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Row{}, fmt.Errorf("%s %q is not a number", u.Name, s)
		}
		row.Values = append(row.Values, Value{Unit: u.Name, Value: v})
	}
	return row, checkRow(row)
}

// parseJSON reads JSON lines: one object per line, as the writer writes
// them.
func parseJSON(lines []line, schema Schema) (rows []Row, rowLines []int, bad []badLine) {
	for _, l := range lines {
		if len(bytes.TrimSpace(l.text)) == 0 {
			continue
		}
		row, err := jsonRow(l.text, schema)
		if err != nil {
			bad = append(bad, badLine{l.num, err.Error()})
			continue
		}
		rows = append(rows, row)
		rowLines = append(rowLines, l.num)
	}
	return rows, rowLines, bad
}

func jsonRow(text []byte, schema Schema) (Row, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(text, &obj); err != nil || obj == nil {
		return Row{}, errors.New("not a JSON object")
	}
	var row Row
	if err := json.Unmarshal(obj["name"], &row.Name); err != nil {
		return Row{}, errors.New(`no "name" string`)
	}
	var iters json.Number
	if err := json.Unmarshal(obj["iters"], &iters); err != nil {
		return Row{}, errors.New(`no "iters" number`)
	}
	n, err := strconv.Atoi(iters.String())
	if err != nil {
		return Row{}, fmt.Errorf(`"iters" %s is not an integer`, iters)
	}
	row.Iters = n
	for _, k := range schema.KeyColumns {
		raw, ok := obj[k]
		if !ok {
			continue
		}
		v, err := jsonKey(raw)
		if err != nil {
			return Row{}, fmt.Errorf("%q: %v", k, err)
		}
		if v != "" {
			if row.Keys == nil {
				row.Keys = map[string]string{}
			}
			row.Keys[k] = v
		}
	}
	for _, u := range vocab.Units() {
		raw, ok := obj[u.Name]
		if !ok {
			continue
		}
		if string(raw) == "null" {
			// The writer's spelling of a value that is not finite.
			row.Values = append(row.Values, Value{Unit: u.Name, Value: math.NaN()})
			continue
		}
		var num json.Number
		if err := json.Unmarshal(raw, &num); err != nil {
			return Row{}, fmt.Errorf("%q is not a number", u.Name)
		}
		v, err := strconv.ParseFloat(num.String(), 64)
		if err != nil {
			return Row{}, fmt.Errorf("%q %s is out of range", u.Name, num)
		}
		row.Values = append(row.Values, Value{Unit: u.Name, Value: v})
	}
	return row, checkRow(row)
}

// jsonKey returns a name key written as a string, number or boolean as
// text, in the form the writer gives it (typed): "+5" and 5 both read "5".
func jsonKey(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var num json.Number
		var b bool
		switch {
		case json.Unmarshal(raw, &num) == nil:
			s = num.String()
		case json.Unmarshal(raw, &b) == nil:
			s = strconv.FormatBool(b)
		case string(raw) == "null":
			return "", nil
		default:
			return "", errors.New("not a string, number or boolean")
		}
	}
	out, err := json.Marshal(typed(s))
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(out, &s); err == nil {
		return s, nil // a string stays as it is
	}
	return string(out), nil
}
