#!/usr/bin/env bash
# bench/run.sh: runs every kiln benchmark and writes the figures to bench/RESULTS.md.
#
# usage: bench/run.sh [-o OUT.md]
# environment:
#   KILN_BUILD_DIR   build directory (default: build-bench next to this script's repo; it is
#                    configured as Release and built if needed)
#   RUNS             runs per command, medians reported (default 3, minimum 3)
#   BENCH_SAMPLES    samples in the generated profile (default 1000000)
#   BENCH_LOCATIONS  locations in the generated profile (default 200000)
#
# Benchmarks (set BENCH_ONLY_REPORT=1 for the first alone):
#   report  `kiln report --top` and `--collapsed` vs `go tool pprof -top` on one large
#           generated profile: wall time, CPU time (user+sys) and peak RSS, from
#           /usr/bin/time -f "%e %U %S %M", medians of RUNS runs.
#   then bench/profiler.sh (kiln run overhead), bench/perf_compare.sh (kiln run vs perf record),
#   bench/unwind.sh (unwinder), bench/serve_ingest.sh
#   and bench/serve_query.sh (kiln serve), bench/alloc.sh (allocation hooks),
#   bench/alloc_slowdown.sh (allocation profiling vs none vs heaptrack).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$src/bench/RESULTS.md
while (($#)); do
	case $1 in
	-o) out=$2; shift 2 ;;
	-h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/run.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
build=${KILN_BUILD_DIR:-$src/build-bench}
runs=${RUNS:-3}
((runs >= 3)) || runs=3
samples=${BENCH_SAMPLES:-1000000}
locations=${BENCH_LOCATIONS:-200000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOCACHE=$work/gocache GOPATH=$work/gopath GOTOOLCHAIN=local GOPROXY=off GOFLAGS=

if [[ ! -f $build/CMakeCache.txt ]]; then
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
kiln=$build/src/kiln
if ! cmake --build "$build" -j2 --target kiln kiln_bench_gen_profile >"$work/build.log" 2>&1; then
	if [[ ! -x $kiln || ! -x $build/bench/kiln_bench_gen_profile ]]; then
		cat "$work/build.log" >&2
		exit 1
	fi
	echo "bench: WARNING: the build failed; measuring the existing $kiln" >&2
fi

# measure NAME CMD...: runs CMD $runs times (the last run's stdout is kept in $work/last.out),
# appends "NAME wall cpu rss_kb" medians to $work/results.
measure() {
	local name=$1
	shift
	: >"$work/runs"
	for ((i = 0; i < runs; i++)); do
		/usr/bin/time -o "$work/t" -f "%e %U %S %M" "$@" >"$work/last.out"
		awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$work/t" >>"$work/runs"
		echo "  $name run $((i + 1)): $(tail -1 "$work/runs") (wall s, cpu s, rss KB)" >&2
	done
	med() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
	echo "$name $(cut -d' ' -f1 "$work/runs" | med) $(cut -d' ' -f2 "$work/runs" | med)" \
		"$(cut -d' ' -f3 "$work/runs" | med)" >>"$work/results"
}

# ---- report ------------------------------------------------------------------------------
profile=$build/bench/profile-$samples-$locations.pprof
if [[ ! -f $profile ]]; then
	"$build/bench/kiln_bench_gen_profile" "$profile" "$samples" "$locations"
fi
size=$(stat -c %s "$profile")
echo "report: $profile ($size bytes), $runs runs each" >&2
: >"$work/results"
measure "kiln report --top" "$kiln" report --top "$profile"
awk 'p { print $NF } /^ *flat/ { p = 1 }' "$work/last.out" >"$work/kiln.names"
measure "kiln report --collapsed" "$kiln" report --collapsed "$profile"
measure "go tool pprof -top" go tool pprof -top "$profile"
awk 'p { sub(/ \((partial-)?inline\)$/, ""); print $NF } /^ *flat/ { p = 1 }' "$work/last.out" >"$work/go.names"

# Sanity: both tables list the same functions in the same order.
agree=yes
cmp -s "$work/kiln.names" "$work/go.names" || agree=no
[[ $agree == yes ]] || echo "bench: WARNING: kiln and go list different functions" >&2

go_line=$(grep '^go tool pprof -top ' "$work/results")
read -r gw gc gm < <(echo "$go_line" | awk '{ print $(NF-2), $(NF-1), $NF }')
{
	echo "## report: kiln report vs go tool pprof"
	echo
	echo "Written by \`bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs" \
		"($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load" \
		"average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "Profile: \`kiln_bench_gen_profile OUT $samples $locations\` — $samples samples of" \
		"distinct stacks (16–47 frames) over $locations locations (10 % with an inlined" \
		"frame) and $((locations * 3 / 10)) functions; gzip, $size bytes."
	echo
	echo "Each command: \`/usr/bin/time -f \"%e %U %S %M\" CMD > /dev/null\`, $runs runs," \
		"medians. CPU = user + system."
	echo
	echo "| command | wall s | CPU s | peak RSS MiB | wall vs go | CPU vs go | RSS vs go |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	while read -r line; do
		name=$(echo "$line" | awk '{ NF -= 3; print }')
		read -r w c m < <(echo "$line" | awk '{ print $(NF-2), $(NF-1), $NF }')
		awk -v n="$name" -v w="$w" -v c="$c" -v m="$m" -v gw="$gw" -v gc="$gc" -v gm="$gm" \
			'BEGIN { printf "| `%s FILE` | %.2f | %.2f | %.0f | %.1fx | %.1fx | %.2fx |\n",
			n, w, c, m / 1024, gw / w, gc / c, m / gm }'
	done <"$work/results"
	echo
	echo "\"vs go\": how many times faster (wall, CPU) and the fraction of go's memory (RSS)."
	echo "Both top tables list the same $(wc -l <"$work/kiln.names") functions in the same" \
		"order: $agree."
} >"$work/section.md"
cat "$work/section.md"
# Replace only this benchmark's section of RESULTS.md (up to the next "## " heading); the
# other sections belong to the scripts below.
[[ -f $out ]] || printf '# kiln benchmark results\n\n' >"$out"
bench_write_section "$out" "report: kiln report vs go tool pprof" "$work/section.md"

# The other benchmarks, each writing its own section.
if [[ ${BENCH_ONLY_REPORT:-0} != 1 ]]; then
	"$src/bench/profiler.sh" "$build" --write
	"$src/bench/perf_compare.sh" "$build"
	"$src/bench/unwind.sh" "$build"
	"$src/bench/serve_ingest.sh" "$build"
	"$src/bench/serve_query.sh" "$build"
	"$src/bench/alloc.sh" "$build"
	"$src/bench/alloc_slowdown.sh" "$build" --write
fi
