#!/usr/bin/env bash
# libkiln: a program linked with libkiln.so and one linked with libkiln.a start and stop
# profiling themselves; a profile of each arrives with its functions. Starting and stopping
# twice are harmless, a forked child can exec, stop(0) returns at once and the profiler still
# flushes, options in code win over the environment, a missing kiln binary is -ENOENT.
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"
require_perf
export KILN_PROFILER="$KILN"
export DD_PROFILING_UPLOAD_PERIOD=60

# check DIR LABEL: the profiles in DIR are lib-app's, mostly in lib_hot.
check() {
	ls "$1"/*.pprof >/dev/null 2>&1 || fail "$2: no profile"
	dump "$1" >"$T/d"
	local s
	s=$(share ';main;lib_hot$' "$T/d")
	echo "$2: $s% in main;lib_hot over $(total "$T/d") samples"
	[ "${s%.*}" -ge 70 ] || { top "$T/d"; fail "$2: lib_hot has only $s%"; }
}

for kind in shared static; do
	app="$W/lib-app-$kind"
	KILN_OUTPUT_DIR="$T/$kind-work" DD_SERVICE=lib-test "$app" work 1.5 >"$T/out" 2>"$T/err" ||
		fail "$kind: status $?: $(cat "$T/err")"
	grep -q "lib-app: done" "$T/out" || fail "$kind: output"
	check_clean "$T/err"
	check "$T/$kind-work" "$kind"
	ls "$T/$kind-work" | grep -q '^lib-app' || fail "$kind: file not named after the process"

	KILN_OUTPUT_DIR="$T/$kind-twice" "$app" twice 1 >"$T/out" 2>"$T/err" || fail "$kind twice: $?"
	check "$T/$kind-twice" "$kind twice"
	n=$(ls "$T/$kind-twice" | wc -l)
	[ "$n" = 1 ] || fail "$kind twice: $n profiles (one profiler expected)"

	KILN_OUTPUT_DIR="$T/$kind-fork" "$app" forkexec 1 >"$T/out" 2>"$T/err" ||
		fail "$kind forkexec: $?: $(cat "$T/err")"
	grep -q child-ok "$T/out" || fail "$kind forkexec: child output"
	check "$T/$kind-fork" "$kind fork+exec"
done

# stop(0): the program returns at once; the profiler flushes on its own, then exits.
KILN_OUTPUT_DIR="$T/stop0" "$W/lib-app-shared" stop0 1 || fail "stop0: $?"
for _ in $(seq 100); do
	ls "$T/stop0"/*.pprof >/dev/null 2>&1 && break
	sleep 0.1
done
sleep 0.5
check "$T/stop0" "stop(0)"

# Exit without stopping: the profiler flushes the last profile on its own.
KILN_OUTPUT_DIR="$T/exit" "$W/lib-app-static" exit 1 || fail "exit: $?"
for _ in $(seq 100); do
	ls "$T/exit"/*.pprof >/dev/null 2>&1 && break
	sleep 0.1
done
sleep 0.5
check "$T/exit" "exit without stop"

# An options struct (an unknown version is -EINVAL, checked inside the program); its
# service wins over DD_SERVICE (the profiler's --show_config dump says which it uses).
KILN_OUTPUT_DIR="$T/opts" DD_SERVICE=from-env DD_PROFILING_SHOW_CONFIG=true \
	"$W/lib-app-static" options 1 2>"$T/err" || fail "options: $?"
check "$T/opts" "options"
grep -q "service: from-code" "$T/err" || { cat "$T/err" >&2; fail "options: the code's service did not win"; }

# No kiln binary: -ENOENT, no crash.
set +e
out=$(KILN_PROFILER=/nonexistent/kiln "$W/lib-app-shared" start 2>&1)
st=$?
set -e
[ "$st" = 1 ] && grep -q "No such file" <<<"$out" || fail "missing binary: $st '$out'"
echo "PASS"
