#!/bin/bash
# kiln serve's storage and query API over HTTP:
#  - an acknowledged upload survives kill -9 of the server (SQLite, WAL + synchronous=FULL);
#  - two servers share one real PostgreSQL: an upload to one is searchable, aggregated
#    (hotA 62.53 % / hotB 27.04 % of sample/count self) and downloadable on the other;
#  - the timeline and the bad-request paths answer as documented in docs/api.md.
set -euo pipefail

. "$KILN_SOURCE_DIR/tests/integration/workloads/serve_lib.bash"
work=$(mktemp -d)
chmod 711 "$work"
cleanup() {
	serve_kill_all
	serve_pg_stop
	rm -rf "$work"
}
trap cleanup EXIT
fx="$KILN_FIXTURES/dd-trace-js/node22-gzip-periodic"
ctype="multipart/form-data; boundary=0543be709ca4dd10"

# start_server LOG ARGS…: kiln serve on a free port; sets $pid and $port.
start_server() {
	serve_start "$@"
	pid=$SERVE_PID port=$SERVE_PORT
}

upload() { # PORT
	curl -sf -o /dev/null -w '%{http_code}' -X POST -H "Content-Type: $ctype" \
		-H "DD-EVP-ORIGIN: dd-trace-js" --data-binary "@$fx/request.body" \
		"http://127.0.0.1:$1/profiling/v1/input"
}

get() { # PORT PATH FILE
	curl -sf -o "$3" "http://127.0.0.1:$1$2" || { echo "GET $2 failed"; exit 1; }
}
total_of() { sed -n 's/^{"total":\([0-9]*\).*/\1/p' "$1"; }

echo "[${SECONDS}s] == kill -9 loses no acknowledged upload (SQLite)"
start_server "$work/a.log" --store "$work/data"
acked=0
for _ in $(seq 1 5); do
	[ "$(upload "$port")" = 200 ] && acked=$((acked + 1))
done
echo "[${SECONDS}s] $acked uploads acknowledged"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
start_server "$work/a2.log" --store "$work/data"
get "$port" "/api/v1/search?q=service:capture-svc&limit=1&facets=none" "$work/s.json"
n=$(total_of "$work/s.json")
[ "$n" = "$acked" ] || { echo "after kill -9: $n profiles, $acked acknowledged"; exit 1; }
[ "$acked" = 5 ] || { echo "only $acked of 5 uploads acknowledged"; exit 1; }
kill -TERM "$pid"
wait "$pid" || true

echo "[${SECONDS}s] == two servers on one PostgreSQL"
serve_pg_start "$work/pg"
url=$SERVE_PG_URL
echo "[${SECONDS}s] PostgreSQL up"
start_server "$work/p1.log" --store "$url"
p1=$port
start_server "$work/p2.log" --store "$url"
p2=$port
[ "$(upload "$p1")" = 200 ] || { cat "$work/p1.log"; echo "upload to server 1 failed"; exit 1; }
[ "$(upload "$p2")" = 200 ] || { cat "$work/p2.log"; echo "upload to server 2 failed"; exit 1; }
# Everything read back from the server that did not receive the upload, where it can.
get "$p2" "/api/v1/search?q=service:capture-svc%20env:test&facets=team" "$work/search.json"
id=$(sed -n 's/.*"profiles":\[{"id":\([0-9]*\).*/\1/p' "$work/search.json")
get "$p2" "/api/v1/aggregate?q=service:capture-svc&type=sample/count&attachment=wall.pprof" \
	"$work/agg2.json"
get "$p1" "/api/v1/aggregate?q=service:capture-svc&type=sample/count" "$work/agg1.json"
get "$p1" "/api/v1/profiles/$id/timeline" "$work/timeline.json"
get "$p2" "/api/v1/profiles/$id/download" "$work/body"
cmp "$work/body" "$fx/request.body"
get "$p2" "/api/v1/profiles/$id/attachments/wall.pprof" "$work/wall"
cmp "$work/wall" "$fx/parts/wall.pprof.raw"
python3 - "$work" <<'PY'
import json, sys
d = sys.argv[1]
def load(n):
    with open(f"{d}/{n}") as f:
        return json.load(f)
s = load("search.json")
assert s["total"] == 2, f"server 2 sees {s['total']} profiles, want 2"
assert s["facets"]["env"] == [{"value": "test", "count": 2}], s["facets"]["env"]
assert s["facets"]["team"] == [{"value": "intake", "count": 2}], s["facets"]["team"]
a = load("agg2.json")
shares = {f["name"]: round(100 * f["self_share"], 2) for f in a["top"]}
print("aggregate on server 2:", shares["hotA"], shares["hotB"])
assert (shares["hotA"], shares["hotB"]) == (62.53, 27.04), shares
assert load("agg1.json")["total"] == 2 * 958
t = load("timeline.json")
n = sum(len(l["end_ns"]) for l in t["threads"]) + t["untimed_samples"]
assert n == 959, f"timeline holds {n} samples, want 959"
assert any(l["thread_name"] == "Main Event Loop" for l in t["threads"])
PY
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p1/api/v1/search?q=broken")
[ "$code" = 400 ] || { echo "bad query answered $code"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p1/api/v1/profiles/$id/attachments/..%2F..%2Fkiln.db")
[ "$code" = 404 ] || { echo "traversal answered $code"; exit 1; }
echo "[${SECONDS}s] ok"
