// Package npy reads and writes attention tensors as NumPy .npy files of
// shape [N,D], [H,N,D] or [B,H,N,D].
//
// Reading goes through codeberg.org/sbinet/npyio. Writing builds the header
// here because npyio (v0.6.0) writes a Go slice as a 1-D array, and the
// output must keep the input's shape.
package npy

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	npyio "codeberg.org/sbinet/npyio/npy"

	"github.com/attnbench/attnbench/variants"
)

// Load reads a float32 or float64 array of 2 to 4 dimensions as a tensor,
// refusing NaN and Inf with the index of the first one.
func Load(path string) (variants.Tensor, error) {
	t, _, err := LoadShape(path)
	return t, err
}

// LoadShape is Load that also returns the file's own shape, so an output
// can be written back with the same number of dimensions.
func LoadShape(path string) (variants.Tensor, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return variants.Tensor{}, nil, err
	}
	defer f.Close()
	t, shape, err := read(bufio.NewReader(f))
	if err != nil {
		return t, nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, shape, nil
}

func read(r io.Reader) (variants.Tensor, []int, error) {
	var t variants.Tensor
	rd, err := npyio.NewReader(r)
	if err != nil {
		return t, nil, fmt.Errorf("not a readable .npy file: %v", err)
	}
	shape := append([]int(nil), rd.Header.Descr.Shape...)
	if len(shape) < 2 || len(shape) > 4 {
		return t, nil, fmt.Errorf("array has %d dimensions %v; want [N,D], [H,N,D] or [B,H,N,D]", len(shape), shape)
	}
	n := 1
	for _, d := range shape {
		if d < 1 {
			return t, nil, fmt.Errorf("array shape %v has an empty dimension", shape)
		}
		n *= d
	}
	var data []float32
	switch typ := rd.Header.Descr.Type; strings.TrimLeft(typ, "<>|=") {
	case "f4":
		data = make([]float32, n)
		if err := rd.Read(&data); err != nil {
			return t, nil, fmt.Errorf("reading float32 data: %v", err)
		}
	case "f8":
		wide := make([]float64, n)
		if err := rd.Read(&wide); err != nil {
			return t, nil, fmt.Errorf("reading float64 data: %v", err)
		}
		data = make([]float32, n)
		for i, x := range wide {
			data[i] = float32(x) // a finite float64 beyond float32's range becomes Inf: refused below
		}
	default:
		return t, nil, fmt.Errorf("element type %q is not float32 or float64", typ)
	}
	if rd.Header.Descr.Fortran {
		data = fromFortranOrder(data, shape)
	}
	for i, x := range data {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return t, nil, fmt.Errorf("value %v at index %v (or out of float32 range): inputs must be finite", x, unravel(i, shape))
		}
	}
	dims := [4]int{1, 1, 1, 1}
	copy(dims[4-len(shape):], shape)
	return variants.Tensor{B: dims[0], H: dims[1], S: dims[2], D: dims[3], Data: data}, shape, nil
}

// unravel turns a row-major flat index into a multi-index.
func unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = i % shape[d]
		i /= shape[d]
	}
	return idx
}

// fromFortranOrder reorders column-major data into row-major.
func fromFortranOrder(col []float32, shape []int) []float32 {
	row := make([]float32, len(col))
	for i := range row {
		idx := unravel(i, shape)
		off, stride := 0, 1
		for d := range shape {
			off += idx[d] * stride
			stride *= shape[d]
		}
		row[i] = col[off]
	}
	return row
}

// Save writes t as a little-endian float32 .npy array. shape, when given,
// must hold t's elements and is written as the array's shape (so an output
// keeps its input's rank); otherwise [B,H,S,D] is written.
func Save(path string, t variants.Tensor, shape []int) error {
	if shape == nil {
		shape = []int{t.B, t.H, t.S, t.D}
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n != len(t.Data) {
		return fmt.Errorf("%s: shape %v does not hold %d values", path, shape, len(t.Data))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	werr := write(w, t.Data, shape)
	if err := w.Flush(); werr == nil {
		werr = err
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("%s: %w", path, werr)
	}
	return nil
}

// write emits format version 1.0: magic, version, a little-endian uint16
// header length, the header dict padded with spaces and ended by a newline
// so that the data starts at a multiple of 64 bytes, then the data.
func write(w io.Writer, data []float32, shape []int) error {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	tuple := "(" + strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	tuple += ")"
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", tuple)
	const preamble = 6 + 2 + 2 // magic, version, header length
	pad := 64 - (preamble+len(dict)+1)%64
	if pad == 64 {
		pad = 0
	}
	hdr := dict + strings.Repeat(" ", pad) + "\n"
	if _, err := io.WriteString(w, "\x93NUMPY\x01\x00"); err != nil {
		return err
	}
	if err := binary.Write(w, binary.LittleEndian, uint16(len(hdr))); err != nil {
		return err
	}
	if _, err := io.WriteString(w, hdr); err != nil {
		return err
	}
	buf := make([]byte, 4*len(data))
	for i, x := range data {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
	}
	_, err := w.Write(buf)
	return err
}
