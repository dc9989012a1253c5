package npy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxHeaderLen is NumPy's _MAX_HEADER_SIZE: np.load refuses a longer header
// (counted in characters) unless the file is trusted with allow_pickle.
const maxHeaderLen = 10000

// maxNesting bounds the brackets of the header's literal, so that a header
// of 10000 '(' cannot recurse deeply; NumPy headers nest two levels.
const maxNesting = 32

// maxValues bounds the values in a header, and so what parsing it
// allocates: a float array's header has 7 plus one per dimension, and
// NumPy allows at most 64 dimensions.
const maxValues = 256

// header is what the preamble and header of a .npy file say about its data.
type header struct {
	dataOffset int64 // bytes before the data: preamble and header
	order      binary.ByteOrder
	itemSize   int // 4 (float32) or 8 (float64)
	descr      string
	fortran    bool
	shape      []int
}

// readHeader reads and checks the preamble and header of a .npy file of
// size bytes (size < 0: unknown, a pipe). It reads and allocates at most
// about 4×maxHeaderLen bytes whatever the file claims.
func readHeader(r io.Reader, size int64) (header, error) {
	var h header
	var pre [12]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return h, errors.New("not a .npy file: shorter than the 8-byte magic and version")
		}
		return h, err
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return h, errors.New(`not a .npy file: it does not start with the magic "\x93NUMPY"`)
	}
	major, minor := pre[6], pre[7]
	lenBytes := 4
	switch {
	case major == 1 && minor == 0:
		lenBytes = 2
	case (major == 2 || major == 3) && minor == 0:
	default:
		return h, fmt.Errorf(".npy format version %d.%d is not 1.0, 2.0 or 3.0", major, minor)
	}
	if _, err := io.ReadFull(r, pre[8:8+lenBytes]); err != nil {
		return h, truncated(err, size, "inside the header length")
	}
	hlen := int64(binary.LittleEndian.Uint16(pre[8:10]))
	if lenBytes == 4 {
		hlen = int64(binary.LittleEndian.Uint32(pre[8:12]))
	}
	// Version 3.0 is UTF-8, up to 4 bytes a character: the character count
	// is checked after decoding.
	byteLimit := int64(maxHeaderLen)
	if major == 3 {
		byteLimit *= utf8.UTFMax
	}
	if hlen > byteLimit {
		return h, fmt.Errorf("header length %d is over NumPy's limit of %d characters", hlen, maxHeaderLen)
	}
	h.dataOffset = int64(8+lenBytes) + hlen
	if size >= 0 && h.dataOffset > size {
		return h, fmt.Errorf("truncated: the file is %d bytes and ends inside its %d-byte header", size, hlen)
	}
	raw := make([]byte, hlen)
	if _, err := io.ReadFull(r, raw); err != nil {
		return h, truncated(err, size, fmt.Sprintf("inside its %d-byte header", hlen))
	}
	text := string(raw)
	if major == 3 {
		if !utf8.ValidString(text) {
			return h, errors.New("header of a version 3.0 file is not valid UTF-8")
		}
		if n := utf8.RuneCountInString(text); n > maxHeaderLen {
			return h, fmt.Errorf("header length %d is over NumPy's limit of %d characters", n, maxHeaderLen)
		}
	}
	p := parser{text: text, filtered: major < 3}
	dict, err := p.parseHeader()
	if err != nil {
		return h, err
	}
	return h, h.fromDict(dict)
}

// truncated turns a short read into an error that says where the file ends.
func truncated(err error, size int64, where string) error {
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	if size >= 0 {
		return fmt.Errorf("truncated: the file is %d bytes and ends %s", size, where)
	}
	return fmt.Errorf("truncated: the file ends %s", where)
}

// elementType is an accepted descr: its size and byte order.
type elementType struct {
	size      int // 4: float32, 8: float64
	bigEndian bool
}

// elementTypes are the accepted descrs, spelled as numpy.dtype spells
// them. Native order ('|', '=' or none) is little-endian on every machine
// attnbench supports.
var elementTypes = func() map[string]elementType {
	m := map[string]elementType{
		"float32": {4, false}, "single": {4, false},
		"float64": {8, false}, "double": {8, false}, "float": {8, false}, "float_": {8, false},
	}
	for code, size := range map[string]int{"f4": 4, "f": 4, "f8": 8, "d": 8} {
		for _, order := range []string{"", "<", "|", "=", ">"} {
			m[order+code] = elementType{size, order == ">"}
		}
	}
	return m
}()

