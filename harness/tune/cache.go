package tune

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/attnbench/attnbench/harness/machine"
	"github.com/attnbench/attnbench/variants"
)

// Cache is the content of one tuning cache file: the choices of one kernel
// set on one machine, by one build of attnbench.
type Cache struct {
	CPU      string    `json:"cpu"`
	Cores    int       `json:"cores"`
	GOARCH   string    `json:"goarch"`
	Kernels  string    `json:"kernels"`
	Version  string    `json:"attnbench"`
	N        int       `json:"n"`
	Measured time.Time `json:"measured"`
	Choices  []Entry   `json:"choices"`
}

// Entry is one case's choice as the cache file holds it.
type Entry struct {
	Engine variants.Engine `json:"engine"`
	D      int             `json:"d"`
	Causal bool            `json:"causal"`
	BQ     int             `json:"bq,omitempty"`
	BK     int             `json:"bk"`
	// Pass is flash's loop order (variants.Tiles.Pass), 0 for the other
	// engines.
	Pass        int     `json:"pass,omitempty"`
	DefaultBQ   int     `json:"default_bq,omitempty"`
	DefaultBK   int     `json:"default_bk"`
	DefaultPass int     `json:"default_pass,omitempty"`
	DefaultNs   float64 `json:"default_ns"`
	BestNs      float64 `json:"best_ns"`
	Noise       float64 `json:"noise"`
}

// Changed reports whether the entry differs from the default.
func (e Entry) Changed() bool {
	return e.BQ != e.DefaultBQ || e.BK != e.DefaultBK || e.Pass != e.DefaultPass
}

// cacheKey is what a cache file is specific to, besides the attnbench
// version (which is checked inside, so that a stale file is reported rather
// than silently passed over).
func cacheKey(cpu string, cores int, goarch, kernels string) string {
	return fmt.Sprintf("%s|%d|%s|%s", cpu, cores, goarch, kernels)
}

// CachePath returns the tuning cache file of kernel set kernels on this
// machine: beside the peak cache (machine.CachePath), in the user's cache
// directory ($XDG_CACHE_HOME/attnbench, else ~/.cache/attnbench on Linux),
// one file per CPU model, core count, architecture and kernel set.
func CachePath(kernels string) (string, error) {
	return machine.CacheFile("tune", cacheKey(machine.CPUModel(), machine.Cores(), runtime.GOARCH, kernels))
}

// NewCache returns the cache of the choices of kernel set kernels, for this
// machine and build.
func NewCache(kernels string, n int, choices []Choice) Cache {
	c := Cache{
		CPU: machine.CPUModel(), Cores: machine.Cores(), GOARCH: runtime.GOARCH, Kernels: kernels,
		Version: machine.Version(), N: n, Measured: time.Now().UTC().Truncate(time.Second),
	}
	for _, ch := range choices {
		if ch.Kernels != kernels {
			continue
		}
		c.Choices = append(c.Choices, Entry{
			Engine: ch.Engine, D: ch.D, Causal: ch.Causal,
			BQ: ch.Tiles.BQ, BK: ch.Tiles.BK, Pass: ch.Tiles.Pass,
			DefaultBQ: ch.Default.BQ, DefaultBK: ch.Default.BK, DefaultPass: ch.Default.Pass,
			DefaultNs: ch.DefaultNs, BestNs: ch.BestNs, Noise: ch.Noise,
		})
	}
	return c
}

// Save writes c to its cache file, replacing it atomically (a reader sees
// the old file or the new one, never half of one).
func Save(c Cache) (string, error) {
	path, err := CachePath(c.Kernels)
	if err != nil {
		return "", err
	}
	return path, machine.WriteCache(path, c)
}

// Load reads the tuning cache of kernel set kernels. It returns nil (the
// defaults) when there is none, and also, with a note saying why, when the
// file is unreadable, corrupt, made by another attnbench version (stale),
// or for another CPU model, core count, architecture or kernel set
// (foreign): a bad cache costs speed, never a run.
func Load(kernels string) (c *Cache, path, note string) {
	path, err := CachePath(kernels)
	if err != nil {
		return nil, "", fmt.Sprintf("no tuning cache directory (%v): the default tiles are used", err)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, path, ""
	}
	ignored := func(why string) (*Cache, string, string) {
		return nil, path, fmt.Sprintf("tuning cache %s ignored: %s; the default tiles are used (run attnbench tune)", path, why)
	}
	if err != nil {
		return ignored(err.Error())
	}
	var cc Cache
	if err := json.Unmarshal(b, &cc); err != nil {
		return ignored("corrupt: " + err.Error())
	}
	if got, want := cacheKey(cc.CPU, cc.Cores, cc.GOARCH, cc.Kernels), cacheKey(machine.CPUModel(), machine.Cores(), runtime.GOARCH, kernels); got != want {
		return ignored(fmt.Sprintf("made for %q, this is %q", got, want))
	}
	if v := machine.Version(); cc.Version != v {
		return ignored(fmt.Sprintf("stale: made by attnbench %s, this is %s", cc.Version, v))
	}
	if err := cc.check(); err != nil {
		return ignored("corrupt: " + err.Error())
	}
	return &cc, path, ""
}

