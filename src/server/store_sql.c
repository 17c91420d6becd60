/*
 * store_sql: the schema-level logic both storage backends share (see store_sql.h): turning
 * an upload into rows (deduplicated functions and stacks, per-type sample blobs) in one
 * transaction, and every read the query API needs, expressed once in SQL that SQLite and
 * PostgreSQL both accept. Values from outside only ever travel as bound parameters.
 *
 * Id caches: function and stack ids are looked up by content hash in memory first; entries
 * are added only after the transaction that created them committed, so a rolled-back put
 * never leaves a dangling id in the cache. Stack frame lists read for merges are cached by
 * id. Both caches are bounded (cleared when they grow past a limit).
 */
#include "server/store_sql.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/log.h"

#define CACHE_MAX_ENTRIES (1u << 20)	   /* ~24 MB per hash-to-id map at most */
#define FRAMES_CACHE_MAX ((size_t)4 << 20) /* u64 words: 32 MB, ~200k stacks */
#define IN_CHUNK 500

struct sqlv sqlv_text(const char *s)
{
	if (!s)
		s = "";
	return (struct sqlv){.t = SQLV_TEXT, .p = s, .len = strlen(s)};
}

/* ---- varints ----------------------------------------------------------------------------- */

static int put_uvarint(struct buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	return buf_append(b, tmp, n);
}

static bool get_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t c = *(*p)++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* ---- small SQL builder ------------------------------------------------------------------- */

struct sqlq {
	struct buf sql;
	VEC(struct sqlv) params;
	int err;
};

static void q_init(struct sqlq *q)
{
	buf_init(&q->sql);
	q->params.items = NULL;
	q->params.len = q->params.cap = 0;
	q->err = 0;
}

static void q_release(struct sqlq *q)
{
	buf_release(&q->sql);
	vec_release(&q->params);
}

static void q_sql(struct sqlq *q, const char *s)
{
	if (buf_puts(&q->sql, s) < 0)
		q->err = -ENOMEM;
}

static void q_param(struct sqlq *q, struct sqlv v)
{
	if (vec_push(&q->params, v) < 0)
		q->err = -ENOMEM;
}

static const char *const meta_columns[] = {"service", "env",	  "version", "host",
					   "runtime", "language", "family"};

/* The profiles column a query key maps to, or NULL for a tag. */
static const char *key_column(const char *key)
{
	for (size_t i = 0; i < sizeof(meta_columns) / sizeof(meta_columns[0]); i++)
		if (!strcmp(key, meta_columns[i]))
			return meta_columns[i];
	return NULL;
}

/* Appends " AND …" conditions for q; the profile table is aliased p. */
static void q_where(struct sqlq *q, const struct store_query *query)
{
	if (query->from_ns) {
		q_sql(q, " AND p.end_ns > ?");
		q_param(q, sqlv_int(query->from_ns));
	}
	if (query->to_ns) {
		q_sql(q, " AND p.start_ns < ?");
		q_param(q, sqlv_int(query->to_ns));
	}
	if (query->profile_id) {
		q_sql(q, " AND p.id = ?");
		q_param(q, sqlv_int(query->profile_id));
	}
	for (size_t i = 0; i < query->nterms; i++) {
		const struct store_term *t = &query->terms[i];
		const char *col = key_column(t->key);
		size_t vlen = strlen(t->value);
		bool prefix = vlen > 0 && t->value[vlen - 1] == '*';
		struct sqlv val = {.t = SQLV_TEXT, .p = t->value, .len = prefix ? vlen - 1 : vlen};

		q_sql(q, t->negate ? " AND NOT (" : " AND (");
		if (!strcmp(t->key, "id")) {
			q_sql(q, "p.id = ?");
			q_param(q, sqlv_int(strtoll(t->value, NULL, 10)));
		} else if (col) {
			q_sql(q, "p.");
			q_sql(q, col);
			if (prefix) {
				q_sql(q, " >= ? AND substr(p.");
				q_sql(q, col);
				q_sql(q, ", 1, ?) = ?");
				q_param(q, val);
				q_param(q, sqlv_int((int64_t)val.len));
				q_param(q, val);
			} else {
				q_sql(q, " = ?");
				q_param(q, val);
			}
		} else {
			q_sql(
			    q,
			    "EXISTS (SELECT 1 FROM tags t WHERE t.profile_id = p.id AND t.key = ?");
			q_param(q, sqlv_text(t->key));
			if (prefix) {
				q_sql(q, " AND substr(t.value, 1, ?) = ?)");
				q_param(q, sqlv_int((int64_t)val.len));
				q_param(q, val);
			} else {
				q_sql(q, " AND t.value = ?)");
				q_param(q, val);
			}
		}
		q_sql(q, ")");
	}
}

static int q_exec(struct sqlstore *st, struct sqlconn *c, struct sqlq *q, sql_row_fn fn, void *ctx)
{
	if (q->err)
		return q->err;
	return st->drv->exec(c, q->sql.data, q->params.items, q->params.len, fn, ctx);
}

/* ---- row helpers ------------------------------------------------------------------------- */

static const char *col_str(struct arena *a, const struct sqlv *v)
{
	if (v->t == SQLV_TEXT || v->t == SQLV_BLOB) {
		char *s = arena_strndup(a, v->p, v->len);
		return s ? s : "";
	}
	if (v->t == SQLV_INT) {
		char tmp[32];
		snprintf(tmp, sizeof(tmp), "%" PRId64, v->i);
		char *s = arena_strdup(a, tmp);
		return s ? s : "";
	}
	return "";
}

static int64_t col_int(const struct sqlv *v)
{
	if (v->t == SQLV_INT)
		return v->i;
	if (v->t == SQLV_DOUBLE)
		return (int64_t)v->d;
	if (v->t == SQLV_TEXT)
		return strtoll(v->p, NULL, 10);
	return 0;
}

static double col_double(const struct sqlv *v)
{
	if (v->t == SQLV_DOUBLE)
		return v->d;
	if (v->t == SQLV_INT)
		return (double)v->i;
	if (v->t == SQLV_TEXT)
		return strtod(v->p, NULL);
	return NAN;
}

static int row_int(void *ctx, const struct sqlv *cols, size_t n)
{
	if (n >= 1)
		*(int64_t *)ctx = col_int(&cols[0]);
	return 0;
}

/* ---- caches ------------------------------------------------------------------------------ */

static bool cache_get(struct sqlstore *st, struct hmap *m, uint64_t key, uint64_t *val)
{
	pthread_mutex_lock(&st->cache_lock);
	uint64_t *v = hmap_get(m, key);
	if (v)
		*val = *v;
	pthread_mutex_unlock(&st->cache_lock);
	return v != NULL;
}

struct pending {
	VEC(uint64_t) fn; /* hash, id pairs */
	VEC(uint64_t) stack;
};

static void cache_commit(struct sqlstore *st, struct pending *pd)
{
	pthread_mutex_lock(&st->cache_lock);
	if (st->fn_by_hash.len + pd->fn.len / 2 > CACHE_MAX_ENTRIES)
		hmap_clear(&st->fn_by_hash);
	if (st->stack_by_hash.len + pd->stack.len / 2 > CACHE_MAX_ENTRIES)
		hmap_clear(&st->stack_by_hash);
	for (size_t i = 0; i + 1 < pd->fn.len; i += 2)
		(void)hmap_put(&st->fn_by_hash, pd->fn.items[i], pd->fn.items[i + 1]);
	for (size_t i = 0; i + 1 < pd->stack.len; i += 2)
		(void)hmap_put(&st->stack_by_hash, pd->stack.items[i], pd->stack.items[i + 1]);
	pthread_mutex_unlock(&st->cache_lock);
}

/* ---- put --------------------------------------------------------------------------------- */

/* What put_pprof does: write (the normal pass), or only list the functions or the stacks that
 * are neither cached nor written yet in this transaction (order_ids's passes). */
enum put_mode {
	PUT_WRITE = 0,
	PUT_LIST_FUNCTIONS,
	PUT_LIST_STACKS,
};

/* A function or stack to insert before the batch's rows, in hash order. */
struct want {
	uint64_t hash;
	const char *a, *b; /* function: name, file (from want_mem) */
	const void *blob;  /* stack: encoded frames (from want_mem) */
	size_t len;
};

struct put {
	struct sqlstore *st;
	struct sqlconn *c;
	struct pending pd;
	struct hmap local_fn;	 /* hash -> id, this transaction */
	struct hmap local_stack; /* hash -> id, this transaction */
	struct buf tmp;
	enum put_mode mode;
	struct hmap wanted; /* hashes listed in want */
	VEC(struct want) want;
	struct arena want_mem;
};

