#!/usr/bin/env bash
# bench/alloc.sh [BUILD_DIR] [PAIRS] [ROUNDS]: cost of the allocation hook on the fast path.
#
# preload-bench times malloc(64)+free pairs (best of 5 runs of PAIRS each) in one process;
# this script runs it ROUNDS times alternately plain and under libkiln_preload.so attached to
# a ring with a period so large that nothing is sampled (the non-sampled path), and with the
# default 512 KiB period (what a profiled program pays on average, samples included). Prints
# the median ns per pair of each and the differences. A 4 MiB ring is drained while the
# program runs by `preload-ring follow` (as the profiler will), so its pages stay warm.
set -euo pipefail
build=${1:-build}
pairs=${2:-5000000}
rounds=${3:-7}
bin=$build/tests/integration/preload-bench
lib=$build/src/preload/libkiln_preload.so
ring=$(mktemp -p /dev/shm kiln-alloc-bench.XXXXXX 2>/dev/null || mktemp)
trap 'rm -f "$ring" "$ring.follow"' EXIT
for t in preload-bench preload-ring kiln_preload; do
	cmake --build "$build" --target "$t" >/dev/null
done
"$build/tests/integration/preload-ring" create "$ring" $((4 << 20)) 0 32768
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
plain=() nosample=() sampled=()
for ((i = 0; i < rounds; i++)); do
	plain+=("$("$bin" "$pairs")")
	nosample+=("$(LD_PRELOAD=$lib KILN_ALLOC_RING=$ring KILN_ALLOC_PERIOD=1000000000000 "$bin" "$pairs")")
	"$build/tests/integration/preload-ring" follow "$ring" >"$ring.follow" &
	follower=$!
	sampled+=("$(LD_PRELOAD=$lib KILN_ALLOC_RING=$ring "$bin" "$pairs")")
	kill -TERM "$follower"
	wait "$follower" || true
	lost=$(awk '{ print $4 }' "$ring.follow")
	[ "$lost" = 0 ] || echo "note: $lost samples lost (ring full) in round $i" >&2
done
p=$(printf '%s\n' "${plain[@]}" | median)
n=$(printf '%s\n' "${nosample[@]}" | median)
s=$(printf '%s\n' "${sampled[@]}" | median)
echo "malloc+free pair, median of $rounds rounds (best of 5 x $pairs pairs each):"
echo "  plain                      $p ns"
echo "  hooked, nothing sampled    $n ns  (+$(awk -v a="$n" -v b="$p" 'BEGIN { printf "%.2f", a - b }') ns)"
echo "  hooked, period 512 KiB     $s ns  (+$(awk -v a="$s" -v b="$p" 'BEGIN { printf "%.2f", a - b }') ns)"
