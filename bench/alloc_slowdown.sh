#!/usr/bin/env bash
# bench/alloc_slowdown.sh [BUILD_DIR] [--write]: what allocation profiling costs the program.
#
# Two programs (bench/alloc_app.c, 2 threads, a fixed number of allocate/fill/free rounds):
#   bare  kiln_bench_alloc_app 2 ROUNDS 0   allocation and little else, ~30 M allocations per
#                                            second per thread: the hook's worst case
#   use   kiln_bench_alloc_app 2 ROUNDS/3 1  the same, reading each new object once: still
#                                            millions of allocations per second per thread
# Each runs PAIRS times plain and PAIRS times under `kiln run --preset alloc_only` (default
# 512 KiB sampling period, profiles written to a directory), alternately, so that both see the
# same machine; the slowdown is the median of the per-pair ratios of the program's wall time
# and of its CPU time (user + sys of the program, which includes the hook; the profiler is
# another process). Then `--preset cpu_only` as the reference of kiln without allocation
# profiling, and Debian's heaptrack (a tracing heap profiler: every allocation recorded).
#
# Environment: PAIRS (default 7), ROUNDS (rounds per thread of "bare", default 20000000),
# HEAPTRACK_RUNS (default 1: heaptrack is 10 to 40 times slower). With --write, the results
# replace the "## allocation profiling slowdown" section of bench/RESULTS.md.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
build=$(cd "${1:-build}" && pwd)
write=${2:-}
pairs=${PAIRS:-7}
rounds=${ROUNDS:-20000000}
ht_runs=${HEAPTRACK_RUNS:-1}
cmake --build "$build" --target kiln kiln_preload kiln_bench_alloc_app >/dev/null
kiln=$build/src/kiln
app=$build/bench/kiln_bench_alloc_app
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# timed NAME CMD…: one run; appends "wall cpu" to $T/NAME and keeps its stdout in $T/NAME.out.
timed() {
	local name=$1
	shift
	/usr/bin/time -o "$T/t" -f "%e %U %S" "$@" >"$T/$name.out" 2>"$T/$name.err" ||
		{ cat "$T/$name.err" >&2; echo "bench: $name failed" >&2; exit 1; }
	awk '{ printf "%s %.3f\n", $1, $2 + $3 }' "$T/t" >>"$T/$name"
}
kiln_run() { # kiln_run NAME PRESET: one timed run of the app under kiln run, profiles in $T/out-PRESET
	rm -rf "$T/out-$2"
	timed "$1" "$kiln" run --preset "$2" -u 60 --output-dir "$T/out-$2" -- "$app" 2 $args
}
# ratio_median A B COLUMN: median over pairs of B/A (column 1 wall, 2 cpu), as a % slowdown.
ratio_median() {
	paste -d' ' "$T/$1" "$T/$2" | awk -v c="$3" '{ print 100 * ($(c + 2) / $c - 1) }' |
		bench_median | awk '{ printf "%+.1f", $1 }'
}
med() { cut -d' ' -f"$2" "$T/$1" | bench_median; }

# workload NAME ARGS…: the paired runs of one program; appends its table rows to $T/rows.
workload() {
	local name=$1
	shift
	args="$*"
	rm -f "$T/plain" "$T/alloc" "$T/cpu" "$T/heaptrack"
	echo "$name: $pairs pairs of kiln_bench_alloc_app 2 $args, load $(cut -d' ' -f1 /proc/loadavg)" >&2
	for ((i = 0; i < pairs; i++)); do
		if ((i % 2)); then
			kiln_run alloc alloc_only
			timed plain "$app" 2 $args
		else
			timed plain "$app" 2 $args
			kiln_run alloc alloc_only
		fi
		kiln_run cpu cpu_only
		echo "  pair $((i + 1)): plain $(tail -1 "$T/plain"), alloc_only $(tail -1 "$T/alloc")," \
			"cpu_only $(tail -1 "$T/cpu") (wall s, cpu s)" >&2
	done
	cmp -s "$T/plain.out" "$T/alloc.out" || { echo "bench: output differs under kiln" >&2; exit 1; }
	# A sanity check that allocation profiling was on: the allocating function in the profile.
	local samples
	samples=$("$kiln" report --top --sample-index alloc-samples "$T/out-alloc_only"/*.pprof 2>/dev/null |
		awk '$NF == "work" { print $4 }')
	[ -n "$samples" ] || { echo "bench: no allocation samples in kiln's profiles" >&2; exit 1; }
	local ht="—" ht_cpu="—"
	if command -v heaptrack >/dev/null; then
		for ((i = 0; i < ht_runs; i++)); do
			(cd "$T" && timed heaptrack heaptrack "$app" 2 $args)
			rm -f "$T"/heaptrack.*.zst "$T"/heaptrack.*.gz
		done
		ht=$(awk -v p="$(med plain 1)" '{ print 100 * ($1 / p - 1) }' "$T/heaptrack" |
			bench_median | awk '{ printf "%+.0f", $1 }')
		ht_cpu=$(awk -v p="$(med plain 2)" '{ print 100 * ($2 / p - 1) }' "$T/heaptrack" |
			bench_median | awk '{ printf "%+.0f", $1 }')
	fi
	{
		echo "| $name: \`kiln_bench_alloc_app 2 $args\`, plain | $(med plain 1) s | $(med plain 2) s | | |"
		echo "| $name: \`kiln run --preset alloc_only\` ($samples allocation samples) | $(ratio_median plain alloc 1) % | $(ratio_median plain alloc 2) % | ≤ 2 % | |"
		echo "| $name: \`kiln run --preset cpu_only\` (reference) | $(ratio_median plain cpu 1) % | $(ratio_median plain cpu 2) % | | |"
		echo "| $name: heaptrack, median of $ht_runs runs | $ht % | $ht_cpu % | | |"
	} >>"$T/rows"
}

: >"$T/rows"
workload bare "$rounds" 0
workload use "$((rounds / 3))" 1
load=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "## allocation profiling slowdown"
	echo
	echo "\`bench/alloc_slowdown.sh BUILD_DIR --write\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc)" \
		"CPUs, load average at the end: $load. heaptrack:" \
		"$(heaptrack --version 2>/dev/null | awk '{ print $NF }' || echo absent)."
	echo
	echo "Programs (bench/alloc_app.c, 2 threads, each replacing one of 4,096 live objects per"
	echo "round, 90 % of 16–128 B and 10 % up to 1 KiB, filled with memset): **bare** allocates and"
	echo "little else (tens of millions of allocations per second per thread: the hook's worst"
	echo "case); **use** also reads every new object once (an FNV-1a hash of its bytes), still"
	echo "millions of allocations per second per thread. Slowdowns are medians of $pairs paired"
	echo "ratios (plain and profiled runs alternate)."
	echo
	echo "| run | wall | CPU | target | |"
	echo "|---|---:|---:|---:|---|"
	cat "$T/rows"
	echo
	echo "CPU is the program's own user + sys time (the hook runs inside it; kiln's profiler is a"
	echo "separate process, so on this 2-core machine with a 2-thread program the profiler's CPU"
	echo "shows in the wall time); heaptrack's figures include its interpreter process."
} >"$T/section"
cat "$T/section"
if [ "$write" = --write ]; then
	bench_write_section "$(dirname "$0")/RESULTS.md" "allocation profiling slowdown" "$T/section"
	echo "wrote the '## allocation profiling slowdown' section of bench/RESULTS.md" >&2
fi