/*
 * Inserts nrows rows of ncols parameters each (params row-major) with multi-row VALUES
 * statements, INSERT_ROWS_CHUNK rows per statement: one statement (one round trip to
 * PostgreSQL, one parse) instead of one per row. head is "INSERT INTO t(a, b)", tail is
 * appended after the VALUES list ("" or " ON CONFLICT DO NOTHING").
 */
#define INSERT_ROWS_CHUNK 256

static int insert_rows(struct put *pu, const char *head, const char *tail, size_t ncols,
		       const struct sqlv *params, size_t nrows)
{
	struct buf sql = BUF_INIT;
	int rc = 0;
	for (size_t r0 = 0; r0 < nrows && rc == 0; r0 += INSERT_ROWS_CHUNK) {
		size_t m = nrows - r0 < INSERT_ROWS_CHUNK ? nrows - r0 : INSERT_ROWS_CHUNK;
		buf_reset(&sql);
		rc = buf_puts(&sql, head);
		if (rc == 0)
			rc = buf_puts(&sql, " VALUES");
		for (size_t r = 0; r < m && rc == 0; r++) {
			rc = buf_puts(&sql, r ? ", (" : " (");
			for (size_t k = 0; k < ncols && rc == 0; k++)
				rc = buf_puts(&sql, k ? ", ?" : "?");
			if (rc == 0)
				rc = buf_putc(&sql, ')');
		}
		if (rc == 0)
			rc = buf_puts(&sql, tail);
		if (rc == 0)
			rc = pu->st->drv->exec(pu->c, sql.data, params + r0 * ncols, m * ncols,
					       NULL, NULL);
	}
	buf_release(&sql);
	return rc < 0 ? rc : 0;
}

struct found_row {
	bool found;
	int64_t id;
	struct buf blob;
	struct buf text2;
};

static int row_found(void *ctx, const struct sqlv *cols, size_t n)
{
	struct found_row *f = ctx;
	f->found = true;
	f->id = col_int(&cols[0]);
	buf_reset(&f->blob);
	buf_reset(&f->text2);
	if (n >= 2 && (cols[1].t == SQLV_BLOB || cols[1].t == SQLV_TEXT) &&
	    buf_append(&f->blob, cols[1].p, cols[1].len) < 0)
		return -ENOMEM;
	if (n >= 3 && (cols[2].t == SQLV_BLOB || cols[2].t == SQLV_TEXT) &&
	    buf_append(&f->text2, cols[2].p, cols[2].len) < 0)
		return -ENOMEM;
	return 0;
}

static uint64_t function_hash(struct sqlstore *st, const char *name, const char *file)
{
	size_t nl = strlen(name);
	uint64_t h = hash_bytes(name, nl, 0x6b696c6e66756e63ULL);
	return hash_combine(h, hash_bytes(file, strlen(file), 0x66696c65ULL));
}

static int function_id_clean(struct put *pu, const char *name, const char *file, uint64_t *id);

bool sql_utf8_append(struct buf *out, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t i = 0;
	bool ok = true;
	while (i < n) {
		unsigned char c = p[i];
		size_t len = c == 0		  ? 0
			     : c < 0x80		  ? 1
			     : (c & 0xe0) == 0xc0 ? 2
			     : (c & 0xf0) == 0xe0 ? 3
			     : (c & 0xf8) == 0xf0 ? 4
						  : 0;
		bool good =
		    len > 0 && i + len <= n && !(len == 2 && c < 0xc2) && !(len == 4 && c > 0xf4);
		for (size_t k = 1; good && k < len; k++)
			good = (p[i + k] & 0xc0) == 0x80;
		if (good && len == 3) {
			uint32_t cp =
			    ((uint32_t)(c & 0x0f) << 12) | ((uint32_t)(p[i + 1] & 0x3f) << 6);
			good = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
		}
		if (good && len == 4) {
			uint32_t cp =
			    ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(p[i + 1] & 0x3f) << 12);
			good = cp >= 0x10000 && cp <= 0x10ffff;
		}
		if (!good) {
			ok = false;
			(void)buf_putc(out, '?');
			i++;
		} else {
			(void)buf_append(out, p + i, len);
			i += len;
		}
	}
	return ok;
}

/* Strings from profiles may hold any bytes; PostgreSQL TEXT only takes UTF-8 without NUL.
 * Returns s, or a cleaned copy in tmp (invalid bytes become '?'). */
static const char *utf8_clean(const char *s, struct buf *tmp)
{
	/* Names are nearly always ASCII: then there is nothing to copy. */
	const unsigned char *c = (const unsigned char *)s;
	while (*c && *c < 0x80)
		c++;
	if (!*c)
		return s;
	buf_reset(tmp);
	if (sql_utf8_append(tmp, s, strlen(s)) || !tmp->data)
		return s;
	return tmp->data;
}

static int function_id(struct put *pu, const char *name, const char *file, uint64_t *id)
{
	struct sqlstore *st = pu->st;
	struct buf cn = BUF_INIT, cf = BUF_INIT;
	name = utf8_clean(name, &cn);
	file = utf8_clean(file, &cf);
	int rc = function_id_clean(pu, name, file, id);
	buf_release(&cn);
	buf_release(&cf);
	(void)st;
	return rc;
}

static int function_id_clean(struct put *pu, const char *name, const char *file, uint64_t *id)
{
	struct sqlstore *st = pu->st;
	uint64_t h = function_hash(st, name, file);
	uint64_t *local = hmap_get(&pu->local_fn, h);
	if (local) {
		*id = *local;
		return 0;
	}
	if (cache_get(st, &st->fn_by_hash, h, id))
		return hmap_put(&pu->local_fn, h, *id);
	if (pu->mode != PUT_WRITE) { /* listing: a placeholder id, nothing written */
		*id = 0;
		if (pu->mode != PUT_LIST_FUNCTIONS || hmap_get(&pu->wanted, h))
			return 0;
		struct want w = {.hash = h,
				 .a = arena_strdup(&pu->want_mem, name),
				 .b = arena_strdup(&pu->want_mem, file)};
		if (!w.a || !w.b || hmap_put(&pu->wanted, h, 1) < 0 || vec_push(&pu->want, w) < 0)
			return -ENOMEM;
		return 0;
	}

	struct found_row f = {0};
	struct sqlv p[3] = {sqlv_int((int64_t)h), sqlv_text(name), sqlv_text(file)};
	int rc = st->drv->exec(pu->c,
			       "INSERT INTO functions(hash, name, filename) VALUES(?, ?, ?) "
			       "ON CONFLICT(hash) DO NOTHING RETURNING id",
			       p, 3, row_found, &f);
	if (rc == 0 && !f.found)
		rc = st->drv->exec(pu->c, "SELECT id, name, filename FROM functions WHERE hash = ?",
				   p, 1, row_found, &f);
	if (rc == 0 && !f.found)
		rc = -EIO;
	if (rc == 0 && f.blob.len && (strcmp(f.blob.data, name) || strcmp(f.text2.data, file))) {
		LOG_ERROR("store: function hash collision between '%s' and '%s'", name,
			  f.blob.data);
		rc = -EIO;
	}
	if (rc == 0) {
		*id = (uint64_t)f.id;
		rc = hmap_put(&pu->local_fn, h, *id);
		if (rc == 0 && (vec_push(&pu->pd.fn, h) < 0 || vec_push(&pu->pd.fn, *id) < 0))
			rc = -ENOMEM;
	}
	buf_release(&f.blob);
	buf_release(&f.text2);
	return rc;
}

/* Inserts (or finds) the stack with encoded frames blob and hash h. */
static int stack_insert(struct put *pu, uint64_t h, const void *blob, size_t len, uint64_t *id)
{
	struct sqlstore *st = pu->st;
	struct found_row f = {0};
	struct sqlv p[2] = {sqlv_int((int64_t)h), sqlv_blob(blob, len)};
	int rc = st->drv->exec(pu->c,
			       "INSERT INTO stacks(hash, frames) VALUES(?, ?) "
			       "ON CONFLICT(hash) DO NOTHING RETURNING id",
			       p, 2, row_found, &f);
	if (rc == 0 && !f.found)
		rc = st->drv->exec(pu->c, "SELECT id, frames FROM stacks WHERE hash = ?", p, 1,
				   row_found, &f);
	if (rc == 0 && !f.found)
		rc = -EIO;
	if (rc == 0 && f.blob.len && (f.blob.len != len || memcmp(f.blob.data, blob, len))) {
		LOG_ERROR("store: stack hash collision (%016" PRIx64 ")", h);
		rc = -EIO;
	}
	if (rc == 0) {
		*id = (uint64_t)f.id;
		rc = hmap_put(&pu->local_stack, h, *id);
		if (rc == 0 && (vec_push(&pu->pd.stack, h) < 0 || vec_push(&pu->pd.stack, *id) < 0))
			rc = -ENOMEM;
	}
	buf_release(&f.blob);
	buf_release(&f.text2);
	return rc;
}

