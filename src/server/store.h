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
	const char *name;	  /* part filename, e.g. "wall.pprof" */
	const char *content_type; /* may be NULL */
	enum store_attachment_kind kind;
	const char *compression; /* "gzip", "zstd", "lz4", "none" */
	const uint8_t *data;	 /* as received */
	size_t len;
	const struct pprof_profile *pprof; /* decoded, for STORE_ATTACH_PPROF; else NULL */
};

/* One upload, as the intake understood it. Strings may be "" but not NULL. */
struct store_upload {
	const char *service, *env, *version, *host, *runtime, *language, *family;
	const char *runtime_id;
	const char *origin, *origin_version;  /* DD-EVP-ORIGIN(-VERSION) */
	const char *container_id, *entity_id; /* Datadog-Container-ID, Datadog-Entity-ID */
	const struct store_tag *tags;	      /* every tag, including the ones above */
	size_t ntags;
	int64_t start_ns, end_ns;
	const char *event_json; /* the event part as received ("" for legacy) */
	const char *info_json;	/* event.json "info", or "{}" */
	const struct store_attachment *attachments;
	size_t nattachments;
	const uint8_t *raw_body; /* the whole request body, for download */
	size_t raw_len;
	const char *raw_content_type;
	/* Measures computed at ingest (NaN/negative = not applicable). */
	double cpu_cores; /* CPU time / wall duration */
	double alloc_bytes_per_s;
	double wall_seconds;
	double heap_live_bytes;
};

struct store;
struct arena;

/* ---- the query side -------------------------------------------------------------------- */

/* One search term: key:value, or -key:value when negate. A value ending in '*' matches by
 * prefix. Keys service, env, version, host, runtime, language, family match the profile's
 * columns; "id" matches the profile id; any other key matches the tags table. */
struct store_term {
	const char *key;
	const char *value;
	bool negate;
};

/* Which profiles: all terms must hold, and the profile must overlap [from_ns, to_ns)
 * (0 = unbounded on that side). */
struct store_query {
	const struct store_term *terms;
	size_t nterms;
	int64_t from_ns, to_ns;
	int64_t profile_id; /* 0 = any */
};

/* What search orders by. Every order ends with the profile id in the same direction, so
 * the order is total and offsets page through it without gaps or repeats. */
enum store_sort_by {
	STORE_SORT_TIME = 0, /* start time */
	STORE_SORT_RECEIVED,
	STORE_SORT_DURATION, /* end - start */
	STORE_SORT_SIZE,     /* the upload's size */
	STORE_SORT_CPU_CORES,
	STORE_SORT_ALLOC_BPS,
	STORE_SORT_WALL_SECONDS,
	STORE_SORT_HEAP_LIVE,
	STORE_SORT_SERVICE, /* identity columns: byte-wise string order */
	STORE_SORT_ENV,
	STORE_SORT_VERSION,
	STORE_SORT_HOST,
	STORE_SORT_RUNTIME,
	STORE_SORT_LANGUAGE,
	STORE_SORT_FAMILY,
	STORE_SORT_TAG, /* the first value of tag `tag` (byte-wise; absent = smallest) */
};

/* A search order. A measure that does not apply to a profile (NULL) sorts as the smallest
 * value: last when descending, first when ascending. */
struct store_sort {
	enum store_sort_by by;
	const char *tag; /* STORE_SORT_TAG: the tag key */
	bool asc;
};

/* A stored profile's metadata. Strings are never NULL. */
struct store_meta {
	int64_t id;
	const char *service, *env, *version, *host, *runtime, *language, *family;
	const char *runtime_id, *origin, *origin_version, *container_id, *entity_id;
	int64_t start_ns, end_ns, received_ns;
	int64_t raw_len;
	double cpu_cores, alloc_bytes_per_s, wall_seconds, heap_live_bytes; /* NaN: n/a */
	const char *group; /* search with a group key: that key's value ("" if absent) */
};

struct store_meta_list {
	struct store_meta *items; /* from the caller's arena */
	size_t len;
	int64_t total; /* matches in all, ignoring limit/offset */
};

struct store_facet {
	const char *value;
	int64_t count;
};

struct store_facet_list {
	struct store_facet *items; /* from the caller's arena, most frequent first */
	size_t len;
};

struct store_attachment_info {
	const char *name, *content_type, *compression;
	enum store_attachment_kind kind;
	int64_t len;
};

