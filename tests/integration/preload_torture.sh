#!/usr/bin/env bash
# The allocation hook must not change what programs do: preload-torture (threads, realloc
# chains, aligned allocations, fork in the middle, exec, dlopen, calloc overflow, errno) and
# preload-cxx (new/delete through libstdc++) print the same and exit the same with and
# without libkiln_preload.so, with a ring, with no ring, and with a ring too small (losses
# counted, program unaffected). The ring must show what happened: samples from the fork
# child, the exec'd child and the dlopen'ed library, C++ allocations counted once.
set -euo pipefail
bin=$KILN_TEST_BIN_DIR
lib=$KILN_BUILD_DIR/src/preload/libkiln_preload.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

run() { # run NAME PRELOAD RING cmd…: stdout to $tmp/NAME.out, exit status to $tmp/NAME.rc
	local name=$1 pre=$2 ring=$3
	shift 3
	local rc=0
	if [ -n "$pre" ]; then
		env LD_PRELOAD="$pre" KILN_ALLOC_RING="$ring" "$@" >"$tmp/$name.out" || rc=$?
	else
		"$@" >"$tmp/$name.out" || rc=$?
	fi
	echo "$rc" >"$tmp/$name.rc"
}

same() { # same A B: identical output and status
	cmp -s "$tmp/$1.out" "$tmp/$2.out" || { diff "$tmp/$1.out" "$tmp/$2.out" >&2; fail "$1 vs $2 output"; }
	cmp -s "$tmp/$1.rc" "$tmp/$2.rc" || fail "$1 vs $2 status $(cat "$tmp/$1.rc") $(cat "$tmp/$2.rc")"
}

torture=("$bin/preload-torture" "$bin/libpreload-plugin.so")

# 1. torture: plain, hooked with a roomy ring, hooked without a ring
"$bin/preload-ring" create "$tmp/ring" $((64 << 20)) 65536 512
run plain "" "" "${torture[@]}"
run hooked "$lib" "$tmp/ring" "${torture[@]}"
run noring "$lib" "" "${torture[@]}"
run badring "$lib" "$tmp/does-not-exist" "${torture[@]}"
cat "$tmp/plain.out"
[ "$(cat "$tmp/plain.rc")" = 5 ] || fail "plain status $(cat "$tmp/plain.rc")"
grep -q "calloc overflow: NULL ENOMEM" "$tmp/plain.out" || fail "calloc overflow"
grep -q "errno kept after malloc: 1" "$tmp/plain.out" || fail "errno"
grep -q "fork child status: 7" "$tmp/plain.out" || fail "exec child status"
same plain hooked
same plain noring
same plain badring
"$bin/preload-ring" stats "$tmp/ring" 777777 555555 >"$tmp/stats"
cat "$tmp/stats"
[ "$(stat_of lost "$tmp/stats")" = 0 ] || fail "lost samples with a roomy ring"
[ "$(stat_of samples "$tmp/stats")" -gt 1000 ] || fail "too few samples"
[ "$(stat_of pids "$tmp/stats")" -ge 2 ] || fail "no samples from the fork child"
[ "$(stat_of starts "$tmp/stats")" -ge 3 ] || fail "start, fork child and exec'd child not all attached"
[ "$(stat_of size:777777 "$tmp/stats")" -ge 90 ] || fail "dlopen'ed library not sampled"
[ "$(stat_of size:555555 "$tmp/stats")" -ge 90 ] || fail "exec'd child not sampled"
[ "$(stat_of dup_live "$tmp/stats")" = 0 ] || fail "an address sampled twice without a free"
[ "$(stat_of bad_stack "$tmp/stats")" = 0 ] || fail "bad register or stack capture"
[ "$(stat_of frees "$tmp/stats")" -gt 0 ] || fail "no free records"

# 2. a ring far too small for period 1 byte: losses counted, program unaffected
"$bin/preload-ring" create "$tmp/small" 65536 -1 32768
run small "$lib" "$tmp/small" "${torture[@]}"
same plain small
"$bin/preload-ring" stats "$tmp/small" >"$tmp/small.stats"
cat "$tmp/small.stats"
[ "$(stat_of lost "$tmp/small.stats")" -gt 1000 ] || fail "a full ring did not count losses"

# 3. C++: deterministic period 4096 B; new Big (123457 B) x200 must give exactly 200 samples
# (one per allocation: new is not hooked on top of malloc)
"$bin/preload-ring" create "$tmp/cxx" $((64 << 20)) -4096 1024
run cxx_plain "" "" "$bin/preload-cxx"
run cxx_hooked "$lib" "$tmp/cxx" "$bin/preload-cxx"
same cxx_plain cxx_hooked
[ "$(cat "$tmp/cxx_plain.rc")" = 3 ] || fail "cxx status"
"$bin/preload-ring" stats "$tmp/cxx" 123457 >"$tmp/cxx.stats"
cat "$tmp/cxx.stats"
[ "$(stat_of size:123457 "$tmp/cxx.stats")" = 200 ] || fail "C++ new counted $(stat_of size:123457 "$tmp/cxx.stats") times, want 200"
[ "$(stat_of dup_live "$tmp/cxx.stats")" = 0 ] || fail "C++ double counting"
# 4. bad_alloc thrown by libstdc++'s operator new crosses the hook's forwarder
PRELOAD_CXX_THROW=1 "$bin/preload-cxx" >"$tmp/throw_plain.out" || true
PRELOAD_CXX_THROW=1 LD_PRELOAD=$lib KILN_ALLOC_RING=$tmp/cxx "$bin/preload-cxx" >"$tmp/throw_hooked.out" || true
grep -q "bad_alloc caught" "$tmp/throw_plain.out" || fail "plain bad_alloc"
cmp -s "$tmp/throw_plain.out" "$tmp/throw_hooked.out" || fail "bad_alloc through the hook"

# 5. an allocator with its own operator new (not calling malloc): sampled by the hook's new,
# exactly once per allocation
"$bin/preload-ring" create "$tmp/fake" $((64 << 20)) -4096 1024
run fake_plain "" "" "$bin/preload-cxx-fake"
run fake_hooked "$lib" "$tmp/fake" "$bin/preload-cxx-fake"
same cxx_plain fake_plain
same fake_plain fake_hooked
"$bin/preload-ring" stats "$tmp/fake" 123457 >"$tmp/fake.stats"
cat "$tmp/fake.stats"
[ "$(stat_of size:123457 "$tmp/fake.stats")" = 200 ] || fail "separate operator new counted $(stat_of size:123457 "$tmp/fake.stats") times, want 200"
[ "$(stat_of dup_live "$tmp/fake.stats")" = 0 ] || fail "separate allocator double counting"
[ "$(stat_of frees "$tmp/fake.stats")" -ge 200 ] || fail "separate operator delete not reported"
echo "preload torture: OK"
