#!/bin/bash
# kiln serve ingest throughput: uploads/s of the real dd-trace-js upload (24 KiB body, three
# gzip pprof attachments) from several concurrent keep-alive clients, into the default SQLite
# store (WAL, synchronous=FULL) or a throwaway local PostgreSQL 15 (STORE=postgres, fsync on,
# unix socket), each upload decoded and committed before its 200.
#
#	bench/serve_ingest.sh [BUILD_DIR]      (default: build)
# Environment: CONCURRENCY (8), TOTAL (3000), THREADS (server --threads, 4),
# STORE (sqlite or postgres; default sqlite).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
kiln=$build/src/kiln
[ -x "$kiln" ] || { echo "no kiln binary at $kiln (build first)"; exit 1; }
conc=${CONCURRENCY:-8}
total=${TOTAL:-3000}
threads=${THREADS:-4}
fx=$src/tests/fixtures/dd-trace-js/node22-gzip-periodic

store_kind=${STORE:-sqlite}

work=$(mktemp -d)
chmod 711 "$work" # the PostgreSQL server's own user reaches its directory inside
spid=
pg=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null || true
	[ -z "$pg" ] || bash "$src/tests/integration/pg/pg.sh" stop "$work/pg"
	rm -rf "$work"
}
trap cleanup EXIT
case $store_kind in
sqlite) store=$work/data ;;
postgres)
	store=$(KILN_PG_FSYNC=on bash "$src/tests/integration/pg/pg.sh" start "$work/pg")
	pg=1
	;;
*) echo "STORE must be sqlite or postgres" >&2; exit 2 ;;
esac

cc -O2 -o "$work/client" "$src/bench/serve_ingest_client.c" $(pkg-config --cflags --libs libcurl)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$kiln" serve --listen "127.0.0.1:$port" --store "$store" --threads "$threads" \
	--log_mode "$work/serve.log" --log_level warn &
spid=$!
for _ in $(seq 1 200); do
	curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
	sleep 0.05
done
ct="multipart/form-data; boundary=0543be709ca4dd10"
url="http://127.0.0.1:$port/profiling/v1/input"
# Warm up (page cache, SQLite schema, function/stack caches), then measure.
"$work/client" "$url" "$fx/request.body" "$ct" "$conc" 200 >/dev/null
cpu_ticks() { awk '{print $14 + $15}' "/proc/$spid/stat"; }
# PostgreSQL's own CPU: the postmaster and its children (backends, WAL writer, checkpointer).
pg_ticks() {
	[ -n "$pg" ] || { echo 0; return; }
	local pm
	pm=$(head -1 "$work/pg/data/postmaster.pid")
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v pm="$pm" '
		{ sub(/^[0-9]+ \(.*\) /, "X ") } # the command name may hold spaces
		$1 == "X" && ($3 == pm) { t += $13 + $14 }
		END { print t + 0 }'
	awk '{print $14 + $15}' "/proc/$pm/stat"
}
pg_total() { pg_ticks | awk '{t += $1} END {print t}'; }
minflt() { awk '{print $10}' "/proc/$spid/stat"; }
sys_ticks() { awk '{print $15}' "/proc/$spid/stat"; }
echo "kiln serve ingest ($store_kind): $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), server threads $threads, $conc concurrent clients"
t0=$(cpu_ticks)
p0=$(pg_total)
s0=$(sys_ticks)
f0=$(minflt)
"$work/client" "$url" "$fx/request.body" "$ct" "$conc" "$total"
t1=$(cpu_ticks)
p1=$(pg_total)
s1=$(sys_ticks)
f1=$(minflt)
hz=$(getconf CLK_TCK)
awk -v t="$((t1 - t0))" -v hz="$hz" -v n="$total" 'BEGIN {
	printf "server CPU %.2f s = %.2f ms per upload (=> at most %.0f uploads/s per core)\n",
		t / hz, 1000 * t / hz / n, n / (t / hz) }'
awk -v t="$((s1 - s0))" -v hz="$hz" -v n="$total" 'BEGIN {
	printf "of which system (kernel) CPU %.2f ms per upload\n", 1000 * t / hz / n }'
[ -z "$pg" ] || awk -v t="$((p1 - p0))" -v hz="$hz" -v n="$total" 'BEGIN {
	printf "PostgreSQL CPU %.2f s = %.2f ms per upload\n", t / hz, 1000 * t / hz / n }'
echo "server page faults per upload: $(((f1 - f0) / total))"
ps -o rss= -p "$spid" | awk '{printf "server RSS %.1f MiB\n", $1/1024}'
if [ "$store_kind" = postgres ]; then
	/usr/lib/postgresql/15/bin/psql -X -At "$store" \
		-c "SELECT pg_size_pretty(pg_database_size(current_database()))" |
		awk '{print "store size after '"$((total + 200))"' uploads: " $0}'
else
	du -sh "$work/data" | awk '{print "store size after " '"$((total + 200))"' " uploads: " $1}'
fi
