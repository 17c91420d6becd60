# run_lib.bash: helpers shared by kiln run's integration tests (tests/integration/run_*.sh).
# Sourced, not run: the .bash suffix keeps it out of the ctest glob.

KILN=${KILN_BIN:?KILN_BIN not set}
W=${KILN_TEST_BIN_DIR:?KILN_TEST_BIN_DIR not set}
T=$(mktemp -d /tmp/kiln-run-test.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Skips (passes) the test when perf events cannot be used at all here.
require_perf() {
	local out
	out=$("$KILN" run --fail-on-error --output-dir "$T" -- true 2>&1 >/dev/null) || {
		echo "SKIP: perf events unavailable here:"
		echo "$out"
		exit 0
	}
}

# kiln_run OUTDIR ARGS...: runs `kiln run --output-dir OUTDIR ARGS`, waits until the profiler
# has flushed and exited (the command substitution waits for its stderr to close), leaves
# the command's exit status in RUN_STATUS and the profiler's/kiln's stderr in $T/stderr.
kiln_run() {
	local out=$1
	shift
	mkdir -p "$out"
	set +e
	# 2>&1 >file: the substitution reads kiln's stderr, and ends only when every writer has
	# closed it, including the detached profiler, which does so when it exits after its
	# last flush.
	"$KILN" run --output-dir "$out" "$@" 2>&1 >"$T/stdout" | cat >"$T/stderr"
	RUN_STATUS=${PIPESTATUS[0]}
	set -e
	check_clean "$T/stderr"
}

# kiln_attach ERRFILE ARGS...: starts `kiln run ARGS` (an attach: --pid or --global) in the
# background, its pid in KPID and its stderr in ERRFILE, and returns once its perf events are
# enabled (the profiler writes "R" to KILN_READY_FD then), so that nothing the test does next
# can happen before kiln watches. Fails if kiln exits or is not ready within 120 s.
kiln_attach() {
	local err=$1 fifo r=""
	shift
	fifo=$(mktemp -u "$T/ready.XXXXXX")
	mkfifo "$fifo"
	KILN_READY_FD=9 "$KILN" run "$@" 9>"$fifo" 2>"$err" &
	KPID=$!
	read -r -t 120 -n 1 r <"$fifo" || true
	rm -f "$fifo"
	[ "$r" = R ] || { cat "$err" >&2; fail "kiln run $* did not get ready"; }
}

# Fails on sanitizer reports or kiln errors in a log.
check_clean() {
	if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:|kiln: error" "$1"; then
		cat "$1" >&2
		fail "errors in kiln's output"
	fi
}

# dump OUTDIR: one line per sample (value, pid, tid, thread name, root;...;leaf).
dump() {
	"$W/run-pprof-dump" "$1"/*.pprof
}

# share PATTERN FILE: percentage (one decimal) of samples whose stack matches the awk regex,
# among all samples in FILE (a dump).
share() {
	awk -F'\t' -v re="$1" '{t+=$1; if ($5 ~ re) m+=$1} END{if (!t) print 0; else printf "%.1f\n", 100*m/t}' "$2"
}

# top FILE: the heaviest stacks of a dump, to stderr (for failure reports).
top() {
	awk -F'\t' '{s[$5]+=$1} END{for (k in s) print s[k], k}' "$1" | sort -rn | head -8 | cut -c1-300 >&2
}

total() {
	awk -F'\t' '{t+=$1} END{print t+0}' "$1"
}

# within VALUE EXPECTED TOLERANCE
within() {
	awk -v v="$1" -v e="$2" -v t="$3" 'BEGIN{d=v-e; if (d<0) d=-d; exit !(d<=t)}'
}
