#!/usr/bin/env bash
# bench/perf_compare.sh [BUILD_DIR]: kiln run vs `perf record --call-graph dwarf` on the deep
# stack workload of tests/integration/run_deep.sh (run-work deep: ~25 KiB of recursion under
# entry_a/b/c, -O2 -fomit-frame-pointer, so only DWARF unwinding of a large enough stack copy
# reaches the thread root).
#   1. stack completeness: the share of samples whose stack reaches the thread root (a frame
#      main, _start, clone, clone3 or start_thread), over all samples and over the samples in
#      recurse (the deep ones);
#   2. CPU cost of the profiler for the same workload, duration and frequency:
#      kiln: the profiler process's own getrusage (the "profiler cpu" of its final statistics
#      line at -l info: the same figure bench/profiler.sh uses);
#      perf: user+sys of `perf record` (attached with -p, so the workload's CPU is not
#      counted) plus user+sys of `perf report --stdio` (where perf does its DWARF unwinding),
#      both from /usr/bin/time.
# Each configuration runs RUNS times (default 3); medians are reported. Sampling is the task
# clock for both (kiln's only event; perf -e task-clock) at 99 Hz and 999 Hz.
# The results replace the "## kiln run vs perf record" section of bench/RESULTS.md (unless
# KILN_BENCH_NO_WRITE=1). Called by bench/run.sh.
# environment: RUNS (3), DURATION seconds of workload per run (5), THREADS (1).
set -euo pipefail
BUILD=${1:-build}
RUNS=${RUNS:-3}
DUR=${DURATION:-5}
THREADS=${THREADS:-1}
PERF=${PERF:-/usr/bin/perf}
KILN="$BUILD/src/kiln"
WORK="$BUILD/tests/integration/run-work"
RES="$(cd "$(dirname "$0")" && pwd)/RESULTS.md"
T=$(mktemp -d /tmp/kiln-perfcmp.XXXXXX)
trap 'rm -rf "$T"' EXIT
for f in "$KILN" "$WORK"; do
	[ -x "$f" ] || { echo "bench/perf_compare.sh: $f missing; build first" >&2; exit 1; }
done

median() {
	sort -n | awk '{v[NR]=$1} END{if (!NR) print "n/a"; else if (NR%2) print v[(NR+1)/2];
		else printf "%.4f\n", (v[NR/2]+v[NR/2+1])/2}'
}

# complete_share: reads folded stacks "f1;f2;...;fn COUNT" on stdin, prints
# "ALL_PERCENT DEEP_PERCENT SAMPLES" (deep = stacks with a recurse frame).
complete_share() {
	awk '{
		n = $NF; sub(/ [0-9]+$/, ""); k = split($0, f, ";"); root = 0; deep = 0
		for (i = 1; i <= k; i++) {
			if (f[i] ~ /^(main|_start|clone|clone3|__clone|__clone3|start_thread)$/) root = 1
			if (f[i] == "recurse") deep = 1
		}
		t += n; if (root) r += n
		if (deep) { dt += n; if (root) dr += n }
	} END {
		printf "%.1f %.1f %d\n", t ? 100*r/t : 0, dt ? 100*dr/dt : 0, t
	}'
}

# perf_folded FILE: perf script output folded into "root;...;leaf 1" lines.
# perf keeps at most kernel.perf_event_max_stack (127) frames unless told otherwise: the
# deep stacks have ~190, so the comparison uses --max-stack 1024 (MAXSTACK) for perf script and
# perf report, and also reports what the default gives.
MAXSTACK=${MAXSTACK:-1024}
perf_folded() { # FILE [perf script options]
	local f=$1
	shift
	"$PERF" script -i "$f" -F ip,sym --no-inline "$@" 2>/dev/null | awk '
		function flush() { if (s != "") print s " 1"; s = "" }
		/^[ \t]*$/ { flush(); started = 0; next }
		{ sym = $2; if (sym == "" ) sym = "[unknown]"; s = (s == "") ? sym : sym ";" s }
		END { flush() }'
}

PERF_OK=1
PERF_WHY=""
if [ ! -x "$PERF" ]; then
	PERF_OK=0
	PERF_WHY="$PERF not found (Debian: apt-get install linux-perf)"
