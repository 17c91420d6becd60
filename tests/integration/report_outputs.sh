#!/usr/bin/env bash
# report_outputs: content checks of kiln report's outputs on the dd-trace-js fixture:
# --collapsed, --json, --tree, --html, --merge, --diff, --focus / --ignore, --nodecount,
# --sample-index, bad files and bad usage (exit 2 with a message naming the problem), and
# --help listing every option that docs/report.md documents.
set -euo pipefail

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fx=$KILN_FIXTURES/dd-trace-js/node22-gzip-periodic/parts
wall=$fx/wall.pprof space=$fx/space.pprof
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
kiln() { "$KILN_BIN" report "$@"; }

# Known numbers of the fixture (its README): cpu/nanoseconds total and the two hot leaves.
cpu_total=10853265780 hota=6058113332 hotb=2642014922

# --collapsed: one line per stack, root first; values add up to the total; hotA's leaves
# add up to its flat value; no line repeats a stack.
kiln --collapsed "$wall" >"$tmp/c.txt"
read -r sum hota_sum lines uniq < <(awk '{ v = $NF; sub(/ [-0-9]+$/, ""); s += v; n++;
	if (!($0 in seen)) u++; seen[$0] = 1; k = split($0, f, ";"); if (f[k] == "hotA") h += v }
	END { printf "%.0f %.0f %d %d\n", s, h, n, u }' "$tmp/c.txt")
[[ $sum == "$cpu_total" ]] || fail "collapsed values sum to $sum, want $cpu_total"
[[ $hota_sum == "$hota" ]] || fail "collapsed hotA leaves sum to $hota_sum, want $hota"
[[ $lines == "$uniq" ]] || fail "collapsed repeats stacks ($lines lines, $uniq distinct)"
grep -q '^[^ ]*parserOnIncoming;.*hotA [0-9]*$' "$tmp/c.txt" ||
	fail "collapsed has no parserOnIncoming;...;hotA stack"
kiln --collapsed --sample-index sample "$wall" |
	awk '{ s += $NF } END { exit !(s == 958) }' || fail "collapsed sample counts do not add to 958"

# --json: totals, sample types and the top rows, consistent with --top.
kiln --json "$wall" >"$tmp/j.json"
python3 - "$tmp/j.json" "$cpu_total" "$hota" "$hotb" <<'PY' || fail "json content"
import json, sys
d = json.load(open(sys.argv[1]))
total, hota, hotb = map(int, sys.argv[2:5])
assert [t["type"] for t in d["sample_types"]] == ["sample", "wall", "cpu"], d["sample_types"]
assert d["sample_type"] == {"type": "cpu", "unit": "nanoseconds"}, d["sample_type"]
assert d["sample_index"] == 2 and d["total"] == total and d["samples"] == 959, d
f = d["functions"]
assert f[0]["name"] == "hotA" and f[0]["flat"] == hota and f[0]["cum"] == hota, f[0]
assert f[1]["name"] == "hotB" and f[1]["flat"] == hotb, f[1]
assert abs(f[0]["flat_pct"] - 55.82) < 0.01, f[0]
assert all(f[i]["flat"] >= f[i + 1]["flat"] for i in range(len(f) - 1))
assert d["shown_total"] == sum(x["flat"] for x in f)
PY
kiln --json --nodecount 1 "$wall" | python3 -c 'import json,sys; d=json.load(sys.stdin);
assert len(d["functions"]) == 1 and d["functions_total"] > 100, d' || fail "json --nodecount"

# --top --nodecount: exactly N rows, hotA first.
kiln --top -n 3 "$wall" >"$tmp/t.txt"
rows=$(awk 'p { n++ } /^ *flat/ { p = 1 } END { print n }' "$tmp/t.txt")
[[ $rows == 3 ]] || fail "--nodecount 3 printed $rows rows"
awk 'p { print $6; exit } /^ *flat/ { p = 1 }' "$tmp/t.txt" | grep -qx hotA ||
	fail "--top first row is not hotA"

# --focus keeps only samples through the match; --ignore drops them.
kiln --collapsed --focus '^hotA$' "$wall" >"$tmp/f.txt"
awk '{ s += $NF } END { printf "%.0f\n", s }' "$tmp/f.txt" | grep -qx "$hota" ||
	fail "--focus ^hotA$ does not keep exactly hotA's samples"
grep -q 'hotB' "$tmp/f.txt" && fail "--focus hotA kept hotB"
kiln --top --nodefraction 0 --ignore 'hot[AB]' "$wall" >"$tmp/i.txt"
grep -qE ' hot[AB]$' "$tmp/i.txt" && fail "--ignore hot[AB] kept hotA or hotB"
grep -q "of $cpu_total total" "$tmp/i.txt" || fail "--ignore changed the percentage base"
ign=$(awk '/^Showing nodes/ { print $5 }' "$tmp/i.txt" | tr -d ,)
[[ $ign == $((cpu_total - hota - hotb)) ]] || fail "--ignore kept $ign, want $((cpu_total - hota - hotb))"

