#!/usr/bin/env bash
# bench/alloc_slowdown.sh [BUILD_DIR] [--write]: what allocation profiling costs the program.
#
# Two programs (bench/alloc_app.c, 2 threads, a fixed number of allocate/fill/free rounds):
#   bare  kiln_bench_alloc_app 2 BARE_ROUNDS 0  allocation and little else, ~30 M allocations
#                                                per second per thread: the hook's worst case
#   use   kiln_bench_alloc_app 2 USE_ROUNDS 1   the same, reading each new object once: still
#                                                millions of allocations per second per thread
# Each runs PAIRS times plain and PAIRS times under each of `kiln run --preset alloc_only`,
# `alloc_live_heap` and `cpu_only` (default 512 KiB sampling period, profiles written to a
# directory), interleaved, so that all see the same machine; a slowdown is the median of the
# per-pair ratios of the program's wall time and of its CPU time (user + sys of the program,
# which includes the hook; the profiler is another process, its CPU is reported apart). The
# runs last several seconds so that kiln's start (~10 ms of CPU, ~30 ms of wall time, measured
# by bench/profiler.sh) is not what is measured. cpu_only is the reference of kiln without
# allocation profiling. Debian's heaptrack (a tracing heap profiler: every allocation recorded)
# runs on a 1/HEAPTRACK_DIV of the work against plain runs of that same length.
#
# Environment: PAIRS (default 5), BARE_ROUNDS (default 200000000), USE_ROUNDS (default
# 40000000), HEAPTRACK_RUNS (default 1), HEAPTRACK_DIV (default 20). With --write, the results
# replace the "## allocation profiling slowdown" section of bench/RESULTS.md.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
build=$(cd "${1:-build}" && pwd)
write=${2:-}
pairs=${PAIRS:-5}
bare_rounds=${BARE_ROUNDS:-200000000}
use_rounds=${USE_ROUNDS:-40000000}
ht_runs=${HEAPTRACK_RUNS:-1}
ht_div=${HEAPTRACK_DIV:-20}
presets="alloc_only alloc_live_heap cpu_only"
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
# kiln_run PRESET ARGS…: one timed run of the app under kiln run, profiles in $T/out-PRESET;
# appends the profiler's own CPU time (µs, from its closing log line) to $T/PRESET.prof.
kiln_run() {
	local preset=$1
	shift
	rm -rf "$T/out-$preset"
	timed "$preset" "$kiln" run -l informational --preset "$preset" -u 60 \
		--output-dir "$T/out-$preset" -- "$app" 2 "$@"
	# The profiler outlives the program by its last export: wait for its closing line.
	for ((w = 0; w < 100; w++)); do
		grep -q "profiler: done:" "$T/$preset.err" && break
		sleep 0.1
	done
	grep -o "profiler cpu [0-9]*" "$T/$preset.err" | awk '{ print $3 }' >>"$T/$preset.prof"
}
# ratio_median A B COLUMN: median over pairs of B/A (column 1 wall, 2 cpu), as a % slowdown.
ratio_median() {
	paste -d' ' "$T/$1" "$T/$2" | awk -v c="$3" '{ print 100 * ($(c + 2) / $c - 1) }' |
		bench_median | awk '{ printf "%+.1f", $1 }'
}
med() { cut -d' ' -f"$2" "$T/$1" | bench_median; }
# samples PRESET: allocation samples of the last run's profiles in the allocating function.
samples() {
	"$kiln" report --top --sample-index alloc-samples "$T/out-$1"/*.pprof 2>/dev/null |
		awk '$NF == "work" { print $4 }'
}

# prof PRESET SAMPLES: the profiler's median CPU time, in ms and in µs per allocation sample.
prof() {
	local us
	us=$(bench_median <"$T/$1.prof")
	awk -v u="$us" -v n="$2" 'BEGIN { printf "%.0f ms", u / 1000;
		if (n > 0) printf " (%.1f µs/sample)", u / n }'
}

# workload NAME ROUNDS PASSES: the interleaved runs of one program; appends table rows to $T/rows.
workload() {
	local name=$1 rounds=$2 passes=$3 p
	rm -f "$T/plain" "$T/heaptrack" "$T/ht_plain"
	for p in $presets; do rm -f "$T/$p" "$T/$p.prof"; done
	echo "$name: $pairs rounds of kiln_bench_alloc_app 2 $rounds $passes, load $(cut -d' ' -f1 /proc/loadavg)" >&2
	for ((i = 0; i < pairs; i++)); do
		# The plain run goes first, last or between the others in turn.
		local order=($presets)
		order=("${order[@]:0:$((i % 4))}" plain "${order[@]:$((i % 4))}")
		for p in "${order[@]}"; do
			if [ "$p" = plain ]; then
				timed plain "$app" 2 "$rounds" "$passes"
			else
				kiln_run "$p" "$rounds" "$passes"
			fi
		done
		echo "  round $((i + 1)): plain $(tail -1 "$T/plain")$(for p in $presets; do
			printf ', %s %s' "$p" "$(tail -1 "$T/$p")"; done) (wall s, cpu s)" >&2
	done
	for p in $presets; do
		cmp -s "$T/plain.out" "$T/$p.out" || { echo "bench: output differs under kiln ($p)" >&2; exit 1; }
	done
	# A sanity check that allocation profiling was on: the allocating function in the profile.
	local s_alloc s_live
	s_alloc=$(samples alloc_only)
	s_live=$(samples alloc_live_heap)
	[ -n "$s_alloc" ] && [ -n "$s_live" ] ||
		{ echo "bench: no allocation samples in kiln's profiles" >&2; exit 1; }
	local ht="—" ht_cpu="—" ht_rounds=$((rounds / ht_div))
	if command -v heaptrack >/dev/null; then
		for ((i = 0; i < ht_runs; i++)); do
			timed ht_plain "$app" 2 "$ht_rounds" "$passes"
			(cd "$T" && timed heaptrack heaptrack "$app" 2 "$ht_rounds" "$passes")
			rm -f "$T"/heaptrack.*.zst "$T"/heaptrack.*.gz
		done
		ht=$(ratio_median ht_plain heaptrack 1 | tr -d +)
		ht_cpu=$(ratio_median ht_plain heaptrack 2 | tr -d +)
		ht="+${ht%.*}" ht_cpu="+${ht_cpu%.*}"
	fi
	{
		echo "| $name: \`kiln_bench_alloc_app 2 $rounds $passes\`, plain | $(med plain 1) s | $(med plain 2) s | | |"
		echo "| $name: \`--preset alloc_only\` ($s_alloc allocation samples) | $(ratio_median plain alloc_only 1) % | $(ratio_median plain alloc_only 2) % | $(prof alloc_only "$s_alloc") | ≤ 2 % |"
		echo "| $name: \`--preset alloc_live_heap\` ($s_live allocation samples) | $(ratio_median plain alloc_live_heap 1) % | $(ratio_median plain alloc_live_heap 2) % | $(prof alloc_live_heap "$s_live") | ≤ 2 % |"
		echo "| $name: \`--preset cpu_only\` (reference) | $(ratio_median plain cpu_only 1) % | $(ratio_median plain cpu_only 2) % | $(prof cpu_only 0) | |"
		echo "| $name: heaptrack on 1/$ht_div of the work, median of $ht_runs | $ht % | $ht_cpu % | | |"
	} >>"$T/rows"
}

: >"$T/rows"
workload bare "$bare_rounds" 0
workload use "$use_rounds" 1
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
	echo "ratios (plain and profiled runs interleaved, the plain one in turn first, between and last)."
	echo
	echo "| run | wall | CPU | profiler CPU | target |"
	echo "|---|---:|---:|---:|---:|"
	cat "$T/rows"
	echo
	echo "CPU is the program's own user + sys time (the hook runs inside it); the profiler is a"
	echo "separate process whose CPU time is the third column (median), so on this 2-core machine"
	echo "with a 2-thread program it shows in the wall time. heaptrack's figures include its"
	echo "interpreter process."
} >"$T/section"
cat "$T/section"
if [ "$write" = --write ]; then
	bench_write_section "$(dirname "$0")/RESULTS.md" "allocation profiling slowdown" "$T/section"
	echo "wrote the '## allocation profiling slowdown' section of bench/RESULTS.md" >&2
fi
