package npy

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	npyio "codeberg.org/sbinet/npyio/npy"

	"github.com/attnbench/attnbench/variants"
)

func TestRoundTripShapes(t *testing.T) {
	dir := t.TempDir()
	for _, shape := range [][]int{{5, 3}, {2, 5, 3}, {2, 3, 4, 5}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(i)*0.25 - 3
		}
		in := variants.Tensor{B: 1, H: 1, S: 1, D: n, Data: data}
		path := filepath.Join(dir, "a.npy")
		if err := Save(path, in, shape); err != nil {
			t.Fatal(err)
		}
		got, gotShape, err := LoadShape(path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gotShape, shape) || !slices.Equal(got.Data, data) {
			t.Errorf("shape %v: round trip gave shape %v", shape, gotShape)
		}
		wantDims := append(make([]int, 4-len(shape)), shape...)
		for i := range 4 - len(shape) {
			wantDims[i] = 1
		}
		if dims := []int{got.B, got.H, got.S, got.D}; !slices.Equal(dims, wantDims) {
			t.Errorf("shape %v: tensor dims %v, want %v", shape, dims, wantDims)
		}
		// The header is what NumPy itself would accept: data 64-byte aligned.
		raw, _ := os.ReadFile(path)
		hlen := int(binary.LittleEndian.Uint16(raw[8:10]))
		if (10+hlen)%64 != 0 || raw[10+hlen-1] != '\n' {
			t.Errorf("header length %d leaves data unaligned", hlen)
		}
	}
}

// writeWithNpyio writes a file through the library, as an independent writer.
func writeWithNpyio(t *testing.T, path string, val any) {
	var buf bytes.Buffer
	if err := npyio.Write(&buf, val); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFloat64AndErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f64.npy")
	writeWithNpyio(t, p, [2][3]float64{{1, 2, 3}, {4, 5, 6.5}})
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.S != 2 || got.D != 3 || got.Data[5] != 6.5 {
		t.Errorf("float64 file read as %+v", got)
	}

	bad := map[string]any{
		"1-D":     []float32{1, 2, 3},
		"int":     [2][2]int64{{1, 2}, {3, 4}},
		"NaN":     [2][2]float32{{1, 2}, {float32(math.NaN()), 4}},
		"Inf":     [2][2]float64{{1, math.Inf(1)}, {3, 4}},
		"too big": [2][1]float64{{1e300}, {0}},
		"5-D":     [1][1][1][1][2]float32{},
	}
	for what, val := range bad {
		p := filepath.Join(dir, strings.ReplaceAll(what, " ", "_")+".npy")
		writeWithNpyio(t, p, val)
		if _, err := Load(p); err == nil {
			t.Errorf("%s: accepted", what)
		} else if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not name the file", what, err)
		}
	}
	_, err = Load(filepath.Join(dir, "NaN.npy"))
	if err == nil || !strings.Contains(err.Error(), "[1 0]") {
		t.Errorf("NaN error %v does not give the index [1 0]", err)
	}
	garbage := filepath.Join(dir, "garbage.npy")
	os.WriteFile(garbage, []byte("hello, not numpy"), 0o644)
	if _, err := Load(garbage); err == nil {
		t.Error("garbage accepted")
	}
	if _, err := Load(filepath.Join(dir, "missing.npy")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestFortranOrder(t *testing.T) {
	// A 2×3 array [[0 1 2] [3 4 5]] stored column-major: 0 3 1 4 2 5.
	var buf bytes.Buffer
	dict := "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"
	dict += strings.Repeat(" ", 64-(10+len(dict)+1)%64) + "\n"
	buf.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&buf, binary.LittleEndian, uint16(len(dict)))
	buf.WriteString(dict)
	for _, x := range []float32{0, 3, 1, 4, 2, 5} {
		binary.Write(&buf, binary.LittleEndian, x)
	}
	p := filepath.Join(t.TempDir(), "f.npy")
	os.WriteFile(p, buf.Bytes(), 0o644)
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Data, []float32{0, 1, 2, 3, 4, 5}) {
		t.Errorf("Fortran-order data read as %v", got.Data)
	}
}