# --tree: hotA sits below its caller, indented deeper, with its flat value as self.
kiln --tree "$wall" >"$tmp/tree.txt"
awk '$NF == "(anonymous:L#41:C#34)" { d = index($0, "(anon") } $NF == "hotA" {
	if (d && index($0, "hotA") > d && $3 == '"$hota"') ok = 1 } END { exit !ok }' \
	"$tmp/tree.txt" || fail "--tree does not show hotA under its caller"

# --html: the page is written and carries the frames.
if kiln --html "$tmp/f.html" "$wall" 2>"$tmp/h.err"; then
	grep -q hotA "$tmp/f.html" || fail "--html page does not mention hotA"
	grep -qi '<html' "$tmp/f.html" || fail "--html did not write HTML"
else
	fail "--html failed: $(cat "$tmp/h.err")"
fi

# --merge: two files give one profile with doubled values and the same functions.
kiln --merge -o "$tmp/m.pprof" "$wall" "$wall"
kiln --json --nodefraction 0 "$tmp/m.pprof" >"$tmp/m.json"
python3 - "$tmp/m.json" "$cpu_total" "$hota" <<'PY' || fail "merge content"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["total"] == 2 * int(sys.argv[2]), d["total"]
assert d["functions"][0]["name"] == "hotA" and d["functions"][0]["flat"] == 2 * int(sys.argv[3])
PY
kiln --merge "$wall" 2>"$tmp/e.txt" && fail "--merge without -o succeeded"

# --diff: changes signed and sorted by magnitude.
kiln --diff "$wall" "$wall" "$wall" >"$tmp/d.txt"
awk 'p { print $3, $6, $7; exit } /flat base/ { p = 1 }' "$tmp/d.txt" |
	grep -qx "+$hota +$hota hotA" || fail "--diff growth: $(sed -n 6p "$tmp/d.txt")"
kiln --diff "$tmp/m.pprof" "$wall" >"$tmp/d2.txt"
awk 'p { print $3, $7; exit } /flat base/ { p = 1 }' "$tmp/d2.txt" | grep -qx -- "-$hota hotA" ||
	fail "--diff shrink: $(sed -n 6p "$tmp/d2.txt")"
awk 'p { v = $3 < 0 ? -$3 : $3; if (n++ && v > last) bad = 1; last = v } /flat base/ { p = 1 }
	END { exit bad }' "$tmp/d2.txt" || fail "--diff rows not sorted by |change|"
kiln --diff "$wall" "$wall" | grep -q 'hotA' && fail "--diff of equal files lists hotA"

# Bad input: exit 2, and the message names the file and the problem.
expect_fail() { # LABEL PATTERN ARGS...
	local label=$1 pat=$2 rc=0
	shift 2
	kiln "$@" >"$tmp/o.txt" 2>"$tmp/e.txt" || rc=$?
	[[ $rc == 2 ]] || fail "$label: exit status $rc, want 2"
	grep -qE -- "$pat" "$tmp/e.txt" || fail "$label: message '$(cat "$tmp/e.txt")' lacks /$pat/"
}
printf 'this is not a profile\n' >"$tmp/bad.pprof"
head -c 1000 "$wall" >"$tmp/trunc.pprof"
expect_fail "garbage file" "bad\.pprof" --top "$tmp/bad.pprof"
expect_fail "truncated gzip" "trunc\.pprof" --top "$tmp/trunc.pprof"
expect_fail "missing file" "nope\.pprof" --top "$tmp/nope.pprof"
expect_fail "mixed types" "sample types differ" --top "$wall" "$space"
expect_fail "bad sample index" "not a sample type" --sample-index bogus "$wall"
expect_fail "sample index range" "outside the range" --sample-index 7 "$wall"
expect_fail "bad regex" "focus" --focus '(' "$wall"
expect_fail "unknown option" "usage: kiln report" --frobnicate "$wall"
expect_fail "no file" "no profile FILE" --top
expect_fail "two outputs" "only one" --top --json "$wall"

# --help documents every option, and docs/report.md documents every option of --help.
kiln --help >"$tmp/help.txt"
for opt in $(grep -oE -- '--[a-z][a-z-]+' "$tmp/help.txt" | sort -u); do
	grep -q -- "$opt" "$KILN_SOURCE_DIR/docs/report.md" || fail "docs/report.md lacks $opt"
done
for opt in $(grep -oE -- '^#+ .*--[a-z][a-z-]+' "$KILN_SOURCE_DIR/docs/report.md" |
	grep -oE -- '--[a-z][a-z-]+' | sort -u); do
	grep -q -- "$opt" "$tmp/help.txt" || fail "--help lacks $opt (documented in docs/report.md)"
done

if ((fails)); then
	echo "report_outputs: $fails checks failed"
	exit 1
fi
echo "report_outputs: all checks passed"
