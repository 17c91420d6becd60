#!/usr/bin/env bash
# go tool pprof reads what kiln's pprof encoder and builder write: the dd-trace-js wall
# profile re-encoded keeps its hotA/hotB shares, and a built profile keeps its inlined
# frames, labels, mapping, comment and period.
set -euo pipefail

W="$KILN_TEST_BIN_DIR/pprof-write"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export HOME="$T" PPROF_TMPDIR="$T"

fail() { echo "FAIL: $*"; exit 1; }

"$W" reencode "$KILN_FIXTURES/dd-trace-js/node22-gzip-periodic/parts/wall.pprof" "$T/wall.pb.gz"
go tool pprof -top -sample_index=sample "$T/wall.pb.gz" > "$T/top.txt" 2>&1 || { cat "$T/top.txt"; fail "go tool pprof rejected the re-encoded wall profile"; }
grep -Eq '^ +599 62\.53% .* hotA$' "$T/top.txt" || { cat "$T/top.txt"; fail "hotA share"; }
grep -Eq '^ +259 27\.04% .* hotB$' "$T/top.txt" || { cat "$T/top.txt"; fail "hotB share"; }

for kind in gzip zstd; do
	out="$T/built.$kind"
	if [ "$kind" = zstd ]; then "$W" built "$out" zstd; else "$W" built "$out"; fi
	# go tool pprof reads gzip or raw only: give it the raw bytes of the zstd file.
	if [ "$kind" = zstd ]; then zstd -q -d -c "$out" > "$out.raw"; out="$out.raw"; fi
	go tool pprof -raw "$out" > "$T/raw.txt" 2>&1 || { cat "$T/raw.txt"; fail "go tool pprof rejected the built $kind profile"; }
	for want in 'Comment: made by kiln' 'PeriodType: cpu-time nanoseconds' 'Period: 10101010' \
		'cpu-samples/count cpu-time/nanoseconds' '75  757575750:' '25  252525250:' \
		'thread name:\[worker\]' 'hot hot\.c:5 s=3\(_Z3hotv\)' 'main main.c:14 s=10' \
		'cold cold.c:22 s=20' '/bin/app deadbeef \[FN\]'; do
		grep -Eq "$want" "$T/raw.txt" || { cat "$T/raw.txt"; fail "$kind: missing '$want'"; }
	done
done
echo PASS
