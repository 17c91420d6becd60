#!/usr/bin/env bash
# Live heap: one site leaks 40 MB/s while two others allocate ten times as much and free it
# all. With -u 1 the leaking stack's inuse-space grows period after period and in the last
# profile (written when the program exits) is within 15 % of the bytes leaked; the other
# sites hold less than 2 % of that. Then the same through `kiln run --pid P --alloc-ring FD`
# (libkiln's way: a ring created by another process), and with a ring stuck behind a record
# that was reserved and never committed (the profiler skips it, warns, and goes on).
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"
require_perf
# integer sums (awk prints large ones as 1e+09 otherwise)
sum() { awk -F'\t' '{t+=$1} END{printf "%.0f\n", t}' "$1"; }
LIB=$KILN_BUILD_DIR/src/preload/libkiln_preload.so

# leak_check DIR STDOUT: the checks above on the profiles in DIR.
leak_check() {
	local dir=$1 truth files
	truth=$(awk '$1 == "leaked" {print $2}' "$2")
	[ -n "$truth" ] || fail "no truth in $2"
	files=$(ls "$dir"/*.pprof | sort)
	local prev=0 first= n=0 v
	for f in $files; do
		"$W/run-pprof-dump" -t inuse-space "$f" >"$T/inuse" || fail "no inuse-space in $f"
		v=$(awk -F'\t' '$5 ~ /;main;leak_site$/ {s+=$1} END{printf "%.0f\n", s}' "$T/inuse")
		echo "  $(basename "$f"): leak_site inuse $v"
		[ "$v" -ge "$prev" ] || fail "inuse of the leak went down: $prev -> $v"
		[ -n "$first" ] || first=$v
		prev=$v
		n=$((n + 1))
	done
	[ "$n" -ge 3 ] || fail "only $n profiles"
	[ "$prev" -ge $((2 * first)) ] || fail "the leak did not grow: $first -> $prev"
	local err others
	err=$(awk -v e="$prev" -v t="$truth" 'BEGIN{printf "%+.1f", 100*(e-t)/t}')
	echo "  leak: $prev estimated at exit, $truth true ($err %)"
	within "$prev" "$truth" "$(awk -v t="$truth" 'BEGIN{print 0.15*t}')" || { top "$T/inuse"; fail "leak off by $err %"; }
	others=$(awk -F'\t' '$5 !~ /;main;leak_site$/ {s+=$1} END{printf "%.0f\n", s}' "$T/inuse")
	echo "  elsewhere: $others"
	[ "$others" -le $((truth / 50)) ] || { top "$T/inuse"; fail "$others bytes live outside the leak"; }
}

# 128 KiB period: ~1,200 samples of the leak (sigma 3 %, the tolerance is 15 %).
echo "wrapper mode:"
kiln_run "$T/w" -u 1 -e "sALLOC period=131072 mode=sl" -- "$W/alloc-work" leak 4 40
[ "$RUN_STATUS" = 0 ] || fail "status $RUN_STATUS"
leak_check "$T/w" "$T/stdout"
# mode=sl: allocations too
"$W/run-pprof-dump" -t alloc-space "$T/w"/*.pprof >"$T/space" || fail "no alloc-space"
s=$(share ';main;churn_[ab]$' "$T/space")
echo "  churn share of alloc-space: $s %"
within "$s" 90.9 4 || { top "$T/space"; fail "churn share $s %, want ~90.9 %"; }

echo "library mode (--alloc-ring):"
set +e
ALLOC_WORK_DELAY=0.5 "$W/alloc-ring-host" "$LIB" 131072 "$KILN" "$T/l" -- "$W/alloc-work" leak 4 40 \
	>"$T/stdout" 2>"$T/stderr"
st=$?
set -e
check_clean "$T/stderr"
[ "$st" = 0 ] || { cat "$T/stderr"; fail "alloc-ring-host status $st"; }
leak_check "$T/l" "$T/stdout"

echo "a ring stuck behind an uncommitted record:"
set +e
ALLOC_WORK_DELAY=0.2 "$W/alloc-ring-host" -hole "$LIB" 131072 "$KILN" "$T/h" -- "$W/alloc-work" leak 3 20 \
	>"$T/stdout" 2>"$T/stderr"
st=$?
set -e
check_clean "$T/stderr"
[ "$st" = 0 ] || { cat "$T/stderr"; fail "alloc-ring-host -hole status $st"; }
grep -q "allocation ring was stuck" "$T/stderr" || { cat "$T/stderr"; fail "no warning about the stuck ring"; }
"$W/run-pprof-dump" -t alloc-space "$T/h"/*.pprof >"$T/space" || fail "no alloc-space"
s=$(share ';main;(leak_site|churn_[ab])$' "$T/space")
echo "  after the hole: $s % of alloc-space at the sites"
[ "${s%.*}" -ge 40 ] || { top "$T/space"; fail "the ring was not recovered"; }

echo "bad --alloc-ring descriptors:"
set +e
msg=$("$KILN" run --pid $$ --alloc-ring 9 2>&1 9<&-); st=$?
set -e
[ "$st" = 1 ] && grep -q "not an open descriptor" <<<"$msg" || fail "closed fd: $st '$msg'"
set +e
msg=$("$KILN" run --pid $$ --alloc-ring 9 2>&1 9</etc/hostname); st=$?
set -e
[ "$st" = 1 ] && grep -q "not a kiln allocation ring" <<<"$msg" || fail "not a ring: $st '$msg'"
echo "run_alloc_leak: OK"
