#!/usr/bin/env bash
# kiln run attributes CPU time correctly: a -O2 -fomit-frame-pointer workload whose three
# functions do 50/30/20 of the work in three threads must show those shares within ±3
# points, with complete call chains (thread start or main at the root, CFI unwinding).
# Sampled at 2999 Hz so that ~3000 samples make the ±3 points a safe margin on a busy machine.
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"
require_perf

kiln_run "$T/out" -u 60 -e "sCPU freq=2999 st=16384" -- "$W/run-work" spin 4 3
[ "$RUN_STATUS" = 0 ] || fail "run-work exited with $RUN_STATUS"
ls "$T"/out/*.pprof >/dev/null || fail "no profile written"
dump "$T/out" >"$T/dump"
n=$(total "$T/dump")
echo "samples: $n"
[ "$n" -ge 300 ] || fail "too few samples ($n)"

# Shares among the samples in the three work functions (leaf).
awk -F'\t' '$5 ~ /;work_[abc]$/' "$T/dump" >"$T/work"
w=$(total "$T/work")
[ "$w" -ge $((n * 8 / 10)) ] || fail "only $w of $n samples in work_*"
a=$(share ';work_a$' "$T/work")
b=$(share ';work_b$' "$T/work")
c=$(share ';work_c$' "$T/work")
echo "shares: work_a $a% work_b $b% work_c $c%"
within "$a" 50 3 || fail "work_a share $a% (expected 50±3)"
within "$b" 30 3 || fail "work_b share $b% (expected 30±3)"
within "$c" 20 3 || fail "work_c share $c% (expected 20±3)"

# Complete chains: root frame named after the process, then the thread's start.
full=$(share '^run-work;(_start;.*main;run_threads;spin_thread|clone3?;start_thread;spin_thread)(;spin_round(_n)?)?;work_[abc]$' "$T/work")
echo "complete stacks: $full%"
within "$full" 100 2 || fail "only $full% of work samples have a complete stack"

# Thread labels: three threads sampled, with their names.
tids=$(awk -F'\t' '{print $3}' "$T/work" | sort -u | wc -l)
[ "$tids" -eq 3 ] || fail "expected 3 thread ids, got $tids"
grep -q $'\trun-work\t' "$T/dump" || fail "thread_name label missing"
# Mappings carry the GNU build id of the binary.
"$W/run-pprof-dump" -m "$T"/out/*.pprof >"$T/maps"
grep -qE "/run-work"$'\t''[0-9a-f]{40}$' "$T/maps" || fail "no build id on run-work's mapping: $(cat "$T/maps")"
echo "PASS"