static int stack_id(struct put *pu, const uint64_t *fns, size_t n, uint64_t *id)
{
	struct sqlstore *st = pu->st;
	*id = 0;
	if (pu->mode == PUT_LIST_FUNCTIONS) /* function ids are placeholders yet */
		return 0;
	buf_reset(&pu->tmp);
	int rc = put_uvarint(&pu->tmp, n);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = put_uvarint(&pu->tmp, fns[i]);
	if (rc < 0)
		return rc;
	uint64_t h = hash_bytes(pu->tmp.data, pu->tmp.len, 0x737461636bULL);
	uint64_t *local = hmap_get(&pu->local_stack, h);
	if (local) {
		*id = *local;
		return 0;
	}
	if (cache_get(st, &st->stack_by_hash, h, id))
		return 0;
	if (pu->mode == PUT_LIST_STACKS) {
		*id = 0;
		if (hmap_get(&pu->wanted, h))
			return 0;
		struct want w = {.hash = h,
				 .blob = arena_memdup(&pu->want_mem, pu->tmp.data, pu->tmp.len),
				 .len = pu->tmp.len};
		if (!w.blob || hmap_put(&pu->wanted, h, 1) < 0 || vec_push(&pu->want, w) < 0)
			return -ENOMEM;
		return 0;
	}
	return stack_insert(pu, h, pu->tmp.data, pu->tmp.len, id);
}

struct pair {
	uint64_t stack;
	int64_t value;
};

static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* The function id of the frame for location `loc`, line index li (-1: no line info). */
static int frame_fn(struct put *pu, const struct pprof_profile *p, const struct pprof_location *loc,
		    ssize_t li, uint64_t *id)
{
	if (li >= 0) {
		const struct pprof_function *f =
		    pprof_function_by_id(p, loc->lines[li].function_id);
		if (f) {
			const char *name = pprof_str(p, f->name);
			if (!*name)
				name = pprof_str(p, f->system_name);
			return function_id(pu, *name ? name : "[unknown]",
					   pprof_str(p, f->filename), id);
		}
	}
	char tmp[64];
	const struct pprof_mapping *m =
	    loc->mapping_id ? pprof_mapping_by_id(p, loc->mapping_id) : NULL;
	snprintf(tmp, sizeof(tmp), "0x%" PRIx64, loc->address);
	return function_id(pu, tmp, m ? pprof_str(p, m->filename) : "", id);
}

static int put_pprof(struct put *pu, int64_t profile_id, const char *attachment,
		     const struct pprof_profile *p)
{
	size_t ntypes = p->sample_types.len;
	size_t nlocs = p->locations.len;
	/* per location (array index; nlocs for an unknown id): offset+1 in loc_frames */
	uint64_t *loc_cache = NULL;
	VEC(uint64_t) loc_frames = VEC_INIT; /* n, then ids (innermost first) */
	VEC(uint64_t) fns = VEC_INIT;
	struct hmap *sums = NULL;
	VEC(struct pair) pairs = VEC_INIT;
	struct buf *blobs = NULL;	  /* per type: the sample blob */
	char(*tnames)[256] = NULL;	  /* per type: "type/unit" */
	VEC(struct sqlv) rows = VEC_INIT; /* the samples rows, inserted together */
	int rc = 0;

	if (ntypes == 0)
		goto out;
	sums = calloc(ntypes, sizeof(*sums));
	loc_cache = calloc(nlocs + 1, sizeof(*loc_cache));
	blobs = calloc(ntypes, sizeof(*blobs));
	tnames = calloc(ntypes, sizeof(*tnames));
	if (!sums || !loc_cache || !blobs || !tnames) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t t = 0; t < ntypes; t++)
		hmap_init(&sums[t], 0);

	/* Stacks by the pprof location list: most profiles repeat stacks across samples. */
	struct hmap stack_cache; /* hash of location ids -> stack id (collisions re-resolved) */
	hmap_init(&stack_cache, 0);
	for (size_t i = 0; i < p->samples.len && rc == 0; i++) {
		const struct pprof_sample *s = &p->samples.items[i];
		uint64_t sid = 0;
		vec_clear(&fns);
		/* root first: last location first, and within a location the outermost line
		 * (the last one) first. */
		for (size_t k = s->nlocations; k-- > 0 && rc == 0;) {
			uint64_t lid = s->location_ids[k];
			const struct pprof_location *loc = pprof_location_by_id(p, lid);
			uint64_t *off =
			    &loc_cache[loc ? (size_t)(loc - p->locations.items) : nlocs];
			if (!*off) {
				size_t start = loc_frames.len;
				size_t nl = loc ? loc->nlines : 0;
				rc = vec_push(&loc_frames, (uint64_t)(nl ? nl : 1));
				for (ssize_t li = 0; rc == 0 && li < (ssize_t)(nl ? nl : 1); li++) {
					uint64_t fid = 0;
					if (loc)
						rc = frame_fn(pu, p, loc, nl ? li : -1, &fid);
					else
						rc = function_id(pu, "[unknown]", "", &fid);
					if (rc == 0)
						rc = vec_push(&loc_frames, fid);
				}
				if (rc < 0)
					break;
				*off = start + 1;
			}
			size_t o = (size_t)*off - 1;
			size_t nl = (size_t)loc_frames.items[o];
			rc = vec_reserve(&fns, fns.len + nl);
			for (size_t li = nl; li-- > 0 && rc == 0;)
				fns.items[fns.len++] = loc_frames.items[o + 1 + li];
		}
		if (rc < 0)
			break;
		uint64_t lh = hash_bytes(fns.items, fns.len * sizeof(uint64_t), 1);
		uint64_t *cached = hmap_get(&stack_cache, lh);
		if (cached) {
			sid = *cached;
		} else {
			rc = stack_id(pu, fns.items, fns.len, &sid);
			if (rc == 0)
				rc = hmap_put(&stack_cache, lh, sid);
			if (rc < 0)
				break;
		}
		for (size_t t = 0; pu->mode == PUT_WRITE && t < ntypes && t < s->nvalues; t++) {
			if (!s->values[t])
				continue;
			uint64_t *v = hmap_upsert(&sums[t], sid, NULL);
			if (!v) {
				rc = -ENOMEM;
				break;
			}
			*v = (uint64_t)((int64_t)*v + s->values[t]);
		}
	}
	hmap_release(&stack_cache);
	if (rc < 0 || pu->mode != PUT_WRITE)
		goto out;

	for (size_t t = 0; t < ntypes && rc == 0; t++) {
		vec_clear(&pairs);
		uint64_t k, v;
		int64_t total = 0;
		for (size_t it = 0; hmap_next(&sums[t], &it, &k, &v);) {
			if (vec_push(&pairs, ((struct pair){k, (int64_t)v})) < 0) {
				rc = -ENOMEM;
				goto out;
			}
			total += (int64_t)v;
		}
		qsort(pairs.items, pairs.len, sizeof(*pairs.items), cmp_pair);
		struct buf *blob = &blobs[t];
		rc = put_uvarint(blob, pairs.len);
		uint64_t prev = 0;
		for (size_t i = 0; i < pairs.len && rc == 0; i++) {
			rc = put_uvarint(blob, pairs.items[i].stack - prev);
			if (rc == 0)
				rc = put_uvarint(blob, zigzag(pairs.items[i].value));
			prev = pairs.items[i].stack;
		}
		if (rc < 0)
			break;
		snprintf(tnames[t], sizeof(tnames[t]), "%s/%s",
			 pprof_str(p, p->sample_types.items[t].type),
			 pprof_str(p, p->sample_types.items[t].unit));
		struct sqlv prm[7] = {sqlv_int(profile_id),
				      sqlv_text(attachment),
				      sqlv_int((int64_t)t),
				      sqlv_text(tnames[t]),
				      sqlv_int(total),
				      sqlv_int((int64_t)pairs.len),
				      sqlv_blob(blob->data ? blob->data : "", blob->len)};
		for (size_t k = 0; k < 7 && rc == 0; k++)
			rc = vec_push(&rows, prm[k]) < 0 ? -ENOMEM : 0;
	}
	if (rc == 0)
		rc = insert_rows(pu,
				 "INSERT INTO samples(profile_id, attachment, seq, type, total, "
				 "nstacks, data)",
				 " ON CONFLICT DO NOTHING", 7, rows.items, rows.len / 7);
