package results

import (
	"bytes"
	"maps"
	"math"
	"strings"
	"testing"
)

// FuzzResultsRead feeds the results reader arbitrary files in each format:
// it must not panic, and every file it accepts must round-trip: its rows,
// written by this package's writer and read again, are the same rows.
func FuzzResultsRead(f *testing.F) {
	header := strings.Join(testSchema.columns(), ",") + "\n"
	for _, seed := range []struct {
		format Format
		data   string
	}{
		{Text, "goos: linux\nUnit ns/op better=lower\nBenchmarkAttention/variant=full/n=16-2 2 4812 ns/op 2304 peak-B/op 0 B/op 0 allocs/op\n"},
		{Text, "BenchmarkAttention/variant=full/n=16-2 2 3415 ns/op 0 B/op 0 allo"},
		{Text, "BenchmarkX-2 1 NaN ns/op -0 relerr +Inf maxerr\nBenchmarkX-2 1 x ns/op\n"},
		{Text, "# comment\ncpu: A\ncpu:\nBenchmarkY 3 1e-300 ns/op\n"},
		{CSV, header + "x-2,1,full,16,false,,5,,,,,,,,cpu,generic\nx-2,1,fu"},
		{CSV, header + "x-2,+7,\"fl,ash\",1.50,true,,NaN,1e308,,,,,,,\"c\"\"pu\",k\n"},
		{CSV, "a,b\n"},
		{JSON, `{"name":"x-2","iters":2,"variant":"flash","n":16,"causal":false,"ns/op":1.25e6,"relerr":null}` + "\n" + `{"name":"x-2","it`},
		{JSON, `{"name":"x-2","iters":1,"n":1.50,"window":"+5","ns/op":-0}` + "\n[1]\n"},
		{JSON, "\x93NUMPY\x00"},
	} {
		f.Add(byte(formatIndex(seed.format)), []byte(seed.data))
	}
	formats := []Format{Text, CSV, JSON}
	f.Fuzz(func(t *testing.T, which byte, data []byte) {
		format := formats[int(which)%len(formats)]
		p, err := parseRows(data, format, testSchema)
		if err != nil {
			return
		}
		if p.keep > len(data) || !bytes.HasPrefix(data, data[:p.keep]) {
			t.Fatalf("keep %d of %d bytes", p.keep, len(data))
		}
		var buf bytes.Buffer
		o := NewOutput(&buf, format, testSchema)
		for _, r := range p.rows {
			if err := o.Write(r); err != nil {
				t.Fatalf("an accepted row cannot be written: %+v: %v", r, err)
			}
		}
		if err := o.Finish(); err != nil {
			t.Fatal(err)
		}
		again, err := parseRows(buf.Bytes(), format, testSchema)
		if err != nil {
			t.Fatalf("the writer's file is refused: %v\n%s", err, buf.Bytes())
		}
		if again.dropped != "" {
			t.Fatalf("the writer's file has an unfinished line %q", again.dropped)
		}
		if len(again.rows) != len(p.rows) {
			t.Fatalf("%d rows read back, want %d\n%s", len(again.rows), len(p.rows), buf.Bytes())
		}
		for i := range p.rows {
			if !sameRow(p.rows[i], again.rows[i]) {
				t.Fatalf("row %d: %+v read back as %+v\n%s", i, p.rows[i], again.rows[i], buf.Bytes())
			}
		}
	})
}

func formatIndex(f Format) int {
	switch f {
	case CSV:
		return 1
	case JSON:
		return 2
	}
	return 0
}

func sameRow(a, b Row) bool {
	if a.Name != b.Name || a.Iters != b.Iters || len(a.Values) != len(b.Values) || len(a.Keys) != len(b.Keys) || !maps.Equal(a.Keys, b.Keys) {
		return false
	}
	for i := range a.Values {
		x, y := a.Values[i], b.Values[i]
		same := math.IsNaN(x.Value) && math.IsNaN(y.Value) || x.Value == y.Value && math.Signbit(x.Value) == math.Signbit(y.Value)
		if x.Unit != y.Unit || !same {
			return false
		}
	}
	return true
}