// fromDict checks the header dict as NumPy's _read_array_header does: the
// keys exactly descr, fortran_order and shape; shape a tuple of ints. It is
// stricter in two places: the element type must be float32 or float64, and
// a dimension must not be negative (NumPy reads a -1 as "infer it").
func (h *header) fromDict(d pyValue) error {
	if d.kind != pyDict {
		return fmt.Errorf("header is %s, not a dict", d.kind)
	}
	vals := map[string]pyValue{}
	for i := 0; i < len(d.items); i += 2 {
		k := d.items[i]
		if k.kind != pyStr {
			return fmt.Errorf("header has a key that is %s, not a string", k.kind)
		}
		vals[k.str] = d.items[i+1] // a repeated key: the last one counts, as in Python
	}
	for i := 0; i < len(d.items); i += 2 {
		if k := d.items[i].str; k != "descr" && k != "fortran_order" && k != "shape" {
			return fmt.Errorf("header has an unexpected key %q (want descr, fortran_order, shape)", k)
		}
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if _, ok := vals[k]; !ok {
			return fmt.Errorf("header has no %q key", k)
		}
	}

	descr := vals["descr"]
	if descr.kind != pyStr {
		return fmt.Errorf("element type (descr) is %s (a structured array), not float32 or float64", descr.kind)
	}
	dt, ok := elementTypes[descr.str]
	if !ok {
		return fmt.Errorf("element type %q is not float32 or float64", descr.str)
	}
	h.descr, h.itemSize, h.order = descr.str, dt.size, binary.ByteOrder(binary.LittleEndian)
	if dt.bigEndian {
		h.order = binary.BigEndian
	}

	fortran := vals["fortran_order"]
	if fortran.kind != pyBool {
		return fmt.Errorf("fortran_order is %s, not True or False", fortran.kind)
	}
	h.fortran = fortran.num == 1

	shape := vals["shape"]
	if shape.kind != pyTuple {
		return fmt.Errorf("shape is %s, not a tuple", shape.kind)
	}
	h.shape = make([]int, len(shape.items))
	for i, x := range shape.items {
		if x.kind != pyInt {
			return fmt.Errorf("shape %s: dimension %d is %s, not an int", shape.text, i, x.kind)
		}
		if x.num < 0 {
			return fmt.Errorf("shape %s: dimension %d is negative", shape.text, i)
		}
		h.shape[i] = int(x.num)
	}
	return nil
}

// pyKind is the type of a Python literal in a header.
type pyKind int

const (
	pyStr pyKind = iota
	pyInt
	pyBool
	pyNone
	pyTuple
	pyList
	pyDict
)

func (k pyKind) String() string {
	return [...]string{"a string", "an int", "a bool", "None", "a tuple", "a list", "a dict"}[k]
}

// pyValue is a parsed Python literal. num holds an int (or a bool as 0/1);
// items the elements of a tuple or list, or a dict's keys and values
// alternately; text the literal as written, for messages.
type pyValue struct {
	kind  pyKind
	str   string
	num   int64
	items []pyValue
	text  string
}

// parser reads the subset of Python literal syntax (ast.literal_eval) that
// .npy headers use: dicts, tuples, lists, strings without escapes (with a
// u or r prefix or none), ints
// (decimal, 0x, 0o, 0b, underscores, unary signs), True, False, None,
// parentheses, whitespace and comments anywhere between tokens.
type parser struct {
	text   string
	pos    int
	depth  int
	values int
	// filtered: versions 1.0 and 2.0, whose headers NumPy passes through
	// _filter_header (Python's tokenizer) first: "3L" is 3, a form feed
	// counts as a space, a lone carriage return before the dict breaks it.
	filtered bool
}

func (p *parser) errorf(format string, a ...any) error {
	const context = 24
	near := p.text[p.pos:]
	if len(near) > context {
		near = near[:context] + "…"
	}
	return fmt.Errorf("header cannot be parsed: %s at byte %d (%q)", fmt.Sprintf(format, a...), p.pos, near)
}

