# pinbridge: the two commands a person needs are `make run` and `make test`.
# Both install missing Debian packages first (only the missing ones), then
# configure and build with Meson. Everything else is optional.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
BENCH_BUILD ?= build-bench
CONFIG     ?= pinbridge.ini
FUZZ_RUNS    ?= 200000
FUZZ_SECONDS ?= 300

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Build and test dependencies (Debian 12 package names).
PKGS := gcc make pkgconf meson ninja-build python3 curl \
	libcjson-dev nettle-dev libssl-dev libutf8proc-dev libsqlite3-dev \
	libmicrohttpd-dev libcurl4-openssl-dev libinih-dev \
	libcmocka-dev clang libclang-rt-14-dev \
	nodejs chromium
# Only for `make bench`.
BENCH_PKGS := nginx-light wrk

.PHONY: all deps bench-deps build run test unit asan fuzz-build fuzz-smoke \
	fuzz bench clean

all: build

deps:
	@PKGS="$(PKGS)" SUDO="$(SUDO)" sh tools/install-deps

bench-deps:
	@PKGS="$(BENCH_PKGS)" SUDO="$(SUDO)" sh tools/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	meson compile -C $(BUILD)

# Only the binary: starting the gateway should not wait for test builds.
run: deps $(BUILD)/build.ninja
	meson compile -C $(BUILD) pinbridge:executable
	@sh tools/run-demo $(BUILD)/pinbridge $(CONFIG)

# Unit and integration tests, then the same under ASan+UBSan, then a short
# fuzz smoke run; the last line is "N passed, N failed".
test: deps
	@sh tools/test-all

unit: build
	meson test -C $(BUILD) --print-errorlogs

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false

asan: deps $(ASAN_BUILD)/build.ninja
	meson compile -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C $(ASAN_BUILD) --print-errorlogs

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false

fuzz-build: deps $(FUZZ_BUILD)/build.ninja
	meson compile -C $(FUZZ_BUILD)

# The reproducible smoke `make test` runs: FUZZ_RUNS inputs per target
# from a fixed seed.
fuzz-smoke: fuzz-build
	@FUZZ_RUNS=$(FUZZ_RUNS) sh tools/fuzz-smoke $(FUZZ_BUILD)

# A campaign: FUZZ_SECONDS per target from a random seed; crash inputs
# are kept in $(FUZZ_BUILD)/fuzz-artifacts/.
fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tools/fuzz-smoke $(FUZZ_BUILD)

# Benchmarks measure the optimised build users deploy, not the -O2 -g
# development build.
$(BENCH_BUILD)/build.ninja:
	meson setup $(BENCH_BUILD) --buildtype=release

bench: deps bench-deps $(BENCH_BUILD)/build.ninja
	meson compile -C $(BENCH_BUILD)
	@sh bench/run-all $(BENCH_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(BENCH_BUILD)
