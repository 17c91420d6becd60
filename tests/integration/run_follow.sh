#!/usr/bin/env bash
# kiln run follows what the command starts: forked children (inherit), a program exec'd by a
# shell script (same PID, new image), a program a shell forks and execs, and a library
# dlopen'ed after start (its MMAP2 record arrives while sampling).
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"
require_perf

# Forked workers: samples from both children, each with its own process_id.
kiln_run "$T/fork" -e "sCPU freq=499" -- "$W/run-work" fork 1.5 2
[ "$RUN_STATUS" = 0 ] || fail "fork: status $RUN_STATUS"
dump "$T/fork" >"$T/d1"
pids=$(awk -F'\t' '$5 ~ /;work_[abc]$/ {print $2}' "$T/d1" | sort -u | wc -l)
echo "fork: $pids worker processes sampled"
[ "$pids" -ge 2 ] || { top "$T/d1"; fail "fork: expected samples from 2 children, got $pids"; }

# A script that execs the program: same PID, the new image is symbolized.
printf '#!/bin/sh\nexec "%s" spin 1 1\n' "$W/run-work" >"$T/start.sh"
chmod +x "$T/start.sh"
kiln_run "$T/exec" -e "sCPU freq=499" -- "$T/start.sh"
[ "$RUN_STATUS" = 0 ] || fail "exec script: status $RUN_STATUS"
dump "$T/exec" >"$T/d2"
s=$(share '^run-work;.*;work_[abc]$' "$T/d2")
echo "exec via script: $s% in run-work's work_*"
[ "${s%.*}" -ge 85 ] || { top "$T/d2"; fail "exec via script: only $s%"; }

# A shell that forks and execs the program, then does more.
kiln_run "$T/sh" -e "sCPU freq=499" -- sh -c "\"$W/run-work\" spin 1 1; true"
dump "$T/sh" >"$T/d3"
s=$(share '^run-work;.*;work_[abc]$' "$T/d3")
echo "child of a shell: $s% in run-work's work_*"
[ "${s%.*}" -ge 85 ] || { top "$T/d3"; fail "shell child: only $s%"; }

# dlopen after start.
kiln_run "$T/dl" -e "sCPU freq=499" -- "$W/run-work" dlopen 1.5 "$W/librun-plugin.so"
[ "$RUN_STATUS" = 0 ] || fail "dlopen: status $RUN_STATUS"
dump "$T/dl" >"$T/d4"
s=$(share ';main;plugin_work;plugin_hot$' "$T/d4")
echo "dlopen'ed library: $s% in main;plugin_work;plugin_hot"
[ "${s%.*}" -ge 70 ] || { top "$T/d4"; fail "dlopen: plugin_hot has only $s% (symbolized and under main?)"; }
echo "PASS"
