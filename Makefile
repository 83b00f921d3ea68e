# Outpost — the two commands are `make demo` and `make test`.
SWIFT ?= swift
SWIFT_BUILD_FLAGS ?=
BENCH_ARGS ?=

.PHONY: all deps build test lint format demo bench clean

all: build

deps:
	@scripts/install-deps

build: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

# Tests run optimised: the model-based journal tests replay thousands of seeded crash sequences,
# which take minutes unoptimised and seconds optimised. Assertions stay on (preconditions are
# kept at -O) and @testable imports keep working through -enable-testing.
TEST_FLAGS ?= -c release -Xswiftc -enable-testing

## Builds, runs the whole test suite, then checks formatting.
test: deps
	$(SWIFT) build --build-tests $(TEST_FLAGS) $(SWIFT_BUILD_FLAGS)
	$(SWIFT) test --skip-build --disable-xctest $(TEST_FLAGS) $(SWIFT_BUILD_FLAGS)
	$(MAKE) lint

lint:
	$(SWIFT) format lint --strict --recursive --parallel Package.swift Sources Tests Benchmarks/Package.swift Benchmarks/Sources

format:
	$(SWIFT) format format --in-place --recursive --parallel Package.swift Sources Tests Benchmarks/Package.swift Benchmarks/Sources

## Until the station exists, the demo shows the journal surviving kill -9.
demo: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)
	scripts/journal-demo

## Journal against raw pwrite+fdatasync and SQLite WAL; prints the table for docs/benchmarks.md.
bench: deps
	cd Benchmarks && $(SWIFT) run -c release journal-bench $(BENCH_ARGS)

clean:
	rm -rf .build Benchmarks/.build
