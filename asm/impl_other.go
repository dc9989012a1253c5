//go:build purego || !(amd64 || arm64)

package asm

// Without assembly (the purego tag, or an architecture with no SIMD set)
// only the generic kernels exist.
