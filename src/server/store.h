/*
 * store: where kiln serve keeps profiles. One interface (struct store_ops), two backends in
 * their own files: store_sqlite.c (default, a data directory in WAL mode) and store_pg.c
 * (PostgreSQL through libpq, shared by several servers). Same schema in both.
 *
 * CONTRACT between the intake (which parses uploads and calls store_put) and the query API
 * (which reads). store_put returns only after the upload is committed durably: the intake
 * acknowledges with 200 after it returns 0.
 *
 * Threading: a store is used by many HTTP worker threads at once; backends handle their own
 * connection pooling/locking.
 */
#ifndef KILN_SERVER_STORE_H
#define KILN_SERVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pprof/pprof.h"

struct store_tag {
	const char *key;
	const char *value;
};

enum store_attachment_kind {
	STORE_ATTACH_PPROF = 0,
	STORE_ATTACH_JFR,
	STORE_ATTACH_JSON,
	STORE_ATTACH_OTHER,
};

struct store_attachment {
	const char *name;               /* part filename, e.g. "wall.pprof" */
	const char *content_type;       /* may be NULL */
	enum store_attachment_kind kind;
	const char *compression;        /* "gzip", "zstd", "lz4", "none" */
	const uint8_t *data;            /* as received */
	size_t len;
	const struct pprof_profile *pprof; /* decoded, for STORE_ATTACH_PPROF; else NULL */
};

/* One upload, as the intake understood it. Strings may be "" but not NULL. */
struct store_upload {
	const char *service, *env, *version, *host, *runtime, *language, *family;
	const char *runtime_id;
	const char *origin, *origin_version;   /* DD-EVP-ORIGIN(-VERSION) */
	const char *container_id, *entity_id;  /* Datadog-Container-ID, Datadog-Entity-ID */
	const struct store_tag *tags;          /* every tag, including the ones above */
	size_t ntags;
	int64_t start_ns, end_ns;
	const char *event_json;                /* the event part as received ("" for legacy) */
	const char *info_json;                 /* event.json "info", or "{}" */
	const struct store_attachment *attachments;
	size_t nattachments;
	const uint8_t *raw_body;               /* the whole request body, for download */
	size_t raw_len;
	const char *raw_content_type;
	/* Measures computed at ingest (NaN/negative = not applicable). */
	double cpu_cores;        /* CPU time / wall duration */
	double alloc_bytes_per_s;
	double wall_seconds;
	double heap_live_bytes;
};

struct store;

struct store_ops {
	const char *name;
	int (*put)(struct store *s, const struct store_upload *u, int64_t *id_out);
	void (*close)(struct store *s);
	/* The query side adds its operations here; see query.h. */
};

struct store {
	const struct store_ops *ops;
};

/* Opens "sqlite:DIR", a plain directory path, or "postgres://…"/"postgresql://…".
 * NULL and errno on failure, with a message in err. */
struct buf;
struct store *store_open(const char *spec, struct buf *err);
void store_close(struct store *s);
static inline int store_put(struct store *s, const struct store_upload *u, int64_t *id_out)
{
	return s->ops->put(s, u, id_out);
}

#endif
