#!/usr/bin/env bash
# kiln's exporter against kiln's own intake: `kiln serve` must accept what the exporter
# sends (zstd and gzip, over TCP and over a Unix socket). Skipped when this build has no
# serve subcommand.
set -euo pipefail

BIN=${KILN_TEST_BIN_DIR:?}
KILN=${KILN_BIN:?}
FIX="$KILN_FIXTURES/dd-trace-js/node22-gzip-periodic/parts"
export KILN_EXPORT_BACKOFF_MS=50,400

if ! "$KILN" serve --help >/dev/null 2>&1; then
	echo "export_serve: kiln serve not built; skipped"
	exit 0
fi

WORK=$(mktemp -d /tmp/kiln-export-serve.XXXXXX)
SERVE_PID=
cleanup() {
	if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$WORK/serve.log" ] && cat "$WORK/serve.log" >&2; exit 1; }

"$KILN" serve --listen 127.0.0.1:0 --unix-socket "$WORK/apm.sock" --store "$WORK/data" \
	>"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
PORT=
for _ in $(seq 400); do
	PORT=$(sed -n 's/.*listening on .*(port \([0-9]*\)).*/\1/p' "$WORK/serve.log" | head -1)
	[ -n "$PORT" ] && [ -S "$WORK/apm.sock" ] && break
	sleep 0.05
done
[ -n "$PORT" ] || fail "kiln serve did not report its port"

# export_send exits 0 only when every profile was answered 2xx.
"$BIN/export_send" -U "http://127.0.0.1:$PORT" -t service:export-serve,env:ci \
	"$FIX/wall.pprof" "$FIX/space.pprof" >"$WORK/tcp.out" 2>&1 || fail "TCP zstd: $(cat "$WORK/tcp.out")"
grep -q 'submitted=2 uploaded=2 .*dropped=0' "$WORK/tcp.out" || fail "TCP: $(cat "$WORK/tcp.out")"
"$BIN/export_send" -U "http://127.0.0.1:$PORT" -c gzip -t service:export-serve \
	"$FIX/wall.pprof" >"$WORK/gzip.out" 2>&1 || fail "TCP gzip: $(cat "$WORK/gzip.out")"
"$BIN/export_send" -U "unix://$WORK/apm.sock" -t service:export-serve \
	"$FIX/wall.pprof" >"$WORK/unix.out" 2>&1 || fail "unix socket: $(cat "$WORK/unix.out")"
grep -q 'submitted=1 uploaded=1 .*dropped=0' "$WORK/unix.out" || fail "unix: $(cat "$WORK/unix.out")"
echo "export_serve: ok"