out:
	if (sums) {
		for (size_t t = 0; t < ntypes; t++)
			hmap_release(&sums[t]);
		free(sums);
	}
	free(loc_cache);
	vec_release(&loc_frames);
	vec_release(&fns);
	vec_release(&pairs);
	for (size_t t = 0; blobs && t < ntypes; t++)
		buf_release(&blobs[t]);
	free(blobs);
	free(tnames);
	vec_release(&rows);
	return rc;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define ATT_COLS 9 /* columns of an attachments row (the widest row put_rows inserts) */

/* Writes one upload's rows inside the caller's transaction on pu->c; new function and
 * stack ids go to pu->pd, for the cache once the transaction committed. */
static int put_rows(struct put *pu, const struct store_upload *u, int64_t *id_out)
{
	struct sqlstore *st = pu->st;
	int64_t id = 0;
	int rc;

	struct sqlv prof[] = {
	    sqlv_text(u->service),
	    sqlv_text(u->env),
	    sqlv_text(u->version),
	    sqlv_text(u->host),
	    sqlv_text(u->runtime),
	    sqlv_text(u->language),
	    sqlv_text(u->family),
	    sqlv_text(u->runtime_id),
	    sqlv_text(u->origin),
	    sqlv_text(u->origin_version),
	    sqlv_text(u->container_id),
	    sqlv_text(u->entity_id),
	    sqlv_int(u->start_ns),
	    sqlv_int(u->end_ns),
	    sqlv_int(now_ns()),
	    sqlv_int((int64_t)u->raw_len),
	    sqlv_double(u->cpu_cores),
	    sqlv_double(u->alloc_bytes_per_s),
	    sqlv_double(u->wall_seconds),
	    sqlv_double(u->heap_live_bytes),
	    sqlv_text(u->event_json),
	    sqlv_text(u->info_json && *u->info_json ? u->info_json : "{}"),
	};
	rc = st->drv->exec(pu->c,
			   "INSERT INTO profiles(service, env, version, host, runtime, language, "
			   "family, runtime_id, origin, origin_version, container_id, entity_id, "
			   "start_ns, end_ns, received_ns, raw_len, cpu_cores, alloc_bps, "
			   "wall_seconds, heap_live, event_json, info_json) VALUES(?, ?, ?, ?, ?, "
			   "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
			   prof, sizeof(prof) / sizeof(prof[0]), row_int, &id);
	if (rc == 0 && id <= 0)
		rc = -EIO;
	struct sqlv *rows = NULL;
	size_t nrows = u->ntags > u->nattachments ? u->ntags : u->nattachments;
	if (rc == 0 && nrows) {
		rows = calloc(nrows * ATT_COLS, sizeof(*rows));
		if (!rows)
			rc = -ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < u->ntags; i++) {
		rows[4 * i] = sqlv_int(id);
		rows[4 * i + 1] = sqlv_int((int64_t)i);
		rows[4 * i + 2] = sqlv_text(u->tags[i].key);
		rows[4 * i + 3] = sqlv_text(u->tags[i].value);
	}
	if (rc == 0 && u->ntags)
		rc = insert_rows(pu, "INSERT INTO tags(profile_id, seq, key, value)", "", 4, rows,
				 u->ntags);
	if (rc == 0) {
		struct sqlv p[3] = {
		    sqlv_int(id), sqlv_text(u->raw_content_type),
		    sqlv_blob(u->raw_body ? (const void *)u->raw_body : "", u->raw_len)};
		rc = st->drv->exec(
		    pu->c, "INSERT INTO uploads(profile_id, content_type, body) VALUES(?, ?, ?)", p,
		    3, NULL, NULL);
	}
	/* An attachment that is a slice of the body (as the intake's always are) is stored as
	 * its offset in the body, not a second copy: half the bytes to write per upload. */
	uintptr_t body = (uintptr_t)u->raw_body;
	for (size_t i = 0; rc == 0 && i < u->nattachments; i++) {
		const struct store_attachment *a = &u->attachments[i];
		uintptr_t at = (uintptr_t)a->data;
		bool slice = body && a->data && a->len && at >= body && at - body <= u->raw_len &&
			     a->len <= u->raw_len - (at - body);
		struct sqlv p[ATT_COLS] = {
		    sqlv_int(id),
		    sqlv_int((int64_t)i),
		    sqlv_text(a->name),
		    sqlv_text(a->content_type),
		    sqlv_int(a->kind),
		    sqlv_text(a->compression),
		    sqlv_int((int64_t)a->len),
		    slice ? sqlv_blob("", 0)
			  : sqlv_blob(a->data ? (const void *)a->data : "", a->len),
		    slice ? sqlv_int((int64_t)(at - body)) : (struct sqlv){.t = SQLV_NULL}};
		memcpy(&rows[ATT_COLS * i], p, sizeof(p));
	}
	if (rc == 0 && u->nattachments)
		rc = insert_rows(
		    pu,
		    "INSERT INTO attachments(profile_id, idx, name, content_type, kind, "
		    "compression, len, data, body_off)",
		    "", ATT_COLS, rows, u->nattachments);
	for (size_t i = 0; rc == 0 && i < u->nattachments; i++) {
		const struct store_attachment *a = &u->attachments[i];
		if (a->pprof)
			rc = put_pprof(pu, id, a->name ? a->name : "", a->pprof);
	}
	free(rows);
	if (rc == 0)
		*id_out = id;
	return rc;
}

/*
 * Group commit. Concurrent puts queue up; whichever thread finds no batch running becomes
 * the leader, takes everything queued (up to PUT_BATCH), writes all of it in one
 * transaction and commits once, so N waiting uploads cost one fsync instead of N. Each put
 * still returns only after the commit that holds its rows. If any upload of a batch fails,
 * the whole transaction rolls back (a later upload may already reference functions or
 * stacks the failed one inserted) and the others are retried in a new batch.
 */
#define PUT_BATCH 64

struct put_req {
	const struct store_upload *u;
	int64_t id;
	int rc;
	bool done;
	struct put_req *next;
};

static int cmp_want(const void *a, const void *b)
{
	const struct want *x = a, *y = b;
	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* Runs put_pprof over every pprof of the batch in the current listing mode. */
static int list_batch(struct put *pu, struct put_req *batch)
{
	int rc = 0;
	for (struct put_req *r = batch; r && rc == 0; r = r->next)
		for (size_t i = 0; i < r->u->nattachments && rc == 0; i++)
			if (r->u->attachments[i].pprof)
				rc = put_pprof(pu, 0, "", r->u->attachments[i].pprof);
	if (rc == 0 && pu->want.len > 1)
		qsort(pu->want.items, pu->want.len, sizeof(*pu->want.items), cmp_want);
	return rc;
}

/*
 * With several write transactions at once (PostgreSQL), inserting new functions and stacks
 * in the order uploads name them deadlocks: one transaction holds function A and waits for B,
 * another holds B and waits for A. So the batch first inserts every new function in hash
 * order, then every new stack in hash order: all transactions take these row locks in the
 * same order, which cannot form a cycle. The rows' own inserts then find every id in the
 * transaction's maps. Costs two listing passes over the batch's samples, and statements only
 * for functions and stacks not seen before.
 */
static int order_ids(struct put *pu, struct put_req *batch)
{
	int rc = 0;
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		pu->mode = pass == 0 ? PUT_LIST_FUNCTIONS : PUT_LIST_STACKS;
		vec_clear(&pu->want);
		hmap_clear(&pu->wanted);
		rc = list_batch(pu, batch);
		pu->mode = PUT_WRITE;
		for (size_t i = 0; i < pu->want.len && rc == 0; i++) {
			const struct want *w = &pu->want.items[i];
			uint64_t id;
			rc = pass == 0 ? function_id_clean(pu, w->a, w->b, &id)
				       : stack_insert(pu, w->hash, w->blob, w->len, &id);
		}
	}
	pu->mode = PUT_WRITE;
	return rc;
}

