# Thin wrapper over CMake + ctest. The README's two commands are `make demo` and `make test`.
BUILD   ?= build
ASAN    ?= build-asan
FUZZB   ?= build-fuzz
JOBS    ?= $(shell nproc)
FUZZ_SECONDS ?= 20
CMAKE_FLAGS ?=

.PHONY: all build deps test unit asan fuzz fuzz-smoke demo bench install clean format

all: build

deps:
	@tools/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# The whole suite on the normal build, the fuzz smoke runs, then the whole suite again built
# with AddressSanitizer + UndefinedBehaviorSanitizer.
test: deps
	$(MAKE) build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)
	$(MAKE) fuzz-smoke
	$(MAKE) asan

unit: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) -L unit

asan:
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DKILN_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN) -j$(JOBS)
	ctest --test-dir $(ASAN) --output-on-failure -j$(JOBS)

# libFuzzer builds of every fuzz target (clang), each run for FUZZ_SECONDS on its corpus.
fuzz-smoke:
	CC=clang CXX=clang++ cmake -S . -B $(FUZZB) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DKILN_FUZZ=ON -DKILN_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(FUZZB) -j$(JOBS) --target fuzzers
	tools/fuzz-run.sh $(FUZZB) $(FUZZ_SECONDS)

fuzz: FUZZ_SECONDS=600
fuzz: fuzz-smoke

demo: deps build
	tools/demo.sh $(BUILD)

bench: deps
	bench/run.sh

install: build
	cmake --install $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZB)
