package npy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/attnbench/attnbench/variants"
)

// allocLimit is the most the reader may allocate for a file of size bytes:
// header, elements and one read chunk each hold at most the file's size,
// plus a fixed allowance for paths, messages and the parsed header.
func allocLimit(size int) uint64 { return 3*uint64(size) + 64<<10 }

// allocDuring returns the bytes allocated while f runs.
func allocDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// validFile is what the writer makes of data with the given shape.
func validFile(t testing.TB, shape []int, data []float32) []byte {
	var buf bytes.Buffer
	if err := write(&buf, data, shape); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// claimFile is a 192-byte file: a header claiming shape, padded so that
// 64 bytes of data follow at offset 128.
func claimFile(shape string) []byte {
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }"
	hdr := dict + strings.Repeat(" ", 128-10-len(dict)-1) + "\n"
	return npyFile([2]byte{1, 0}, hdr, make([]byte, 64))
}

// hostileCase is one of the files of issue 13 that broke the old reader,
// with a part of the error it must now give ("" when it must load).
type hostileCase struct {
	name string
	file []byte
	want string
}

func hostileCases(t testing.TB) []hostileCase {
	four := make([]float32, 16)
	for i := range four {
		four[i] = float32(i) + 0.5
	}
	valid := validFile(t, []int{4, 4}, four)
	reordered := "{'shape': (4, 4), 'fortran_order': False, 'descr': '<f4', }"
	noNewline := "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }"
	v2huge := append([]byte("\x93NUMPY\x02\x00"), 0xF0, 0xFF, 0xFF, 0xFF)
	return []hostileCase{
		{"first 40 bytes of a valid file", valid[:40], "truncated: the file is 40 bytes and ends inside its 118-byte header"},
		{"header without braces", npyFile([2]byte{1, 0}, "'descr': '<f4', 'fortran_order': False, 'shape': (4, 4)\n", valid[128:]), "header cannot be parsed"},
		{"'shape': ,", npyFile([2]byte{1, 0}, "{'descr': '<f4', 'fortran_order': False, 'shape': , }\n", valid[128:]), "header cannot be parsed"},
		{"keys in another order", npyFile([2]byte{1, 0}, reordered, valid[128:]), ""},
		{"header without a newline", npyFile([2]byte{1, 0}, noNewline, valid[128:]), ""},
		{"last two elements missing", valid[:len(valid)-8], "truncated: shape (4, 4) of <f4 needs 64 bytes of data"},
		{"last element cut in half", valid[:len(valid)-2], "the file is 190 bytes (62 of data)"},
		{"header only", valid[:128], "the file is 128 bytes (0 of data)"},
		{"192 bytes claiming (2000000, 16)", claimFile("(2000000, 16)"), "truncated: shape (2000000, 16) of <f4 needs 128000000 bytes"},
		{"192 bytes claiming (100000000, 64)", claimFile("(100000000, 64)"), "needs 25600000000 bytes"},
		{"v2.0 header length 0xFFFFFFF0", v2huge, "header length 4294967280 is over NumPy's limit of 10000"},
		{"shape (2^32, 2^32)", claimFile("(4294967296, 4294967296)"), "4294967296×4294967296 overflows"},
		{"shape (2^62+1, 2)", claimFile("(4611686018427387905, 2)"), "4611686018427387905×2 overflows"},
		{"shape (2^61, 2): bytes overflow", claimFile("(2305843009213693952, 2)"), "data size"},
		{"empty file", nil, "not a .npy file"},
	}
}