// maxTile bounds a cached tile size: far above any candidate, far below
// sizes whose workspace would overflow.
const maxTile = 1 << 16

// check validates the entries, so that a hand-edited or damaged file never
// reaches Forward.
func (c *Cache) check() error {
	seen := map[variants.TileKey]bool{}
	for i, e := range c.Choices {
		switch {
		case e.Engine == EngineDecode:
			// One decode case per file (the duplicate check below), as
			// Cases makes it: its BK is a distance, and nothing else is set.
			if e.D != decodeD || !e.Causal || e.BQ != 0 || e.BK < 1 || e.BK > maxTile || e.Pass != 0 {
				return fmt.Errorf("choice %d: the decode choice must be d=%d, causal, a prefetch distance of 1..%d rows and nothing else (has d=%d causal=%t bq=%d bk=%d pass=%d)",
					i, decodeD, maxTile, e.D, e.Causal, e.BQ, e.BK, e.Pass)
			}
		case !slices.Contains(variants.Engines(), e.Engine):
			return fmt.Errorf("choice %d: unknown engine %q", i, e.Engine)
		case e.D < 1 || e.D > maxTile:
			return fmt.Errorf("choice %d: d=%d", i, e.D)
		case e.BQ < 0 || e.BQ > maxTile || e.BK < 1 || e.BK > maxTile:
			return fmt.Errorf("choice %d: tiles %d×%d out of range", i, e.BQ, e.BK)
		case e.Engine != variants.EngineBlock && e.BQ < 1:
			return fmt.Errorf("choice %d: %s needs a query tile", i, e.Engine)
		case e.Engine == variants.EngineFlash && (e.Pass < 0 || e.Pass > variants.MaxFlashPass):
			return fmt.Errorf("choice %d: flash pass %d out of range 0..%d", i, e.Pass, variants.MaxFlashPass)
		case e.Engine != variants.EngineFlash && e.Pass != 0:
			return fmt.Errorf("choice %d: a pass (loop order) is flash's only, %s has %d", i, e.Engine, e.Pass)
		}
		k := variants.TileKey{Engine: e.Engine, D: e.D, Causal: e.Causal}
		if seen[k] {
			return fmt.Errorf("choice %d: %s d=%d causal=%t listed twice", i, e.Engine, e.D, e.Causal)
		}
		seen[k] = true
	}
	return nil
}

// Tuning returns what Forward is to use from c: the choices that differ
// from the defaults, named by a hash of them (nil when there are none, so
// that a tuning that changes nothing reads as none).
func (c *Cache) Tuning() *variants.Tuning {
	if c == nil {
		return nil
	}
	t := &variants.Tuning{Kernels: c.Kernels, Tiles: map[variants.TileKey]variants.Tiles{}}
	var lines []string
	for _, e := range c.Choices {
		if !e.Changed() {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s/%d/%t/%d/%d/%d", e.Engine, e.D, e.Causal, e.BQ, e.BK, e.Pass))
		if e.Engine == EngineDecode {
			t.PrefetchRows = e.BK
			continue
		}
		t.Tiles[variants.TileKey{Engine: e.Engine, D: e.D, Causal: e.Causal}] = variants.Tiles{BQ: e.BQ, BK: e.BK, Pass: e.Pass}
	}
	if len(lines) == 0 {
		return nil
	}
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(c.Kernels + "\n" + strings.Join(lines, "\n")))
	t.Name = fmt.Sprintf("%s-%x", c.Kernels, sum[:4])
	return t
}

// Changed counts the choices that differ from the defaults.
func (c *Cache) Changed() int {
	n := 0
	for _, e := range c.Choices {
		if e.Changed() {
			n++
		}
	}
	return n
}
