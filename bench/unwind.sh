#!/usr/bin/env bash
# bench/unwind.sh [BUILD_DIR] [ITERATIONS]: per-stack unwind cost of kiln's own unwinder.
#
# Unwinds a ~40 KiB stack of 300+ frames compiled -O2 -fomit-frame-pointer (CFI only) that
# the benchmark copies from itself, ITERATIONS times with warm caches (the profiler's steady
# state), and prints ns per unwind and per frame. The budget (DESIGN.md §5) is 10 µs for the
# whole per-sample path on a 32 KiB stack.
set -euo pipefail
build=${1:-build}
iters=${2:-10000}
bin="$build/tests/unit/unwind/unwind_bench"
if [ ! -x "$bin" ]; then
	cmake --build "$build" --target unwind_bench >/dev/null
fi
"$bin" "$iters"