// TestHostileFiles: each file of the issue is refused with one line naming
// the file and the problem, or loads with the right values, and none makes
// the reader allocate more than allocLimit.
func TestHostileFiles(t *testing.T) {
	dir := t.TempDir()
	want := make([]float32, 16)
	for i := range want {
		want[i] = float32(i) + 0.5
	}
	for i, c := range hostileCases(t) {
		path := filepath.Join(dir, fmt.Sprintf("case%d.npy", i))
		if err := os.WriteFile(path, c.file, 0o644); err != nil {
			t.Fatal(err)
		}
		var got variants.Tensor
		var err error
		alloc := allocDuring(func() { got, _, err = LoadShape(path) })
		if alloc > allocLimit(len(c.file)) {
			t.Errorf("%s: the reader allocated %d bytes for a %d-byte file", c.name, alloc, len(c.file))
		}
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want == "" && !slices.Equal(got.Data, want):
			t.Errorf("%s: loaded %v, want %v", c.name, got.Data, want)
		case c.want != "" && err == nil:
			t.Errorf("%s: accepted", c.name)
		case c.want != "":
			msg := err.Error()
			if !strings.HasPrefix(msg, path+": ") || !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("%s: error %q, want one line naming %s and containing %q", c.name, msg, path, c.want)
			}
		}
	}
}

// TestUnalignedData: data starting at an odd offset, over several read
// chunks, loads bit-exactly (the old reader straddled its 4 KiB buffer).
func TestUnalignedData(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n, d = 512, 64 // 128 KiB of data: two 64 KiB chunks, 32 pages
	want := make([]float32, n*d)
	raw := make([]byte, 0, 4*n*d)
	for i := range want {
		want[i] = float32(rng.NormFloat64())
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(want[i]))
	}
	for _, pad := range []int{0, 1, 2, 3, 5} {
		hdr := "{'descr': '<f4', 'fortran_order': False, 'shape': (512, 64)}" + strings.Repeat(" ", pad)
		file := npyFile([2]byte{1, 0}, hdr, raw)
		path := filepath.Join(t.TempDir(), "odd.npy")
		os.WriteFile(path, file, 0o644)
		got, shape, err := LoadShape(path)
		if err != nil {
			t.Fatalf("data at offset %d: %v", 10+len(hdr), err)
		}
		if !slices.Equal(shape, []int{n, d}) || !slices.Equal(got.Data, want) {
			t.Errorf("data at offset %d: values differ", 10+len(hdr))
		}
	}
}

// TestFortranOrder4D: a Fortran-order [2,3,4,5] array, the file's element
// at i + 2(j + 3(k + 4l)) being C's element ((i·3 + j)·4 + k)·5 + l.
func TestFortranOrder4D(t *testing.T) {
	s := [4]int{2, 3, 4, 5}
	file := make([]float32, 120)
	for i := range file {
		file[i] = float32(i)*1.5 - 7
	}
	want := make([]float32, 120)
	for i := range s[0] {
		for j := range s[1] {
			for k := range s[2] {
				for l := range s[3] {
					want[((i*3+j)*4+k)*5+l] = file[i+2*(j+3*(k+4*l))]
				}
			}
		}
	}
	raw := packFloats(binary.BigEndian, 8, toFloat64(file)...)
	shape, got, err := decode(bytes.NewReader(npyFile([2]byte{2, 0}, "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3, 4, 5)}\n", raw)), -1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shape, []int{2, 3, 4, 5}) || !slices.Equal(got, want) {
		t.Errorf("Fortran-order [2,3,4,5] read as %v %v, want %v", shape, got, want)
	}
}

func toFloat64(xs []float32) []float64 {
	ys := make([]float64, len(xs))
	for i, x := range xs {
		ys[i] = float64(x)
	}
	return ys
}

