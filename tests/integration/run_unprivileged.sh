#!/usr/bin/env bash
# An unprivileged user (nobody) with the machine's perf_event_paranoid (2 in CI): kiln run
# falls back to user-space sampling (exclude_kernel) and profiles, or says clearly why not
# and still runs the program.
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	echo "SKIP: needs root (to become nobody) and setpriv"
	exit 0
fi
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env -- "$@"
}
if ! as_nobody test -x "$KILN" || ! as_nobody test -x "$W/run-work"; then
	echo "SKIP: the build directory is not accessible to nobody"
	exit 0
fi
mkdir -m 777 "$T/out"
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
set +e
as_nobody "$KILN" run --output-dir "$T/out" -l info -e "sCPU freq=499" -- "$W/run-work" spin 1 1 \
	2>&1 >/dev/null | cat >"$T/stderr"
st=${PIPESTATUS[0]}
set -e
cat "$T/stderr"
[ "$st" = 0 ] || fail "the program did not run as nobody (status $st)"
check_clean "$T/stderr"
if [ "$paranoid" -ge 3 ]; then
	grep -q "perf_event_paranoid is $paranoid" "$T/stderr" || fail "no explanation for paranoid $paranoid"
	echo "PASS (paranoid $paranoid: refused with an explanation, program ran)"
	exit 0
fi
dump "$T/out" >"$T/dump"
s=$(share ';work_[abc]$' "$T/dump")
echo "as nobody (paranoid $paranoid): $s% of samples in work_*"
[ "${s%.*}" -ge 80 ] || fail "unprivileged profile has $s% in work_*"
if [ "$paranoid" -ge 2 ]; then
	grep -q "sampling user time only" "$T/stderr" || fail "no note that kernel time is excluded"

	# Kernel call chains asked for explicitly are refused at paranoid >= 2: kiln explains
	# why, and runs the program anyway (its status intact) unless --fail-on-error.
	set +e
	as_nobody "$KILN" run --include-kernel -- sh -c 'exit 4' 2>"$T/refused"
	st=$?
	as_nobody "$KILN" run --include-kernel --fail-on-error -- sh -c 'touch "$0"' "$T/out/ran" \
		2>"$T/refused2"
	st2=$?
	set -e
	cat "$T/refused"
	[ "$st" = 4 ] || fail "refused profiling: program status $st, expected 4"
	grep -q "perf_event_paranoid is $paranoid" "$T/refused" || fail "no paranoid value in the message"
	grep -q "CAP_PERFMON" "$T/refused" || fail "no remedy in the message"
	grep -q "without profiling" "$T/refused" || fail "no 'running without profiling' note"
	[ "$st2" = 1 ] || fail "--fail-on-error: status $st2, expected 1"
	[ ! -e "$T/out/ran" ] || fail "--fail-on-error: the program ran anyway"
fi
echo "PASS"
