/*
 * http: the request/response types shared by kiln serve's HTTP layer (libmicrohttpd, in
 * http.c) and its handlers (intake.c, api.c, static UI files).
 *
 * CONTRACT between the intake/HTTP engineer and the storage/query engineer. A handler gets
 * a fully received request (bodies are bounded by --max-request-size) and fills a response.
 * Memory for a request comes from req->arena, freed in one call when the response is sent.
 */
#ifndef KILN_SERVER_HTTP_H
#define KILN_SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"

struct http_kv {
	const char *key;
	const char *value;
};

struct http_request {
	const char *method;          /* "GET", "POST", … */
	const char *path;            /* decoded path without the query string, e.g. "/api/v1/search" */
	const struct http_kv *query; /* decoded query parameters, in order (keys may repeat) */
	size_t nquery;
	const struct http_kv *headers; /* header names lower-cased */
	size_t nheaders;
	const uint8_t *body;
	size_t body_len;
	const char *remote_addr;
	struct arena *arena;         /* per-request allocations */
};

struct http_response {
	int status;                  /* 200, 400, … */
	const char *content_type;    /* static string or from req->arena; default application/json */
	struct buf body;             /* owned by the response; freed by the HTTP layer */
	struct http_kv headers[8];   /* extra headers (e.g. Content-Disposition) */
	size_t nheaders;
};

/* First value of a query parameter or header (case-insensitive for headers), or NULL. */
const char *http_query(const struct http_request *req, const char *key);
const char *http_header(const struct http_request *req, const char *name);

/* Sets status and a JSON body {"error": msg}. */
void http_error(struct http_response *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- the server (http.c) ----------------------------------------------------------------- */

/* Called on a worker thread for each fully received request; must fill resp. */
typedef void (*http_handler_fn)(void *ctx, const struct http_request *req,
				struct http_response *resp);

struct http_server_opts {
	const char *listen;	  /* "127.0.0.1:8126", "[::1]:8126", ":8126"; NULL = none */
	const char *unix_socket;  /* path of a Unix socket to listen on too; NULL = none */
	size_t max_request_size;  /* decoded body bytes; beyond: 413 (0 = 64 MiB) */
	size_t max_buffered;	  /* all bodies together; beyond: 503 (0 = 4 x max_request_size,
				     at least 256 MiB) */
	unsigned threads;	  /* worker threads (0 = 4) */
	unsigned timeout_s;	  /* idle connection timeout (0 = 45 s) */
	unsigned max_connections; /* 0 = 1000 */
};

struct http_server;

/* Starts listening and serving on background threads. NULL and errno on failure, with a
 * message in err (address in use, bad address…). */
struct http_server *http_server_start(const struct http_server_opts *opts, http_handler_fn fn,
				      void *ctx, struct buf *err);
/* Stops accepting connections; requests in flight go on. */
void http_server_quiesce(struct http_server *s);
/* Waits until no request is being received or handled, at most timeout_ms. 0 or -ETIMEDOUT. */
int http_server_drain(struct http_server *s, unsigned timeout_ms);
/* Closes every connection and frees the server. Accepts NULL. */
void http_server_free(struct http_server *s);
/* The TCP port actually bound (useful with port 0), or 0. */
unsigned http_server_port(const struct http_server *s);

#endif
