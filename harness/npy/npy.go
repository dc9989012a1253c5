// Package npy reads and writes attention tensors as NumPy .npy files of
// shape [N,D], [H,N,D] or [B,H,N,D].
//
// The reader is written for hostile files (see docs/npy.md): it parses the
// header itself (any key order, NumPy's 10000-character limit), computes
// the element count with overflow checks and compares the data size with
// the file size before it allocates anything, so it never allocates more
// than the file holds. Files NumPy loads load identically (but for the few
// departures docs/npy.md lists); files it refuses are refused with an error
// saying what is wrong. Writing goes through a temporary file renamed over
// the target, so a failed write leaves the old file.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strings"

	"github.com/attnbench/attnbench/internal/atomicfile"
	"github.com/attnbench/attnbench/internal/checked"
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
	t, shape, err := loadShape(path)
	if err != nil {
		return t, nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, shape, nil
}

func loadShape(path string) (variants.Tensor, []int, error) {
	var t variants.Tensor
	f, err := os.Open(path)
	if err != nil {
		return t, nil, bareErr(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return t, nil, bareErr(err)
	}
	if st.IsDir() {
		return t, nil, errors.New("is a directory")
	}
	size := int64(-1) // a pipe or device: its size is known only once read
	if st.Mode().IsRegular() {
		size = st.Size()
	}
	shape, data, err := decode(f, size)
	if err != nil {
		return t, nil, err
	}
	if len(shape) < 2 || len(shape) > 4 {
		return t, nil, fmt.Errorf("array has %d dimensions %v; want [N,D], [H,N,D] or [B,H,N,D]", len(shape), shape)
	}
	for _, d := range shape {
		if d < 1 {
			return t, nil, fmt.Errorf("array shape %v has an empty dimension", shape)
		}
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

// bareErr drops the path an *fs.PathError repeats, since callers prefix it.
func bareErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// decodeChunk is the most the reader holds of the file's raw data at once.
const decodeChunk = 64 << 10

// decode reads a .npy array of any shape from r, a file of size bytes
// (size < 0: unknown), and returns its shape and its elements as float32
// in row-major (C) order. Bytes after the data are ignored, as np.load
// ignores them. It allocates the elements only once the file is known to
// hold them, so a header cannot make it allocate more than the file's size.
func decode(r io.Reader, size int64) ([]int, []float32, error) {
	h, err := readHeader(r, size)
	if err != nil {
		return nil, nil, err
	}
	count, err := checked.Ints(h.shape...)
	if err != nil {
		return nil, nil, fmt.Errorf("shape %s: %v", pyShape(h.shape), err)
	}
	dataBytes, err := checked.Mul(int64(count), int64(h.itemSize))
	if err != nil {
		return nil, nil, fmt.Errorf("shape %s of %s: data size: %v", pyShape(h.shape), h.descr, err)
	}
	end, err := checked.Add(h.dataOffset, dataBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("shape %s of %s: file size: %v", pyShape(h.shape), h.descr, err)
	}
	if size >= 0 && end > size {
		return nil, nil, fmt.Errorf("truncated: shape %s of %s needs %d bytes of data after the %d bytes of preamble and header; the file is %d bytes (%d of data)",
			pyShape(h.shape), h.descr, dataBytes, h.dataOffset, size, size-h.dataOffset)
	}
	if size < 0 {
		// Read what is there before allocating for what the header claims:
		// ReadAll grows with the data actually read.
		raw, err := io.ReadAll(io.LimitReader(r, dataBytes))
		if err != nil {
			return nil, nil, err
		}
		if int64(len(raw)) < dataBytes {
			return nil, nil, fmt.Errorf("truncated: shape %s of %s needs %d bytes of data after the header; the file holds %d",
				pyShape(h.shape), h.descr, dataBytes, len(raw))
		}
		r = bytes.NewReader(raw)
	}
	data := make([]float32, count)
	if err := readElements(r, h, data); err != nil {
		return nil, nil, truncated(err, size, "inside the data")
	}
	return h.shape, data, nil
}

// readElements fills data (row-major) from r's elements in file order, in
// chunks read whole with io.ReadFull, so an element never straddles a
// buffer boundary. A Fortran-order file is reordered on the way: element i
// of the file goes to the row-major offset of its multi-index.
func readElements(r io.Reader, h header, data []float32) error {
	if len(data) == 0 {
		return nil
	}
	rank := len(h.shape)
	stride := make([]int, rank) // row-major strides
	s := 1
	for d := rank - 1; d >= 0; d-- {
		stride[d] = s
		s *= h.shape[d]
	}
	idx := make([]int, rank) // multi-index of the next file element (Fortran order)
	off := 0
	next := func() int {
		if !h.fortran {
			off++
			return off - 1
		}
		at := off
		// Advance the multi-index, first axis fastest.
		for d := 0; d < rank; d++ {
			idx[d]++
			off += stride[d]
			if idx[d] < h.shape[d] || d == rank-1 {
				break
			}
			off -= idx[d] * stride[d]
			idx[d] = 0
		}
		return at
	}
	per := decodeChunk / h.itemSize
	buf := make([]byte, min(len(data), per)*h.itemSize)
	for done := 0; done < len(data); {
		n := min(len(data)-done, per)
		chunk := buf[:n*h.itemSize]
		if _, err := io.ReadFull(r, chunk); err != nil {
			return err
		}
		for i := range n {
			var x float32
			if h.itemSize == 4 {
				x = math.Float32frombits(h.order.Uint32(chunk[4*i:]))
			} else {
				x = float32(math.Float64frombits(h.order.Uint64(chunk[8*i:]))) // beyond float32's range: Inf, refused by Load
			}
			data[next()] = x
		}
		done += n
	}
	return nil
}

// pyShape writes a shape as NumPy does: (2, 3), (4,), ().
func pyShape(shape []int) string {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	s := "(" + strings.Join(dims, ", ")
	if len(shape) == 1 {
		s += ","
	}
	return s + ")"
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

// Save writes t as a little-endian float32 .npy array. shape, when given,
// must hold t's elements and is written as the array's shape (so an output
// keeps its input's rank); otherwise [B,H,S,D] is written. The file is
// written beside path and renamed over it: a failed Save leaves the old
// file as it was.
func Save(path string, t variants.Tensor, shape []int) error {
	if shape == nil {
		shape = []int{t.B, t.H, t.S, t.D}
	}
	n, err := checked.Ints(shape...)
	if err != nil || n != len(t.Data) {
		return fmt.Errorf("%s: shape %v does not hold %d values", path, shape, len(t.Data))
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		if strings.HasPrefix(err.Error(), path+":") {
			return err
		}
		return fmt.Errorf("%s: %w", path, bareErr(err))
	}
	defer f.Abort()
	w := bufio.NewWriter(f)
	if err := write(w, t.Data, shape); err != nil {
		return fmt.Errorf("%s: %w", path, bareErr(err))
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, bareErr(err))
	}
	return f.Commit()
}

// write emits format version 1.0 (2.0 if the header needs more than 65535
// bytes): magic, version, a little-endian header length, the header dict
// padded with spaces and ended by a newline so that the data starts at a
// multiple of 64 bytes, then the data.
func write(w io.Writer, data []float32, shape []int) error {
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", pyShape(shape))
	version, lenBytes := "\x01\x00", 2
	hdr := padHeader(dict, 6+2+lenBytes)
	if len(hdr) > math.MaxUint16 {
		version, lenBytes = "\x02\x00", 4
		hdr = padHeader(dict, 6+2+lenBytes)
	}
	if _, err := io.WriteString(w, "\x93NUMPY"+version); err != nil {
		return err
	}
	var hlen [4]byte
	binary.LittleEndian.PutUint32(hlen[:], uint32(len(hdr)))
	if _, err := w.Write(hlen[:lenBytes]); err != nil {
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

// padHeader pads dict with spaces and a newline so that the data after a
// preamble of the given length starts at a multiple of 64 bytes.
func padHeader(dict string, preamble int) string {
	pad := 64 - (preamble+len(dict)+1)%64
	if pad == 64 {
		pad = 0
	}
	return dict + strings.Repeat(" ", pad) + "\n"
}