static void run_batch(struct sqlstore *st, struct put_req *batch)
{
	struct put pu = {.st = st};
	struct put_req *failed = NULL;
	int rc;

	hmap_init(&pu.local_fn, 0);
	hmap_init(&pu.local_stack, 0);
	hmap_init(&pu.wanted, 0);
	arena_init(&pu.want_mem, 0);
	buf_init(&pu.tmp);
	pu.c = st->drv->acquire(st, true);
	if (!pu.c) {
		rc = -EIO;
		goto finish;
	}
	rc = st->drv->exec(pu.c, st->drv->begin_write, NULL, 0, NULL, NULL);
	if (rc == 0 && st->drv->max_writers > 1)
		rc = order_ids(&pu, batch);
	for (struct put_req *r = batch; rc == 0 && r; r = r->next) {
		/* function ids seen by an earlier upload of this transaction stay valid */
		rc = put_rows(&pu, r->u, &r->id);
		if (rc < 0)
			failed = r;
	}
	if (rc == 0)
		rc = st->drv->exec(pu.c, "COMMIT", NULL, 0, NULL, NULL);
	if (rc < 0)
		(void)st->drv->exec(pu.c, "ROLLBACK", NULL, 0, NULL, NULL);
	else
		cache_commit(st, &pu.pd);
	st->drv->release(st, pu.c);
finish:
	for (struct put_req *r = batch; r; r = r->next)
		r->rc = rc == 0 ? 0 : (failed && r != failed) ? -EAGAIN : rc;
	hmap_release(&pu.local_fn);
	hmap_release(&pu.local_stack);
	hmap_release(&pu.wanted);
	vec_release(&pu.want);
	arena_release(&pu.want_mem);
	buf_release(&pu.tmp);
	vec_release(&pu.pd.fn);
	vec_release(&pu.pd.stack);
}

static int put_grouped(struct sqlstore *st, const struct store_upload *u, int64_t *id)
{
	struct put_req r = {.u = u};
	pthread_mutex_lock(&st->put_lock);
	*st->put_tail = &r;
	st->put_tail = &r.next;
	while (!r.done) {
		int max = st->drv->max_writers > 0 ? st->drv->max_writers : 1;
		if (st->put_leaders >= max || !st->put_head) {
			pthread_cond_wait(&st->put_cond, &st->put_lock);
			continue;
		}
		st->put_leaders++;
		struct put_req *batch = st->put_head, **cut = &st->put_head;
		for (int n = 0; *cut && n < PUT_BATCH; n++)
			cut = &(*cut)->next;
		st->put_head = *cut;
		*cut = NULL;
		if (!st->put_head)
			st->put_tail = &st->put_head;
		pthread_mutex_unlock(&st->put_lock);
		run_batch(st, batch);
		pthread_mutex_lock(&st->put_lock);
		for (struct put_req *b = batch; b;) {
			struct put_req *next = b->next; /* b may be freed once done is seen */
			b->done = true;
			b = next;
		}
		st->put_leaders--;
		pthread_cond_broadcast(&st->put_cond);
	}
	pthread_mutex_unlock(&st->put_lock);
	*id = r.id;
	return r.rc;
}

static int sql_put(struct store *s, const struct store_upload *u, int64_t *id_out)
{
	struct sqlstore *st = (struct sqlstore *)s;
	int64_t id = 0;
	int rc = -EIO;
	for (int attempt = 0; attempt < 5; attempt++) {
		rc = put_grouped(st, u, &id);
		if (rc == 0 || (rc != -EAGAIN && (!st->drv->retryable || !st->drv->retryable(rc))))
			break;
		LOG_INFO("store: retrying upload after a conflict (attempt %d)", attempt + 2);
	}
	if (rc == 0 && id_out)
		*id_out = id;
	return rc;
}

/* ---- reads ------------------------------------------------------------------------------- */

#define META_COLS                                                                                  \
	"p.id, p.service, p.env, p.version, p.host, p.runtime, p.language, p.family, "             \
	"p.runtime_id, p.origin, p.origin_version, p.container_id, p.entity_id, p.start_ns, "      \
	"p.end_ns, p.received_ns, p.raw_len, p.cpu_cores, p.alloc_bps, p.wall_seconds, "           \
	"p.heap_live"
#define META_NCOLS 21

static void meta_from_row(struct arena *a, const struct sqlv *c, struct store_meta *m)
{
	m->id = col_int(&c[0]);
	m->service = col_str(a, &c[1]);
	m->env = col_str(a, &c[2]);
	m->version = col_str(a, &c[3]);
	m->host = col_str(a, &c[4]);
	m->runtime = col_str(a, &c[5]);
	m->language = col_str(a, &c[6]);
	m->family = col_str(a, &c[7]);
	m->runtime_id = col_str(a, &c[8]);
	m->origin = col_str(a, &c[9]);
	m->origin_version = col_str(a, &c[10]);
	m->container_id = col_str(a, &c[11]);
	m->entity_id = col_str(a, &c[12]);
	m->start_ns = col_int(&c[13]);
	m->end_ns = col_int(&c[14]);
	m->received_ns = col_int(&c[15]);
	m->raw_len = col_int(&c[16]);
	m->cpu_cores = col_double(&c[17]);
	m->alloc_bytes_per_s = col_double(&c[18]);
	m->wall_seconds = col_double(&c[19]);
	m->heap_live_bytes = col_double(&c[20]);
	m->group = "";
}

struct meta_rows {
	struct arena *a;
	VEC(struct store_meta) v;
	bool grouped;
};

static int row_meta(void *ctx, const struct sqlv *cols, size_t n)
{
	struct meta_rows *r = ctx;
	if (n < META_NCOLS)
		return -EIO;
	struct store_meta m;
	meta_from_row(r->a, cols, &m);
	if (r->grouped && n > META_NCOLS)
		m.group = col_str(r->a, &cols[META_NCOLS]);
	return vec_push(&r->v, m);
}

/* Appends " ORDER BY …" for sort: the key, then the id in the same direction (a total order,
 * so offsets page through it). The expressions are exactly those of the sort indexes of the
 * schemas (store_sqlite.c, store_pg.c); NULL (and PostgreSQL's NaN, stored for a measure that
 * does not apply) sorts as the smallest value in both databases. */
static void q_order(struct sqlq *q, const struct store_sort *sort, const char *collate)
{
	static const char *const exprs[] = {
	    [STORE_SORT_TIME] = "p.start_ns",
	    [STORE_SORT_RECEIVED] = "p.received_ns",
	    /* as a double: the difference of two stored times may not fit an int64 */
	    [STORE_SORT_DURATION] = "(CAST(p.end_ns AS DOUBLE PRECISION) - p.start_ns)",
	    [STORE_SORT_SIZE] = "p.raw_len",
	    [STORE_SORT_CPU_CORES] = "NULLIF(p.cpu_cores, 'NaN')",
	    [STORE_SORT_ALLOC_BPS] = "NULLIF(p.alloc_bps, 'NaN')",
	    [STORE_SORT_WALL_SECONDS] = "NULLIF(p.wall_seconds, 'NaN')",
	    [STORE_SORT_HEAP_LIVE] = "NULLIF(p.heap_live, 'NaN')",
	    [STORE_SORT_SERVICE] = "p.service",
	    [STORE_SORT_ENV] = "p.env",
	    [STORE_SORT_VERSION] = "p.version",
	    [STORE_SORT_HOST] = "p.host",
	    [STORE_SORT_RUNTIME] = "p.runtime",
	    [STORE_SORT_LANGUAGE] = "p.language",
	    [STORE_SORT_FAMILY] = "p.family",
	    /* parenthesised: one string split over two lines, not two elements */
	    [STORE_SORT_TAG] = ("(SELECT t.value FROM tags t WHERE t.profile_id = p.id AND "
				"t.key = ? ORDER BY t.seq LIMIT 1)"),
	};
	struct store_sort def = {.by = STORE_SORT_TIME, .asc = false};
	if (!sort)
		sort = &def;
	unsigned by = (unsigned)sort->by;
	if (by >= sizeof(exprs) / sizeof(exprs[0]) || !exprs[by]) {
		q->err = -EINVAL;
		return;
	}
	q_sql(q, " ORDER BY ");
	q_sql(q, exprs[by]);
	if (by == STORE_SORT_TAG)
		q_param(q, sqlv_text(sort->tag));
	if (by >= STORE_SORT_SERVICE)
		q_sql(q, collate);
	bool nullable =
	    (by >= STORE_SORT_CPU_CORES && by <= STORE_SORT_HEAP_LIVE) || by == STORE_SORT_TAG;
	if (nullable) /* PostgreSQL's default puts NULL last ascending; SQLite's first */
		q_sql(q, sort->asc ? " ASC NULLS FIRST" : " DESC NULLS LAST");
	else
		q_sql(q, sort->asc ? " ASC" : " DESC");
	q_sql(q, sort->asc ? ", p.id ASC" : ", p.id DESC");
}

