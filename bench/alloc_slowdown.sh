#!/usr/bin/env bash
# bench/alloc_slowdown.sh [BUILD_DIR] [--write]: what allocation profiling costs the program.
#
# kiln_bench_alloc_app (2 threads, a fixed number of allocate/free rounds, ~10 M allocations
# per second per thread: a worst case) runs PAIRS times plain and PAIRS times under
# `kiln run --preset alloc_only` (default 512 KiB sampling period, profiles written to a
# directory), alternately, so that both see the same machine; the slowdown is the median of
# the per-pair ratios of the program's wall time and of its CPU time (user + sys of the
# program, which includes the hook; the profiler is another process and is reported apart).
# Then `--preset cpu_only` as the reference of kiln without allocation profiling, and Debian's
# heaptrack (a tracing heap profiler: every allocation recorded) on the same program.
#
# Environment: PAIRS (default 7), ROUNDS (allocations per thread, default 10000000),
# HEAPTRACK_RUNS (default 3). With --write, the results replace the
# "## allocation profiling slowdown" section of bench/RESULTS.md.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
build=$(cd "${1:-build}" && pwd)
write=${2:-}
pairs=${PAIRS:-7}
rounds=${ROUNDS:-10000000}
ht_runs=${HEAPTRACK_RUNS:-3}
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
	timed "$1" "$kiln" run --preset "$2" -u 60 --output-dir "$T/out-$2" -- "$app" 2 "$rounds"
}

echo "alloc slowdown: $pairs pairs of $rounds rounds x 2 threads, load $(cut -d' ' -f1 /proc/loadavg)" >&2
for ((i = 0; i < pairs; i++)); do
	if ((i % 2)); then
		kiln_run alloc alloc_only
		timed plain "$app" 2 "$rounds"
	else
		timed plain "$app" 2 "$rounds"
		kiln_run alloc alloc_only
	fi
	kiln_run cpu cpu_only
	echo "  pair $((i + 1)): plain $(tail -1 "$T/plain"), alloc_only $(tail -1 "$T/alloc")," \
		"cpu_only $(tail -1 "$T/cpu") (wall s, cpu s)" >&2
done
cmp -s "$T/plain.out" "$T/alloc.out" || { echo "bench: output differs under kiln" >&2; exit 1; }

# What the profiles saw (a sanity check that allocation profiling was on).
"$kiln" report --top --sample-index alloc-space "$T/out-alloc_only"/*.pprof >"$T/top" 2>&1 || true
alloc_on=no
grep -q 'work' "$T/top" && alloc_on=yes
[ "$alloc_on" = yes ] || echo "bench: WARNING: no alloc-space samples in kiln's profiles" >&2

# ratio_median A B COLUMN: median over pairs of B/A (column 1 wall, 2 cpu), as a % slowdown.
ratio_median() {
	paste -d' ' "$T/$1" "$T/$2" | awk -v c="$3" '{ print 100 * ($(c + 2) / $c - 1) }' |
		bench_median | awk '{ printf "%+.2f", $1 }'
}
med() { cut -d' ' -f"$2" "$T/$1" | bench_median; }
alloc_wall=$(ratio_median plain alloc 1)
alloc_cpu=$(ratio_median plain alloc 2)
cpu_wall=$(ratio_median plain cpu 1)
cpu_cpu=$(ratio_median plain cpu 2)

ht=none
if command -v heaptrack >/dev/null; then
	for ((i = 0; i < ht_runs; i++)); do
		(cd "$T" && timed heaptrack heaptrack "$app" 2 "$rounds")
		rm -f "$T"/heaptrack.*.zst "$T"/heaptrack.*.gz
	done
	ht=$(awk -v p="$(med plain 1)" '{ print 100 * ($1 / p - 1) }' "$T/heaptrack" | bench_median |
		awk '{ printf "%+.0f", $1 }')
	ht_cpu=$(awk -v p="$(med plain 2)" '{ print 100 * ($2 / p - 1) }' "$T/heaptrack" |
		bench_median | awk '{ printf "%+.0f", $1 }')
fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "## allocation profiling slowdown"
	echo
	echo "\`bench/alloc_slowdown.sh BUILD_DIR --write\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc)" \
		"CPUs, load average at the end: $load."
	echo "Program: \`kiln_bench_alloc_app 2 $rounds\` (bench/alloc_app.c: 2 threads, each" \
		"replacing one of 4,096 live objects per round, sizes 16 B–64 KiB, mostly small);" \
		"plain median $(med plain 1) s wall, $(med plain 2) s CPU."
	echo
	echo "| run | wall slowdown | CPU slowdown | target |"
	echo "|---|---:|---:|---:|"
	echo "| \`kiln run --preset alloc_only\` (512 KiB mean period), median of $pairs paired ratios | $alloc_wall % | $alloc_cpu % | ≤ 2 % |"
	echo "| \`kiln run --preset cpu_only\` (reference), median of $pairs ratios | $cpu_wall % | $cpu_cpu % | |"
	if [ "$ht" != none ]; then
		echo "| heaptrack $(heaptrack --version 2>/dev/null | awk '{ print $NF }'), median of $ht_runs runs | $ht % | $ht_cpu % | |"
	fi
	echo
	echo "Allocation samples present in kiln's profiles: $alloc_on. The CPU figures are the"
	echo "program's own user + sys time (the hook runs inside it; kiln's profiler is a separate"
	echo "process); heaptrack's include its interpreter process, which the program feeds"
	echo "through a pipe. Paired runs alternate their order so both see the same machine."
} >"$T/section"
cat "$T/section"
if [ "$write" = --write ]; then
	bench_write_section "$(dirname "$0")/RESULTS.md" "allocation profiling slowdown" "$T/section"
	echo "wrote the '## allocation profiling slowdown' section of bench/RESULTS.md" >&2
fi
