#!/usr/bin/env bash
# The exporter end to end with a real profile: the dd-trace-js fixture's wall and space
# profiles go through export_send (kiln's exporter) to intake_capture.py in --strict mode
# (it answers 400 to anything that is not a valid Datadog v4 upload), zstd and gzip; the
# received attachments and the files of files mode must report exactly like the originals
# (kiln report, and go tool pprof when Go is installed).
set -euo pipefail

SRC=${KILN_SOURCE_DIR:?}
BIN=${KILN_TEST_BIN_DIR:?}
KILN=${KILN_BIN:?}
CAPTURE="$SRC/tests/integration/intake_capture.py"
FIX="$KILN_FIXTURES/dd-trace-js/node22-gzip-periodic/parts"
export KILN_EXPORT_BACKOFF_MS=50,400

WORK=$(mktemp -d /tmp/kiln-export-intake.XXXXXX)
SERVER_PID=
cleanup() {
	if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

start_server() { # name, extra args...
	local name=$1; shift
	if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; fi
	python3 "$CAPTURE" --out "$WORK/$name" --port-file "$WORK/$name.port" --strict "$@" &
	SERVER_PID=$!
	for _ in $(seq 400); do [ -s "$WORK/$name.port" ] && break; sleep 0.05; done
	[ -s "$WORK/$name.port" ] || fail "intake_capture.py did not start"
	PORT=$(cat "$WORK/$name.port")
}

report() { # file → the --top table without the File: line
	"$KILN" report --top --sample-index "$2" "$1" | grep -v '^File:'
}

# Reference reports of the original profiles.
report "$FIX/wall.pprof" cpu >"$WORK/wall.want"
report "$FIX/space.pprof" inuse_space >"$WORK/space.want"
grep -q 'hotA' "$WORK/wall.want" || fail "fixture report lacks hotA"

start_server uploads
n=0
for codec in zstd gzip; do
	"$BIN/export_send" -U "http://127.0.0.1:$PORT" -c "$codec" \
		-t "service:itest,env:ci,version:9.9" "$FIX/wall.pprof" "$FIX/space.pprof" \
		>"$WORK/$codec.out" || fail "export_send ($codec): $(cat "$WORK/$codec.out")"
	n=$((n + 2))
	python3 "$CAPTURE" wait "$WORK/uploads" $n --timeout 30 || fail "$codec: uploads missing"
	python3 "$CAPTURE" show "$WORK/uploads" >"$WORK/$codec.show"
	cat "$WORK/$codec.show"
	[ "$(grep -c 'status=200 .* verify=ok' "$WORK/$codec.show")" = $n ] || fail "$codec: not $n valid uploads"
	[ "$(wc -l <"$WORK/$codec.show")" = $n ] || fail "$codec: unexpected extra requests"
	first=$(printf '%04d' $((n - 1)))
	second=$(printf '%04d' $n)

	# event.json: the fields a native profiler sends.
	ev="$WORK/uploads/$first.parts/event.json"
	python3 - "$ev" "$codec" <<'EOF' || fail "$codec: event.json"
import json, re, sys
ev = json.load(open(sys.argv[1]))
assert ev["family"] == "native" and ev["version"] == "4", ev
assert ev["attachments"] == ["profile.pprof"], ev
for k in ("start", "end"):
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$", ev[k]), ev[k]
tags = dict(t.split(":", 1) for t in ev["tags_profiler"].split(","))
assert tags["service"] == "itest" and tags["env"] == "ci" and tags["version"] == "9.9", tags
assert tags["language"] == "native" and tags["profile_seq"] == "0", tags
assert re.match(r"^[0-9a-f-]{36}$", tags["runtime-id"]), tags
assert "process_tags" not in ev
EOF
	magic=$(head -c 2 "$WORK/uploads/$first.parts/profile.pprof" | od -An -tx1 | tr -d ' ')
	case $codec in
	zstd) [ "$magic" = 28b5 ] || fail "zstd attachment has magic $magic" ;;
	gzip) [ "$magic" = 1f8b ] || fail "gzip attachment has magic $magic" ;;
	esac
	grep -qi '^DD-EVP-ORIGIN: kiln' "$WORK/uploads/$first.headers" || fail "no DD-EVP-ORIGIN"

	# The attachments report exactly like the originals.
	report "$WORK/uploads/$first.parts/profile.pprof" cpu >"$WORK/$codec.wall"
	report "$WORK/uploads/$second.parts/profile.pprof" inuse_space >"$WORK/$codec.space"
	diff "$WORK/wall.want" "$WORK/$codec.wall" || fail "$codec: wall profile changed in transit"
	diff "$WORK/space.want" "$WORK/$codec.space" || fail "$codec: space profile changed in transit"
done

# Files mode: gzip pprof files, readable by kiln report and go tool pprof.
"$BIN/export_send" -o "$WORK/files" "$FIX/wall.pprof" >"$WORK/files.out" || fail "files mode"
f=$(ls "$WORK"/files/export-send-*-000000.pprof)
[[ $(basename "$f") =~ ^export-send-[0-9]{8}T[0-9]{6}Z-000000\.pprof$ ]] || fail "file name $f"
report "$f" cpu >"$WORK/files.wall"
diff "$WORK/wall.want" "$WORK/files.wall" || fail "files mode: profile changed"
if command -v go >/dev/null 2>&1; then
	HOME=$WORK GOCACHE=$WORK/gocache GOFLAGS=-mod=mod GOTOOLCHAIN=local \
		go tool pprof -top -sample_index=cpu "$f" >"$WORK/go.top" 2>&1 || fail "go tool pprof: $(cat "$WORK/go.top")"
	grep -q '55.82%.*hotA' "$WORK/go.top" || fail "go tool pprof does not show hotA at 55.82%"
fi
echo "export_intake: ok"
