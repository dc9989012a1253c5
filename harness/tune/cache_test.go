package tune

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attnbench/attnbench/harness/machine"
	"github.com/attnbench/attnbench/variants"
)

// tempCache points the user cache directory at a fresh temporary one.
func tempCache(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", dir)
	t.Setenv("HOME", dir) // where XDG_CACHE_HOME is not consulted (macOS)
	return dir
}

func sampleChoices() []Choice {
	def := variants.DefaultTiles(variants.EngineFlash, 64)
	return []Choice{
		{Case: Case{"avx2", variants.EngineFlash, 64, false}, Default: def, Tiles: variants.Tiles{BQ: 128, BK: 128, Pass: 1}, DefaultNs: 2e6, BestNs: 1.6e6, Noise: 0.01},
		{Case: Case{"avx2", variants.EngineFlash, 128, false}, Default: variants.DefaultTiles(variants.EngineFlash, 128), Tiles: variants.Tiles{BQ: 64, BK: 128, Pass: 4}, DefaultNs: 2e6, BestNs: 1.8e6},
		{Case: Case{"avx2", variants.EngineFlash, 64, true}, Default: def, Tiles: def, DefaultNs: 1e6, BestNs: 1e6, Noise: 0.02},
		{Case: Case{"avx2", variants.EngineBlock, 32, false}, Default: variants.DefaultTiles(variants.EngineBlock, 32), Tiles: variants.Tiles{BK: 512}, DefaultNs: 1e6, BestNs: 0.9e6},
		{Case: Case{"avx512", variants.EngineFlash, 64, false}, Default: def, Tiles: variants.Tiles{BQ: 32, BK: 256}, DefaultNs: 2e6, BestNs: 1e6},
	}
}

// TestCacheRoundTrip: what Save writes, Load reads back, as the tuning
// Forward is to use (the changed choices of that kernel set only).
func TestCacheRoundTrip(t *testing.T) {
	dir := tempCache(t)
	if c, _, note := Load("avx2"); c != nil || note != "" {
		t.Fatalf("empty cache: got %v, note %q; want nothing and no note", c, note)
	}
	path, err := Save(NewCache("avx2", 1024, sampleChoices()))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != filepath.Join(dir, "attnbench") {
		t.Errorf("cache file %s is not in %s/attnbench (beside the peak cache)", path, dir)
	}
	c, got, note := Load("avx2")
	if c == nil || note != "" || got != path {
		t.Fatalf("Load: cache %v, path %s, note %q", c, got, note)
	}
	if len(c.Choices) != 4 || c.Changed() != 3 || c.N != 1024 {
		t.Errorf("cache holds %d choices (%d changed, n=%d), want 4 (3 changed, n=1024)", len(c.Choices), c.Changed(), c.N)
	}
	tun := c.Tuning()
	want := map[variants.TileKey]variants.Tiles{
		{Engine: variants.EngineFlash, D: 64}:  {BQ: 128, BK: 128, Pass: 1},
		{Engine: variants.EngineFlash, D: 128}: {BQ: 64, BK: 128, Pass: 4}, // a loop order only
		{Engine: variants.EngineBlock, D: 32}:  {BK: 512},
	}
	if tun == nil || tun.Kernels != "avx2" || len(tun.Tiles) != len(want) {
		t.Fatalf("tuning %+v, want kernels avx2 with %v", tun, want)
	}
	for k, v := range want {
		if tun.Tiles[k] != v {
			t.Errorf("tuning[%v] = %v, want %v", k, tun.Tiles[k], v)
		}
	}
	if !strings.HasPrefix(tun.Name, "avx2-") || len(tun.Name) != len("avx2-")+8 {
		t.Errorf("tuning name %q, want avx2- and 8 hex digits", tun.Name)
	}
	// Another kernel set has its own file.
	if c, _, _ := Load("avx512"); c != nil {
		t.Errorf("avx512 has a cache although only avx2 was saved")
	}
}

// TestTuningName: the name follows the choices that differ from the
// defaults, and a cache that changes nothing names no tuning.
func TestTuningName(t *testing.T) {
	a := NewCache("avx2", 512, sampleChoices())
	b := NewCache("avx2", 512, sampleChoices())
	b.Choices[0].BK = 64
	if a.Tuning().Name == b.Tuning().Name {
		t.Errorf("different choices, same name %s", a.Tuning().Name)
	}
	c := NewCache("avx2", 512, sampleChoices())
	c.Choices[1].Noise = 0.5 // not a choice: same name
	if a.Tuning().Name != c.Tuning().Name {
		t.Errorf("same choices, names %s and %s", a.Tuning().Name, c.Tuning().Name)
	}
	d := NewCache("avx2", 512, sampleChoices())
	d.Choices[1].Pass = 2 // another loop order, same tiles: another name
	if a.Tuning().Name == d.Tuning().Name {
		t.Errorf("different loop orders, same name %s", a.Tuning().Name)
	}
	kept := NewCache("avx2", 512, sampleChoices()[2:3])
	if kept.Tuning() != nil {
		t.Errorf("a cache that keeps every default gives tuning %+v, want none", kept.Tuning())
	}
}

