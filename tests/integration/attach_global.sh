#!/usr/bin/env bash
# kiln run --global: one profile per process with its own hot function and process tags;
# a burst of thousands of short-lived processes keeps the profiler's memory bounded; without
# the privilege it needs, a clear explanation.
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"
require_perf
if [ "$(id -u)" != 0 ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -gt 0 ]; then
	echo "SKIP: --global needs root or perf_event_paranoid <= 0"
	exit 0
fi

# Three busy processes, each with its own hot function.
# (a high --maximum-pids: the machine running the tests may be busy with many processes)
kiln_attach "$T/g.err" --global --maximum-pids 5000 --output-dir "$T/g" -u 1 -e "sCPU freq=199"
"$W/attach-busy" alpha 3 & PA=$!
"$W/attach-busy" beta 3 & PB=$!
"$W/attach-busy" gamma 3 & PC=$!
wait $PA $PB $PC
sleep 0.3
kill -INT "$KPID"
set +e
wait "$KPID"
st=$?
set -e
check_clean "$T/g.err"
[ "$st" = 0 ] || { cat "$T/g.err" >&2; fail "kiln run --global: status $st"; }
for x in "alpha $PA" "beta $PB" "gamma $PC"; do
	set -- $x
	ls "$T/g"/attach-busy-"$2"-*.pprof >/dev/null 2>&1 || fail "no profile for $1 (pid $2)"
	dump_files=("$T/g"/attach-busy-"$2"-*.pprof)
	"$W/run-pprof-dump" "${dump_files[@]}" >"$T/d-$1"
	s=$(share ";busy_$1\$" "$T/d-$1")
	echo "$1 (pid $2): $s% in busy_$1 over $(total "$T/d-$1") samples"
	[ "${s%.*}" -ge 80 ] || { top "$T/d-$1"; fail "$1: busy_$1 has only $s%"; }
	awk -F'\t' -v p="$2" '$2 != p {bad=1} END{exit bad}' "$T/d-$1" ||
		fail "$1: samples of another process in its profile"
done
# kiln does not profile itself.
ls "$T/g"/kiln-"$KPID"-*.pprof >/dev/null 2>&1 && fail "kiln profiled itself"

# A burst of short-lived processes: memory stays bounded (exited processes are forgotten).
kiln_attach "$T/b.err" --global --maximum-pids 5000 --output-dir "$T/b" -u 0.5 -e "sCPU freq=999"
"$W/attach-busy" burst 3000
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$KPID/status")
kill -INT "$KPID"
set +e
wait "$KPID"
st=$?
set -e
check_clean "$T/b.err"
[ "$st" = 0 ] || { cat "$T/b.err" >&2; fail "burst: status $st"; }
n=$(ls "$T/b" | grep -c '^attach-busy-' || true)
limit=$((100 * 1024))
[ "${KILN_SANITIZE:-0}" = 1 ] && limit=$((400 * 1024))
echo "burst: $n attach-busy profiles, profiler VmHWM $hwm KiB (limit $limit)"
[ "$n" -ge 100 ] || fail "burst: only $n short-lived processes profiled"
[ "$hwm" -lt "$limit" ] || fail "burst: profiler VmHWM $hwm KiB"

# --maximum-pids 1: one process has its own profile per period, the rest are folded into
# "[maximum pids]".
kiln_attach "$T/m.err" --global --maximum-pids 1 --output-dir "$T/m" -u 5
"$W/attach-busy" alpha 1 & PA=$!
"$W/attach-busy" beta 1 & PB=$!
wait $PA $PB
kill -INT "$KPID"
wait "$KPID" || fail "maximum pids: status $?"
check_clean "$T/m.err"
own=$(ls "$T/m" | grep -vc '^_maximum_pids_' || true)
ls "$T/m"/_maximum_pids_-*.pprof >/dev/null 2>&1 || fail "no [maximum pids] profile"
echo "maximum pids 1: $own process profile(s) + [maximum pids]"
[ "$own" -le 2 ] || fail "maximum pids 1: $own own profiles"

# Without privilege: a clear explanation, not a crash.
if [ "$(id -u)" = 0 ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -gt 0 ] &&
	command -v setpriv >/dev/null; then
	set +e
	msg=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$KILN" run --global 2>&1)
	st=$?
	set -e
	echo "unprivileged: status $st"
	[ "$st" = 1 ] && grep -q "CAP_PERFMON" <<<"$msg" || fail "unprivileged: $st '$msg'"
fi
echo "PASS"
