#!/bin/bash
# kiln run -> kiln serve, end to end: kiln's own profiler uploads a busy program's CPU
# profiles to kiln serve (real HTTP, real SQLite store); the profiles are found through the
# API with kiln's identity (origin "kiln", family "native"), a zstd pprof attachment with
# CPU sample types, and a CPU measure within what one busy thread can use.
set -euo pipefail

. "$KILN_SOURCE_DIR/tests/integration/workloads/serve_lib.bash"
work=$(mktemp -d)
cleanup() {
	serve_kill_all
	rm -rf "$work"
}
trap cleanup EXIT

serve_start "$work/serve.log" --store "$work/data"
spid=$SERVE_PID port=$SERVE_PORT

# A 5-second busy loop, two upload periods of 2 s plus the final flush.
"$KILN_BIN" run -S e2e-svc -E it -U "http://127.0.0.1:$port" -u 2 --fail-on-error -- \
	bash -c 'end=$((SECONDS + 5)); while [ $SECONDS -lt $end ]; do :; done'

python3 - "$port" <<'PY'
import json, sys, urllib.request
base = "http://127.0.0.1:%s/api/v1" % sys.argv[1]
get = lambda p: json.load(urllib.request.urlopen(base + p, timeout=30))
d = get("/search?q=service:e2e-svc")
fails = []
if d["total"] < 2:
    fails.append("want at least 2 profiles from kiln run, got %d" % d["total"])
for p in d["profiles"]:
    if (p["origin"], p["family"], p["env"]) != ("kiln", "native", "it"):
        fails.append("identity %r" % ((p["origin"], p["family"], p["env"]),))
cores = [p["measures"]["cpu_cores"] or 0 for p in d["profiles"]]
# One busy thread: some CPU, never more than the machine's 2 cores (a ratio, not a time).
if not any(0.02 < c <= 2.5 for c in cores):
    fails.append("cpu_cores %r" % cores)
one = get("/profiles/%d" % d["profiles"][0]["id"]) if d["profiles"] else {"types": [], "attachments": []}
types = {t["type"]: t["total"] for t in one["types"]}
if not types.get("cpu-time/nanoseconds"):
    fails.append("no cpu-time samples: %r" % types)
atts = [(a["name"], a["kind"], a["compression"]) for a in one["attachments"]]
if atts != [("profile.pprof", "pprof", "zstd")]:
    fails.append("attachments %r" % atts)
for f in fails:
    print("FAIL", f)
print("profiles %d, cpu_cores %r, types %r" % (d["total"], cores, sorted(types)))
sys.exit(1 if fails else 0)
PY
kill -TERM "$spid"
wait "$spid"
spid=
