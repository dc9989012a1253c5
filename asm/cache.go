package asm

import "github.com/klauspost/cpuid/v2"

// CacheBytes is the size of the largest cache cpuid reports (the L3 on
// most x86 parts, shared by its cores), or 32 MiB when it reports none.
// Kernels that may bypass the caches (ScatterRows's streaming stores) are
// worth it only for arrays that outgrow it.
func CacheBytes() int {
	for _, c := range []int{cpuid.CPU.Cache.L3, cpuid.CPU.Cache.L2} {
		if c > 0 {
			return c
		}
	}
	return 32 << 20
}
