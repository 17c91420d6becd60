/*
 * store_sql: the SQL both storage backends share. The schema and every query are written
 * once, in the common subset of SQLite and PostgreSQL (bound parameters written "?",
 * INSERT … ON CONFLICT DO NOTHING RETURNING); a backend (store_sqlite.c, store_pg.c) is a
 * small driver: connections, transactions, parameter binding and row decoding.
 *
 * Data model (Pyroscope's symbol store, flattened into tables):
 *	profiles	one row per upload: identity, time range, measures, event/info JSON
 *	tags		(profile_id, key, value), indexed by (key, value)
 *	uploads		the request body as received
 *	attachments	each attachment as received
 *	functions	deduplicated (name, file), keyed by a 64-bit hash of both
 *	stacks		deduplicated function-id lists (root first), keyed by a hash of the ids
 *	samples		per (profile, attachment, sample type): a compact blob of (stack id, value)
 *		pairs, sorted by stack id, delta + varint coded, so a merge reads one row per
 *		profile and never runs SQL per sample.
 * Stacks and functions are immutable once committed, so ids can be cached in memory by
 * every server sharing the store; retention deletes profiles, never stacks or functions.
 */
#ifndef KILN_SERVER_STORE_SQL_H
#define KILN_SERVER_STORE_SQL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hmap.h"
#include "base/vec.h"
#include "server/store.h"

enum sqlv_type {
	SQLV_NULL = 0,
	SQLV_INT,
	SQLV_DOUBLE,
	SQLV_TEXT, /* p is NUL-terminated in results; parameters use len */
	SQLV_BLOB,
};

struct sqlv {
	enum sqlv_type t;
	int64_t i;
	double d;
	const void *p;
	size_t len;
};

static inline struct sqlv sqlv_int(int64_t i)
{
	return (struct sqlv){.t = SQLV_INT, .i = i};
}
static inline struct sqlv sqlv_double(double d)
{
	return (struct sqlv){.t = SQLV_DOUBLE, .d = d};
}
struct sqlv sqlv_text(const char *s); /* NULL is bound as "" */
static inline struct sqlv sqlv_blob(const void *p, size_t len)
{
	return (struct sqlv){.t = SQLV_BLOB, .p = p, .len = len};
}

/* One result row; cells borrowed for the call. Return a negative errno to stop. */
typedef int (*sql_row_fn)(void *ctx, const struct sqlv *cols, size_t ncols);

struct sqlconn;
struct sqlstore;

struct sqldrv {
	/* A connection for this thread's exclusive use until release; at most max_writers
	 * write connections are in use at once. NULL on failure. */
	struct sqlconn *(*acquire)(struct sqlstore *st, bool write);
	void (*release)(struct sqlstore *st, struct sqlconn *c);
	/* Runs one statement with "?" parameters; rows go to fn (may be NULL). */
	int (*exec)(struct sqlconn *c, const char *sql, const struct sqlv *params, size_t n,
		    sql_row_fn fn, void *ctx);
	const char *begin_write; /* "BEGIN IMMEDIATE" / "BEGIN" */
	const char *begin_read;	 /* a read-only snapshot over several statements */
	/* Appended to a text expression to order it byte-wise whatever the database's locale
	 * (" COLLATE BINARY" / " COLLATE \"C\""); the sort indexes use the same collation. */
	const char *collate_bytes;
	/* Frees the backend (connections); the common part is freed by the caller. */
	void (*destroy)(struct sqlstore *st);
	/* true when an error is worth retrying the transaction (deadlock, serialization). */
	bool (*retryable)(int err);
	/* How many group-commit batches may be written at once, each in its own transaction
	 * on its own write connection (0 means 1: SQLite has a single writer anyway). */
	int max_writers;
};

/* The common part of both backends; a backend embeds it first. */
struct sqlstore {
	struct store base;
	const struct sqldrv *drv;
	pthread_mutex_t cache_lock;
	struct hmap fn_by_hash;	   /* function hash -> id (committed only) */
	struct hmap stack_by_hash; /* stack hash -> id (committed only) */
	struct hmap stack_frames;  /* stack id -> offset+1 into frames */
	VEC(uint64_t) frames;	   /* per cached stack: n, then n function ids */
	uint64_t seed;
	/* group commit (store_sql.c): queued puts and how many batches are being written */
	pthread_mutex_t put_lock;
	pthread_cond_t put_cond;
	struct put_req *put_head, **put_tail;
	int put_leaders;
	/* stack cache warm-up (store_sql.c): a background reader started at open */
	pthread_t warm_thread;
	bool warm_started;
	volatile int warm_stop; /* set (atomically) to stop it early */
};

/* The store_ops every SQL backend uses (the backend sets .name and .close). */
extern const struct store_ops sql_store_ops_template;

int sqlstore_init(struct sqlstore *st, const struct sqldrv *drv);
void sqlstore_release(struct sqlstore *st);
/*
 * Starts loading the newest stacks into the stack cache in the background (a backend calls
 * it once its connections are open), so the first aggregate of a new server does not read
 * them one query at a time; bounded to half the cache. sqlstore_warmup_stop ends it early
 * and waits for it; a backend calls it before closing its connections. Failure to start is
 * only logged: the cache then fills from queries as before.
 */
void sqlstore_warmup_start(struct sqlstore *st);
void sqlstore_warmup_stop(struct sqlstore *st);
/* Runs a list of DDL statements in one transaction on a write connection. */
int sqlstore_exec_script(struct sqlstore *st, const char *const *stmts, size_t n);

/* Appends data to out with invalid UTF-8 and NUL bytes replaced by '?'; true if unchanged. */
struct buf;
bool sql_utf8_append(struct buf *out, const void *data, size_t n);

/* The backends' constructors, called by store_open. */
struct store *store_sqlite_open(const char *dir, struct buf *err);
struct store *store_pg_open(const char *conninfo, struct buf *err);

#endif
