#!/usr/bin/env bash
# kiln run with allocation profiling: a program allocates 2 GiB from three call sites in the
# ratio 50:30:20 (mixed sizes, malloc, calloc, realloc); the profile's alloc-space per site
# is within 10 % of the bytes allocated there and the total within 5 %; alloc-samples x period
# equals alloc-space; the stacks reach main through the hook (unwound with the CPU samples'
# unwinder) and no frame of libkiln_preload.so is left in any stack.
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"
require_perf
# integer sums (awk prints large ones as 1e+09 otherwise)
sum() { awk -F'\t' '{t+=$1} END{printf "%.0f\n", t}' "$1"; }

# 256 KiB mean period: ~8,000 samples, ~1,600 at the smallest site (sigma 2.5 %, the
# tolerance is 10 %); paced to 700 MB/s so that the ring is drained without losses.
PERIOD=262144
kiln_run "$T/o" -l informational -e "sALLOC period=$PERIOD" -- "$W/alloc-work" sites 2048 700
[ "$RUN_STATUS" = 0 ] || fail "status $RUN_STATUS"
cat "$T/stdout"
grep -q "lost because the ring was full" "$T/stderr" && { cat "$T/stderr" >&2; fail "ring losses"; }
"$W/run-pprof-dump" -t alloc-space "$T/o"/*.pprof >"$T/space" || fail "no alloc-space"
"$W/run-pprof-dump" -t alloc-samples "$T/o"/*.pprof >"$T/count" || fail "no alloc-samples"
if "$W/run-pprof-dump" -t cpu-samples "$T/o"/*.pprof >/dev/null 2>&1; then
	fail "-e sALLOC alone must not produce cpu-samples"
fi
truth() { awk -v k="$1" '$1 == k {print $2}' "$T/stdout"; }
total_true=$(truth total)
total=$(sum "$T/space")
echo "total: $total estimated, $total_true true"
for site in a b c; do
	name=alloc_site_$site
	t=$(truth site_$site)
	est=$(awk -F'\t' -v re=";main;$name\$" '$5 ~ re {s+=$1} END{printf "%.0f\n", s}' "$T/space")
	err=$(awk -v e="$est" -v t="$t" 'BEGIN{printf "%+.1f", 100*(e-t)/t}')
	echo "$name: $est estimated, $t true ($err %)"
	within "$est" "$t" "$(awk -v t="$t" 'BEGIN{print 0.10*t}')" || { top "$T/space"; fail "$name off by $err %"; }
done
err=$(awk -v e="$total" -v t="$total_true" 'BEGIN{printf "%+.1f", 100*(e-t)/t}')
within "$total" "$total_true" "$(awk -v t="$total_true" 'BEGIN{print 0.05*t}')" || fail "total off by $err %"
# Each sample stands for count x period bytes.
samples=$(sum "$T/count")
[ "$((samples * PERIOD))" = "$total" ] || fail "alloc-samples $samples x $PERIOD != alloc-space $total"
# Every byte at a site called from main: the hook's frames were walked through and dropped.
s=$(share ';main;alloc_site_[abc]$' "$T/space")
echo "$s % of the bytes at main;alloc_site_*"
[ "${s%.*}" -ge 99 ] || { top "$T/space"; fail "only $s % of the bytes at main;alloc_site_*"; }
if "$W/run-pprof-dump" -m "$T/o"/*.pprof | grep -q libkiln_preload; then
	fail "a frame of libkiln_preload.so is in the profile"
fi
grep -q "allocations: [0-9]* samples processed" "$T/stderr" || { cat "$T/stderr"; fail "no allocation summary"; }
grep "allocations:" "$T/stderr"
echo "run_alloc_sites: OK"
