#!/usr/bin/env bash
# kiln run -U uploads each profile to a Datadog-compatible intake (the export tests' capture
# server): the request is a valid multipart upload whose profile decodes and holds the
# workload's functions, with kiln run's tags.
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"
CAP="$KILN_SOURCE_DIR/tests/integration/intake_capture.py"
[ -f "$CAP" ] || { echo "SKIP: intake_capture.py not present"; exit 0; }
require_perf

python3 "$CAP" --port-file "$T/port" --pid-file "$T/srv.pid" --out "$T/cap" --verify &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
port=$(cat "$T/port")

set +e
"$KILN" run -U "http://127.0.0.1:$port" -S upload-test -E ci -V 9.9.9 -T team:kiln \
	-e "sCPU freq=499" -- "$W/run-work" spin 1 1 2>&1 >/dev/null | cat >"$T/stderr"
st=${PIPESTATUS[0]}
set -e
[ "$st" = 0 ] || fail "status $st"
check_clean "$T/stderr"
python3 "$CAP" wait "$T/cap" 1 --timeout 30 || { cat "$T/stderr"; fail "no upload arrived"; }
json=$(ls "$T"/cap/*.json | head -1)
python3 - "$json" <<'PY' || fail "request check failed"
import json, sys
r = json.load(open(sys.argv[1]))
v = r.get("verify", {})
assert v.get("ok", False), v
PY
ev=$(ls "$T"/cap/*.parts/event.json | head -1)
for tag in service:upload-test env:ci version:9.9.9 team:kiln language:native; do
	grep -q "$tag" "$ev" || fail "tag $tag missing from event.json: $(cat "$ev")"
done
prof=$(ls "$T"/cap/*.parts/* | grep -v event.json | head -1)
"$W/run-pprof-dump" "$prof" >"$T/dump"
s=$(share ';work_[abc]$' "$T/dump")
echo "uploaded profile: $s% in work_*"
[ "${s%.*}" -ge 80 ] || fail "uploaded profile has $s% in work_*"
echo "PASS"
