/*
 * store_sqlite: the default storage backend, one SQLite database DIR/kiln.db.
 *
 * Durability: the database runs in WAL mode with synchronous=FULL. A commit appends the
 * transaction to the WAL and fsyncs the WAL before COMMIT returns, and store_put returns only
 * after COMMIT, so an acknowledged upload survives kill -9 of the server (the bytes are in
 * the kernel already) and also a power loss (they are on disk). synchronous=NORMAL would
 * survive kill -9 but could lose the last commits on power loss, because in WAL mode it only
 * syncs at checkpoints; the price of FULL is one fsync per upload. Checkpoints run
 * automatically (wal_autocheckpoint) in the committing writer; a crash in the middle of a
 * checkpoint is recovered from the WAL on the next open.
 *
 * Concurrency: one write connection behind a mutex (SQLite allows one writer; serializing in
 * the process avoids SQLITE_BUSY spins), and a small pool of read connections that run
 * concurrently with the writer thanks to WAL snapshots. Each connection caches its prepared
 * statements.
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/log.h"
#include "server/store_sql.h"

#define NREADERS 4
#define STMT_CACHE 48
#define READER_MMAP_SIZE "268435456" /* bytes of the database each reader maps, 256 MiB */

struct stmt_slot {
	char *sql;
	sqlite3_stmt *stmt;
};

struct sqlconn {
	sqlite3 *db;
	struct stmt_slot cache[STMT_CACHE];
	size_t next;
};

struct sqlite_store {
	struct sqlstore common;
	char *path;
	pthread_mutex_t write_lock;
	struct sqlconn writer;
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	struct sqlconn readers[NREADERS];
	bool busy[NREADERS];
};

static const char *const schema[] = {
    "CREATE TABLE IF NOT EXISTS profiles("
    "id INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, env TEXT NOT NULL, "
    "version TEXT NOT NULL, host TEXT NOT NULL, runtime TEXT NOT NULL, language TEXT NOT NULL, "
    "family TEXT NOT NULL, runtime_id TEXT NOT NULL, origin TEXT NOT NULL, "
    "origin_version TEXT NOT NULL, container_id TEXT NOT NULL, entity_id TEXT NOT NULL, "
    "start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, received_ns INTEGER NOT NULL, "
    "raw_len INTEGER NOT NULL, cpu_cores REAL, alloc_bps REAL, wall_seconds REAL, "
    "heap_live REAL, event_json TEXT NOT NULL, info_json TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS profiles_start ON profiles(start_ns)",
    "CREATE INDEX IF NOT EXISTS profiles_end ON profiles(end_ns)",
    "CREATE INDEX IF NOT EXISTS profiles_service ON profiles(service, start_ns)",
    /* search orders (sql_search): rowid (= id) ends every index */
    "CREATE INDEX IF NOT EXISTS profiles_sort_service ON profiles(service COLLATE BINARY, id)",
    "CREATE INDEX IF NOT EXISTS profiles_sort_cpu ON profiles(NULLIF(cpu_cores, 'NaN'), id)",
    "CREATE INDEX IF NOT EXISTS profiles_sort_alloc ON profiles(NULLIF(alloc_bps, 'NaN'), id)",
    "CREATE INDEX IF NOT EXISTS profiles_sort_wall ON profiles(NULLIF(wall_seconds, 'NaN'), id)",
    "CREATE INDEX IF NOT EXISTS profiles_sort_heap ON profiles(NULLIF(heap_live, 'NaN'), id)",
    "CREATE TABLE IF NOT EXISTS tags(profile_id INTEGER NOT NULL, seq INTEGER NOT NULL, "
    "key TEXT NOT NULL, value TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS tags_kv ON tags(key, value, profile_id)",
    "CREATE INDEX IF NOT EXISTS tags_profile ON tags(profile_id, key, value)",
    "CREATE TABLE IF NOT EXISTS uploads(profile_id INTEGER PRIMARY KEY, "
    "content_type TEXT NOT NULL, body BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS attachments(profile_id INTEGER NOT NULL, idx INTEGER NOT NULL, "
    "name TEXT NOT NULL, content_type TEXT NOT NULL, kind INTEGER NOT NULL, "
    "compression TEXT NOT NULL, len INTEGER NOT NULL, data BLOB NOT NULL, body_off INTEGER, "
    "PRIMARY KEY(profile_id, idx))",
    "CREATE TABLE IF NOT EXISTS functions(id INTEGER PRIMARY KEY, hash INTEGER NOT NULL UNIQUE, "
    "name TEXT NOT NULL, filename TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS stacks(id INTEGER PRIMARY KEY, hash INTEGER NOT NULL UNIQUE, "
    "frames BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS samples(profile_id INTEGER NOT NULL, attachment TEXT NOT NULL, "
    "seq INTEGER NOT NULL, type TEXT NOT NULL, total INTEGER NOT NULL, "
    "nstacks INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(profile_id, attachment, type))",
    "CREATE INDEX IF NOT EXISTS samples_type ON samples(type, profile_id)",
};