// parseHeader parses the whole header as one literal.
func (p *parser) parseHeader() (pyValue, error) {
	// ast.literal_eval strips leading spaces and tabs; after a line break
	// Python's tokenizer refuses an indented first token.
	p.pos = len(p.text) - len(strings.TrimLeft(p.text, " \t"))
	lineStart := -1 // where the current line starts, once past a line break
scan:
	for p.pos < len(p.text) {
		switch c := p.text[p.pos]; {
		case c == '\r' && p.filtered && !strings.HasPrefix(p.text[p.pos:], "\r\n"):
			return pyValue{}, p.errorf("lone carriage return before the dict")
		case c == '\n' || c == '\r':
			p.pos++
			lineStart = p.pos
		case c == ' ' || c == '\t' || c == '\f':
			p.pos++
		case c == '#':
			p.skipComment()
		default:
			if lineStart >= 0 && p.indented(p.text[lineStart:p.pos]) {
				return pyValue{}, p.errorf("indented first line")
			}
			break scan
		}
	}
	if p.pos >= len(p.text) {
		return pyValue{}, p.errorf("empty header")
	}
	v, err := p.parseValue()
	if err != nil {
		return v, err
	}
	rest := p.text[p.pos:]
	p.skipSpace()
	if p.pos < len(p.text) {
		return v, p.errorf("unexpected text after the literal")
	}
	// Python refuses a last line of indentation alone (not after a plain
	// newline once _filter_header has rebuilt the text).
	if i := strings.LastIndexAny(rest, "\r\n"); i >= 0 {
		tail := rest[i+1:]
		if !strings.Contains(tail, "#") && (!p.filtered || rest[i] == '\r') && p.indented(tail) {
			p.pos = len(p.text) - len(tail)
			return v, p.errorf("last line holds only spaces")
		}
	}
	return v, nil
}

// indented reports whether the whitespace that starts a line indents it:
// a form feed resets the column in Python's tokenizer, but counts as a
// space once _filter_header has rebuilt the text.
func (p *parser) indented(space string) bool {
	if i := strings.LastIndexByte(space, '\f'); i >= 0 && !p.filtered {
		space = space[i+1:]
	}
	return space != ""
}

func (p *parser) skipComment() {
	for p.pos < len(p.text) && p.text[p.pos] != '\n' && p.text[p.pos] != '\r' {
		p.pos++
	}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.text) {
		switch p.text[p.pos] {
		case ' ', '\t', '\n', '\r', '\f':
			p.pos++
		case '#':
			p.skipComment()
		default:
			return
		}
	}
}

// peek skips space and returns the next byte, 0 at the end.
func (p *parser) peek() byte {
	p.skipSpace()
	if p.pos >= len(p.text) {
		return 0
	}
	return p.text[p.pos]
}

