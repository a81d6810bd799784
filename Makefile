# pipe — the README's two commands are `make phase2` and `make test`.
# Everything fetched or built lands in git-ignored .cache/ and bin/.
GO     ?= go
# go-nvml's header marks functions deprecated that it still wraps: quiet cgo.
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations
PIPE   := bin/pipe
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
PLUGIN_SRCS := $(wildcard plugins/*/main.go examples/*/main.go)

.PHONY: all setup build plugins phase1 phase2 phase3 phase4 phase5 phases test bench clean

all: build

setup:
	$(GO) run ./cmd/pipe setup

build:
	$(GO) build -ldflags "-X github.com/pipe-bench/pipe/host/cli.Version=$(VERSION)" -o $(PIPE) ./cmd/pipe

# Builds every first-party and example plugin to .cache/plugins/NAME.wasm.
plugins: build
	@for d in $(dir $(PLUGIN_SRCS)); do $(PIPE) plugin build $$d || exit 1; done

phase1 phase2 phase3 phase4 phase5: setup build plugins
	$(PIPE) run $(wildcard pipelines/$@-*.toml)

phases: setup build plugins
	PIPE=$(PIPE) examples/run-phases.sh

test: setup build plugins
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

bench: setup build
	$(PIPE) bench --out data/bench

clean:
	rm -rf bin data
