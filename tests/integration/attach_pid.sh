#!/usr/bin/env bash
# kiln run --pid: attaches to a running multi-threaded process that keeps creating threads,
# samples its old and new threads (thread id labels), stops on SIGINT with a last profile,
# and leaves the target undisturbed: still running after detach, same output and status.
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"
require_perf

"$W/attach-threads" 8 "$T/tids" >"$T/target.out" &
TPID=$!
sleep 0.5
kiln_attach "$T/kiln.err" --pid "$TPID" --output-dir "$T/out" -u 1 -e "sCPU freq=199"
sleep 0.5
kill -USR1 "$TPID" # from now on the target creates new threads
sleep 2.5
kill -INT "$KPID"
set +e
wait "$KPID"
kst=$?
set -e
check_clean "$T/kiln.err"
[ "$kst" = 0 ] || { cat "$T/kiln.err" >&2; fail "kiln run --pid: status $kst"; }
kill -0 "$TPID" 2>/dev/null || fail "the target did not survive the detach"
set +e
wait "$TPID"
tst=$?
set -e
[ "$tst" = 7 ] || fail "target status $tst (expected 7)"
[ "$(cat "$T/target.out")" = done ] || fail "target output changed: '$(cat "$T/target.out")'"

n=$(ls "$T/out"/*.pprof | wc -l)
echo "profiles: $n"
[ "$n" -ge 2 ] || fail "expected a profile per second, got $n"
dump "$T/out" >"$T/d"
s=$(share ';attach_hot$' "$T/d")
echo "attach_hot: $s% of $(total "$T/d") samples"
[ "${s%.*}" -ge 80 ] || { top "$T/d"; fail "attach_hot has only $s%"; }
awk -F'\t' -v p="$TPID" '$2 != p {bad=1} END{exit bad}' "$T/d" || fail "samples from another process"
awk -F'\t' '$5 ~ /attach_hot$/ {print $3}' "$T/d" | sort -u >"$T/sampled"
early=$(awk '$1=="early"{print $2}' "$T/tids" | sort -u | comm -12 - "$T/sampled" | wc -l)
late=$(awk '$1=="late"{print $2}' "$T/tids" | sort -u | comm -12 - "$T/sampled" | wc -l)
echo "sampled threads: $early of 2 early, $late late (created after attach)"
[ "$early" = 2 ] || fail "early threads sampled: $early"
[ "$late" -ge 3 ] || fail "threads created after attach sampled: $late"

# Attaching to a process that does not exist is a clear error.
set +e
msg=$("$KILN" run --pid 999999999 2>&1)
st=$?
set -e
[ "$st" != 0 ] && grep -q "no such process" <<<"$msg" || fail "missing pid: $st '$msg'"
echo "PASS"
