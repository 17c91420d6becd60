#!/bin/bash
# A throwaway PostgreSQL cluster for kiln's storage tests.
#   pg.sh start DIR   initdb + start in DIR (unix socket in DIR only, no TCP); prints the URL
#   pg.sh stop DIR    stops it (the caller removes DIR)
# KILN_PG_FSYNC=on keeps fsync on (benchmarks); tests run with fsync off.
# initdb refuses to run as root, so as root the cluster runs as the "postgres" user (or
# "nobody") in a directory it owns.
set -euo pipefail
BIN=${KILN_PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?usage: pg.sh start|stop DIR}
dir=${2:?usage: pg.sh start|stop DIR}

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$PGUSER_OS" -- "$@"
	else
		"$@"
	fi
}
PGUSER_OS=postgres
id -u postgres >/dev/null 2>&1 || PGUSER_OS=nobody

case $cmd in
start)
	[ -x "$BIN/initdb" ] || { echo "pg.sh: no PostgreSQL in $BIN" >&2; exit 1; }
	mkdir -p "$dir"
	chmod 700 "$dir"
	if [ "$(id -u)" = 0 ]; then chown "$PGUSER_OS" "$dir"; fi
	as_owner "$BIN/initdb" -D "$dir/data" -A trust -U kiln -E UTF8 --no-sync \
		>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
	# A port number only names the socket file; with listen_addresses='' nothing binds TCP.
	port=$(( 20000 + RANDOM % 20000 ))
	as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 60 \
		-o "-p $port -k $dir -c listen_addresses= -c fsync=${KILN_PG_FSYNC:-off} -c max_connections=50" \
		start >/dev/null || { cat "$dir/pg.log" >&2; exit 1; }
	as_owner "$BIN/createdb" -h "$dir" -p "$port" -U kiln kiln
	echo "postgresql://kiln@/kiln?host=$dir&port=$port"
	;;
stop)
	[ -d "$dir/data" ] && as_owner "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	;;
*)
	echo "usage: pg.sh start|stop DIR" >&2
	exit 2
	;;
esac
