#!/usr/bin/env bash
# --include-kernel (root or perf_event_paranoid <= 1): kernel call chains are recorded below
# the user stack that made the system call, and named from /proc/kallsyms.
# Also: --max-frames keeps the leaf side of deep stacks and says how many frames it dropped,
# and --show_config prints the configuration.
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"
require_perf

kiln_run "$T/mf" --max-frames 16 --show_config -e "sCPU freq=499" -- "$W/run-work" deep 1 1
[ "$RUN_STATUS" = 0 ] || fail "max-frames: status $RUN_STATUS"
grep -q "max-frames: 16" "$T/stderr" || fail "--show_config did not print the configuration"
dump "$T/mf" >"$T/d1"
# (mawk has no {n} intervals: spell the 15 frames out)
s=$(share "^run-work;\\[[0-9]+ frames omitted\\];$(printf 'recurse;%.0s' {1..14})recurse\$" "$T/d1")
echo "--max-frames 16: $s% of samples are 15 leaf frames + [N frames omitted] + root"
[ "${s%.*}" -ge 90 ] || fail "--max-frames 16: only $s% truncated as expected"
longest=$(awk -F'\t' '{n=split($5, f, ";"); if (n>m) m=n} END{print m}' "$T/d1")
[ "$longest" -le 17 ] || fail "a stack has $longest frames (max 16 + root)"

paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
if [ "$(id -u)" != 0 ] && [ "$paranoid" -gt 1 ]; then
	echo "SKIP kernel part: needs root or perf_event_paranoid <= 1 (is $paranoid)"
	echo "PASS"
	exit 0
fi
kiln_run "$T/k" --include-kernel -e "sCPU freq=999" -- \
	dd if=/dev/zero of=/dev/null bs=64k count=40000
[ "$RUN_STATUS" = 0 ] || fail "dd: status $RUN_STATUS"
dump "$T/k" >"$T/d2"
s=$(share ';(read|write|__libc_read|__libc_write|__GI___libc_read|__GI___libc_write);.*do_syscall_64' "$T/d2")
echo "--include-kernel: $s% of samples show a read/write system call in the kernel"
[ "${s%.*}" -ge 20 ] || fail "kernel call chains missing ($s%)"
unnamed=$(share ';\[kernel\] 0x' "$T/d2")
echo "unnamed kernel frames: $unnamed%"
[ "${unnamed%.*}" -le 5 ] || fail "kernel frames not symbolized ($unnamed%)"
echo "PASS"
