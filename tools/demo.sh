#!/usr/bin/env bash
# demo.sh BUILD_DIR: the `make demo` script. Runs the bundled demo program under
# `kiln run --output-dir … -u 5` for about 10 s, then shows `kiln report --top` of the
# profiles it wrote and where they are. Builds nothing itself (make demo builds first).
# If perf events are unavailable here, it says why and shows a bundled dd-trace-js profile.
set -euo pipefail

BUILD=${1:-build}
KILN="$BUILD/src/kiln"
DEMO="$BUILD/tests/integration/kiln-demo"
SRC=$(cd "$(dirname "$0")/.." && pwd)
FIXTURE="$SRC/tests/fixtures/dd-trace-js/node22-gzip-periodic/parts/wall.pprof"
SECONDS_TO_RUN=${KILN_DEMO_SECONDS:-10}

for f in "$KILN" "$DEMO"; do
	if [ ! -x "$f" ]; then
		echo "demo: $f is missing; build first (make build, or cmake --build $BUILD)" >&2
		exit 1
	fi
done

OUT=$(mktemp -d "${TMPDIR:-/tmp}/kiln-demo.XXXXXX")
echo "== kiln run --output-dir $OUT -u 5 -- kiln-demo $SECONDS_TO_RUN"
echo "   (a small service whose time goes to parse_request, compress_block and hash_password)"
set +e
# 2>&1 >/dev/null | cat: wait until the detached profiler has flushed and exited.
"$KILN" run --fail-on-error --output-dir "$OUT" -u 5 -- "$DEMO" "$SECONDS_TO_RUN" 2>&1 >/dev/null |
	cat >"$OUT/kiln.log"
status=${PIPESTATUS[0]}
set -e
cat "$OUT/kiln.log"

if [ "$status" != 0 ] || ! ls "$OUT"/*.pprof >/dev/null 2>&1; then
	echo
	echo "demo: kiln could not profile here (see the messages above; docs/troubleshooting.md"
	echo "      explains each one). Showing a bundled dd-trace-js profile instead:"
	echo
	echo "== kiln report --top -n 15 $FIXTURE"
	"$KILN" report --top -n 15 "$FIXTURE"
	exit 0
fi

echo
echo "== kiln report --top -n 15 $OUT/*.pprof   (CPU time, all periods merged)"
"$KILN" report --top -n 15 --sample-index cpu-time "$OUT"/*.pprof
echo
echo "== kiln report --collapsed (heaviest stacks)"
"$KILN" report --collapsed --sample-index cpu-samples "$OUT"/*.pprof | sort -t' ' -k2 -rn | head -5
echo
echo "Profiles (one gzip pprof per 5 s period) are in: $OUT"
ls -l "$OUT"/*.pprof
echo
echo "Next: $KILN report --html flame.html $OUT/*.pprof   (a flame graph page)"
echo "      go tool pprof -top $OUT/<file>.pprof        (any pprof reader works)"
