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

#endif