static int row_count(void *ctx, const struct sqlv *cols, size_t n)
{
	if (n >= 1 && cols[0].t == SQLV_INT)
		*(int64_t *)ctx = cols[0].i;
	return 0;
}

static int sqlite_exec(struct sqlconn *c, const char *sql, const struct sqlv *params, size_t n,
		       sql_row_fn fn, void *ctx);

/* Columns added after a store was first created (SQLite has no ADD COLUMN IF NOT EXISTS). */
static int sqlite_migrate(struct sqlconn *c)
{
	int64_t have = 0;
	int rc = sqlite_exec(c,
			     "SELECT count(*) FROM pragma_table_info('attachments') "
			     "WHERE name = 'body_off'",
			     NULL, 0, row_count, &have);
	if (rc == 0 && !have) /* older rows keep their own copy: body_off NULL */
		rc = sqlite_exec(c, "ALTER TABLE attachments ADD COLUMN body_off INTEGER", NULL, 0,
				 NULL, NULL);
	return rc;
}

static int sqlite_err(sqlite3 *db, int rc, const char *what)
{
	LOG_ERROR("store: sqlite: %s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return -EBUSY;
	if (rc == SQLITE_NOMEM)
		return -ENOMEM;
	if (rc == SQLITE_FULL)
		return -ENOSPC;
	return -EIO;
}

static int conn_open(struct sqlconn *c, const char *path, bool write)
{
	static const char *const pragmas[] = {
	    "PRAGMA journal_mode=WAL",
	    "PRAGMA synchronous=FULL",
	    "PRAGMA busy_timeout=30000",
	    "PRAGMA temp_store=MEMORY",
	};
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (write ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
	if (rc != SQLITE_OK) {
		int err = sqlite_err(c->db, rc, path);
		sqlite3_close(c->db);
		c->db = NULL;
		return err;
	}
	for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
		rc = sqlite3_exec(c->db, pragmas[i], NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return sqlite_err(c->db, rc, pragmas[i]);
	}
	/* Readers map the database instead of copying pages into a cache of their own: every
	 * reader shares the kernel's page cache, so a query on a reader that has not run one
	 * yet does not start from an empty cache. (Best effort: a build without mmap ignores
	 * it.) */
	if (!write)
		(void)sqlite3_exec(c->db, "PRAGMA mmap_size=" READER_MMAP_SIZE, NULL, NULL, NULL);
	return 0;
}

static void conn_close(struct sqlconn *c)
{
	for (size_t i = 0; i < STMT_CACHE; i++) {
		sqlite3_finalize(c->cache[i].stmt);
		free(c->cache[i].sql);
		c->cache[i].stmt = NULL;
		c->cache[i].sql = NULL;
	}
	sqlite3_close(c->db);
	c->db = NULL;
}

static sqlite3_stmt *stmt_get(struct sqlconn *c, const char *sql, int *rc)
{
	for (size_t i = 0; i < STMT_CACHE; i++)
		if (c->cache[i].sql && !strcmp(c->cache[i].sql, sql))
			return c->cache[i].stmt;
	sqlite3_stmt *st = NULL;
	*rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (*rc != SQLITE_OK)
		return NULL;
	char *copy = strdup(sql);
	if (!copy) {
		sqlite3_finalize(st);
		*rc = SQLITE_NOMEM;
		return NULL;
	}
	struct stmt_slot *slot = &c->cache[c->next];
	c->next = (c->next + 1) % STMT_CACHE;
	sqlite3_finalize(slot->stmt);
	free(slot->sql);
	slot->sql = copy;
	slot->stmt = st;
	return st;
}

static int sqlite_exec(struct sqlconn *c, const char *sql, const struct sqlv *params, size_t n,
		       sql_row_fn fn, void *ctx)
{
	int rc = SQLITE_OK;
	sqlite3_stmt *st = stmt_get(c, sql, &rc);
	if (!st)
		return sqlite_err(c->db, rc, "prepare");
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
		const struct sqlv *v = &params[i];
		int idx = (int)i + 1;
		switch (v->t) {
		case SQLV_NULL:
			rc = sqlite3_bind_null(st, idx);
			break;
		case SQLV_INT:
			rc = sqlite3_bind_int64(st, idx, v->i);
			break;
		case SQLV_DOUBLE:
			rc = sqlite3_bind_double(st, idx, v->d);
			break;
		case SQLV_TEXT:
			rc = sqlite3_bind_text64(st, idx, v->p, v->len, SQLITE_STATIC, SQLITE_UTF8);
			break;
		case SQLV_BLOB:
			rc = sqlite3_bind_blob64(st, idx, v->p, v->len, SQLITE_STATIC);
			break;
		}
	}
	if (rc != SQLITE_OK) {
		int err = sqlite_err(c->db, rc, "bind");
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return err;
	}
	int err = 0;
	struct sqlv cols[32];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int nc = sqlite3_column_count(st);
		if (nc > 32)
			nc = 32;
		for (int i = 0; i < nc; i++) {
			struct sqlv *v = &cols[i];
			memset(v, 0, sizeof(*v));
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				v->t = SQLV_INT;
				v->i = sqlite3_column_int64(st, i);
				break;
			case SQLITE_FLOAT:
				v->t = SQLV_DOUBLE;
				v->d = sqlite3_column_double(st, i);
				break;
			case SQLITE_TEXT:
				v->t = SQLV_TEXT;
				v->p = sqlite3_column_text(st, i);
				v->len = (size_t)sqlite3_column_bytes(st, i);
				break;
			case SQLITE_BLOB:
				v->t = SQLV_BLOB;
				v->p = sqlite3_column_blob(st, i);
				v->len = (size_t)sqlite3_column_bytes(st, i);
				if (!v->p)
					v->p = "";
				break;
			default:
				v->t = SQLV_NULL;
			}
		}
		if (fn && (err = fn(ctx, cols, (size_t)nc)) < 0)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = sqlite_err(c->db, rc, "step");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return err;
}