/* A profile type stored for a profile: one per (attachment, sample type). */
struct store_type_info {
	const char *attachment; /* e.g. "wall.pprof" */
	const char *type;	/* e.g. "wall/nanoseconds" */
	int64_t total;		/* sum of the values */
	int64_t nstacks;	/* distinct stacks */
};

struct store_detail {
	struct store_meta meta;
	struct store_tag *tags;
	size_t ntags;
	const char *event_json, *info_json;
	struct store_attachment_info *attachments;
	size_t nattachments;
	struct store_type_info *types;
	size_t ntypes;
};

/* Receives the (stack, value) pairs of stored profiles, one call per pair; O(samples). */
typedef void (*store_sample_fn)(void *ctx, int64_t profile_id, uint64_t stack_id, int64_t value);
/* Receives a stack: function ids root first. `fns` is borrowed for the call. */
typedef void (*store_stack_fn)(void *ctx, uint64_t stack_id, const uint64_t *fns, size_t n);
/* Receives a function's name and file (borrowed for the call). */
typedef void (*store_function_fn)(void *ctx, uint64_t fn_id, const char *name, const char *file);

struct store_ops {
	const char *name;
	int (*put)(struct store *s, const struct store_upload *u, int64_t *id_out);
	void (*close)(struct store *s);

	/* Profiles matching q in the order sort (NULL: newest first, by start time then id),
	 * ordered by the database (indexes on time, the measures and service). group_key (may
	 * be NULL) fills store_meta.group with that key's value. Results are allocated from a. */
	int (*search)(struct store *s, const struct store_query *q, const struct store_sort *sort,
		      size_t limit, size_t offset, const char *group_key, struct arena *a,
		      struct store_meta_list *out);
	/* Counts of the values of `key` over the profiles matching q. */
	int (*facet)(struct store *s, const struct store_query *q, const char *key, size_t limit,
		     struct arena *a, struct store_facet_list *out);
	/* One profile: -ENOENT if it does not exist. */
	int (*get)(struct store *s, int64_t id, struct arena *a, struct store_detail *out);
	/* The upload as received (attachment NULL) or one attachment as received, appended to
	 * data; *content_type and *compression from a (compression may be NULL). */
	int (*blob)(struct store *s, int64_t id, const char *attachment, struct buf *data,
		    struct arena *a, const char **content_type, const char **compression);
	/* Streams the stored (stack, value) pairs of profile type `type` ("wall/nanoseconds")
	 * of every profile matching q; attachment (may be NULL) narrows to one attachment.
	 * *nprofiles (may be NULL) gets how many profiles contributed. */
	int (*samples)(struct store *s, const struct store_query *q, const char *type,
		       const char *attachment, store_sample_fn fn, void *ctx, int64_t *nprofiles);
	/* Resolves stack ids (unknown ids are skipped). */
	int (*stacks)(struct store *s, const uint64_t *ids, size_t n, store_stack_fn fn, void *ctx);
	int (*functions)(struct store *s, const uint64_t *ids, size_t n, store_function_fn fn,
			 void *ctx);
	/* Distinct profile types among the profiles matching q, with how many profiles. */
	int (*types)(struct store *s, const struct store_query *q, struct arena *a,
		     struct store_facet_list *out);
	/* Deletes up to `batch` profiles that ended before before_ns, in one short transaction
	 * (intake keeps going meanwhile). *deleted gets how many; call again while it is
	 * `batch`. Stacks and functions are shared and stay. */
	int (*expire)(struct store *s, int64_t before_ns, size_t batch, size_t *deleted);
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

/* Deletes every profile that ended before before_ns, batch by batch. Returns the number
 * deleted or a negative errno. */
int64_t store_expire_all(struct store *s, int64_t before_ns);

/*
 * Retention: a background thread that calls store_expire_all(now - keep_ns) every
 * interval_s seconds until store_retention_stop(). NULL and errno on failure.
 */
struct store_retention;
struct store_retention *store_retention_start(struct store *s, int64_t keep_ns, int interval_s);
void store_retention_stop(struct store_retention *r);

/* Parses a duration such as "7d", "12h", "30m", "90s" or "1w" into nanoseconds. 0 or -EINVAL. */
int store_parse_duration(const char *s, int64_t *ns);

#endif
