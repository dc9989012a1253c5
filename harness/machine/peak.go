package machine

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/attnbench/attnbench/asm"
	"github.com/attnbench/attnbench/internal/atomicfile"
)

// Peak is the measured capability of this machine for one kernel set.
type Peak struct {
	CPU       string    `json:"cpu"`
	Kernels   string    `json:"kernels"`
	Method    string    `json:"method"`
	Cores     int       `json:"cores"`
	GFLOPS1   float64   `json:"gflops_1_thread"`
	GFLOPSAll float64   `json:"gflops_all_threads"`
	Bandwidth float64   `json:"bandwidth_gb_per_s"` // streaming read far beyond the last-level cache
	Measured  time.Time `json:"measured"`
}

// For returns the peak that a run on threads goroutines (0 = all cores)
// can reach: the one-thread peak times threads, at most the all-threads
// peak. 0 when unknown.
func (p Peak) For(threads int) float64 {
	if threads <= 0 || threads >= p.Cores {
		return p.GFLOPSAll
	}
	return min(p.GFLOPSAll, float64(threads)*p.GFLOPS1)
}

// MeasurePeak measures the FMA throughput of kernel set k on one thread and
// on all cores, and the memory bandwidth, each for about dur.
func MeasurePeak(k *asm.Kernels, dur time.Duration) Peak {
	return Peak{
		CPU:       CPUModel(),
		Kernels:   k.Name,
		Method:    Method(k.Name),
		Cores:     Cores(),
		GFLOPS1:   measurePeak(k, 1, dur),
		GFLOPSAll: measurePeak(k, Cores(), dur),
		Bandwidth: measureBandwidth(dur),
		Measured:  time.Now().UTC().Truncate(time.Second),
	}
}

// CachePath returns the file that caches the peak of kernel set kernels on
// this machine: one file per CPU model, core count, kernel set and
// measurement method, under the user's cache directory.
func CachePath(kernels string) (string, error) {
	return CacheFile("peak", fmt.Sprintf("%s|%d|%s|%s|%s", CPUModel(), Cores(), runtime.GOARCH, kernels, Method(kernels)))
}

// CacheFile returns the cache file named prefix for key (what the cached
// value depends on): prefix-<hash of key>.json in attnbench's directory of
// the user's cache directory ($XDG_CACHE_HOME/attnbench, else
// ~/.cache/attnbench on Linux).
func CacheFile(prefix, key string) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(dir, "attnbench", fmt.Sprintf("%s-%x.json", prefix, sum[:8])), nil
}

// WriteCache writes v as indented JSON to the cache file path, creating its
// directory and replacing the file atomically (a reader sees the old file
// or the new one, never half of one).
func WriteCache(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'))
}

// CachedPeak returns the cached peak of kernel set kernels; ok is false
// when none has been measured on this machine.
func CachedPeak(kernels string) (p Peak, ok bool, err error) {
	path, err := CachePath(kernels)
	if err != nil {
		return p, false, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, false, fmt.Errorf("%s: %v (delete it or run attnbench peak)", path, err)
	}
	if p.Kernels != kernels || p.GFLOPS1 <= 0 || p.GFLOPSAll <= 0 {
		return p, false, fmt.Errorf("%s: not a peak of kernel set %s (delete it or run attnbench peak)", path, kernels)
	}
	return p, true, nil
}

// SavePeak writes p to its cache file, replacing it atomically.
func SavePeak(p Peak) (string, error) {
	path, err := CachePath(p.Kernels)
	if err != nil {
		return "", err
	}
	return path, WriteCache(path, p)
}
