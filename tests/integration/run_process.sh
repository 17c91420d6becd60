#!/usr/bin/env bash
# kiln run keeps the process model of the command: same PID, same exit status, death by
# signal seen by the shell, exec failures as shells report them, options errors as usage
# errors, and a program shorter than 100 ms is still profiled.
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"

# Option errors and not-yet-implemented modes are usage errors (2) with a clear message.
set +e
msg=$("$KILN" run --pid 1 -- true 2>&1); st=$?
set -e
[ "$st" = 2 ] || fail "--pid with a command: status $st"
grep -q "no command expected" <<<"$msg" || fail "--pid: message '$msg'"
set +e
msg=$("$KILN" run -e "sCPU bogus=1" -- true 2>&1); st=$?
set -e
[ "$st" = 2 ] && grep -q "unknown key 'bogus'" <<<"$msg" || fail "bad event: $st '$msg'"
"$KILN" run --help >"$T/help"
for opt in --service --environment --service_version --tags --url --host --port --upload_period \
	--inlined_functions --event --preset --log_level --log_mode --show_config --enable \
	--stack_sample_size --max-frames --include-kernel --no-include-kernel --timeline \
	--no-timeline --output-dir --fail-on-error; do
	grep -q -- "$opt" "$T/help" || fail "--help does not document $opt"
done
"$KILN" run -e help >"$T/ehelp"
grep -q "sCPU" "$T/ehelp" || fail "-e help"

# --enable false just execs.
"$KILN" run --enable false -- sh -c 'exit 5' && st=0 || st=$?
[ "$st" = 5 ] || fail "--enable false: status $st"

require_perf

# Exit status and signals reach the caller unchanged.
kiln_run "$T/o1" -- "$W/run-work" exit 3
[ "$RUN_STATUS" = 3 ] || fail "exit 3 came back as $RUN_STATUS"
kiln_run "$T/o2" -- "$W/run-work" signal
[ "$RUN_STATUS" = 143 ] || fail "SIGTERM death came back as $RUN_STATUS (expected 143)"
kiln_run "$T/o3" -- sh -c 'exit 7'
[ "$RUN_STATUS" = 7 ] || fail "sh exit 7 came back as $RUN_STATUS"
kiln_run "$T/o4" -- /nonexistent/program
[ "$RUN_STATUS" = 127 ] || fail "missing program: $RUN_STATUS (expected 127)"

# The command keeps the PID the shell started.
"$KILN" run --output-dir "$T/o5" -- sh -c 'echo $$ >"$0"' "$T/pid" 2>"$T/stderr5" &
pid=$!
wait $pid
[ "$(cat "$T/pid")" = "$pid" ] || fail "PID changed: shell saw $pid, program $(cat "$T/pid")"

# A short-lived program (about 50 ms of CPU) is profiled from its first instruction.
kiln_run "$T/o6" -e "sCPU freq=999" -- "$W/run-work" exit 0
[ "$RUN_STATUS" = 0 ] || fail "short program: status $RUN_STATUS"
dump "$T/o6" >"$T/d6"
n=$(awk -F'\t' '$5 ~ /;work_[abc]$/ {t+=$1} END{print t+0}' "$T/d6")
echo "short-lived program: $n samples in work_*"
[ "$n" -ge 5 ] || fail "short-lived program: only $n work samples"
# One profile per upload period, plus the last partial one.
kiln_run "$T/o7" -u 0.5 -- "$W/run-work" spin 1.7 1
files=$(ls "$T"/o7/*.pprof | wc -l)
echo "-u 0.5 over 1.7 s: $files profiles"
[ "$files" -ge 3 ] || fail "-u 0.5: expected at least 3 profiles, got $files"
# --log_mode FILE: the profiler's messages go to the file (it is reopened after the
# profiler process closes the descriptors it inherited).
kiln_run "$T/o9" -l info -o "$T/kiln.log" -- "$W/run-work" spin 0.3 1
grep -q "profiler: done: [1-9]" "$T/kiln.log" || fail "-o FILE: no profiler messages in the file"

# PID 1 of a PID namespace (a container's `exec kiln run app`): the program is PID 1 and
# the periods that end while it runs are delivered.
if [ "$(id -u)" = 0 ] && unshare -pf --mount-proc true 2>/dev/null; then
	mkdir -p "$T/o8"
	unshare -pf --mount-proc "$KILN" run --output-dir "$T/o8" -u 0.5 -- \
		sh -c 'echo $$ >"$0"; "$1" spin 1.6 1 >/dev/null' "$T/pid1" "$W/run-work" 2>"$T/stderr8"
	check_clean "$T/stderr8"
	[ "$(cat "$T/pid1")" = 1 ] || fail "in a PID namespace the program is PID $(cat "$T/pid1"), not 1"
	files=$(ls "$T"/o8/*.pprof 2>/dev/null | wc -l)
	echo "PID 1: $files profiles"
	[ "$files" -ge 1 ] || fail "PID 1: no profile delivered"
fi
echo "PASS"
