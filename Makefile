# Thin wrapper around CMake.  `make` builds build/ombu; `make run` and
# `make test` are the two commands of INTERFACE.md.

BUILD       ?= build
SAN_BUILD   ?= build-san
JOBS        ?= $(shell nproc)
PYTEST      ?= /usr/bin/python3 -m pytest
CMAKE_FLAGS ?=
DEMO        ?= var/demo

ifeq ($(CI),true)
CMAKE_FLAGS += -DOMBU_WERROR=ON
endif

.PHONY: all build bootstrap run test unit integration san-test lint clean fuzz

all: build

build:
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

bootstrap:
	@scripts/bootstrap

run: bootstrap build
	@scripts/demo $(BUILD)/ombu $(DEMO)

lint:
	@scripts/lint

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

integration: build
	OMBU_BIN=$(CURDIR)/$(BUILD)/ombu $(PYTEST) -q -x tests/integration

# CI (CI=true) also builds with ASan+UBSan and runs the whole suite there.
test: bootstrap lint build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	OMBU_BIN=$(CURDIR)/$(BUILD)/ombu $(PYTEST) -q tests/integration
ifeq ($(CI),true)
	$(MAKE) san-test
endif

san-test:
	@cmake -S . -B $(SAN_BUILD) -DOMBU_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)
	OMBU_BIN=$(CURDIR)/$(SAN_BUILD)/ombu OMBU_SANITIZED=1 ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $(PYTEST) -q tests/integration

fuzz:
	@cmake -S . -B build-fuzz -DOMBU_FUZZ=ON -DCMAKE_C_COMPILER=clang >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

clean:
	rm -rf $(BUILD) $(SAN_BUILD) build-fuzz