static struct sqlconn *sqlite_acquire(struct sqlstore *common, bool write)
{
	struct sqlite_store *s = (struct sqlite_store *)common;
	if (write) {
		pthread_mutex_lock(&s->write_lock);
		return &s->writer;
	}
	pthread_mutex_lock(&s->pool_lock);
	for (;;) {
		for (size_t i = 0; i < NREADERS; i++) {
			if (!s->busy[i]) {
				s->busy[i] = true;
				pthread_mutex_unlock(&s->pool_lock);
				return &s->readers[i];
			}
		}
		pthread_cond_wait(&s->pool_cond, &s->pool_lock);
	}
}

static void sqlite_release(struct sqlstore *common, struct sqlconn *c)
{
	struct sqlite_store *s = (struct sqlite_store *)common;
	if (c == &s->writer) {
		pthread_mutex_unlock(&s->write_lock);
		return;
	}
	pthread_mutex_lock(&s->pool_lock);
	s->busy[c - s->readers] = false;
	pthread_cond_signal(&s->pool_cond);
	pthread_mutex_unlock(&s->pool_lock);
}

static void sqlite_destroy(struct sqlstore *common)
{
	struct sqlite_store *s = (struct sqlite_store *)common;
	for (size_t i = 0; i < NREADERS; i++)
		conn_close(&s->readers[i]);
	conn_close(&s->writer);
	pthread_mutex_destroy(&s->write_lock);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_cond_destroy(&s->pool_cond);
	free(s->path);
}

static bool sqlite_retryable(int err)
{
	return err == -EBUSY;
}

static const struct sqldrv sqlite_drv = {
    .acquire = sqlite_acquire,
    .release = sqlite_release,
    .exec = sqlite_exec,
    .begin_write = "BEGIN IMMEDIATE",
    .begin_read = "BEGIN",
    .collate_bytes = " COLLATE BINARY",
    .destroy = sqlite_destroy,
    .retryable = sqlite_retryable,
};

static void sqlite_close(struct store *st)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	sqlstore_warmup_stop(&s->common);
	sqlite_destroy(&s->common);
	sqlstore_release(&s->common);
	free(s);
}

static struct store_ops sqlite_ops;
static pthread_once_t sqlite_ops_once = PTHREAD_ONCE_INIT;

static void sqlite_ops_init(void)
{
	sqlite_ops = sql_store_ops_template;
	sqlite_ops.name = "sqlite";
	sqlite_ops.close = sqlite_close;
}

struct store *store_sqlite_open(const char *dir, struct buf *err)
{
	struct sqlite_store *s = calloc(1, sizeof(*s));
	int rc;
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_once(&sqlite_ops_once, sqlite_ops_init);
	s->common.base.ops = &sqlite_ops;
	sqlstore_init(&s->common, &sqlite_drv);
	pthread_mutex_init(&s->write_lock, NULL);
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_cond_init(&s->pool_cond, NULL);

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		buf_printf(err, "store: cannot create directory '%s': %s", dir, strerror(errno));
		goto fail;
	}
	struct buf path = BUF_INIT;
	if (buf_printf(&path, "%s/kiln.db", dir) < 0) {
		rc = -ENOMEM;
		goto fail;
	}
	s->path = buf_detach(&path, NULL);
	rc = conn_open(&s->writer, s->path, true);
	if (rc == 0)
		rc = sqlstore_exec_script(&s->common, schema, sizeof(schema) / sizeof(schema[0]));
	if (rc == 0)
		rc = sqlite_migrate(&s->writer);
	for (size_t i = 0; rc == 0 && i < NREADERS; i++)
		rc = conn_open(&s->readers[i], s->path, false);
	if (rc < 0) {
		buf_printf(err, "store: cannot open the SQLite database '%s' (see the log)",
			   s->path);
		goto fail;
	}
	sqlstore_warmup_start(&s->common);
	return &s->common.base;
fail:
	sqlite_close(&s->common.base);
	errno = -rc;
	return NULL;
}
