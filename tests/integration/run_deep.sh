#!/usr/bin/env bash
# Deep stacks: ~25 KiB of recursion (180 frames of ~130 bytes) under three entry points
# doing 50/30/20 of the work, -O2 -fomit-frame-pointer. With the default 32 KiB stack copy
# and CFI unwinding, at least 99 % of samples must reach the thread's root, and the entry
# points must carry their true shares.
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"
require_perf

kiln_run "$T/out" -u 60 -e "sCPU freq=1999" -- "$W/run-work" deep 4 2
[ "$RUN_STATUS" = 0 ] || fail "status $RUN_STATUS"
dump "$T/out" >"$T/dump"
awk -F'\t' '$5 ~ /;recurse$/' "$T/dump" >"$T/deep"
n=$(total "$T/deep")
echo "samples in recurse: $n"
[ "$n" -ge 200 ] || fail "too few deep samples ($n)"
root=$(share '^run-work;(_start;.*main;run_threads|clone3?;start_thread);deep_thread;entry_[abc];recurse;recurse;recurse;recurse;recurse;recurse;recurse;recurse;' "$T/deep")
echo "reach the root: $root%"
within "$root" 100 1 || fail "only $root% of deep samples reach the root (need >= 99%)"
a=$(share ';entry_a;' "$T/deep")
b=$(share ';entry_b;' "$T/deep")
c=$(share ';entry_c;' "$T/deep")
echo "entry shares: $a / $b / $c"
within "$a" 50 4 || fail "entry_a $a% (expected 50±4)"
within "$b" 30 4 || fail "entry_b $b% (expected 30±4)"
within "$c" 20 4 || fail "entry_c $c% (expected 20±4)"
echo "PASS"
