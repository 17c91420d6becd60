#!/bin/bash
# kiln serve durability: kill -9 the server in the middle of a stream of concurrent uploads,
# restart it on the same SQLite store, and check that every upload it acknowledged with 200
# is there (an upload is acknowledged only after the store committed it).
set -euo pipefail

. "$KILN_SOURCE_DIR/tests/integration/workloads/serve_lib.bash"
work=$(mktemp -d)
cpid=
cleanup() {
	serve_kill_all
	[ -z "$cpid" ] || kill -9 "$cpid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
client="python3 $KILN_SOURCE_DIR/tests/integration/serve_durability_client.py"

start_server() { # LOG PORT: the server on the store of both runs; sets $pid
	serve_start "$1" --listen "127.0.0.1:$2" --store "$work/data"
	pid=$SERVE_PID
}

# A port for both runs: the second server must come back where the client looks.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_server "$work/run1.log" "$port"

$client upload "127.0.0.1:$port" "$work/acked" &
cpid=$!
# Let a good number of uploads through, then crash the server mid-stream.
for _ in $(seq 1 600); do
	n=$(wc -l <"$work/acked" 2>/dev/null || echo 0)
	[ "$n" -ge 60 ] && break
	sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
wait "$cpid"
echo "acknowledged before the crash: $(wc -l <"$work/acked")"

start_server "$work/run2.log" "$port"
$client check "127.0.0.1:$port" "$work/acked"
kill -TERM "$pid"
wait "$pid"
