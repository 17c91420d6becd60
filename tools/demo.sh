#!/usr/bin/env bash
# demo.sh BUILD_DIR: the `make demo` script. Starts `kiln serve` (UI on
# http://127.0.0.1:8126/, or a free port if that one is taken), runs the bundled demo
# program under `kiln run` for about 10 s — uploading to that server and writing files —,
# then shows `kiln report --top` of the profiles and the URL of the UI. From a terminal the
# server keeps running until Ctrl-C; otherwise it is stopped and the command that reopens
# it is printed. Builds nothing itself (make demo builds first). If perf events are
# unavailable here, it says why and shows a bundled dd-trace-js profile.
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
DATA="$OUT/kiln-data"

# The server: the UI and the intake on one port.
SERVER_PID=
stop_server() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		SERVER_PID=
	fi
}
trap stop_server EXIT
start_server() { # start_server LISTEN: 0 once /healthz answers
	"$KILN" serve --listen "$1" --store "$DATA" --log_mode "$OUT/serve.log" &
	SERVER_PID=$!
	for _ in $(seq 100); do
		kill -0 "$SERVER_PID" 2>/dev/null || { SERVER_PID=; return 1; }
		PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$OUT/serve.log" 2>/dev/null | head -1)
		[ -n "$PORT" ] || PORT=${1##*:}
		if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	stop_server
	return 1
}
PORT=${KILN_DEMO_PORT:-8126}
if ! start_server "127.0.0.1:$PORT"; then
	echo "demo: port $PORT is taken; using a free port"
	start_server "127.0.0.1:0" || { echo "demo: kiln serve did not start:" >&2; cat "$OUT/serve.log" >&2; exit 1; }
fi
URL="http://127.0.0.1:$PORT"

echo "== kiln serve --listen 127.0.0.1:$PORT --store $DATA   (UI: $URL/)"
echo "== kiln run -S kiln-demo -U $URL --output-dir $OUT -u 5 -- kiln-demo $SECONDS_TO_RUN"
echo "   (a small service whose time goes to parse_request, compress_block and hash_password;"
echo "    halfway through it starts calling validate_request too)"
set +e
# 2>&1 >/dev/null | cat: wait until the detached profiler has flushed and exited.
"$KILN" run --fail-on-error -S kiln-demo -E demo -V 1.0 -U "$URL" --output-dir "$OUT" -u 5 \
	-- "$DEMO" "$SECONDS_TO_RUN" 2>&1 >/dev/null | cat >"$OUT/kiln.log"
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
echo
echo "The web UI has the same profiles:"
echo "  $URL/#/search?q=service:kiln-demo          the demo's profiles; click one for its flame graph"
echo "  Compare (top bar): first 5 s vs last 5 s shows validate_request appear"
if [ -t 0 ] && [ -t 1 ]; then
	echo
	echo "kiln serve is running at $URL/ — press Ctrl-C to stop it."
	wait "$SERVER_PID" || true
else
	echo
	echo "(not a terminal: kiln serve stopped. Reopen the UI with:"
	echo "   $KILN serve --listen 127.0.0.1:$PORT --store $DATA )"
fi
