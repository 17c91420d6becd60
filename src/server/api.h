/*
 * api: kiln serve's JSON query API under /api/v1/ (search with facets, one profile, its
 * flame graph tree and top table, downloads, aggregate, compare, timeseries, timeline).
 *
 * CONTRACT between the HTTP layer (which routes every request whose path starts with
 * "/api/v1/" here) and the query engineer. Documented for users in docs/api.md.
 */
#ifndef KILN_SERVER_API_H
#define KILN_SERVER_API_H

#include "server/http.h"
#include "server/store.h"

struct api;

struct api *api_new(struct store *store);
void api_free(struct api *api);

/* Handles one /api/v1/… request. Always fills resp (404 for an unknown endpoint). */
void api_handle(struct api *api, const struct http_request *req, struct http_response *resp);

#endif
