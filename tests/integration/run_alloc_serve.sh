#!/usr/bin/env bash
# `kiln run --preset cpu_live_heap` end to end: a program that leaks and churns is profiled
# with CPU, allocations and the live heap in one profile per period, uploaded to a real
# kiln serve (HTTP, SQLite); its API shows the six sample types, with allocation and
# live-heap totals that match what the program did.
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"
. "$KILN_SOURCE_DIR/tests/integration/workloads/serve_lib.bash"
require_perf

cleanup() {
	serve_kill_all
	rm -rf "$T"
}
trap cleanup EXIT

serve_start "$T/serve.log" --store "$T/data"
spid=$SERVE_PID port=$SERVE_PORT

set +e
"$KILN" run -S alloc-e2e -E it -U "http://127.0.0.1:$port" -u 1 --fail-on-error \
	--preset cpu_live_heap -- "$W/alloc-work" leak 3 20 2>&1 >"$T/stdout" | cat >"$T/stderr"
st=${PIPESTATUS[0]}
set -e
check_clean "$T/stderr"
[ "$st" = 0 ] || { cat "$T/stderr"; fail "status $st"; }
leaked=$(awk '$1 == "leaked" {print $2}' "$T/stdout")

python3 - "$port" "$leaked" <<'PY'
import json, sys, time, urllib.request
base = "http://127.0.0.1:%s/api/v1" % sys.argv[1]
leaked = int(sys.argv[2])
get = lambda p: json.load(urllib.request.urlopen(base + p, timeout=30))
fails = []
for _ in range(100):
    d = get("/search?q=service:alloc-e2e")
    if d["total"] >= 3:
        break
    time.sleep(0.1)
if d["total"] < 3:
    fails.append("want at least 3 profiles, got %d" % d["total"])
want = ["alloc-samples/count", "alloc-space/bytes", "cpu-samples/count", "cpu-time/nanoseconds",
        "inuse-objects/count", "inuse-space/bytes"]
best = 0
empty = []
for p in d["profiles"]:
    one = get("/profiles/%d" % p["id"])
    types = {t["type"]: t["total"] for t in one["types"]}
    if sorted(types) != want:
        fails.append("profile %d types %r" % (p["id"], sorted(types)))
    best = max(best, types.get("inuse-space/bytes", 0))
    if not types.get("alloc-space/bytes"):
        empty.append(p["id"])
# The last period may be a sliver after the program's last allocation: one may be empty.
if len(empty) > 1:
    fails.append("profiles %r: no allocations" % empty)
# The last profile holds the whole leak (period 512 KiB: ~120 samples, sigma 9 %).
if not (0.6 * leaked <= best <= 1.4 * leaked):
    fails.append("inuse-space %d, leaked %d" % (best, leaked))
for f in fails:
    print("FAIL", f)
print("profiles %d, best inuse-space %d of %d leaked" % (d["total"], best, leaked))
sys.exit(1 if fails else 0)
PY
kill -TERM "$spid"
wait "$spid" || true
spid=
echo "run_alloc_serve: OK"
