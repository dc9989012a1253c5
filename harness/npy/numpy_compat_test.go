package npy

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"
)

// numpyCase is a hand-built .npy file and what NumPy 1.24's np.load made of
// it (taken once from NumPy; the test does not need NumPy): the shape and
// the values in C order, or refused. attnbenchRefuses marks the few files
// NumPy loads that attnbench refuses on purpose, with a part of its error.
type numpyCase struct {
	name             string
	version          [2]byte
	header           string
	data             string // a name in numpyBlobs
	shape            []int
	values           []float32
	refused          bool
	attnbenchRefuses string
}

var numpyBlobs = map[string][]byte{
	"f4x6":     packFloats(binary.LittleEndian, 4, 0, 1, 2, 3, 4, 5),
	"f4x6be":   packFloats(binary.BigEndian, 4, 0, 1, 2, 3, 4, 5),
	"f8x6":     packFloats(binary.LittleEndian, 8, 0, 1, 2, 3, 4, 5),
	"f4x5":     packFloats(binary.LittleEndian, 4, 0, 1, 2, 3, 4),
	"f4x6junk": append(packFloats(binary.LittleEndian, 4, 0, 1, 2, 3, 4, 5), "xyz"...),
	"none":     nil,
}

var numpyCases = []numpyCase{
	{name: "numpy style", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }                                                          \n", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "no newline", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "keys reordered", version: [2]byte{1, 0}, header: "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4', }", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "no trailing comma", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "double quotes", version: [2]byte{1, 0}, header: "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "u prefix", version: [2]byte{1, 0}, header: "{u'descr': u'<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "tabs and newlines", version: [2]byte{1, 0}, header: "{'descr':\t'<f4',\n'fortran_order': False, 'shape': (2,\n 3)}\n\n", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "carriage returns", version: [2]byte{1, 0}, header: "{'descr': '<f4',\r'fortran_order': False, 'shape': (2, 3)}\r", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "comment", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} # note", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "leading space", version: [2]byte{1, 0}, header: "  {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "leading newline", version: [2]byte{1, 0}, header: "\n{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "indented after newline", version: [2]byte{1, 0}, header: "\n {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", refused: true},
	{name: "parenthesised", version: [2]byte{1, 0}, header: "({'descr': '<f4', 'fortran_order': False, 'shape': ((2), 3)})", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "python2 longs", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "python2 longs in v3", version: [2]byte{3, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", data: "f4x6", refused: true},
	{name: "hex and sign", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (0x2, +3), }", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "underscores", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (0_2, 3), }", data: "f4x6", refused: true},
	{name: "leading zero", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (02, 3), }", data: "f4x6", refused: true},
	{name: "repeated key", version: [2]byte{1, 0}, header: "{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "extra key", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", data: "f4x6", refused: true},
	{name: "missing key", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'shape': (2, 3)}", data: "f4x6", refused: true},
	{name: "fortran_order 1", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': 1, 'shape': (2, 3)}", data: "f4x6", refused: true},
	{name: "shape list", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", data: "f4x6", refused: true},
	{name: "shape int", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (6)}", data: "f4x6", refused: true},
	{name: "shape bool", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (True, 6)}", data: "f4x6", refused: true},
	{name: "shape empty comma", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (,)}", data: "f4x6", refused: true},
	{name: "shape double comma", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,,3)}", data: "f4x6", refused: true},
	{name: "shape missing value", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': , }", data: "f4x6", refused: true},
	{name: "dict double comma", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3),,}", data: "f4x6", refused: true},
	{name: "no braces", version: [2]byte{1, 0}, header: "'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", data: "f4x6", refused: true},
	{name: "empty header", version: [2]byte{1, 0}, header: "", data: "f4x6", refused: true},
	{name: "NUL padding", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}\u0000", data: "f4x6", refused: true},
	{name: "1-D", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", data: "f4x6", shape: []int{6}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "0-D", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': ()}", data: "f4x6", shape: []int{}, values: []float32{0}},
	{name: "zero dimension", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3)}", data: "none", shape: []int{0, 3}, values: []float32{}},
	{name: "fortran order", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3)}", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 2, 4, 1, 3, 5}},
	{name: "fortran order 3-D", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2, 3)}", data: "f4x6", shape: []int{1, 2, 3}, values: []float32{0, 2, 4, 1, 3, 5}},
	{name: "big-endian", version: [2]byte{1, 0}, header: "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6be", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "native order", version: [2]byte{1, 0}, header: "{'descr': '|f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "float64", version: [2]byte{1, 0}, header: "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2)}", data: "f8x6", shape: []int{3, 2}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "descr d", version: [2]byte{1, 0}, header: "{'descr': 'd', 'fortran_order': False, 'shape': (3, 2)}", data: "f8x6", shape: []int{3, 2}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "descr float32", version: [2]byte{1, 0}, header: "{'descr': 'float32', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "int32", version: [2]byte{1, 0}, header: "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", attnbenchRefuses: "not float32 or float64"},   // NumPy loads it: shape: []int{2, 3}, values: []float32{0, 1.06535e+09, 1.07374e+09, 1.07794e+09, 1.08213e+09, 1.08423e+09}
	{name: "float16", version: [2]byte{1, 0}, header: "{'descr': '<f2', 'fortran_order': False, 'shape': (3, 4)}", data: "f4x6", attnbenchRefuses: "not float32 or float64"}, // NumPy loads it: shape: []int{3, 4}, values: []float32{0, 0, 0, 1.875, 0, 2, 0, 2.125, 0, 2.25, 0, 2.3125}
	{name: "structured", version: [2]byte{1, 0}, header: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", refused: true},
	{name: "version 2.0", version: [2]byte{2, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "version 3.0", version: [2]byte{3, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "version 1.1", version: [2]byte{1, 1}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", refused: true},
	{name: "version 4.0", version: [2]byte{4, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", refused: true},
	{name: "header 10000", version: [2]byte{1, 0}, header: strings.Repeat(" ", 0) + "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}" + strings.Repeat(" ", 9942) + "\n", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "header 10001", version: [2]byte{1, 0}, header: strings.Repeat(" ", 0) + "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}" + strings.Repeat(" ", 9943) + "\n", data: "f4x6", refused: true},
	{name: "trailing bytes", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6junk", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "truncated data", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x5", refused: true},
	{name: "header only", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "none", refused: true},
	{name: "negative dimension", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3)}", data: "f4x6", attnbenchRefuses: "negative"}, // NumPy loads it: shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}
	{name: "negative dimensions", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, -3)}", data: "f4x6", refused: true},
	{name: "count overflows", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", data: "none", refused: true},
	{name: "r prefix", version: [2]byte{1, 0}, header: "{r'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "CRLF before the dict", version: [2]byte{1, 0}, header: "\r\n{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "lone CR before the dict", version: [2]byte{1, 0}, header: "\r{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", refused: true},
	{name: "lone CR before the dict v3", version: [2]byte{3, 0}, header: "\r{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "form feed line v3", version: [2]byte{3, 0}, header: "\n\f{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "form feed line v1", version: [2]byte{1, 0}, header: "\n\f{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", refused: true},
	{name: "space-only last line v1", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}\n ", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "space-only last line v3", version: [2]byte{3, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}\n ", data: "f4x6", refused: true},
	{name: "space-only last line after CR v1", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}\r ", data: "f4x6", refused: true},
	{name: "form feed last line v3", version: [2]byte{3, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}\n\f", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "comment last line v3", version: [2]byte{3, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}\n #c", data: "f4x6", shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}},
	{name: "dtype with a tab", version: [2]byte{1, 0}, header: "{'descr': '<f\t4', 'fortran_order': False, 'shape': (2, 3)}", data: "f4x6", attnbenchRefuses: "not float32 or float64"}, // NumPy loads it: shape: []int{2, 3}, values: []float32{0, 1, 2, 3, 4, 5}
	{name: "bytes overflow", version: [2]byte{1, 0}, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387905, 2)}", data: "none", refused: true},
}

// packFloats encodes xs as float32 (size 4) or float64 (size 8).
func packFloats(order binary.AppendByteOrder, size int, xs ...float64) []byte {
	b := make([]byte, 0, size*len(xs))
	for _, x := range xs {
		if size == 4 {
			b = order.AppendUint32(b, math.Float32bits(float32(x)))
		} else {
			b = order.AppendUint64(b, math.Float64bits(x))
		}
	}
	return b
}

// npyFile builds a file from its parts: magic, version, header length in
// the version's width, header, data.
func npyFile(version [2]byte, header string, data []byte) []byte {
	b := append([]byte("\x93NUMPY"), version[:]...)
	if version[0] == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(header)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(header)))
	}
	return append(append(b, header...), data...)
}

// TestNumpyCompat: every file NumPy loads loads with the same shape and
// values, both from a file of known size and from a pipe; every file NumPy
// refuses is refused, with one line.
func TestNumpyCompat(t *testing.T) {
	for _, c := range numpyCases {
		file := npyFile(c.version, c.header, numpyBlobs[c.data])
		for _, size := range []int64{int64(len(file)), -1} {
			shape, data, err := decode(bytes.NewReader(file), size)
			switch {
			case c.refused || c.attnbenchRefuses != "":
				if err == nil {
					t.Errorf("%s (size %d): loaded as %v %v, want refused", c.name, size, shape, data)
				} else if !strings.Contains(err.Error(), c.attnbenchRefuses) || strings.Contains(err.Error(), "\n") {
					t.Errorf("%s (size %d): error %q, want one line containing %q", c.name, size, err, c.attnbenchRefuses)
				}
			case err != nil:
				t.Errorf("%s (size %d): %v; NumPy loads it", c.name, size, err)
			case !slices.Equal(shape, c.shape) || !slices.Equal(data, c.values):
				t.Errorf("%s (size %d): loaded as %v %v, NumPy as %v %v", c.name, size, shape, data, c.shape, c.values)
			}
		}
	}
}
