# Outpost — the two commands are `make demo` and `make test`.
SWIFT ?= swift
SWIFT_BUILD_FLAGS ?=
BENCH_ARGS ?=
WIRE_BENCH_ARGS ?=

.PHONY: all deps build test lint format demo journal-demo bench journal-bench wire-bench agent-footprint agent-hot-functions fuzz deb package-test clean

all: build

deps:
	@scripts/install-deps

build: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

# Tests run optimised: the model-based journal tests replay thousands of seeded crash sequences,
# which take minutes unoptimised and seconds optimised. Assertions stay on (preconditions are
# kept at -O) and @testable imports keep working through -enable-testing.
TEST_FLAGS ?= -c release -Xswiftc -enable-testing

## Builds, runs the whole test suite, then checks formatting. The PostgreSQL store's tests run
## against a private server (scripts/postgres-test-server), stopped again however the tests end;
## OUTPOST_SKIP_POSTGRES=1 leaves it out.
test: deps
	$(SWIFT) build --build-tests $(TEST_FLAGS) $(SWIFT_BUILD_FLAGS)
	if [ "$${OUTPOST_SKIP_POSTGRES:-}" != 1 ]; then \
	  pg=$$(mktemp -d /tmp/outpost-pg-XXXXXX) && trap 'scripts/postgres-test-server stop "$$pg"' EXIT && trap 'exit 1' INT TERM && \
	  server=$$(scripts/postgres-test-server "$$pg") && export "$$server" || exit 1; \
	fi; \
	SWIFT="$(SWIFT)" scripts/run-tests --skip-build --disable-xctest $(TEST_FLAGS) $(SWIFT_BUILD_FLAGS)
	$(MAKE) lint

lint:
	$(SWIFT) format lint --strict --recursive --parallel Package.swift Sources Tests Benchmarks/Package.swift Benchmarks/Sources Benchmarks/Benchmarks Fuzz/Package.swift Fuzz/Sources

format:
	$(SWIFT) format format --in-place --recursive --parallel Package.swift Sources Tests Benchmarks/Package.swift Benchmarks/Sources Benchmarks/Benchmarks Fuzz/Package.swift Fuzz/Sources

## The README's main job: a station and three simulated boxes on loopback, an SOS pressed,
## the alert at the station, the officer's acknowledgement back on the box; runs until Ctrl-C.
demo: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)
	SWIFT="$(SWIFT)" scripts/demo

## A field box's journal surviving kill -9.
journal-demo: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)
	scripts/journal-demo

## Every benchmark: the journal's, then the wire protocol's. Figures go to docs/benchmarks.md.
bench: journal-bench wire-bench

## Journal against raw pwrite+fdatasync and SQLite WAL; prints the table for docs/benchmarks.md.
journal-bench: deps
	cd Benchmarks && $(SWIFT) run -c release journal-bench $(BENCH_ARGS)

## Wire sizes against the bars (beside Codec 8 and JT/T 808) and codec speed (wire-bench);
## allocations per batch from ordo-one's harness (WireCodec), then per record from wire-bench
## under the same malloc interposer, which the harness builds.
wire-bench: deps
	cd Benchmarks && $(SWIFT) run -c release wire-bench $(WIRE_BENCH_ARGS)
	cd Benchmarks && $(SWIFT) package benchmark --target WireCodec --no-progress
	cd Benchmarks && LD_PRELOAD="$$($(SWIFT) build -c release --show-bin-path)/libMallocInterposerSwift.so" \
		"$$($(SWIFT) build -c release --show-bin-path)/wire-bench" --allocations

## The agent's footprint against the brief's bars (docs/benchmarks.md, "Agent footprint"):
## stripped static size, no Foundation, idle CPU and wake-ups, RSS idle / after an
## hour-equivalent / under 100 records/s. About 6 minutes; FOOTPRINT_ARGS=--check exits 1 on a
## failed bar, FOOTPRINT_ARGS=--enrolled measures an enrolled agent whose station is unreachable,
## FOOTPRINT_ARGS="--run-as nobody" (as root) an agent running from a binary it does not own.
FOOTPRINT_ARGS ?=
agent-footprint: deps
	SWIFT="$(SWIFT)" scripts/agent-footprint $(FOOTPRINT_ARGS)

## Re-profiles the running agent and rewrites Sources/outpostd/hot-functions.txt, the functions
## lld places together at the start of outpostd's code (docs/agent.md, "How outpostd is
## linked"). Needs perf (linux-perf) and root; run it after changing what a running agent does.
agent-hot-functions: deps
	$(SWIFT) build -c release --static-swift-stdlib --product outpostd --scratch-path .build-footprint-static
	$(SWIFT) build -c release --product outpost-station
	scripts/agent-hot-functions

## The station's bars (docs/benchmarks.md, "Station: SOS latency and ingest"): SOS latency
## through the real outpostd and outpost-station on loopback, idle and while 100,000 records
## drain; ingest from 1,000 simulated TLS boxes on SQLite and PostgreSQL beside in-process
## baselines. Builds release into its own scratch path; a few minutes.
## STATION_BENCH_ARGS=--check exits 1 on a failed bar.
STATION_BENCH_ARGS ?=
.PHONY: station-bench
station-bench: deps
	SWIFT="$(SWIFT)" scripts/station-bench $(STATION_BENCH_ARGS)

## libFuzzer on the stream decoder and on datagram opening, SECONDS each (Fuzz/README.md).
SECONDS ?= 60
fuzz:
	SWIFT="$(SWIFT)" scripts/fuzz --seconds $(SECONDS)

## The Debian packages outpost-agent and outpost-station (packaging/README.md): release builds
## with the Swift runtime linked in, checked by lintian (an error or a warning fails); they end
## in .build-deb/out.
deb:
	SWIFT="$(SWIFT)" scripts/build-deb

## Builds the packages, installs them with apt on a booted Debian 12 (debootstrap, cached in
## .build-package-test/; systemd-nspawn) and checks there what packaging/README.md lists:
## units, READY and STATUS, journald fields, enrollment, SOS and acknowledgement, the
## watchdog, upgrade, bad input, purge. Needs root (sudo). CI runs it.
package-test:
	SWIFT="$(SWIFT)" scripts/package-test

clean:
	rm -rf .build .build-deb .build-package-test .build-footprint .build-footprint-static .build-station-bench Benchmarks/.build Fuzz/.build Fuzz/.corpus Fuzz/.artifacts Fuzz/.logs