func (p *parser) parseValue() (pyValue, error) {
	c := p.peek()
	start := p.pos
	if p.depth >= maxNesting {
		return pyValue{}, p.errorf("brackets or signs nested deeper than %d", maxNesting)
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.values++; p.values > maxValues {
		return pyValue{}, p.errorf("more than %d values", maxValues)
	}
	switch {
	case c == 0:
		return pyValue{}, p.errorf("the header ends where a value is expected")
	case c == '{', c == '(', c == '[':
		p.pos++
		var v pyValue
		var err error
		switch c {
		case '{':
			v, err = p.parseDict()
		case '(':
			v, err = p.parseParen()
		default:
			v, err = p.parseSequence(']', pyList)
		}
		if err == nil && v.kind != pyInt && v.kind != pyStr && v.kind != pyBool && v.kind != pyNone {
			v.text = p.text[start:p.pos]
		}
		return v, err
	case c == '+' || c == '-':
		p.pos++
		v, err := p.parseValue()
		if err != nil {
			return v, err
		}
		if v.kind != pyInt {
			return v, p.errorf("sign before %s", v.kind)
		}
		if c == '-' {
			v.num = -v.num // |v.num| ≤ MaxInt64: no overflow
		}
		v.text = p.text[start:p.pos]
		return v, nil
	case c >= '0' && c <= '9':
		return p.parseInt()
	case c == '\'' || c == '"':
		return p.parseString()
	case isNameByte(c):
		end := p.pos
		for end < len(p.text) && isNameByte(p.text[end]) {
			end++
		}
		name := p.text[p.pos:end]
		if end < len(p.text) && (p.text[end] == '\'' || p.text[end] == '"') && strings.Contains("uUrR", name) && len(name) == 1 {
			p.pos = end
			return p.parseString() // u'…' and r'…' are str in Python 3; with no escapes, r changes nothing
		}
		switch name {
		case "True":
			p.pos = end
			return pyValue{kind: pyBool, num: 1, text: name}, nil
		case "False":
			p.pos = end
			return pyValue{kind: pyBool, text: name}, nil
		case "None":
			p.pos = end
			return pyValue{kind: pyNone, text: name}, nil
		}
		return pyValue{}, p.errorf("unsupported name %q", name)
	}
	return pyValue{}, p.errorf("unexpected character %q", c)
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// parseDict parses the rest of a dict after '{'.
func (p *parser) parseDict() (pyValue, error) {
	v := pyValue{kind: pyDict}
	for {
		if p.peek() == '}' {
			p.pos++
			return v, nil
		}
		key, err := p.parseValue()
		if err != nil {
			return v, err
		}
		if p.peek() != ':' {
			return v, p.errorf("expected ':' after a key")
		}
		p.pos++
		val, err := p.parseValue()
		if err != nil {
			return v, err
		}
		v.items = append(v.items, key, val)
		switch p.peek() {
		case ',':
			p.pos++
		case '}':
		default:
			return v, p.errorf("expected ',' or '}' in a dict")
		}
	}
}

// parseParen parses the rest of a tuple or a parenthesised value after '('.
func (p *parser) parseParen() (pyValue, error) {
	if p.peek() == ')' {
		p.pos++
		return pyValue{kind: pyTuple}, nil
	}
	first, err := p.parseValue()
	if err != nil {
		return first, err
	}
	switch p.peek() {
	case ')':
		p.pos++
		return first, nil // (x) is x
	case ',':
		p.pos++
		rest, err := p.parseSequence(')', pyTuple)
		rest.items = append([]pyValue{first}, rest.items...)
		return rest, err
	}
	return first, p.errorf("expected ',' or ')'")
}

// parseSequence parses items up to close, each followed by a comma except
// perhaps the last.
func (p *parser) parseSequence(close byte, kind pyKind) (pyValue, error) {
	v := pyValue{kind: kind}
	for {
		if p.peek() == close {
			p.pos++
			return v, nil
		}
		item, err := p.parseValue()
		if err != nil {
			return v, err
		}
		v.items = append(v.items, item)
		switch p.peek() {
		case ',':
			p.pos++
		case close:
		default:
			return v, p.errorf("expected ',' or %q", close)
		}
	}
}

// parseString parses a quoted string without escapes on one line.
func (p *parser) parseString() (pyValue, error) {
	start := p.pos
	q := p.text[p.pos]
	if strings.HasPrefix(p.text[p.pos:], strings.Repeat(string(q), 3)) {
		return pyValue{}, p.errorf("triple-quoted strings are not supported")
	}
	p.pos++
	for p.pos < len(p.text) {
		switch c := p.text[p.pos]; c {
		case q:
			p.pos++
			return pyValue{kind: pyStr, str: p.text[start+1 : p.pos-1], text: p.text[start:p.pos]}, nil
		case '\\':
			return pyValue{}, p.errorf("escape sequences in strings are not supported")
		case '\n', '\r':
			return pyValue{}, p.errorf("string not closed on its line")
		}
		p.pos++
	}
	return pyValue{}, p.errorf("string not closed")
}

// parseInt parses a Python 3 integer literal (and, in version 1.0 and 2.0
// headers, a Python 2 long with its L).
func (p *parser) parseInt() (pyValue, error) {
	start := p.pos
	end := p.pos
	for end < len(p.text) && isNameByte(p.text[end]) {
		end++
	}
	lit := p.text[start:end]
	if p.filtered && len(lit) > 1 && lit[len(lit)-1] == 'L' {
		lit = lit[:len(lit)-1]
	}
	digits, base, ok := splitIntLiteral(lit)
	if !ok {
		return pyValue{}, p.errorf("invalid integer %q", lit)
	}
	n, err := strconv.ParseInt(digits, base, 64)
	if err != nil {
		return pyValue{}, p.errorf("integer %s is too large", lit)
	}
	p.pos = end
	return pyValue{kind: pyInt, num: n, text: lit}, nil
}

// splitIntLiteral checks lit against Python's integer grammar and returns
// its digits without underscores and its base.
func splitIntLiteral(lit string) (string, int, bool) {
	base, body := 10, lit
	if len(lit) > 2 && lit[0] == '0' {
		switch lit[1] {
		case 'x', 'X':
			base, body = 16, lit[2:]
		case 'o', 'O':
			base, body = 8, lit[2:]
		case 'b', 'B':
			base, body = 2, lit[2:]
		}
		if base != 10 && body[0] == '_' {
			body = body[1:] // 0x_ff is allowed
		}
	}
	var digits strings.Builder
	prevUnderscore := true // no leading underscore
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '_' {
			if prevUnderscore {
				return "", 0, false
			}
			prevUnderscore = true
			continue
		}
		d := digitValue(c)
		if d < 0 || d >= base {
			return "", 0, false
		}
		digits.WriteByte(c)
		prevUnderscore = false
	}
	s := digits.String()
	if prevUnderscore || s == "" {
		return "", 0, false
	}
	// A decimal literal may not start with 0 unless it is all zeros.
	if base == 10 && s[0] == '0' && strings.Trim(s, "0") != "" {
		return "", 0, false
	}
	return s, base, true
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
