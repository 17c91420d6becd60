#!/bin/bash
# kiln serve memory: RSS of the server while it stores many uploads (default 100,000) and
# after queries over all of them. Posting the real 24 KiB dd-trace-js upload 100k times takes
# too long on a shared 2-core machine, so this posts a smaller upload built from the same
# fixture: its event.json with the space.pprof (23 samples, 108 locations) and events.pprof
# attachments (6.5 KiB body), decoded and stored like any other.
#
#	bench/serve_memory.sh [BUILD_DIR]      (default: build)
# Environment: TOTAL (100000), STEP (RSS printed every STEP uploads, 10000), CONCURRENCY (8).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
kiln=$build/src/kiln
[ -x "$kiln" ] || { echo "no kiln binary at $kiln (build first)"; exit 1; }
total=${TOTAL:-100000}
step=${STEP:-10000}
conc=${CONCURRENCY:-8}
fx=$src/tests/fixtures/dd-trace-js/node22-gzip-periodic

work=$(mktemp -d)
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

cc -O2 -o "$work/client" "$src/bench/serve_ingest_client.c" $(pkg-config --cflags --libs libcurl)
python3 - "$fx/parts" "$work/body" <<'PY'
import json, sys
parts, out = sys.argv[1], sys.argv[2]
ev = json.load(open(parts + "/event.json"))
ev["attachments"] = ["space.pprof", "events.pprof"]
b = b"0543be709ca4dd10"
body = b""
def part(name, filename, ctype, data):
    global body
    body += b"--" + b + b"\r\nContent-Disposition: form-data; name=\"" + name.encode() + \
        b"\"; filename=\"" + filename.encode() + b"\"\r\nContent-Type: " + ctype.encode() + \
        b"\r\n\r\n" + data + b"\r\n"
part("event", "event.json", "application/json", json.dumps(ev).encode())
for a in ev["attachments"]:
    part(a, a, "application/octet-stream", open(parts + "/" + a, "rb").read())
body += b"--" + b + b"--\r\n"
open(out, "wb").write(body)
PY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$kiln" serve --listen "127.0.0.1:$port" --store "$work/data" --log_mode "$work/serve.log" \
	--log_level warn &
spid=$!
for _ in $(seq 1 200); do
	curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
	sleep 0.05
done
# RSS, and its anonymous part (heap, caches): the readers map the database file, so the
# file-backed part is pages of kiln.db that queries touched, shared with the page cache.
rss() {
	awk '/^VmRSS/ {r = $2} /^RssAnon/ {a = $2} /^RssFile/ {f = $2}
		END {printf "%.1f (anon %.1f, file %.1f)", r / 1024, a / 1024, f / 1024}' \
		"/proc/$spid/status"
}
ct="multipart/form-data; boundary=0543be709ca4dd10"
url="http://127.0.0.1:$port/profiling/v1/input"
echo "kiln serve memory: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)," \
	"$(stat -c %s "$work/body")-byte uploads, $conc concurrent clients"
echo "uploads 0: RSS $(rss) MiB"
done_n=0
while [ "$done_n" -lt "$total" ]; do
	n=$((total - done_n < step ? total - done_n : step))
	"$work/client" "$url" "$work/body" "$ct" "$conc" "$n" >"$work/client.out"
	done_n=$((done_n + n))
	echo "uploads $done_n: RSS $(rss) MiB ($(awk '{print $10}' "$work/client.out") uploads/s)"
done
api="http://127.0.0.1:$port/api/v1"
q() {
	local t0 t1
	t0=$(date +%s.%N)
	curl -sf -o "$work/answer" "$api/$1"
	t1=$(date +%s.%N)
	printf '%-60s %6.0f ms, %7d bytes, RSS after %s MiB\n' "$1" \
		"$(echo "($t1 - $t0) * 1000" | bc)" "$(stat -c %s "$work/answer")" "$(rss)"
}
q "search?q=service:capture-svc&limit=50"
q "search?q=service:capture-svc&limit=50&offset=50000"
q "aggregate?q=service:capture-svc&type=inuse_space/bytes"
q "aggregate?q=service:capture-svc&type=inuse_space/bytes"
q "timeseries?q=service:capture-svc&measure=heap_live_bytes"
echo "store size: $(du -sh "$work/data" | cut -f1)"
