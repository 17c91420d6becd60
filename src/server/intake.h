/*
 * intake: the Datadog-compatible profile upload endpoint (POST /profiling/v1/input, also
 * /api/v2/profile and /v1/input), from request body to struct store_upload.
 *
 * Accepted: the current format (v4: an `event` part holding event.json, plus the parts it
 * lists in `attachments`) and the legacy form-field formats (v1: recording-start/-end,
 * format, runtime, types[N], data[N]; v3: version=3, family, start, end, data[NAME]; both
 * with repeated tags[]). Each attachment is decompressed by magic bytes (gzip, zstd, lz4,
 * none) with a size cap, classified (pprof, JFR, JSON, other), and pprof is decoded. The
 * upload keeps the received bytes so a download returns exactly what the client sent.
 *
 * Answers (intake_handle): 200 {} once the store has committed the upload; 400 with
 * {"error": …} for malformed input; 413 when an attachment decompresses beyond the cap;
 * 503 when the store fails. Never 404 nor 202 (clients treat those as "no intake here").
 */
#ifndef KILN_SERVER_INTAKE_H
#define KILN_SERVER_INTAKE_H

#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"
#include "pprof/pprof.h"
#include "server/http.h"
#include "server/store.h"

struct intake_opts {
	size_t max_decompressed; /* per attachment; 0 = PPROF_DEFAULT_MAX_DECOMPRESSED */
};

/* A parsed upload. Strings and arrays come from the request's arena; the decoded profiles
 * are owned here and freed by intake_upload_release. */
struct intake_upload {
	struct store_upload up;
	struct pprof_profile *profiles; /* nprofiles entries, heap */
	size_t nprofiles;
	const char *format; /* "v4", "v3" or "v1" */
};

/*
 * Parses req (body, Content-Type and the Datadog headers) into out, allocating from
 * req->arena. 0, or a negative errno with a one-line reason in err: -EINVAL malformed
 * (answer 400), -EFBIG an attachment too large once decompressed (413), -ENOMEM.
 * out is always safe to release.
 */
int intake_parse(const struct http_request *req, const struct intake_opts *opts,
		 struct intake_upload *out, struct buf *err);
void intake_upload_release(struct intake_upload *u);

/* Parses, stores and answers one upload request. */
void intake_handle(struct store *store, const struct intake_opts *opts,
		   const struct http_request *req, struct http_response *resp);

/*
 * Splits a tag string into key:value pairs appended to *tags (grown from a), splitting each
 * tag on its first ':' (a tag without ':' gets value ""). seps lists the separators:
 * "," for tags_profiler, ", " for DD_TAGS-style strings. Empty tags are skipped.
 * 0 or -ENOMEM.
 */
int intake_split_tags(struct arena *a, const char *s, const char *seps, struct store_tag **tags,
		      size_t *ntags, size_t *cap);

/* Fills u's measures (cpu_cores, alloc_bytes_per_s, wall_seconds, heap_live_bytes) from its
 * pprof attachments, using the per-runtime table of sample types in intake.c. NaN where
 * the upload has no matching sample type. */
void intake_compute_measures(struct store_upload *u);

#endif
