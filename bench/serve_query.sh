#!/bin/bash
# kiln serve query benchmark: stores 60 one-minute profiles of ~20k samples each, then times
# the server-side aggregate of all of them (api_handle, no HTTP), on SQLite and on a
# throwaway PostgreSQL. Figures go to bench/RESULTS.md, section "## kiln serve query".
#	bench/serve_query.sh [BUILD_DIR] [PROFILES] [SAMPLES] [RUNS]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
nprof=${2:-60}
nsamp=${3:-20000}
runs=${4:-9}
bin="$build/tests/integration/serve_api_bench"
[ -x "$bin" ] || { echo "build $bin first (cmake --build $build --target serve_api_bench)" >&2; exit 1; }
work=$(mktemp -d)
chmod 711 "$work"
pg=0
cleanup() {
	[ "$pg" = 1 ] && bash "$src/tests/integration/pg/pg.sh" stop "$work/pg"
	rm -rf "$work"
}
trap cleanup EXIT

echo "== SQLite"
"$bin" "$work/sqlite" "$nprof" "$nsamp" "$runs"

# The same store behind a fresh `kiln serve` process: the first aggregate over HTTP (cold:
# empty caches, first-touch memory) and the following ones; wall time from curl, CPU time
# from the server's /proc/PID/stat (user+sys ticks).
kiln=$build/src/kiln
if [ -x "$kiln" ]; then
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$kiln" serve --listen "127.0.0.1:$port" --store "$work/sqlite" --log_mode "$work/serve.log" \
		--log_level warn &
	spid=$!
	for _ in $(seq 1 200); do
		curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
		sleep 0.05
	done
	sleep "${SERVE_QUERY_SETTLE:-2}" # lets a start-up cache warm-up finish before timing
	ticks() { awk '{print $14 + $15}' "/proc/$spid/stat"; }
	hz=$(getconf CLK_TCK)
	url="http://127.0.0.1:$port/api/v1/aggregate?q=service:bench&type=cpu/nanoseconds"
	for r in $(seq 0 "$runs"); do
		t0=$(ticks)
		w=$(curl -sf -o /dev/null -w '%{time_total}' "$url")
		t1=$(ticks)
		awk -v r="$r" -v w="$w" -v t="$((t1 - t0))" -v hz="$hz" 'BEGIN {
			printf "kiln serve aggregate %s: %.1f ms wall, %.0f ms server CPU\n",
				r == 0 ? "cold" : "warm " r, w * 1000, t * 1000 / hz }'
	done
	ps -o rss= -p "$spid" | awk '{printf "kiln serve RSS after the queries: %.1f MiB\n", $1/1024}'
	kill "$spid"
	wait "$spid" || true
fi
echo "== PostgreSQL"
if url=$(bash "$src/tests/integration/pg/pg.sh" start "$work/pg"); then
	pg=1
	"$bin" "$url" "$nprof" "$nsamp" "$runs"
else
	echo "(PostgreSQL could not be started; skipped)"
fi
