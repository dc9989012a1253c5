#!/bin/sh
# Regenerates the amd64 assembly of package asm with avo and fails when the
# result differs from the committed files (run from anywhere; CI calls it).
set -eu
cd "$(dirname "$0")"
go run . -out ../simd_amd64.s -stubs ../simd_stubs_amd64.go -pkg asm
cd ..
if ! git diff --exit-code -- simd_amd64.s simd_stubs_amd64.go; then
	echo "asm/_gen/check.sh: regenerated assembly differs from the committed files; run 'go generate ./asm' and commit" >&2
	exit 1
fi
echo "asm/_gen/check.sh: generated assembly is up to date"
