#!/usr/bin/env bash
# Rust end to end (when rustc is present): a Rust program with generic functions and closures
# burning CPU 75/25 in myprog::burn::heavy / myprog::burn::light, compiled with rustc
# -C opt-level=2 -C debuginfo=1 with the default (legacy, `_ZN…17h<hash>E`) and the v0 (`_R…`)
# symbol mangling, runs under `kiln run -u 1`; `kiln report` must show the demangled names
# (no ::h<hash> suffix, no _ZN/_R symbols) with their shares within ±5 points, and stacks that
# reach main. Without rustc (a fresh CI machine) the case is not run and the test passes.
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"

RUSTC=${RUSTC:-}
if [ -z "$RUSTC" ]; then
	for c in "$(command -v rustc || true)" "${HOME:-/root}/.cargo/bin/rustc" /root/.cargo/bin/rustc \
		/usr/local/cargo/bin/rustc; do
		if [ -n "$c" ] && [ -x "$c" ] && "$c" --version >/dev/null 2>&1; then
			RUSTC=$c
			break
		fi
	done
fi
if [ -z "$RUSTC" ]; then
	echo "rustc not found: Rust case not run"
	exit 0
fi
echo "using $("$RUSTC" --version) ($RUSTC)"
require_perf

SRC="$KILN_SOURCE_DIR/tests/integration/workloads/run_rust_myprog.rs"

# top_cum FILE NAME: the cum% of the --top row whose name is exactly NAME (0 if absent).
top_cum() {
	awk -v n="$2" 'p { name = $0; for (i = 0; i < 5; i++) sub(/^ *[^ ]+/, "", name)
		sub(/^ +/, "", name)
		if (name == n) { v = $5; sub(/%$/, "", v); print v; found = 1; exit } }
		/^ *flat/ { p = 1 } END { if (!found) print 0 }' "$1"
}

# check MANGLING NAME_SUFFIX CLOSURE: one build, run and set of assertions.
check() {
	local mangling=$1 g_heavy=$2 g_light=$3 closure=$4 dir="$T/$1"
	mkdir -p "$dir"
	local flags=(-C opt-level=2 -C debuginfo=1 --crate-name myprog)
	[ "$mangling" = legacy ] || flags+=(-C symbol-mangling-version="$mangling")
	(cd "$dir" && "$RUSTC" "${flags[@]}" -o "$dir/myprog" "$SRC") || fail "$mangling: rustc failed"
	nm "$dir/myprog" >"$dir/nm" || fail "$mangling: nm failed"
	if [ "$mangling" = legacy ]; then
		grep -q '_ZN6myprog4burn5heavy17h[0-9a-f]\{16\}E' "$dir/nm" ||
			fail "legacy: the binary does not hold the expected _ZN...h<hash> symbol"
	else
		grep -q '_R.*6myprog4burn5heavy' "$dir/nm" ||
			fail "v0: the binary does not hold the expected _R symbol"
	fi

	kiln_run "$dir/out" -u 1 -e "sCPU freq=999" -- "$dir/myprog" 3
	[ "$RUN_STATUS" = 0 ] || fail "$mangling: status $RUN_STATUS"
	local files
	files=$(ls "$dir/out"/*.pprof | wc -l)
	echo "$mangling: $files profiles"
	[ "$files" -ge 2 ] || fail "$mangling: expected several 1 s profiles, got $files"

	"$KILN" report --top --nodefraction 0 --sample-index cpu-samples "$dir/out"/*.pprof \
		>"$dir/top" || fail "$mangling: kiln report --top failed"
	"$KILN" report --collapsed --sample-index cpu-samples "$dir/out"/*.pprof \
		>"$dir/folded" || fail "$mangling: kiln report --collapsed failed"
	# As a dump for the shared helpers: value, pid, tid, thread, stack.
	awk '{ n = $NF; sub(/ [0-9]+$/, ""); printf "%s\t0\t0\tmain\t%s\n", n, $0 }' \
		"$dir/folded" >"$dir/dump"
	local total
	total=$(total "$dir/dump")
	echo "$mangling: $total samples"
	[ "$total" -ge 300 ] || fail "$mangling: too few samples ($total)"

	if grep -qE '(^|;)_(ZN|R[A-Z])[A-Za-z0-9_]*' "$dir/folded"; then
		grep -oE '(^|;)_(ZN|R[A-Z])[A-Za-z0-9_]*' "$dir/folded" | head -3 >&2
		fail "$mangling: mangled names in the profile"
	fi
	if grep -qE '::h[0-9a-f]{16}(;| |$)' "$dir/folded"; then
		grep -oE '[^;]*::h[0-9a-f]{16}' "$dir/folded" | head -3 >&2
		fail "$mangling: ::h<hash> suffixes in the profile"
	fi

	local heavy light cl
	heavy=$(top_cum "$dir/top" "$g_heavy")
	light=$(top_cum "$dir/top" "$g_light")
	echo "$mangling: $g_heavy $heavy%, $g_light $light% (cumulative, --top)"
	if ! within "$heavy" 75 5 || ! within "$light" 25 5; then
		head -25 "$dir/top" >&2
		fail "$mangling: shares $heavy / $light, expected 75 / 25 ± 5"
	fi
	# The closure called through &dyn Fn is a frame of its own, under heavy.
	cl=$(awk -F'\t' -v h=";$g_heavy;myprog::burn::spin" -v c="$closure" '{ t += $1
		k = split($5, f, ";"); if (f[k] == c && index($5, h)) m += $1 }
		END { printf "%.1f\n", t ? 100 * m / t : 0 }' "$dir/dump")
	echo "$mangling: $g_heavy -> spin -> $closure: $cl%"
	[ "${cl%.*}" -ge 25 ] || { top "$dir/dump"; fail "$mangling: closure frame missing ($cl%)"; }

	# Stacks reach main: the burning samples all go through C main and myprog::main.
	awk -F'\t' '$5 ~ /;myprog::burn::(heavy|light)/' "$dir/dump" >"$dir/burn"
	local root
	root=$(share '^myprog;_start;__libc_start_main;(__libc_start_call_main;)?main;.*;myprog::main;myprog::burn::' \
		"$dir/burn")
	echo "$mangling: $root% of the heavy/light samples reach _start;...;main;...;myprog::main"
	within "$root" 100 2 || { top "$dir/burn"; fail "$mangling: only $root% reach main"; }
}

check legacy myprog::burn::heavy myprog::burn::light 'myprog::burn::heavy::{{closure}}'
check v0 'myprog::burn::heavy::<u32>' 'myprog::burn::light::<u8>' \
	'myprog::burn::heavy::<u32>::{closure#0}'
echo "PASS"