static int sql_search(struct store *s, const struct store_query *query,
		      const struct store_sort *sort, size_t limit, size_t offset,
		      const char *group_key, struct arena *a, struct store_meta_list *out)
{
	struct sqlstore *st = (struct sqlstore *)s;
	struct meta_rows r = {.a = a, .grouped = group_key && *group_key};
	struct sqlq q;
	int rc;

	memset(out, 0, sizeof(*out));
	struct sqlconn *c = st->drv->acquire(st, false);
	if (!c)
		return -EIO;
	/* The page and the total come from one snapshot. */
	rc = st->drv->exec(c, st->drv->begin_read, NULL, 0, NULL, NULL);
	if (rc < 0) {
		st->drv->release(st, c);
		return rc;
	}
	q_init(&q);
	q_sql(&q, "SELECT " META_COLS);
	if (r.grouped) {
		const char *col = key_column(group_key);
		if (col) {
			q_sql(&q, ", p.");
			q_sql(&q, col);
		} else {
			q_sql(&q, ", (SELECT t.value FROM tags t WHERE t.profile_id = p.id AND "
				  "t.key = ? ORDER BY t.seq LIMIT 1)");
			q_param(&q, sqlv_text(group_key));
		}
	}
	q_sql(&q, " FROM profiles p WHERE 1 = 1");
	q_where(&q, query);
	q_order(&q, sort, st->drv->collate_bytes ? st->drv->collate_bytes : "");
	q_sql(&q, " LIMIT ? OFFSET ?");
	q_param(&q, sqlv_int((int64_t)limit));
	q_param(&q, sqlv_int((int64_t)offset));
	rc = q_exec(st, c, &q, row_meta, &r);

	if (rc == 0) {
		q_release(&q);
		q_init(&q);
		q_sql(&q, "SELECT count(*) FROM profiles p WHERE 1 = 1");
		q_where(&q, query);
		rc = q_exec(st, c, &q, row_int, &out->total);
	}
	int rc2 = st->drv->exec(c, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, 0, NULL, NULL);
	if (rc == 0)
		rc = rc2;
	st->drv->release(st, c);
	q_release(&q);
	if (rc == 0 && r.v.len) {
		out->items = arena_memdup(a, r.v.items, r.v.len * sizeof(*r.v.items));
		if (!out->items)
			rc = -ENOMEM;
		out->len = r.v.len;
	}
	vec_release(&r.v);
	return rc;
}

struct facet_rows {
	struct arena *a;
	VEC(struct store_facet) v;
};

static int row_facet(void *ctx, const struct sqlv *cols, size_t n)
{
	struct facet_rows *r = ctx;
	if (n < 2)
		return -EIO;
	struct store_facet f = {col_str(r->a, &cols[0]), col_int(&cols[1])};
	return vec_push(&r->v, f);
}

static int facet_finish(struct facet_rows *r, int rc, struct store_facet_list *out)
{
	if (rc == 0 && r->v.len) {
		out->items = arena_memdup(r->a, r->v.items, r->v.len * sizeof(*r->v.items));
		if (!out->items)
			rc = -ENOMEM;
		out->len = r->v.len;
	}
	vec_release(&r->v);
	return rc;
}

static int sql_facet(struct store *s, const struct store_query *query, const char *key,
		     size_t limit, struct arena *a, struct store_facet_list *out)
{
	struct sqlstore *st = (struct sqlstore *)s;
	struct facet_rows r = {.a = a};
	struct sqlq q;
	const char *col = key_column(key);

	memset(out, 0, sizeof(*out));
	struct sqlconn *c = st->drv->acquire(st, false);
	if (!c)
		return -EIO;
	q_init(&q);
	if (col) {
		q_sql(&q, "SELECT p.");
		q_sql(&q, col);
		q_sql(&q, ", count(*) FROM profiles p WHERE 1 = 1");
		q_where(&q, query);
		q_sql(&q, " GROUP BY p.");
		q_sql(&q, col);
	} else {
		q_sql(&q, "SELECT t.value, count(DISTINCT p.id) FROM tags t JOIN profiles p ON "
			  "p.id = t.profile_id WHERE t.key = ?");
		q_param(&q, sqlv_text(key));
		q_where(&q, query);
		q_sql(&q, " GROUP BY t.value");
	}
	q_sql(&q, " ORDER BY 2 DESC, 1 LIMIT ?");
	q_param(&q, sqlv_int((int64_t)limit));
	int rc = q_exec(st, c, &q, row_facet, &r);
	st->drv->release(st, c);
	q_release(&q);
	return facet_finish(&r, rc, out);
}

static int sql_types(struct store *s, const struct store_query *query, struct arena *a,
		     struct store_facet_list *out)
{
	struct sqlstore *st = (struct sqlstore *)s;
	struct facet_rows r = {.a = a};
	struct sqlq q;

	memset(out, 0, sizeof(*out));
	struct sqlconn *c = st->drv->acquire(st, false);
	if (!c)
		return -EIO;
	q_init(&q);
	q_sql(&q, "SELECT s.type, count(DISTINCT s.profile_id) FROM samples s JOIN profiles p ON "
		  "p.id = s.profile_id WHERE 1 = 1");
	q_where(&q, query);
	q_sql(&q, " GROUP BY s.type ORDER BY 2 DESC, 1");
	int rc = q_exec(st, c, &q, row_facet, &r);
	st->drv->release(st, c);
	q_release(&q);
	return facet_finish(&r, rc, out);
}

struct detail_rows {
	struct arena *a;
	struct store_detail *d;
	bool found;
	VEC(struct store_tag) tags;
	VEC(struct store_attachment_info) atts;
	VEC(struct store_type_info) types;
};

static int row_detail(void *ctx, const struct sqlv *cols, size_t n)
{
	struct detail_rows *r = ctx;
	if (n < META_NCOLS + 2)
		return -EIO;
	meta_from_row(r->a, cols, &r->d->meta);
	r->d->event_json = col_str(r->a, &cols[META_NCOLS]);
	r->d->info_json = col_str(r->a, &cols[META_NCOLS + 1]);
	r->found = true;
	return 0;
}

static int row_tag(void *ctx, const struct sqlv *cols, size_t n)
{
	struct detail_rows *r = ctx;
	struct store_tag t = {col_str(r->a, &cols[0]), col_str(r->a, &cols[1])};
	return vec_push(&r->tags, t);
}

static int row_att(void *ctx, const struct sqlv *cols, size_t n)
{
	struct detail_rows *r = ctx;
	struct store_attachment_info ai = {
	    .name = col_str(r->a, &cols[0]),
	    .content_type = col_str(r->a, &cols[1]),
	    .kind = (enum store_attachment_kind)col_int(&cols[2]),
	    .compression = col_str(r->a, &cols[3]),
	    .len = col_int(&cols[4]),
	};
	return vec_push(&r->atts, ai);
}

static int row_type(void *ctx, const struct sqlv *cols, size_t n)
{
	struct detail_rows *r = ctx;
	struct store_type_info ti = {
	    .attachment = col_str(r->a, &cols[0]),
	    .type = col_str(r->a, &cols[1]),
	    .total = col_int(&cols[2]),
	    .nstacks = col_int(&cols[3]),
	};
	return vec_push(&r->types, ti);
}

#define ARENA_VEC(a, v, out, nout)                                                                 \
	do {                                                                                       \
		(nout) = (v).len;                                                                  \
		(out) =                                                                            \
		    (v).len ? arena_memdup((a), (v).items, (v).len * sizeof(*(v).items)) : NULL;   \
		if ((v).len && !(out))                                                             \
			rc = -ENOMEM;                                                              \
	} while (0)

