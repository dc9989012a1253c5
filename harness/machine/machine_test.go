package machine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attnbench/attnbench/asm"
)

func TestMemoryFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	mi := write("meminfo", "MemFree:         1000 kB\nMemTotal:       24684096 kB\nMemAvailable:   24352956 kB\n")
	if got, ok := memTotal(mi); !ok || got != 24684096*1024 {
		t.Errorf("memTotal = %d, %v", got, ok)
	}
	if _, ok := memTotal(write("bad", "MemTotal: lots\n")); ok {
		t.Error("memTotal accepted garbage")
	}
	if _, ok := memTotal(filepath.Join(dir, "none")); ok {
		t.Error("memTotal of a missing file")
	}
	for text, want := range map[string]int64{"max\n": 0, "9223372036854771712\n": 0, "8589934592\n": 8 << 30} {
		got, ok := cgroupLimit(write("limit", text))
		if ok != (want > 0) || got != want {
			t.Errorf("cgroupLimit(%q) = %d, %v; want %d", text, got, ok, want)
		}
	}
	if m, _ := Memory(); m <= 0 {
		t.Errorf("Memory() = %d", m)
	}
}

func TestPeakFor(t *testing.T) {
	p := Peak{Cores: 8, GFLOPS1: 10, GFLOPSAll: 60}
	for threads, want := range map[int]float64{0: 60, 1: 10, 4: 40, 7: 60, 8: 60, 16: 60} {
		if got := p.For(threads); got != want {
			t.Errorf("For(%d) = %v, want %v", threads, got, want)
		}
	}
}

func TestPeakCache(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	k := asm.Active()
	if _, ok, err := CachedPeak(k.Name); ok || err != nil {
		t.Fatalf("empty cache: ok %v, err %v", ok, err)
	}
	p := MeasurePeak(k, 20*time.Millisecond)
	if p.GFLOPS1 <= 0 || p.GFLOPSAll <= 0 || p.Bandwidth <= 0 || p.Kernels != k.Name || p.Method != Method(k.Name) || p.Cores != Cores() {
		t.Fatalf("measured %+v", p)
	}
	path, err := SavePeak(p)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := CachedPeak(k.Name)
	if !ok || err != nil || got != p {
		t.Errorf("cached %+v, %v, %v; want %+v", got, ok, err, p)
	}
	// Another kernel set has its own file.
	if other, _ := CachePath("other"); other == path {
		t.Error("two kernel sets share a cache file")
	}
	os.WriteFile(path, []byte("{not json"), 0o644)
	if _, ok, err := CachedPeak(k.Name); ok || err == nil {
		t.Error("a corrupt cache file was used")
	}
}

func TestDescription(t *testing.T) {
	if CPUModel() == "" {
		t.Error("no CPU model")
	}
	if v := Version(); !strings.HasPrefix(v, "v") {
		t.Errorf("Version() = %q", v)
	}
	for _, f := range Features() {
		if f == "" || strings.ContainsAny(f, " ,") {
			t.Errorf("feature %q", f)
		}
	}
}

// TestMemoryCgroupTree: the limit is the lowest of physical memory and the
// limits of the process's own cgroup and every cgroup above it, v1 and v2,
// as /proc/self/cgroup names them; "max" and v1's near-2^63 mean none.
func TestMemoryCgroupTree(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("meminfo", "MemTotal:       33554432 kB\n") // 32 GiB
	write("cg/memory.max", "max\n")
	write("cg/unified/memory.max", "max\n")
	meminfo, self, cg := filepath.Join(root, "meminfo"), filepath.Join(root, "self"), filepath.Join(root, "cg")
	check := func(what string, want int64) {
		t.Helper()
		if got, ok := memoryFrom(meminfo, self, cg); !ok || got != want {
			t.Errorf("%s: Memory = %d, %v; want %d", what, got, ok, want)
		}
	}
	write("self", "0::/user.slice/job\n")
	check("no limits", 32<<30)
	write("cg/user.slice/job/memory.max", "8589934592\n")
	check("v2 own cgroup", 8<<30)
	write("cg/user.slice/memory.max", "4294967296\n")
	check("v2 parent lower", 4<<30)
	write("self", "12:cpu,cpuacct:/\n4:memory:/process_api/649d\n0::/\n")
	write("cg/memory/memory.limit_in_bytes", "9223372036854771712\n")
	write("cg/memory/process_api/649d/memory.limit_in_bytes", "2147483648\n")
	check("v1 own cgroup", 2<<30)
	write("self", "0::/elsewhere\n")
	check("another cgroup", 32<<30)
	if _, ok := memoryFrom(filepath.Join(root, "none"), filepath.Join(root, "none"), filepath.Join(root, "none")); ok {
		t.Error("ok with nothing to read")
	}
}