// TestSaveAtomic: Save replaces the file whole and leaves no temporary
// file behind; a failed save leaves the old file as it was.
func TestSaveAtomic(t *testing.T) {
	dir := tempCache(t)
	first := NewCache("avx2", 256, sampleChoices())
	path, err := Save(first)
	if err != nil {
		t.Fatal(err)
	}
	second := NewCache("avx2", 2048, sampleChoices()[:1])
	if _, err := Save(second); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "attnbench"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != filepath.Base(path) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("cache directory holds %v, want only %s", names, filepath.Base(path))
	}
	c, _, note := Load("avx2")
	if c == nil || c.N != 2048 || len(c.Choices) != 1 {
		t.Fatalf("after the second save: %+v (note %q), want the second cache", c, note)
	}
	// A save that cannot complete (the target is a directory, so the
	// rename fails) must leave the cache it could not replace intact.
	before, _ := os.ReadFile(path)
	other, err := CachePath("avx512")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Save(NewCache("avx512", 256, sampleChoices())); err == nil {
		t.Errorf("Save over a directory succeeded")
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Errorf("a failed save of another set changed the avx2 cache")
	}
	entries, _ = os.ReadDir(filepath.Join(dir, "attnbench"))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestLoadIgnoresBadCaches: a stale, foreign or corrupt cache file is
// ignored with a note naming the file and why, never an error or a panic.
func TestLoadIgnoresBadCaches(t *testing.T) {
	good := NewCache("avx2", 1024, sampleChoices())
	for _, tc := range []struct {
		name string
		edit func(c *Cache)
		raw  string // written as is instead of the edited cache
		why  string
	}{
		{name: "stale", edit: func(c *Cache) { c.Version = "v0.0.1-old" }, why: "stale: made by attnbench v0.0.1-old"},
		{name: "other CPU", edit: func(c *Cache) { c.CPU = "Intel(R) Xeon(R) Platinum 8592+" }, why: "made for"},
		{name: "other core count", edit: func(c *Cache) { c.Cores = machine.Cores() + 6 }, why: "made for"},
		{name: "other kernel set", edit: func(c *Cache) { c.Kernels = "avx512" }, why: "made for"},
		{name: "other architecture", edit: func(c *Cache) { c.GOARCH = "riscv64" }, why: "made for"},
		{name: "not JSON", raw: "{\"cpu\": \"AMD", why: "corrupt"},
		{name: "binary junk", raw: "\x00\x01\x02", why: "corrupt"},
		{name: "negative tile", edit: func(c *Cache) { c.Choices[0].BK = -4 }, why: "corrupt: choice 0: tiles"},
		{name: "huge tile", edit: func(c *Cache) { c.Choices[0].BQ = 1 << 40 }, why: "corrupt: choice 0: tiles"},
		{name: "unknown engine", edit: func(c *Cache) { c.Choices[1].Engine = "warp" }, why: "unknown engine"},
		{name: "no query tile", edit: func(c *Cache) { c.Choices[0].BQ = 0 }, why: "needs a query tile"},
		{name: "zero d", edit: func(c *Cache) { c.Choices[2].D = 0 }, why: "d=0"},
		{name: "duplicate", edit: func(c *Cache) { c.Choices[2] = c.Choices[0] }, why: "listed twice"},
		{name: "pass too long", edit: func(c *Cache) { c.Choices[1].Pass = variants.MaxFlashPass + 1 }, why: "flash pass 9 out of range"},
		{name: "negative pass", edit: func(c *Cache) { c.Choices[1].Pass = -1 }, why: "flash pass -1 out of range"},
		{name: "pass on the block engine", edit: func(c *Cache) { c.Choices[3].Pass = 2 }, why: "flash's only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tempCache(t)
			path, err := CachePath("avx2")
			if err != nil {
				t.Fatal(err)
			}
			b := []byte(tc.raw)
			if tc.edit != nil {
				c := good
				c.Choices = append([]Entry(nil), good.Choices...)
				tc.edit(&c)
				if b, err = json.Marshal(c); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			c, _, note := Load("avx2")
			if c != nil {
				t.Errorf("loaded %+v", c)
			}
			if !strings.Contains(note, "ignored") || !strings.Contains(note, path) || !strings.Contains(note, tc.why) {
				t.Errorf("note %q; want it to name %s and say %q", note, path, tc.why)
			}
		})
	}
	// The unedited cache loads, so the cases above fail for their edit.
	tempCache(t)
	if _, err := Save(good); err != nil {
		t.Fatal(err)
	}
	if c, _, note := Load("avx2"); c == nil || note != "" {
		t.Errorf("the good cache did not load: note %q", note)
	}
}
