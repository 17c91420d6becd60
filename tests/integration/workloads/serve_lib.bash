# serve_lib.bash: starting `kiln serve` in integration tests (sourced, not run: the .bash
# suffix keeps it out of the ctest glob).

SERVE_PIDS=()

# serve_start LOG ARGS…: starts `kiln serve --log_mode LOG ARGS…` in the background, on a free
# port of 127.0.0.1 unless ARGS hold --listen; sets SERVE_PID and SERVE_PORT (and appends the
# pid to SERVE_PIDS, for serve_kill_all) once the server says it listens. Exits the test if
# the server dies or does not listen within 20 s.
serve_start() {
	local log=$1 a listen=(--listen 127.0.0.1:0)
	shift
	for a in "$@"; do [ "$a" = --listen ] && listen=(); done
	"${KILN_BIN:?KILN_BIN not set}" serve "${listen[@]}" --log_mode "$log" "$@" &
	SERVE_PID=$!
	SERVE_PIDS+=("$SERVE_PID")
	SERVE_PORT=
	for _ in $(seq 1 400); do
		SERVE_PORT=$(sed -n 's/.*listening on .*(port \([0-9]*\)).*/\1/p' "$log" 2>/dev/null |
			head -1 || true)
		[ -n "$SERVE_PORT" ] && return 0
		kill -0 "$SERVE_PID" 2>/dev/null || { cat "$log" >&2; echo "FAIL: kiln serve died" >&2; exit 1; }
		sleep 0.05
	done
	cat "$log" >&2
	echo "FAIL: kiln serve did not start" >&2
	exit 1
}

# serve_kill_all: kill -9 every server serve_start started (for EXIT traps).
serve_kill_all() {
	local p
	for p in "${SERVE_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}

SERVE_PG_DIR=

# serve_pg_start DIR: a throwaway PostgreSQL cluster in DIR (tests/integration/pg/pg.sh); sets
# SERVE_PG_URL, the store URL for `kiln serve --store`. serve_pg_stop stops it. DIR's parent
# must be reachable by the server's own user (chmod 711).
serve_pg_start() {
	SERVE_PG_URL=$(bash "$KILN_SOURCE_DIR/tests/integration/pg/pg.sh" start "$1")
	SERVE_PG_DIR=$1
}

# serve_pg_stop: stops the cluster serve_pg_start started, if any (for EXIT traps).
serve_pg_stop() {
	[ -z "$SERVE_PG_DIR" ] || bash "$KILN_SOURCE_DIR/tests/integration/pg/pg.sh" stop "$SERVE_PG_DIR"
	SERVE_PG_DIR=
}
