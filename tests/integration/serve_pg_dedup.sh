#!/bin/bash
# Two kiln serve processes on one PostgreSQL take the same upload at once, from a cold store:
# each server writes several group-commit batches in parallel (one transaction per write
# connection) and both race to insert the same functions and stacks.
#  - every upload is acknowledged (a dedup race would be a unique violation or a deadlock
#    that exhausts the retries: a 503);
#  - functions and stacks are stored once: as many rows as a reference database that got
#    the upload once, and no two rows with the same content;
#  - every profile is complete and identical (same sample rows, same stack ids), and both
#    servers' aggregates over all of them are equal: hotA 62.53 % / hotB 27.04 % of
#    sample/count, total 958 per upload.
set -euo pipefail

. "$KILN_SOURCE_DIR/tests/integration/workloads/serve_lib.bash"
BIN=${KILN_PG_BIN:-/usr/lib/postgresql/15/bin}
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
per_server=10

upload() { # PORT OUT
	curl -s -o /dev/null -w '%{http_code}' -X POST -H "Content-Type: $ctype" \
		--data-binary "@$fx/request.body" "http://127.0.0.1:$1/profiling/v1/input" >"$2" || true
}
get() { # PORT PATH FILE
	curl -sf -o "$3" "http://127.0.0.1:$1$2" || { echo "GET $2 failed"; exit 1; }
}
sql() { # URL QUERY
	"$BIN/psql" -X -At -v ON_ERROR_STOP=1 "$1" -c "$2"
}

serve_pg_start "$work/pg"
url=$SERVE_PG_URL
port=${url##*port=}
"$BIN/createdb" -h "$work/pg" -p "$port" -U kiln kiln_ref
ref_url=${url/\/kiln\?//kiln_ref?}
echo "[${SECONDS}s] PostgreSQL up: $url"

serve_start "$work/p1.log" --store "$url" --threads 4
p1=$SERVE_PORT
serve_start "$work/p2.log" --store "$url" --threads 4
p2=$SERVE_PORT
serve_start "$work/ref.log" --store "$ref_url"
pref=$SERVE_PORT

# All uploads at once, half to each server.
for i in $(seq 1 "$per_server"); do
	upload "$p1" "$work/code1.$i" &
	upload "$p2" "$work/code2.$i" &
done
wait_uploads() {
	local j
	for j in $(jobs -p); do
		# the servers were started in the background too: wait only for the curls
		case " ${SERVE_PIDS[*]} " in *" $j "*) ;; *) wait "$j" || true ;; esac
	done
}
wait_uploads
upload "$pref" "$work/code.ref"
bad=0
for f in "$work"/code*; do
	[ "$(cat "$f")" = 200 ] || { echo "$(basename "$f"): answered $(cat "$f")"; bad=1; }
done
if [ "$bad" = 1 ]; then
	tail -5 "$work/p1.log" "$work/p2.log"
	exit 1
fi
n=$((2 * per_server))
echo "[${SECONDS}s] $n concurrent uploads acknowledged"
grep -h 'retrying upload' "$work/p1.log" "$work/p2.log" | head -3 || true

# Stored once: the same function and stack rows as the reference, each content once.
fns=$(sql "$url" "SELECT count(*) FROM functions")
fns_ref=$(sql "$ref_url" "SELECT count(*) FROM functions")
fns_distinct=$(sql "$url" "SELECT count(*) FROM (SELECT DISTINCT name, filename FROM functions) d")
stacks=$(sql "$url" "SELECT count(*) FROM stacks")
stacks_ref=$(sql "$ref_url" "SELECT count(*) FROM stacks")
stacks_distinct=$(sql "$url" "SELECT count(DISTINCT frames) FROM stacks")
echo "functions $fns (reference $fns_ref, distinct $fns_distinct)," \
	"stacks $stacks (reference $stacks_ref, distinct $stacks_distinct)"
[ "$fns_ref" -gt 100 ] && [ "$stacks_ref" -gt 40 ] || { echo "the reference holds too little"; exit 1; }
[ "$fns" = "$fns_ref" ] && [ "$fns" = "$fns_distinct" ] || { echo "functions stored more than once"; exit 1; }
[ "$stacks" = "$stacks_ref" ] && [ "$stacks" = "$stacks_distinct" ] ||
	{ echo "stacks stored more than once"; exit 1; }

# Every profile complete, and all the same: the same sample rows (attachment, type, totals,
# number of stacks) as the reference, and the same stack-id blob in every profile (ids differ
# from the reference's: which server inserted a stack first decides its id).
profiles=$(sql "$url" "SELECT count(*) FROM profiles")
[ "$profiles" = "$n" ] || { echo "$profiles profiles stored, want $n"; exit 1; }
shape="SELECT attachment || ' ' || type || ' ' || total || ' ' || nstacks FROM samples"
sql "$ref_url" "$shape ORDER BY 1" >"$work/ref.rows"
nrows=$(wc -l <"$work/ref.rows")
[ "$nrows" -ge 3 ] || { echo "reference has $nrows sample rows"; exit 1; }
sql "$url" "$shape ORDER BY 1" | uniq -c | awk '{$1 = $1; print}' >"$work/rows"
awk -v n="$n" '{print n, $0}' "$work/ref.rows" | diff - "$work/rows" ||
	{ echo "profiles differ from the reference"; exit 1; }
blobs=$(sql "$url" "SELECT count(*) FROM (SELECT DISTINCT attachment, type, md5(data) FROM samples) d")
[ "$blobs" = "$nrows" ] || { echo "$blobs distinct sample blobs for $nrows sample types"; exit 1; }
echo "[${SECONDS}s] $n profiles x $nrows sample rows, equal to each other and to the reference"

# Both servers aggregate all of them to the same tree.
q="/api/v1/aggregate?q=service:capture-svc&type=sample/count"
get "$p1" "$q" "$work/agg1.json"
get "$p2" "$q" "$work/agg2.json"
get "$p1" "$q&attachment=wall.pprof" "$work/wall1.json"
python3 - "$work" "$n" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
def load(name):
    with open(f"{d}/{name}") as f:
        return json.load(f)
a1, a2 = load("agg1.json"), load("agg2.json")
assert a1["total"] == n * 958, f"server 1 aggregates {a1['total']}, want {n * 958}"
top = lambda a: sorted((f["name"], f["self"], f["total"]) for f in a["top"])
assert top(a1) == top(a2), "the two servers' aggregates differ"
shares = {f["name"]: round(100 * f["self_share"], 2) for f in load("wall1.json")["top"]}
print("aggregate of", n, "profiles:", shares["hotA"], shares["hotB"])
assert (shares["hotA"], shares["hotB"]) == (62.53, 27.04), shares
PY
echo "[${SECONDS}s] ok"
