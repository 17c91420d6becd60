#!/usr/bin/env bash
# Allocation profiling must not change what programs do, and must fail soft:
# - the hook's torture programs (threads, realloc chains, aligned allocations, fork, exec,
#   dlopen, calloc overflow, errno; C++ new/delete, an allocator with its own operator new)
#   under `kiln run` with allocations and the live heap on, at a tiny period: same output,
#   same exit status as without kiln;
# - the hook reaches the command only when an allocation event is on: LD_PRELOAD (the hook
#   first, an existing LD_PRELOAD kept) and KILN_ALLOC_RING=fd:N naming the ring's memfd;
# - no LD_PRELOAD possible (a statically linked program, the library missing): CPU
#   profiling works, with one clear warning; asked for explicitly, it is an error.
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"
require_perf

same() { # same NAME: $T/NAME.plain.* vs $T/NAME.kiln.*
	cmp -s "$T/$1.plain.out" "$T/$1.kiln.out" || { diff "$T/$1.plain.out" "$T/$1.kiln.out" >&2; fail "$1: output differs under kiln"; }
	[ "$(cat "$T/$1.plain.rc")" = "$(cat "$T/$1.kiln.rc")" ] || fail "$1: status $(cat "$T/$1.plain.rc") plain, $(cat "$T/$1.kiln.rc") under kiln"
}
compare() { # compare NAME cmd...
	local name=$1 rc=0
	shift
	"$@" >"$T/$name.plain.out" || rc=$?
	echo "$rc" >"$T/$name.plain.rc"
	kiln_run "$T/$name.o" -e "sCPU;sALLOC period=4096 mode=sl" -- "$@"
	cp "$T/stdout" "$T/$name.kiln.out"
	echo "$RUN_STATUS" >"$T/$name.kiln.rc"
	same "$name"
	"$W/run-pprof-dump" -t alloc-samples "$T/$name.o"/*.pprof >"$T/d" || fail "$name: no alloc-samples"
	[ "$(total "$T/d")" -gt 100 ] || fail "$name: too few allocation samples"
	echo "$name: same output and status ($(cat "$T/$name.plain.rc")), $(total "$T/d") allocation samples"
}
compare torture "$W/preload-torture" "$W/libpreload-plugin.so"
# Whole stacks: the hook copies a thread's stack up to its first frame (not its TLS, descriptor
# or environment), never less: every sample of the program's symbolized processes is rooted
# at the main thread's _start or a thread's clone3;start_thread, and the workers' own samples
# are there. (Not [lost], nor the short-lived fork child when the profiler missed its maps:
# "[pid N];[unknown mapping]".)
"$W/run-pprof-dump" -t alloc-samples "$T/torture.o"/*.pprof >"$T/d"
read -r m w t < <(awk -F'\t' '$5 ~ /^preload-torture;/ && $5 !~ /;\[lost\]$/ {t+=$1;
	if ($5 ~ /^[^;]*;(_start;__libc_start_main|clone3;start_thread);/) m+=$1;
	if ($5 ~ /;clone3;start_thread;worker(;|$)/) w+=$1} END{print m+0, w+0, t+0}' "$T/d")
echo "samples rooted at _start or clone3;start_thread: $m of $t ($w in the workers)"
[ "$m" = "$t" ] && [ "$w" -gt 100 ] || { top "$T/d"; fail "allocation stacks cut short"; }
compare cxx "$W/preload-cxx"
compare cxx_own_new "$W/preload-cxx-fake"

# What the command sees.
env_of() { # env_of ARGS...: runs a shell under kiln run printing its hook environment
	kiln_run "$T/env.o" "$@" -- sh -c 'echo "pre=$LD_PRELOAD"; echo "ring=$KILN_ALLOC_RING";
		fd=${KILN_ALLOC_RING#fd:}; [ -n "$fd" ] && readlink /proc/$$/fd/$fd; true'
}
env_of --preset cpu_only
grep -qx "pre=" "$T/stdout" && grep -qx "ring=" "$T/stdout" || { cat "$T/stdout"; fail "hook injected without an allocation event"; }
# (a sanitized kiln must be told that a preloaded library before its runtime is fine)
LD_PRELOAD=libm.so.6 ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 env_of
grep -qE "^pre=/.*/libkiln_preload.so:libm.so.6$" "$T/stdout" || { cat "$T/stdout"; fail "LD_PRELOAD"; }
grep -qE "^ring=fd:[0-9]+$" "$T/stdout" || { cat "$T/stdout"; fail "KILN_ALLOC_RING"; }
grep -q "memfd:kiln-alloc-ring" "$T/stdout" || { cat "$T/stdout"; fail "the ring's fd is not inherited"; }

# A statically linked program: one warning, CPU profile as usual.
kiln_run "$T/s" -u 60 -- "$W/alloc-work-static" sites 3072 3000
[ "$RUN_STATUS" = 0 ] || fail "static: status $RUN_STATUS"
[ "$(grep -c "statically linked" "$T/stderr")" = 1 ] || { cat "$T/stderr"; fail "static: want one warning"; }
"$W/run-pprof-dump" -t cpu-samples "$T/s"/*.pprof >"$T/d" || fail "static: no CPU profile"
[ "$(total "$T/d")" -gt 0 ] || fail "static: no CPU samples"

# The library missing: a warning with the default preset, an error when asked for.
KILN_PRELOAD_LIB=/nonexistent/libkiln_preload.so kiln_run "$T/m" -- "$W/alloc-work" sites 3072 3000
[ "$RUN_STATUS" = 0 ] || fail "missing lib: status $RUN_STATUS"
[ "$(grep -c "KILN_PRELOAD_LIB" "$T/stderr")" = 1 ] || { cat "$T/stderr"; fail "missing lib: want one warning"; }
grep -q "warn" "$T/stderr" || fail "missing lib: not a warning"
"$W/run-pprof-dump" -t cpu-samples "$T/m"/*.pprof >"$T/d" || fail "missing lib: no CPU profile"
set +e
KILN_PRELOAD_LIB=/nonexistent/libkiln_preload.so "$KILN" run --fail-on-error --preset alloc_only \
	--output-dir "$T/m2" -- true 2>"$T/err"
st=$?
set -e
[ "$st" = 1 ] && grep -q "error" "$T/err" && grep -q "KILN_PRELOAD_LIB" "$T/err" || { cat "$T/err"; fail "alloc_only without the library: status $st"; }
echo "run_alloc_safety: OK"
