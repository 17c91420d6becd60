#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD/fuzz for SECONDS each, starting from its seed corpus
# (copied, so new inputs do not dirty the tree). Fails on the first finding.
set -euo pipefail
build=$1
seconds=${2:-20}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0
for bin in "$build"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	corpus=${name#fuzz_}
	mkdir -p "$work/$corpus"
	cp -r "$src/fuzz/corpus/$corpus/." "$work/$corpus/" 2>/dev/null || true
	echo "fuzz: $name for ${seconds}s"
	"$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$work/" "$work/$corpus" >"$work/$name.log" 2>&1 || {
		tail -n 40 "$work/$name.log"
		echo "fuzz: $name found a crash; the input is kept in fuzz/findings/" >&2
		mkdir -p "$src/fuzz/findings" && cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$src/fuzz/findings/" 2>/dev/null || true
		exit 1
	}
	grep -E 'stat::number_of_executed_units' "$work/$name.log" || true
	n=$((n + 1))
done
echo "fuzz: $n targets ran without a finding"
