#!/bin/bash
# kiln serve durability: kill -9 the server in the middle of a stream of concurrent uploads,
# restart it on the same store, and check that every upload it acknowledged with 200 is there
# (an upload is acknowledged only after the store committed it). Both stores: SQLite, then a
# real PostgreSQL (group commits written by several connections at once, inserts pipelined).
set -euo pipefail

. "$KILN_SOURCE_DIR/tests/integration/workloads/serve_lib.bash"
work=$(mktemp -d)
chmod 711 "$work" # the PostgreSQL server's own user reaches its directory inside
cpid=
cleanup() {
	serve_kill_all
	[ -z "$cpid" ] || kill -9 "$cpid" 2>/dev/null || true
	serve_pg_stop
	rm -rf "$work"
}
trap cleanup EXIT
client="python3 $KILN_SOURCE_DIR/tests/integration/serve_durability_client.py"

start_server() { # LOG PORT STORE: the server on the store of both runs; sets $pid
	serve_start "$1" --listen "127.0.0.1:$2" --store "$3"
	pid=$SERVE_PID
}

crash_and_check() { # NAME STORE
	local name=$1 store=$2 port n
	# A port for both runs: the second server must come back where the client looks.
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	start_server "$work/$name-run1.log" "$port" "$store"

	$client upload "127.0.0.1:$port" "$work/$name-acked" &
	cpid=$!
	# Let a good number of uploads through, then crash the server mid-stream.
	for _ in $(seq 1 600); do
		n=$(wc -l <"$work/$name-acked" 2>/dev/null || echo 0)
		[ "$n" -ge 60 ] && break
		sleep 0.05
	done
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	wait "$cpid"
	cpid=
	echo "$name: acknowledged before the crash: $(wc -l <"$work/$name-acked")"

	start_server "$work/$name-run2.log" "$port" "$store"
	$client check "127.0.0.1:$port" "$work/$name-acked"
	kill -TERM "$pid"
	wait "$pid"
}

crash_and_check sqlite "$work/data"
serve_pg_start "$work/pg"
url=$SERVE_PG_URL
crash_and_check postgres "$url"
