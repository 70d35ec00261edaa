# cascade's build and test entry points. `make test` is the README's test
# command and what .ci/run calls.
export TESTCONTAINERS_RYUK_DISABLED := true
GO ?= go
GOFLAGS_TEST ?= -count=1
PKGS ?= ./...

.PHONY: all build test test-short test-containers bench fuzz images vet clean-leftovers

all: build

build:
	$(GO) build ./...
	$(GO) build -o bin/cascade ./cmd/cascade
	$(GO) build -o bin/mockaws ./cmd/mockaws

vet:
	$(GO) vet $(PKGS)

# Every unit test, fuzz seed corpus and Ginkgo suite on the embedded backend.
test: vet
	$(GO) test $(GOFLAGS_TEST) -timeout 20m $(PKGS)

# The suites again on the containers backend (needs a Docker engine).
test-containers:
	CASCADE_BACKEND=containers $(GO) test $(GOFLAGS_TEST) -timeout 30m ./suites/...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m $(PKGS)

# Short fuzzing of every decoder; FUZZTIME=5m for nightly runs.
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

images:
	$(GO) run ./cmd/cascade images

clean-leftovers:
	$(GO) run ./cmd/cascade clean
