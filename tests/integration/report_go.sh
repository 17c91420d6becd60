#!/usr/bin/env bash
# report_go: `kiln report --top` agrees with `go tool pprof -top`, function by function, on
# CPU and heap profiles written by a Go program (tests/integration/goprof) and on the
# dd-trace-js fixture's wall and space profiles, for every sample index, for merged files,
# for --focus / --ignore, and for a file written by `kiln report --merge`.
#
# Exactness: go runs with -nodefraction=0 (no rows hidden) and -unit=ns, which prints raw
# integers for nanoseconds, bytes and counts; kiln runs with --nodefraction 0 and always
# prints raw integers. report_compare.py strips go's unit suffix and compares flat and cum.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GOCACHE=$tmp/gocache GOPATH=$tmp/gopath GOTOOLCHAIN=local GOPROXY=off GOFLAGS= \
	GOTELEMETRY=off HOME=$tmp
fixture=$KILN_FIXTURES/dd-trace-js/node22-gzip-periodic/parts
fails=0

go build -o "$tmp/goprof" "$here/goprof/main.go"
"$tmp/goprof" "$tmp"

# compare LABEL "GO ARGS" "KILN ARGS" FILE...
compare() {
	local label=$1 goargs=$2 kilnargs=$3
	shift 3
	# shellcheck disable=SC2086
	go tool pprof -top -nodefraction=0 -unit=ns $goargs "$@" >"$tmp/go.txt" 2>"$tmp/go.err" || {
		echo "$label: go tool pprof failed:"; cat "$tmp/go.err"; fails=$((fails + 1)); return; }
	# shellcheck disable=SC2086
	"$KILN_BIN" report --top --nodefraction 0 $kilnargs "$@" >"$tmp/kiln.txt" || {
		echo "$label: kiln report failed"; fails=$((fails + 1)); return; }
	python3 "$here/report_compare.py" "$tmp/go.txt" "$tmp/kiln.txt" "$label" || {
		fails=$((fails + 1)); echo "--- go"; head -20 "$tmp/go.txt"; echo "--- kiln";
		head -20 "$tmp/kiln.txt"; }
}

cpu=$tmp/cpu.pprof heap=$tmp/heap.pprof wall=$fixture/wall.pprof space=$fixture/space.pprof

compare "cpu default" "" "" "$cpu"
for si in samples cpu 0 1; do
	compare "cpu $si" "-sample_index=$si" "--sample-index $si" "$cpu"
done
compare "heap default" "" "" "$heap"
for si in alloc_objects alloc_space inuse_objects inuse_space; do
	compare "heap $si" "-sample_index=$si" "--sample-index $si" "$heap"
done
compare "wall default" "" "" "$wall"
for si in sample wall cpu; do
	compare "wall $si" "-sample_index=$si" "--sample-index $si" "$wall"
done
compare "space default" "" "" "$space"
for si in inuse_objects inuse_space; do
	compare "space $si" "-sample_index=$si" "--sample-index $si" "$space"
done

# Several files are merged before reporting.
compare "wall x2" "" "" "$wall" "$wall"
compare "cpu+cpu" "-sample_index=cpu" "--sample-index cpu" "$cpu" "$cpu"

# Filters, with go's semantics.
compare "cpu focus" "-focus=burnA" "--focus burnA" "$cpu"
compare "cpu ignore" "-ignore=burnB" "--ignore burnB" "$cpu"
compare "wall focus+ignore" "-focus=parserOnIncoming -ignore=hotB" \
	"--focus parserOnIncoming --ignore hotB" "$wall"
compare "heap focus" "-sample_index=alloc_space -focus=main" \
	"--sample-index alloc_space --focus main" "$heap"

# A merged file is valid pprof that go reads, with the same numbers as go's own merge.
"$KILN_BIN" report --merge -o "$tmp/merged.pprof" "$wall" "$wall"
go tool pprof -top -nodefraction=0 -unit=ns "$wall" "$wall" >"$tmp/go2.txt" 2>/dev/null
"$KILN_BIN" report --top --nodefraction 0 "$tmp/merged.pprof" >"$tmp/kilnm.txt"
python3 "$here/report_compare.py" "$tmp/go2.txt" "$tmp/kilnm.txt" "merged file" ||
	fails=$((fails + 1))
compare "merged file read by go" "" "" "$tmp/merged.pprof"

# The workload's shape shows through: burnA (3 parts) outweighs burnC (1 part) in cum, both
# have samples, and burnC's recursion is counted once (cum <= total). Only a 3:1 order is
# asserted: the machine is noisy and a profile of ~100 samples is coarse.
"$KILN_BIN" report --top --nodefraction 0 --sample-index cpu "$cpu" >"$tmp/k.txt"
cum() { awk -v f="$1" '$6 == f { print $4 }' "$tmp/k.txt"; }
total=$(awk '/^Showing nodes/ { print $(NF-1) }' "$tmp/k.txt")
a=$(cum main.burnA) c=$(cum main.burnC)
echo "cpu total=$total burnA=$a burnB=$(cum main.burnB) burnC=$c"
if ! [[ -n $a && -n $c && $a -gt $c && $c -gt 0 && $a -le $total ]]; then
	echo "unexpected cpu shape"; cat "$tmp/k.txt"; fails=$((fails + 1))
fi

if ((fails)); then
	echo "report_go: $fails comparisons failed"
	exit 1
fi
echo "report_go: all comparisons agree"
