#!/bin/bash
# kiln serve end to end, against the real SQLite store: the dd-trace-js capture replayed
# byte for byte (chunked, keep-alive) then found through the API with its hotA/hotB shares;
# malformed uploads answered 4xx while the server keeps serving; legacy v1/v3 formats;
# agent endpoints tracers call; API keys; the Unix socket; graceful shutdown on SIGTERM.
set -euo pipefail

. "$KILN_SOURCE_DIR/tests/integration/workloads/serve_lib.bash"
work=$(mktemp -d)
cleanup() {
	serve_kill_all
	rm -rf "$work"
}
trap cleanup EXIT
client="python3 $KILN_SOURCE_DIR/tests/integration/serve_intake_client.py"

# start_server LOG ARGS…: starts kiln serve on a free port; sets $pid and $port.
start_server() {
	serve_start "$@"
	pid=$SERVE_PID port=$SERVE_PORT
}

echo "== main suite"
start_server "$work/main.log" --store "$work/data" --max-request-size 1M \
	--unix-socket "$work/apm.socket"
$client main "127.0.0.1:$port"
$client unix "$work/apm.socket"

echo "== graceful shutdown"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 0 ] || { echo "kiln serve exited with $status after SIGTERM"; exit 1; }
grep -q "stopped" "$work/main.log" || { cat "$work/main.log"; echo "no clean stop"; exit 1; }
[ ! -e "$work/apm.socket" ] || { echo "unix socket left behind"; exit 1; }
# The data survives a restart; retention (5 years) drops the 2019 legacy upload only.
start_server "$work/main2.log" --store "$work/data" --retention 1826d
count() {
	curl -sf "http://127.0.0.1:$port/api/v1/search?q=service:$1" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'
}
for _ in $(seq 1 100); do
	[ "$(count legacy-v1)" = 0 ] && break
	sleep 0.1
done
[ "$(count legacy-v1)" = 0 ] || { echo "retention kept the 2019 upload"; exit 1; }
n=$(count capture-svc)
# Two replays over TCP, one over the Unix socket.
[ "$n" = 3 ] || { echo "after restart: $n capture-svc profiles, want 3"; exit 1; }
kill -TERM "$pid"
wait "$pid"

echo "== API keys"
printf 'sekrit-intake\n' >"$work/key"
printf '  ui-sekrit  \n' >"$work/uikey"
start_server "$work/keys.log" --store "$work/data-keys" --api-key-file "$work/key" \
	--ui-api-key-file "$work/uikey" --retention 30d --max-buffered 64M
$client keys "127.0.0.1:$port" sekrit-intake ui-sekrit
kill -TERM "$pid"
wait "$pid"

echo "== bad options"
if "$KILN_BIN" serve --max-request-size lots 2>"$work/err"; then
	echo "bad --max-request-size accepted"
	exit 1
fi
grep -q "max-request-size" "$work/err"
if "$KILN_BIN" serve --retention sometime 2>"$work/err"; then
	echo "bad --retention accepted"
	exit 1
fi
grep -q "retention" "$work/err"
for opt in --api-key-file --ui-api-key-file --retention --max-buffered --unix-socket; do
	"$KILN_BIN" serve --help | grep -q -- "$opt" || { echo "--help lacks $opt"; exit 1; }
done
echo "serve_intake: all good"