elif ! "$PERF" record -e task-clock -o "$T/probe.data" -- true >"$T/probe.log" 2>&1; then
	PERF_OK=0
	PERF_WHY="perf record refused: $(grep -v '^$' "$T/probe.log" | head -3 | tr '\n' ' ')"
fi
[ "$PERF_OK" = 1 ] || echo "bench/perf_compare.sh: perf comparison NOT run: $PERF_WHY" >&2

# Each result line: "CONFIG HZ all% deep% samples cpu_s"
: >"$T/results"

run_kiln() { # HZ
	rm -rf "$T/out"
	local line cpu
	line=$("$KILN" run -l info --output-dir "$T/out" -u 600 -e "sCPU freq=$1" \
		-- "$WORK" deep "$DUR" "$THREADS" 2>&1 >/dev/null | grep "profiler: done" || true)
	cpu=$(sed -nE 's/.*profiler cpu ([0-9]+) us.*/\1/p' <<<"$line")
	[ -n "$cpu" ] || { echo "kiln: no statistics line" >&2; return 1; }
	read -r all deep n < <("$KILN" report --collapsed --sample-index cpu-samples \
		"$T/out"/*.pprof | complete_share)
	echo "kiln $1 $all $deep $n $(awk -v c="$cpu" 'BEGIN{printf "%.3f", c/1e6}')" >>"$T/results"
}

run_perf() { # NAME HZ CALLGRAPH
	rm -f "$T/p.data"
	# The workload starts 1.5 s later in the same process (exec), once perf is attached: perf
	# sees all of it, and /usr/bin/time counts perf alone.
	bash -c 'sleep 1.5; exec "$0" deep "$1" "$2"' "$WORK" "$DUR" "$THREADS" >/dev/null 2>&1 &
	local pid=$! rec rep
	/usr/bin/time -f "%U %S" -o "$T/trec" "$PERF" record -q -e task-clock -F "$2" \
		--call-graph "$3" -p "$pid" -o "$T/p.data" >/dev/null 2>"$T/rec.err" || true
	wait "$pid" || true
	rec=$(awk '{print $1+$2}' "$T/trec")
	/usr/bin/time -f "%U %S" -o "$T/trep" "$PERF" report --stdio --max-stack "$MAXSTACK" -i "$T/p.data" \
		>/dev/null 2>&1 || true
	rep=$(awk '{print $1+$2}' "$T/trep")
	read -r all deep n < <(perf_folded "$T/p.data" --max-stack "$MAXSTACK" | complete_share)
	read -r _ ddeep _ < <(perf_folded "$T/p.data" | complete_share)
	echo "$1 $2 $all $deep $n $(awk -v a="$rec" -v b="$rep" 'BEGIN{printf "%.3f", a+b}')" \
		"$rec $rep $ddeep" >>"$T/results"
}

for hz in 99 999; do
	for i in $(seq "$RUNS"); do
		run_kiln "$hz"
		echo "  run $i: $(tail -1 "$T/results")" >&2
		if [ "$PERF_OK" = 1 ]; then
			run_perf perf-dwarf-8k "$hz" dwarf
			echo "  run $i: $(tail -1 "$T/results")" >&2
			run_perf perf-dwarf-32k "$hz" dwarf,32768
			echo "  run $i: $(tail -1 "$T/results")" >&2
		fi
	done
done

# med CONFIG HZ FIELD
med() { awk -v c="$1" -v h="$2" -v f="$3" '$1 == c && $2 == h {print $f}' "$T/results" | median; }
# per_sample CONFIG HZ: median over runs of profiler CPU / samples, in µs
per_sample() {
	awk -v c="$1" -v h="$2" '$1 == c && $2 == h && $5 > 0 {printf "%.1f\n", 1e6 * $6 / $5}' \
		"$T/results" | median
}

{
	echo "## kiln run vs perf record"
	echo
	echo "Written by \`bench/perf_compare.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r)," \
		"$(nproc) CPUs, load average at the end $(cut -d' ' -f1-3 /proc/loadavg);" \
		"$("$PERF" --version 2>/dev/null || echo 'no perf')."
	echo
	echo "Workload (as tests/integration/run_deep.sh): \`run-work deep $DUR $THREADS\`" \
		"($THREADS thread(s), $DUR s, ~25 KiB of recursion, -O2 -fomit-frame-pointer)." \
		"Medians of $RUNS runs."
	echo
	echo "- kiln: \`kiln run -l info --output-dir OUT -u 600 -e \"sCPU freq=HZ\" -- run-work deep $DUR $THREADS\`" \
		"(default 32 KiB stack copy); stacks from \`kiln report --collapsed --sample-index cpu-samples\`;" \
		"CPU = the profiler process's getrusage (its \"profiler cpu\" statistics)."
	echo "- perf: \`perf record -q -e task-clock -F HZ --call-graph dwarf[,32768] -p PID -o p.data\`" \
		"attached to a shell that sleeps 1.5 s then execs the workload (so perf sees all of it and its CPU" \
		"is not counted), then" \
		"\`perf report --stdio --max-stack $MAXSTACK -i p.data\`; CPU = user+sys of both from \`/usr/bin/time -f \"%U %S\"\`;" \
		"stacks from \`perf script -F ip,sym --no-inline --max-stack $MAXSTACK\`" \
		"(perf's default keeps kernel.perf_event_max_stack = $(cat /proc/sys/kernel/perf_event_max_stack 2>/dev/null || echo '?') frames:" \
		"its result is the last column)."
	echo "- complete = the stack has a frame main, _start, clone, clone3 or start_thread;" \
		"\"deep\" = among the samples in \`recurse\`."
	echo
	if [ "$PERF_OK" != 1 ]; then
		echo "**perf was not measured**: $PERF_WHY."
		echo
	fi
	echo "| profiler | Hz | samples | complete, all | complete, deep | profiler CPU s | CPU µs / sample | deep, perf default max-stack |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	for hz in 99 999; do
		for c in kiln perf-dwarf-8k perf-dwarf-32k; do
			grep -q "^$c $hz " "$T/results" || continue
			echo "| $c | $hz | $(med "$c" "$hz" 5) | $(med "$c" "$hz" 3) % | $(med "$c" "$hz" 4) % |" \
				"$(med "$c" "$hz" 6) | $(per_sample "$c" "$hz") | $(med "$c" "$hz" 9 | sed -E 's/^([0-9.]+)$/\1 %/;s/^n\/a$/—/;s/^$/—/') |"
		done
	done
	if grep -q '^perf' "$T/results"; then
		echo
		echo "perf CPU split (median s): record / report:"
		for hz in 99 999; do
			for c in perf-dwarf-8k perf-dwarf-32k; do
				echo "$c at $hz Hz: $(med "$c" "$hz" 7) / $(med "$c" "$hz" 8);"
			done
		done
	fi
	echo
	echo "Sample counts vary between runs and profilers: the task clock only advances while the"
	echo "workload runs, and this shared 2-CPU machine was loaded; compare CPU per sample. perf's"
	echo "figures include its start-up (reading the workload's ELF/DWARF in perf report), which"
	echo "dominates at 99 Hz."
	echo
	echo "kiln unwinds while profiling (its CPU includes unwinding, symbolization and the pprof"
	echo "export); perf record only copies the stacks and perf report unwinds afterwards, so"
	echo "the two perf steps are added."
	echo
} >"$T/section"
cat "$T/section"
if [ "${KILN_BENCH_NO_WRITE:-0}" != 1 ]; then
	[ -f "$RES" ] || printf '# kiln benchmark results\n\n' >"$RES"
	python3 - "$RES" "$T/section" <<'PY'
import sys
path, new = sys.argv[1], open(sys.argv[2]).read().rstrip() + "\n\n"
text = open(path).read()
head = "## kiln run vs perf record"
i = text.find("\n" + head + "\n")
if i < 0:
    text = text.rstrip() + "\n\n" + new
else:
    j = text.find("\n## ", i + len(head) + 1)
    text = text[:i + 1] + new + (text[j + 1:] if j >= 0 else "")
open(path, "w").write(text.rstrip() + "\n")
PY
	echo "wrote the '## kiln run vs perf record' section of $RES" >&2
fi