// TestSaveLeavesOldFileOnFailure: a Save that cannot write leaves the file
// it would have replaced as it was, and no temporary file beside it.
func TestSaveLeavesOldFileOnFailure(t *testing.T) {
	dir := t.TempDir()
	// A 250-byte name is legal, but the temporary name beside it is not:
	// creating it fails whoever runs the test (root included).
	path := filepath.Join(dir, strings.Repeat("o", 246)+".npy")
	if err := os.WriteFile(path, []byte("old output"), 0o644); err != nil {
		t.Fatal(err)
	}
	tensor := variants.Tensor{B: 1, H: 1, S: 2, D: 2, Data: []float32{1, 2, 3, 4}}
	err := Save(path, tensor, []int{2, 2})
	if err == nil || !strings.HasPrefix(err.Error(), path+": ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Save to an unwritable name: error %v, want one line naming the file", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old output" {
		t.Errorf("the old file holds %q after a failed Save", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries after a failed Save, want the old file only", len(ents))
	}

	missing := filepath.Join(dir, "no", "such", "dir", "o.npy")
	if err := Save(missing, tensor, []int{2, 2}); err == nil || !strings.HasPrefix(err.Error(), missing+": ") {
		t.Errorf("Save into a missing directory: error %v, want one naming the file", err)
	}

	// A successful Save replaces the old file whole.
	ok := filepath.Join(dir, "ok.npy")
	os.WriteFile(ok, []byte("old output"), 0o644)
	if err := Save(ok, tensor, []int{2, 2}); err != nil {
		t.Fatal(err)
	}
	got, err := Load(ok)
	if err != nil || !slices.Equal(got.Data, tensor.Data) {
		t.Errorf("after Save over an old file: %v %v", got.Data, err)
	}
}

// pipe hides bytes.Reader's other methods, as a pipe would.
type pipe struct{ io.Reader }

// FuzzNpy: no file makes the reader panic or allocate beyond allocLimit;
// a file of unknown size (a pipe) reads the same as a file of known size;
// every file it reads, and every array the writer writes, round-trips
// bit-exactly through the writer.
func FuzzNpy(f *testing.F) {
	for _, c := range hostileCases(f) {
		f.Add(c.file)
	}
	for _, c := range numpyCases {
		f.Add(npyFile(c.version, c.header, numpyBlobs[c.data]))
	}
	f.Add(validFile(f, []int{3, 1, 2}, []float32{1, float32(math.NaN()), -0.0, float32(math.Inf(-1)), math.MaxFloat32, math.SmallestNonzeroFloat32}))
	f.Fuzz(func(t *testing.T, file []byte) {
		var shape []int
		var data []float32
		var err error
		alloc := allocDuring(func() { shape, data, err = decode(bytes.NewReader(file), int64(len(file))) })
		if alloc > allocLimit(len(file)) {
			t.Fatalf("the reader allocated %d bytes for a %d-byte file", alloc, len(file))
		}
		pShape, pData, pErr := decode(pipe{bytes.NewReader(file)}, -1)
		if (err == nil) != (pErr == nil) || !slices.Equal(shape, pShape) || !sameBits(data, pData) {
			t.Fatalf("a file of known size read as %v %v (%v), from a pipe as %v %v (%v)", shape, data, err, pShape, pData, pErr)
		}
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is more than one line", err)
			}
		} else {
			roundTrip(t, shape, data)
		}

		// An array made from the input: rank 0 to 4, dimensions 0 to 5,
		// the input's bytes as the float32 bits (NaNs and all).
		var arr []int
		if len(file) > 0 {
			arr = make([]int, int(file[0])%5)
			for i := range arr {
				arr[i] = int(file[(i+1)%len(file)]) % 6
			}
		}
		n := 1
		for _, d := range arr {
			n *= d
		}
		vals := make([]float32, n)
		for i := range vals {
			var word [4]byte
			for b := range word {
				if len(file) > 0 {
					word[b] = file[(4*i+b)%len(file)] ^ byte(i)
				}
			}
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(word[:]))
		}
		roundTrip(t, arr, vals)
	})
}

// roundTrip writes an array and reads it back, bit for bit.
func roundTrip(t *testing.T, shape []int, data []float32) {
	t.Helper()
	file := validFile(t, shape, data)
	gotShape, got, err := decode(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatalf("the writer's file of shape %v does not read back: %v", shape, err)
	}
	if !slices.Equal(gotShape, shape) || !sameBits(got, data) {
		t.Fatalf("shape %v: wrote %v, read back %v %v", shape, data, gotShape, got)
	}
}

func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}