static int sql_get(struct store *s, int64_t id, struct arena *a, struct store_detail *out)
{
	struct sqlstore *st = (struct sqlstore *)s;
	struct detail_rows r = {.a = a, .d = out};
	struct sqlv p[1] = {sqlv_int(id)};
	int rc;

	memset(out, 0, sizeof(*out));
	struct sqlconn *c = st->drv->acquire(st, false);
	if (!c)
		return -EIO;
	rc = st->drv->exec(c,
			   "SELECT " META_COLS ", p.event_json, p.info_json FROM profiles p "
			   "WHERE p.id = ?",
			   p, 1, row_detail, &r);
	if (rc == 0 && !r.found)
		rc = -ENOENT;
	if (rc == 0)
		rc = st->drv->exec(c,
				   "SELECT key, value FROM tags WHERE profile_id = ? ORDER BY seq",
				   p, 1, row_tag, &r);
	if (rc == 0)
		rc = st->drv->exec(c,
				   "SELECT name, content_type, kind, compression, len FROM "
				   "attachments WHERE profile_id = ? ORDER BY idx",
				   p, 1, row_att, &r);
	if (rc == 0)
		rc = st->drv->exec(c,
				   "SELECT attachment, type, total, nstacks FROM samples WHERE "
				   "profile_id = ? ORDER BY attachment, seq",
				   p, 1, row_type, &r);
	st->drv->release(st, c);
	if (rc == 0) {
		ARENA_VEC(a, r.tags, out->tags, out->ntags);
		ARENA_VEC(a, r.atts, out->attachments, out->nattachments);
		ARENA_VEC(a, r.types, out->types, out->ntypes);
	}
	vec_release(&r.tags);
	vec_release(&r.atts);
	vec_release(&r.types);
	return rc;
}

struct blob_row {
	struct arena *a;
	struct buf *data;
	const char **ctype, **comp;
	bool found;
};

static int row_blob(void *ctx, const struct sqlv *cols, size_t n)
{
	struct blob_row *r = ctx;
	r->found = true;
	if (r->ctype)
		*r->ctype = col_str(r->a, &cols[0]);
	if (n == 3 && r->comp)
		*r->comp = col_str(r->a, &cols[1]);
	const struct sqlv *d = &cols[n - 1];
	if (d->t == SQLV_BLOB || d->t == SQLV_TEXT)
		return buf_append(r->data, d->p, d->len);
	return 0;
}

static int sql_blob(struct store *s, int64_t id, const char *attachment, struct buf *data,
		    struct arena *a, const char **content_type, const char **compression)
{
	struct sqlstore *st = (struct sqlstore *)s;
	struct blob_row r = {.a = a, .data = data, .ctype = content_type, .comp = compression};
	int rc;

	if (compression)
		*compression = NULL;
	struct sqlconn *c = st->drv->acquire(st, false);
	if (!c)
		return -EIO;
	if (!attachment) {
		struct sqlv p[1] = {sqlv_int(id)};
		rc = st->drv->exec(c, "SELECT content_type, body FROM uploads WHERE profile_id = ?",
				   p, 1, row_blob, &r);
	} else {
		struct sqlv p[2] = {sqlv_int(id), sqlv_text(attachment)};
		rc = st->drv->exec(
		    c,
		    "SELECT a.content_type, a.compression, CASE WHEN a.body_off IS "
		    "NULL THEN a.data ELSE substr(u.body, CAST(a.body_off + 1 AS "
		    "INTEGER), CAST(a.len AS INTEGER)) END FROM attachments a LEFT "
		    "JOIN uploads u ON u.profile_id = a.profile_id WHERE a.profile_id "
		    "= ? AND a.name = ? ORDER BY a.idx LIMIT 1",
		    p, 2, row_blob, &r);
	}
	st->drv->release(st, c);
	if (rc == 0 && !r.found)
		rc = -ENOENT;
	return rc;
}

struct sample_rows {
	store_sample_fn fn;
	void *ctx;
	struct hmap seen;
	int err;
};

static int row_samples(void *ctx, const struct sqlv *cols, size_t n)
{
	struct sample_rows *r = ctx;
	if (n < 2 || cols[1].t != SQLV_BLOB)
		return 0;
	int64_t pid = col_int(&cols[0]);
	if (!hmap_upsert(&r->seen, (uint64_t)pid, NULL))
		return -ENOMEM;
	const uint8_t *p = cols[1].p, *end = p + cols[1].len;
	uint64_t count, stack = 0, d, zv;
	if (!get_uvarint(&p, end, &count))
		goto bad;
	for (uint64_t i = 0; i < count; i++) {
		if (!get_uvarint(&p, end, &d) || !get_uvarint(&p, end, &zv))
			goto bad;
		stack += d;
		r->fn(r->ctx, pid, stack, unzigzag(zv));
	}
	return 0;
bad:
	LOG_WARN("store: profile %" PRId64 ": corrupt sample blob skipped", pid);
	return 0;
}

static int sql_samples(struct store *s, const struct store_query *query, const char *type,
		       const char *attachment, store_sample_fn fn, void *ctx, int64_t *nprofiles)
{
	struct sqlstore *st = (struct sqlstore *)s;
	struct sample_rows r = {.fn = fn, .ctx = ctx};
	struct sqlq q;

	struct sqlconn *c = st->drv->acquire(st, false);
	if (!c)
		return -EIO;
	hmap_init(&r.seen, 0);
	q_init(&q);
	q_sql(&q, "SELECT s.profile_id, s.data FROM samples s JOIN profiles p ON p.id = "
		  "s.profile_id WHERE s.type = ?");
	q_param(&q, sqlv_text(type));
	if (attachment && *attachment) {
		q_sql(&q, " AND s.attachment = ?");
		q_param(&q, sqlv_text(attachment));
	}
	q_where(&q, query);
	int rc = q_exec(st, c, &q, row_samples, &r);
	st->drv->release(st, c);
	q_release(&q);
	if (nprofiles)
		*nprofiles = (int64_t)r.seen.len;
	hmap_release(&r.seen);
	return rc;
}

struct u64vec {
	uint64_t *items;
	size_t len, cap;
};

static bool decode_frames(const uint8_t *p, size_t len, struct u64vec *out)
{
	const uint8_t *end = p + len;
	uint64_t n, v;
	vec_clear(out);
	if (!get_uvarint(&p, end, &n) || n > len)
		return false;
	for (uint64_t i = 0; i < n; i++) {
		if (!get_uvarint(&p, end, &v) || vec_push(out, v) < 0)
			return false;
	}
	return true;
}

struct stack_rows {
	struct sqlstore *st;
	store_stack_fn fn;
	void *ctx;
	struct u64vec tmp;
};

static int row_stack(void *ctx, const struct sqlv *cols, size_t n)
{
	struct stack_rows *r = ctx;
	if (n < 2 || cols[1].t != SQLV_BLOB)
		return 0;
	uint64_t id = (uint64_t)col_int(&cols[0]);
	if (!decode_frames(cols[1].p, cols[1].len, &r->tmp))
		return 0;
	r->fn(r->ctx, id, r->tmp.items, r->tmp.len);

	struct sqlstore *st = r->st;
	pthread_mutex_lock(&st->cache_lock);
	if (st->frames.len + r->tmp.len + 1 > FRAMES_CACHE_MAX) {
		hmap_clear(&st->stack_frames);
		vec_clear(&st->frames);
	}
	size_t off = st->frames.len;
	if (vec_reserve(&st->frames, off + r->tmp.len + 1) == 0) {
		st->frames.items[st->frames.len++] = r->tmp.len;
		memcpy(&st->frames.items[st->frames.len], r->tmp.items,
		       r->tmp.len * sizeof(uint64_t));
		st->frames.len += r->tmp.len;
		if (hmap_put(&st->stack_frames, id, off + 1) < 0)
			st->frames.len = off;
	}
	pthread_mutex_unlock(&st->cache_lock);
	return 0;
}

/* Runs `sql_head` + "(?, ?, …)" over ids in chunks. */
static int exec_in(struct sqlstore *st, struct sqlconn *c, const char *sql_head,
		   const uint64_t *ids, size_t n, sql_row_fn fn, void *ctx)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i += IN_CHUNK) {
		size_t m = n - i < IN_CHUNK ? n - i : IN_CHUNK;
		struct sqlq q;
		q_init(&q);
		q_sql(&q, sql_head);
		q_sql(&q, "(");
		for (size_t k = 0; k < m; k++) {
			q_sql(&q, k ? ", ?" : "?");
			q_param(&q, sqlv_int((int64_t)ids[i + k]));
		}
		q_sql(&q, ")");
		rc = q_exec(st, c, &q, fn, ctx);
		q_release(&q);
	}
	return rc;
}

