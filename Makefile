# attnbench — common tasks. Everything here also works as plain go commands;
# see the README.

GO ?= go

.PHONY: all build test race lint bench parity

all: build test

build:
	$(GO) build -o bin/attnbench ./cmd/attnbench

# The README's test command.
test:
	$(GO) test ./...

# The parallel paths under the race detector.
race:
	$(GO) test -race ./variants/... ./harness/...

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	GOARCH=arm64 $(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 5x ./variants/ ./asm/

parity:
	$(GO) run ./cmd/attnbench parity

# The regression gate: make gate BASE=<ref>, make gate-baseline, make gate-baseline-refresh.
include Makefile.gate
