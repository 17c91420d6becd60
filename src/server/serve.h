/*
 * serve: `kiln serve`, the Datadog-compatible intake, storage and web UI in one process.
 *
 * serve_main parses the command line (see `kiln serve --help` and docs/server.md), opens
 * the store, starts the HTTP server and waits for SIGINT/SIGTERM; then it stops accepting
 * connections, lets the uploads in flight finish (each one is acknowledged only after the
 * store committed it) and closes the store.
 *
 * serve_route is the request router, exposed so tests can drive it without sockets.
 */
#ifndef KILN_SERVER_SERVE_H
#define KILN_SERVER_SERVE_H

#include "server/http.h"
#include "server/intake.h"
#include "server/store.h"

struct api;

/* What the router needs; owned by serve_main (or a test). */
struct serve_ctx {
	struct store *store; /* NULL: uploads answer 503 */
	struct api *api;     /* NULL: /api/v1/ answers 503 */
	struct intake_opts intake;
	const char *api_key;	/* required as DD-API-KEY on intake paths; NULL = none */
	const char *ui_api_key; /* required on the UI and /api/v1/; NULL = none */
};

/* Routes one request: intake, agent-compatible stubs, /healthz, /info, /api/v1/, UI. */
void serve_route(void *ctx, const struct http_request *req, struct http_response *resp);

/* `kiln serve [options]`; argv[0] is "serve". Returns the exit status. */
int serve_main(int argc, char **argv);

#endif
