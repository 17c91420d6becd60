#!/bin/bash
# kiln serve query benchmark: stores 60 one-minute profiles of ~20k samples each, then times
# the server-side aggregate of all of them (api_handle, no HTTP), on SQLite and on a
# throwaway PostgreSQL. Figures go to bench/RESULTS.md, section "## kiln serve query".
#	bench/serve_query.sh [BUILD_DIR] [PROFILES] [SAMPLES] [RUNS]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
nprof=${2:-60}
nsamp=${3:-20000}
runs=${4:-9}
bin="$build/tests/integration/serve_api_bench"
[ -x "$bin" ] || { echo "build $bin first (cmake --build $build --target serve_api_bench)" >&2; exit 1; }
work=$(mktemp -d)
chmod 711 "$work"
pg=0
cleanup() {
	[ "$pg" = 1 ] && bash "$src/tests/integration/pg/pg.sh" stop "$work/pg"
	rm -rf "$work"
}
trap cleanup EXIT

echo "== SQLite"
"$bin" "$work/sqlite" "$nprof" "$nsamp" "$runs"
echo "== PostgreSQL"
if url=$(bash "$src/tests/integration/pg/pg.sh" start "$work/pg"); then
	pg=1
	"$bin" "$url" "$nprof" "$nsamp" "$runs"
else
	echo "(PostgreSQL could not be started; skipped)"
fi
