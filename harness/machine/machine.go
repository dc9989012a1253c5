// Package machine describes the machine a benchmark runs on: its CPU and
// the features that matter to the kernels, its memory, the build of
// attnbench, and its measured FMA peak and memory bandwidth (cached per
// machine, so %peak costs nothing after the first run).
package machine

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/klauspost/cpuid/v2"

	"github.com/attnbench/attnbench/asm"
)

// CPUModel returns the CPU's brand name, or the architecture when the CPU
// does not report one (emulators, some ARM boards).
func CPUModel() string {
	if b := strings.TrimSpace(cpuid.CPU.BrandName); b != "" {
		return b
	}
	return "unknown " + runtime.GOARCH + " CPU"
}

// Features returns the CPU features that decide which kernel sets can run
// here, as asm names them.
func Features() []string { return asm.Features() }

// Cores returns the logical cores Go may run on (GOMAXPROCS), which is
// what "all threads" means everywhere in attnbench.
func Cores() int { return runtime.GOMAXPROCS(0) }

// FallbackMemory is assumed when the memory of the machine cannot be read.
const FallbackMemory = 4 << 30

// Memory returns the memory this process may use: physical memory
// (/proc/meminfo MemTotal), or the lowest cgroup limit when lower (a
// container or a Kubernetes pod is killed at its limit, not at the host's
// memory). The limits read are those of the process's own cgroup and of
// every cgroup above it, named by /proc/self/cgroup: memory.max (cgroup
// v2, also under unified/ on hybrid hosts) and memory.limit_in_bytes (v1).
// ok is false when nothing could be read; the result is then
// FallbackMemory.
func Memory() (bytes int64, ok bool) {
	return memoryFrom("/proc/meminfo", "/proc/self/cgroup", "/sys/fs/cgroup")
}

func memoryFrom(meminfo, selfCgroup, cgroupRoot string) (int64, bool) {
	total, ok := memTotal(meminfo)
	for _, p := range cgroupLimitFiles(selfCgroup, cgroupRoot) {
		if lim, found := cgroupLimit(p); found && (!ok || lim < total) {
			total, ok = lim, true
		}
	}
	if !ok {
		return FallbackMemory, false
	}
	return total, true
}

// cgroupLimitFiles lists the memory limit files that apply to this
// process: for each cgroup line of selfCgroup ("0::/a/b" for v2,
// "4:memory:/a/b" for v1's memory controller), the file of /a/b, /a and
// the root, under cgroupRoot. The root files are listed even when
// selfCgroup cannot be read (inside a cgroup namespace the process's
// cgroup is the root).
func cgroupLimitFiles(selfCgroup, cgroupRoot string) []string {
	v2 := []string{"."}
	v1 := []string{"."}
	if b, err := os.ReadFile(selfCgroup); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			parts := strings.SplitN(line, ":", 3)
			if len(parts) != 3 {
				continue
			}
			switch {
			case parts[0] == "0" && parts[1] == "":
				v2 = append(v2, ancestors(parts[2])...)
			case slices.Contains(strings.Split(parts[1], ","), "memory"):
				v1 = append(v1, ancestors(parts[2])...)
			}
		}
	}
	var files []string
	for _, dir := range v2 {
		files = append(files, filepath.Join(cgroupRoot, dir, "memory.max"), filepath.Join(cgroupRoot, "unified", dir, "memory.max"))
	}
	for _, dir := range v1 {
		files = append(files, filepath.Join(cgroupRoot, "memory", dir, "memory.limit_in_bytes"))
	}
	return files
}

// ancestors returns a cgroup path and every path above it, below the
// root: "/a/b" gives "/a/b", "/a".
func ancestors(p string) []string {
	var out []string
	for p = path.Clean("/" + p); p != "/"; p = path.Dir(p) {
		out = append(out, p)
	}
	return out
}

func memTotal(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil || kb <= 0 {
				return 0, false
			}
			return kb << 10, true
		}
	}
	return 0, false
}

// cgroupLimit reads a cgroup memory limit; "max" and the v1 "no limit"
// value (close to 2^63) mean none.
func cgroupLimit(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || v <= 0 || v >= 1<<60 {
		return 0, false
	}
	return v, true
}

// Version identifies this build of attnbench: the module version when it
// was installed from a tagged version, otherwise v0.0.0- and the VCS
// revision (12 digits, -dirty when modified), or v0.0.0-devel when the
// build carries no revision (go run, -buildvcs=false).
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "v0.0.0-devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return "v0.0.0-devel"
	}
	return fmt.Sprintf("v0.0.0-%.12s%s", rev, dirty)
}