static int sql_stacks(struct store *s, const uint64_t *ids, size_t n, store_stack_fn fn, void *ctx)
{
	struct sqlstore *st = (struct sqlstore *)s;
	VEC(uint64_t) missing = VEC_INIT;
	struct stack_rows r = {.st = st, .fn = fn, .ctx = ctx};
	int rc = 0;

	pthread_mutex_lock(&st->cache_lock);
	for (size_t i = 0; i < n; i++) {
		uint64_t *off = hmap_get(&st->stack_frames, ids[i]);
		if (off) {
			const uint64_t *f = &st->frames.items[*off - 1];
			fn(ctx, ids[i], f + 1, (size_t)f[0]);
		} else if (vec_push(&missing, ids[i]) < 0) {
			rc = -ENOMEM;
			break;
		}
	}
	pthread_mutex_unlock(&st->cache_lock);
	if (rc == 0 && missing.len) {
		struct sqlconn *c = st->drv->acquire(st, false);
		if (!c) {
			rc = -EIO;
		} else {
			rc = exec_in(st, c, "SELECT id, frames FROM stacks WHERE id IN ",
				     missing.items, missing.len, row_stack, &r);
			st->drv->release(st, c);
		}
	}
	vec_release(&missing);
	vec_release(&r.tmp);
	return rc;
}

struct fn_rows {
	store_function_fn fn;
	void *ctx;
};

static int row_function(void *ctx, const struct sqlv *cols, size_t n)
{
	struct fn_rows *r = ctx;
	if (n < 3)
		return -EIO;
	r->fn(r->ctx, (uint64_t)col_int(&cols[0]), cols[1].t == SQLV_TEXT ? cols[1].p : "",
	      cols[2].t == SQLV_TEXT ? cols[2].p : "");
	return 0;
}

static int sql_functions(struct store *s, const uint64_t *ids, size_t n, store_function_fn fn,
			 void *ctx)
{
	struct sqlstore *st = (struct sqlstore *)s;
	struct fn_rows r = {fn, ctx};
	struct sqlconn *c = st->drv->acquire(st, false);
	if (!c)
		return -EIO;
	int rc = exec_in(st, c, "SELECT id, name, filename FROM functions WHERE id IN ", ids, n,
			 row_function, &r);
	st->drv->release(st, c);
	return rc;
}

struct id_rows {
	VEC(uint64_t) ids;
};

static int row_id(void *ctx, const struct sqlv *cols, size_t n)
{
	struct id_rows *r = ctx;
	return vec_push(&r->ids, (uint64_t)col_int(&cols[0]));
}

static int sql_expire(struct store *s, int64_t before_ns, size_t batch, size_t *deleted)
{
	static const char *const tables[] = {
	    "DELETE FROM samples WHERE profile_id IN ",
	    "DELETE FROM attachments WHERE profile_id IN ",
	    "DELETE FROM uploads WHERE profile_id IN ",
	    "DELETE FROM tags WHERE profile_id IN ",
	    "DELETE FROM profiles WHERE id IN ",
	};
	struct sqlstore *st = (struct sqlstore *)s;
	struct id_rows r = {0};
	int rc;

	*deleted = 0;
	struct sqlconn *c = st->drv->acquire(st, true);
	if (!c)
		return -EIO;
	rc = st->drv->exec(c, st->drv->begin_write, NULL, 0, NULL, NULL);
	if (rc < 0)
		goto release_conn;
	struct sqlv p[2] = {sqlv_int(before_ns), sqlv_int((int64_t)(batch ? batch : 100))};
	rc =
	    st->drv->exec(c, "SELECT id FROM profiles WHERE end_ns < ? ORDER BY end_ns, id LIMIT ?",
			  p, 2, row_id, &r);
	for (size_t t = 0; rc == 0 && r.ids.len && t < sizeof(tables) / sizeof(tables[0]); t++)
		rc = exec_in(st, c, tables[t], r.ids.items, r.ids.len, NULL, NULL);
	if (rc == 0)
		rc = st->drv->exec(c, "COMMIT", NULL, 0, NULL, NULL);
	if (rc < 0)
		(void)st->drv->exec(c, "ROLLBACK", NULL, 0, NULL, NULL);
	else
		*deleted = r.ids.len;
release_conn:
	st->drv->release(st, c);
	vec_release(&r.ids);
	return rc;
}

const struct store_ops sql_store_ops_template = {
    .put = sql_put,
    .search = sql_search,
    .facet = sql_facet,
    .get = sql_get,
    .blob = sql_blob,
    .samples = sql_samples,
    .stacks = sql_stacks,
    .functions = sql_functions,
    .types = sql_types,
    .expire = sql_expire,
};

/* ---- stack cache warm-up ----------------------------------------------------------------- */

#define WARM_MAX_WORDS (FRAMES_CACHE_MAX / 2)

static void warm_noop(void *ctx, uint64_t stack_id, const uint64_t *fns, size_t n)
{
}

static int row_warm(void *ctx, const struct sqlv *cols, size_t n)
{
	struct stack_rows *r = ctx;
	struct sqlstore *st = r->st;
	if (__atomic_load_n(&st->warm_stop, __ATOMIC_RELAXED))
		return -ECANCELED;
	if (n < 2)
		return 0;
	pthread_mutex_lock(&st->cache_lock);
	bool full = st->frames.len >= WARM_MAX_WORDS;
	bool known = hmap_get(&st->stack_frames, (uint64_t)col_int(&cols[0])) != NULL;
	pthread_mutex_unlock(&st->cache_lock);
	if (full)
		return -ECANCELED;
	return known ? 0 : row_stack(ctx, cols, n);
}

/*
 * The warm-up thread: one statement on a reader connection, newest stacks (highest ids)
 * first, as the profiles queried most are the recent ones. It competes with nothing for
 * locks but the cache mutex, per row, and stops at WARM_MAX_WORDS, when the cache is full
 * enough, or when the store closes.
 */
static void *warm_main(void *arg)
{
	struct sqlstore *st = arg;
	struct stack_rows r = {.st = st, .fn = warm_noop};
	struct sqlconn *c = st->drv->acquire(st, false);
	if (!c)
		return NULL;
	struct sqlv lim = sqlv_int((int64_t)(WARM_MAX_WORDS / 8));
	int rc = st->drv->exec(c, "SELECT id, frames FROM stacks ORDER BY id DESC LIMIT ?", &lim, 1,
			       row_warm, &r);
	st->drv->release(st, c);
	if (rc < 0 && rc != -ECANCELED)
		LOG_INFO("store: stack cache warm-up stopped: %s", strerror(-rc));
	vec_release(&r.tmp);
	return NULL;
}

void sqlstore_warmup_start(struct sqlstore *st)
{
	__atomic_store_n(&st->warm_stop, 0, __ATOMIC_RELAXED);
	int rc = pthread_create(&st->warm_thread, NULL, warm_main, st);
	if (rc != 0)
		LOG_INFO("store: no stack cache warm-up: %s", strerror(rc));
	st->warm_started = rc == 0;
}

void sqlstore_warmup_stop(struct sqlstore *st)
{
	if (!st->warm_started)
		return;
	__atomic_store_n(&st->warm_stop, 1, __ATOMIC_RELAXED);
	pthread_join(st->warm_thread, NULL);
	st->warm_started = false;
}

int sqlstore_init(struct sqlstore *st, const struct sqldrv *drv)
{
	st->drv = drv;
	pthread_mutex_init(&st->cache_lock, NULL);
	pthread_mutex_init(&st->put_lock, NULL);
	pthread_cond_init(&st->put_cond, NULL);
	st->put_head = NULL;
	st->put_tail = &st->put_head;
	st->put_leaders = 0;
	hmap_init(&st->fn_by_hash, 0);
	hmap_init(&st->stack_by_hash, 0);
	hmap_init(&st->stack_frames, 0);
	st->frames.items = NULL;
	st->frames.len = st->frames.cap = 0;
	return 0;
}

void sqlstore_release(struct sqlstore *st)
{
	hmap_release(&st->fn_by_hash);
	hmap_release(&st->stack_by_hash);
	hmap_release(&st->stack_frames);
	vec_release(&st->frames);
	pthread_mutex_destroy(&st->cache_lock);
	pthread_mutex_destroy(&st->put_lock);
	pthread_cond_destroy(&st->put_cond);
}

int sqlstore_exec_script(struct sqlstore *st, const char *const *stmts, size_t n)
{
	struct sqlconn *c = st->drv->acquire(st, true);
	if (!c)
		return -EIO;
	int rc = st->drv->exec(c, st->drv->begin_write, NULL, 0, NULL, NULL);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = st->drv->exec(c, stmts[i], NULL, 0, NULL, NULL);
	if (rc == 0)
		rc = st->drv->exec(c, "COMMIT", NULL, 0, NULL, NULL);
	else
		(void)st->drv->exec(c, "ROLLBACK", NULL, 0, NULL, NULL);
	st->drv->release(st, c);
	return rc;
}
