#!/usr/bin/env bash
# libkiln with allocation profiling (library mode: the hook is dlopen'ed and installed by GOT
# patching, the ring handed to the profiler as --alloc-ring). A program linked with libkiln.so
# (configured by DD_PROFILING_NATIVE_EVENTS) and one linked with libkiln.a (configured by
# kiln_options) allocate from three sites in the ratio 50:30:20: the profile's alloc-space per
# site is within 10 % of the bytes allocated, the total within 5 %, the stacks reach main and
# no frame of the hook is left on top; with the live heap on, a leak is in inuse-space and
# freed memory is not. Without the hook library, or with a kiln that does not
# know --alloc-ring, CPU profiling still works and the start says why allocations are off.
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"
require_perf
export KILN_PROFILER="$KILN"
export DD_PROFILING_UPLOAD_PERIOD=60
# 32 KiB period: ~2,000 samples at the smallest site (sigma 2.2 %, the tolerance is 10 %);
# 8 KiB of stack per sample is plenty for these shallow stacks and keeps the ring light.
PERIOD=32768
export KILN_ALLOC_STACK=8192
MIB=320

for kind in shared static; do
	app="$W/lib-alloc-$kind"
	out="$T/$kind"
	if [ "$kind" = shared ]; then
		DD_PROFILING_NATIVE_EVENTS="sALLOC period=$PERIOD" KILN_OUTPUT_DIR="$out" \
			"$app" alloc $MIB >"$T/out" 2>"$T/err" || fail "$kind: status $?: $(cat "$T/err")"
	else
		LIB_ALLOC_PERIOD=$PERIOD KILN_OUTPUT_DIR="$out" \
			"$app" options $MIB >"$T/out" 2>"$T/err" || fail "$kind: status $?: $(cat "$T/err")"
	fi
	check_clean "$T/err"
	if grep -q "kiln: warning" "$T/err"; then
		cat "$T/err" >&2
		fail "$kind: libkiln warned"
	fi
	grep -q "lib-alloc-app: done" "$T/out" || fail "$kind: output"
	ls "$out"/*.pprof >/dev/null 2>&1 || fail "$kind: no profile"
	"$W/run-pprof-dump" -t alloc-space "$out"/*.pprof >"$T/d" || fail "$kind: no alloc-space"
	read -r _ _ a _ b _ c < <(grep '^truth' "$T/out")
	total_true=$((a + b + c))
	total=$(total "$T/d")
	echo "$kind: $(wc -l <"$T/d") stacks, $total bytes estimated of $total_true"
	for site in a:$a b:$b c:$c; do
		name=alloc_site_${site%%:*}
		truth=${site#*:}
		est=$(awk -F'\t' -v re=";main;$name\$" '$5 ~ re {t+=$1} END{print t+0}' "$T/d")
		err=$(awk -v e="$est" -v t="$truth" 'BEGIN{printf "%+.1f", 100*(e-t)/t}')
		echo "$kind: $name: $est estimated, $truth true ($err %)"
		within "$est" "$truth" "$(awk -v t="$truth" 'BEGIN{print 0.10*t}')" ||
			{ top "$T/d"; fail "$kind: $name off by $err %"; }
	done
	within "$total" "$total_true" "$(awk -v t="$total_true" 'BEGIN{print 0.05*t}')" ||
		fail "$kind: total off"
	# Every byte is at one of the sites, called from main: the hook's own frames
	# (malloc, account_slow, sample) were dropped, the unwinder went through them.
	s=$(share ';main;alloc_site_[abc]$' "$T/d")
	echo "$kind: $s % of the bytes at main;alloc_site_*"
	[ "${s%.*}" -ge 99 ] || { top "$T/d"; fail "$kind: only $s % at the sites"; }
done

# Live heap through the GOT hooks (frees are patched too): leak_site leaks 48 MiB while
# alloc_site_a frees everything it allocates; the last profile's inuse-space holds the leak
# (within 15 %: ~1,500 samples) and almost nothing of alloc_site_a.
DD_PROFILING_NATIVE_EVENTS="sALLOC period=$PERIOD mode=l" KILN_OUTPUT_DIR="$T/leak" \
	"$W/lib-alloc-shared" leak 48 >"$T/out" 2>"$T/err" || fail "leak: status $?: $(cat "$T/err")"
check_clean "$T/err"
read -r _ _ leaked _ freed < <(grep '^truth' "$T/out")
"$W/run-pprof-dump" -t inuse-space "$T/leak"/*.pprof >"$T/d" || fail "leak: no inuse-space"
est=$(awk -F'\t' '$5 ~ /;main;leak_site$/ {t+=$1} END{print t+0}' "$T/d")
other=$(awk -F'\t' '$5 ~ /;main;alloc_site_a$/ {t+=$1} END{print t+0}' "$T/d")
echo "leak: inuse at leak_site $est of $leaked leaked; at alloc_site_a $other of $freed freed"
within "$est" "$leaked" "$(awk -v t="$leaked" 'BEGIN{print 0.15*t}')" ||
	{ top "$T/d"; fail "leak: inuse at leak_site off"; }
awk -v o="$other" -v t="$freed" 'BEGIN{exit !(o < 0.02*t)}' || fail "leak: freed bytes still in use"

# No hook library: CPU profiling starts anyway, with a warning saying why.
KILN_PRELOAD_LIB=/nonexistent/libkiln_preload.so DD_PROFILING_NATIVE_PRESET=cpu_live_heap \
	KILN_OUTPUT_DIR="$T/nolib" "$W/lib-alloc-shared" ready 300 >"$T/out" 2>"$T/err" ||
	fail "no hook library: status $?: $(cat "$T/err")"
grep -q "allocation profiling off: libkiln_preload.so not found" "$T/err" ||
	{ cat "$T/err" >&2; fail "no hook library: no warning"; }
dump "$T/nolib" >"$T/d"
s=$(share ';main;ready_hot(;|$)' "$T/d")
echo "no hook library: $s % of $(total "$T/d") CPU samples in ready_hot"
[ "${s%.*}" -ge 70 ] || fail "no hook library: CPU profile without ready_hot"
# A kiln too old for --alloc-ring (exit status 2, a usage error): started again without it.
cat >"$T/oldkiln" <<OLD
#!/usr/bin/env bash
for a in "\$@"; do [ "\$a" = --alloc-ring ] && { echo "kiln run: unknown option" >&2; exit 2; }; done
exec "$KILN" "\$@"
OLD
chmod +x "$T/oldkiln"
KILN_PROFILER="$T/oldkiln" KILN_PRELOAD_LIB="$KILN_BUILD_DIR/src/preload/libkiln_preload.so" \
	DD_PROFILING_NATIVE_PRESET=default KILN_OUTPUT_DIR="$T/old" "$W/lib-alloc-static" ready 300 \
	>"$T/out" 2>"$T/err" || fail "old kiln: status $?: $(cat "$T/err")"
grep -q "allocation profiling off: .* does not accept --alloc-ring" "$T/err" ||
	{ cat "$T/err" >&2; fail "old kiln: no warning"; }
dump "$T/old" >"$T/d"
s=$(share ';main;ready_hot(;|$)' "$T/d")
echo "kiln without --alloc-ring: $s % of $(total "$T/d") CPU samples in ready_hot"
[ "${s%.*}" -ge 70 ] || fail "old kiln: CPU profile without ready_hot"
echo "PASS"
