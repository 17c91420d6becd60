/*
 * The storage suite, run against every backend: SQLite in a temp directory, and a real
 * PostgreSQL started for the test (tests/integration/pg/pg.sh). KILN_TEST_PG_URL points at
 * an existing PostgreSQL instead; KILN_TEST_SKIP_PG=1 skips PostgreSQL (reported).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/log.h"
#include "pprof/builder.h"
#include "server/api.h"
#include "server/jsonp.h"
#include "server/query.h"
#include "server/store.h"
#include "server/tree.h"
#include "test.h"

#define SEC 1000000000LL
#define T0 (1764000000LL * SEC) /* 2025-11-24 */

static const char *spec;

struct stk {
	/* designated by position; thread and end_ns default to 0 */
	const char *frames[4]; /* root first */
	int64_t value;
	int64_t thread;
	int64_t end_ns;
};

/* Builds a profile with one sample type from root-first stacks. */
static void build(struct pprof_profile *out, const char *type, const char *unit,
		  const struct stk *stacks, size_t n)
{
	struct pprof_builder *b = pprof_builder_new();
	pprof_builder_sample_type(b, type, unit);
	for (size_t i = 0; i < n; i++) {
		uint64_t locs[4];
		size_t nl = 0;
		for (size_t k = 0; k < 4 && stacks[i].frames[k]; k++)
			nl++;
		for (size_t k = 0; k < nl; k++) { /* leaf first */
			const char *name = stacks[i].frames[nl - 1 - k];
			uint64_t fn = pprof_builder_function(b, name, name, "app.c", 1);
			struct pprof_line line = {.function_id = fn, .line = 10};
			locs[k] = pprof_builder_location(b, 0, 0x1000 + k, &line, 1);
		}
		struct pprof_label labels[3];
		size_t nlab = 0;
		if (stacks[i].end_ns) {
			labels[nlab++] =
			    pprof_builder_label_num(b, "thread id", stacks[i].thread, NULL);
			labels[nlab++] = pprof_builder_label_str(
			    b, "thread_name", stacks[i].thread == 1 ? "main" : "worker");
			labels[nlab++] = pprof_builder_label_num(b, "end_timestamp_ns",
								 stacks[i].end_ns, "nanoseconds");
		}
		pprof_builder_add_sample(b, locs, nl, &stacks[i].value, labels, nlab);
	}
	pprof_builder_finish(b, out);
	pprof_builder_free(b);
}

struct up {
	struct store_upload u;
	struct store_tag tags[8];
	struct store_attachment att[2];
	struct pprof_profile p[2];
	struct buf enc[2];
};

static void up_init(struct up *x, const char *service, const char *env, const char *version,
		    int64_t start)
{
	memset(x, 0, sizeof(*x));
	x->u = (struct store_upload){
	    .service = service,
	    .env = env,
	    .version = version,
	    .host = "host-1",
	    .runtime = "nodejs",
	    .language = "javascript",
	    .family = "node",
	    .runtime_id = "rid",
	    .origin = "test",
	    .origin_version = "1",
	    .container_id = "",
	    .entity_id = "",
	    .start_ns = start,
	    .end_ns = start + 60 * SEC,
	    .event_json = "{\"version\":\"4\"}",
	    .info_json = "{\"runtime\":{\"engine\":\"x\"}}",
	    .raw_body = (const uint8_t *)"RAW-BODY",
	    .raw_len = 8,
	    .raw_content_type = "multipart/form-data; boundary=x",
	    .cpu_cores = 0.5,
	    .alloc_bytes_per_s = NAN,
	    .wall_seconds = 60,
	    .heap_live_bytes = NAN,
	};
	x->u.tags = x->tags;
}

static void up_tag(struct up *x, const char *k, const char *v)
{
	x->tags[x->u.ntags].key = k;
	x->tags[x->u.ntags++].value = v;
}

static void up_attach(struct up *x, const char *name, const char *type, const char *unit,
		      const struct stk *s, size_t n)
{
	size_t i = x->u.nattachments++;
	build(&x->p[i], type, unit, s, n);
	buf_init(&x->enc[i]);
	pprof_encode(&x->p[i], &x->enc[i]);
	x->att[i] = (struct store_attachment){
	    .name = name,
	    .content_type = "application/octet-stream",
	    .kind = STORE_ATTACH_PPROF,
	    .compression = "none",
	    .data = (const uint8_t *)x->enc[i].data,
	    .len = x->enc[i].len,
	    .pprof = &x->p[i],
	};
	x->u.attachments = x->att;
}

static void up_release(struct up *x)
{
	for (size_t i = 0; i < x->u.nattachments; i++) {
		pprof_profile_release(&x->p[i]);
		buf_release(&x->enc[i]);
	}
}

static int64_t put(struct store *s, struct up *x)
{
	int64_t id = 0;
	CHECK_INT_EQ(store_put(s, &x->u, &id), 0);
	CHECK(id > 0);
	up_release(x);
	return id;
}

static int64_t ids[8];

static void fill(struct store *s)
{
	struct up x;
	/* P1: svc-a prod 1.0, main->foo 100, main->bar 50, main->foo->baz 25 */
	up_init(&x, "svc-a", "prod", "1.0", T0);
	up_tag(&x, "service", "svc-a");
	up_tag(&x, "team", "core");
	up_tag(&x, "note", "hello world");
	struct stk s1[] = {{{"main", "foo"}, 100, 0, 0},
			   {{"main", "bar"}, 50, 0, 0},
			   {{"main", "foo", "baz"}, 25, 0, 0},
			   {{"main", "foo"}, 0, 0, 0}};
	up_attach(&x, "cpu.pprof", "cpu", "nanoseconds", s1, 4);
	ids[1] = put(s, &x);

	/* P2: svc-a staging 1.1, main->foo 10, main->bar 200 */
	up_init(&x, "svc-a", "staging", "1.1", T0 + 60 * SEC);
	up_tag(&x, "team", "infra");
	struct stk s2[] = {{{"main", "foo"}, 10, 0, 0}, {{"main", "bar"}, 200, 0, 0}};
	up_attach(&x, "cpu.pprof", "cpu", "nanoseconds", s2, 2);
	ids[2] = put(s, &x);

	/* P3: svc-b prod 2.0, two attachments, timeline labels */
	up_init(&x, "svc-b", "prod", "2.0", T0 + 120 * SEC);
	up_tag(&x, "team", "core");
	up_tag(&x, "weird'key", "x\"); DROP TABLE profiles; --");
	struct stk s3[] = {{{"main", "qux"}, 5, 1, T0 + 121 * SEC},
			   {{"main", "qux"}, 7, 2, T0 + 122 * SEC},
			   {{"main", "foo"}, 3, 1, T0 + 123 * SEC}};
	up_attach(&x, "wall.pprof", "wall", "nanoseconds", s3, 3);
	struct stk s3b[] = {{{"main", "alloc"}, 4096, 0, 0}};
	up_attach(&x, "heap.pprof", "alloc_space", "bytes", s3b, 1);
	ids[3] = put(s, &x);

	/* P0: an old profile, for retention. */
	up_init(&x, "svc-a", "old", "0.9", T0 - 10 * 86400 * SEC);
	struct stk s0[] = {{{"main", "foo"}, 1, 0, 0}};
	up_attach(&x, "cpu.pprof", "cpu", "nanoseconds", s0, 1);
	ids[0] = put(s, &x);
}

static size_t search(struct store *s, const char *q, int64_t from, int64_t to, int64_t *first)
{
	struct arena a;
	struct store_query sq = {0};
	struct store_meta_list l;
	struct buf err = BUF_INIT;
	arena_init(&a, 0);
	CHECK_INT_EQ(query_parse(q, &a, &sq, &err), 0);
	sq.from_ns = from;
	sq.to_ns = to;
	CHECK_INT_EQ(s->ops->search(s, &sq, NULL, 100, 0, NULL, &a, &l), 0);
	CHECK_INT_EQ(l.total, (int64_t)l.len);
	if (first)
		*first = l.len ? l.items[0].id : 0;
	size_t n = l.len;
	arena_release(&a);
	buf_release(&err);
	return n;
}

static struct store *store;

static void test_search(void)
{
	int64_t first;
	CHECK_INT_EQ(search(store, "", 0, 0, &first), 4);
	CHECK_INT_EQ(first, ids[3]); /* newest first */
	CHECK_INT_EQ(search(store, "service:svc-a", 0, 0, &first), 3);
	CHECK_INT_EQ(first, ids[2]);
	CHECK_INT_EQ(search(store, "env:prod", 0, 0, NULL), 2);
	CHECK_INT_EQ(search(store, "-env:prod service:svc-a", 0, 0, NULL), 2);
	CHECK_INT_EQ(search(store, "team:core", 0, 0, NULL), 2);
	CHECK_INT_EQ(search(store, "-team:core", 0, 0, NULL), 2);
	CHECK_INT_EQ(search(store, "note:\"hello world\"", 0, 0, &first), 1);
	CHECK_INT_EQ(first, ids[1]);
	CHECK_INT_EQ(search(store, "version:1.*", 0, 0, NULL), 2);
	CHECK_INT_EQ(search(store, "team:co*", 0, 0, NULL), 2);
	CHECK_INT_EQ(search(store, "id:", 0, 0, NULL), 0);
	/* injection attempts are just values */
	CHECK_INT_EQ(search(store, "service:\"x' OR '1'='1\"", 0, 0, NULL), 0);
	CHECK_INT_EQ(search(store, "weird'key:\"x\\\"); DROP TABLE profiles; --\"", 0, 0, &first),
		     1);
	CHECK_INT_EQ(first, ids[3]);
	/* time ranges: overlap with [from, to) */
	CHECK_INT_EQ(search(store, "", T0 + 30 * SEC, T0 + 90 * SEC, NULL), 2);
	CHECK_INT_EQ(search(store, "", T0 + 150 * SEC, 0, &first), 1);
	CHECK_INT_EQ(first, ids[3]);
	CHECK_INT_EQ(search(store, "", 0, T0 - 86400 * SEC, &first), 1);
	CHECK_INT_EQ(first, ids[0]);
}

static void test_facets(void)
{
	struct arena a;
	struct store_query q = {0};
	struct store_facet_list fl;
	arena_init(&a, 0);
	CHECK_INT_EQ(store->ops->facet(store, &q, "env", 10, &a, &fl), 0);
	CHECK_INT_EQ(fl.len, 3);
	if (fl.len == 3) {
		CHECK_STR_EQ(fl.items[0].value, "prod");
		CHECK_INT_EQ(fl.items[0].count, 2);
	}
	CHECK_INT_EQ(store->ops->facet(store, &q, "team", 10, &a, &fl), 0);
	CHECK_INT_EQ(fl.len, 2);
	if (fl.len == 2) {
		CHECK_STR_EQ(fl.items[0].value, "core");
		CHECK_INT_EQ(fl.items[0].count, 2);
		CHECK_STR_EQ(fl.items[1].value, "infra");
	}
	CHECK_INT_EQ(store->ops->types(store, &q, &a, &fl), 0);
	CHECK_INT_EQ(fl.len, 3);
	if (fl.len == 3) {
		CHECK_STR_EQ(fl.items[0].value, "cpu/nanoseconds");
		CHECK_INT_EQ(fl.items[0].count, 3);
	}
	arena_release(&a);
}

static void test_aggregate(void)
{
	struct arena a;
	struct store_query q = {0};
	struct buf err = BUF_INIT;
	int64_t self[2], total[2], np = 0;
	arena_init(&a, 0);
	CHECK_INT_EQ(query_parse("service:svc-a -env:old", &a, &q, &err), 0);
	struct ftree *t = ftree_new();
	CHECK_INT_EQ(ftree_load(t, store, &q, "cpu/nanoseconds", NULL, 0, &np), 0);
	CHECK_INT_EQ(ftree_build(t, store), 0);
	CHECK_INT_EQ(np, 2);
	CHECK_INT_EQ(ftree_total(t, 0), 385);
	CHECK_INT_EQ(ftree_function(t, "foo", self, total), 0);
	CHECK_INT_EQ(self[0], 110);
	CHECK_INT_EQ(total[0], 135);
	CHECK_INT_EQ(ftree_function(t, "bar", self, total), 0);
	CHECK_INT_EQ(self[0], 250);
	CHECK_INT_EQ(ftree_function(t, "baz", self, total), 0);
	CHECK_INT_EQ(self[0], 25);
	CHECK_INT_EQ(ftree_function(t, "main", self, total), 0);
	CHECK_INT_EQ(self[0], 0);
	CHECK_INT_EQ(total[0], 385);
	CHECK_INT_EQ(ftree_node_count(t), 5); /* root main foo bar baz */
	ftree_free(t);
	arena_release(&a);
	buf_release(&err);
}

/* Calls the API and parses the JSON answer (from a). */
static const struct jsonp_value *call(struct api *api, struct arena *a, const char *path,
				      const struct http_kv *q, size_t nq, int want_status)
{
	struct http_request req = {.method = "GET",
				   .path = path,
				   .query = q,
				   .nquery = nq,
				   .arena = a,
				   .remote_addr = "test"};
	struct http_response resp = {.status = 200};
	buf_init(&resp.body);
	api_handle(api, &req, &resp);
	CHECK_INT_EQ(resp.status, want_status);
	const struct jsonp_value *v = NULL;
	if (resp.status != want_status || strcmp(resp.content_type, "application/json")) {
		fprintf(stderr, "%s -> %d %.300s\n", path, resp.status,
			resp.body.data ? resp.body.data : "");
	} else {
		char *copy =
		    arena_memdup(a, resp.body.data ? resp.body.data : "", resp.body.len + 1);
		v = jsonp_parse(a, copy, resp.body.len, NULL);
		CHECK(v != NULL);
	}
	buf_release(&resp.body);
	return v;
}

static int64_t num(const struct jsonp_value *v, const char *key)
{
	const struct jsonp_value *m = jsonp_get(v, key);
	return m && m->type == JSONP_NUMBER ? (int64_t)m->number : -1;
}

static const struct jsonp_value *at(const struct jsonp_value *arr, size_t i)
{
	const struct jsonp_value *e = arr ? arr->first : NULL;
	while (e && i--)
		e = e->next;
	return e;
}

/* Self value of function `name` in a tree JSON (summed over nodes). */
static int64_t tree_self(const struct jsonp_value *tree, const char *name, const char *key)
{
	const struct jsonp_value *names = jsonp_get(tree, "names");
	const struct jsonp_value *nm = jsonp_get(tree, "name"), *self = jsonp_get(tree, key);
	int64_t sum = 0;
	if (!names || !nm || !self)
		return -1;
	for (size_t i = 0; i < nm->count; i++) {
		const struct jsonp_value *ni = at(names, (size_t)at(nm, i)->number);
		if (ni && ni->str && !strcmp(ni->str, name))
			sum += (int64_t)at(self, i)->number;
	}
	return sum;
}

static void test_api(void)
{
	struct api *api = api_new(store);
	struct arena a;
	arena_init(&a, 0);
	char path[128];

	struct http_kv q1[] = {{"q", "service:svc-a"}, {"facets", "team"}, {"limit", "1"}};
	const struct jsonp_value *v = call(api, &a, "/api/v1/search", q1, 3, 200);
	if (v) {
		CHECK_INT_EQ(num(v, "total"), 3);
		CHECK_INT_EQ(jsonp_get(v, "profiles")->count, 1);
		CHECK_STR_EQ(jsonp_get_str(v, "next_cursor"), "1");
		const struct jsonp_value *env = jsonp_get(jsonp_get(v, "facets"), "env");
		CHECK(env && env->count == 3);
		CHECK(jsonp_get(jsonp_get(v, "facets"), "team") != NULL);
		const struct jsonp_value *p0 = at(jsonp_get(v, "profiles"), 0);
		CHECK_INT_EQ(num(p0, "id"), ids[2]);
		CHECK(num(jsonp_get(p0, "measures"), "wall_seconds") == 60);
	}
	struct http_kv qbad[] = {{"q", "novalue"}};
	call(api, &a, "/api/v1/search", qbad, 1, 400);
	struct http_kv qbadt[] = {{"from", "yesterday"}};
	call(api, &a, "/api/v1/search", qbadt, 1, 400);
	struct http_kv qrfc[] = {{"from", "2025-11-24T16:02:30Z"}}; /* T0 + 150 s */
	v = call(api, &a, "/api/v1/search", qrfc, 1, 200);
	if (v)
		CHECK_INT_EQ(num(v, "total"), 1);

	struct http_kv q2[] = {{"q", "service:svc-a -env:old"}, {"type", "cpu/nanoseconds"}};
	v = call(api, &a, "/api/v1/aggregate", q2, 2, 200);
	if (v) {
		CHECK_INT_EQ(num(v, "profiles"), 2);
		CHECK_INT_EQ(num(v, "total"), 385);
		CHECK_INT_EQ(tree_self(jsonp_get(v, "tree"), "bar", "self"), 250);
		const struct jsonp_value *top0 = at(jsonp_get(v, "top"), 0);
		CHECK_STR_EQ(jsonp_get_str(top0, "name"), "bar");
		CHECK_INT_EQ(num(top0, "self"), 250);
	}
	/* node cap: 3 nodes + folded "other" */
	struct http_kv q3[] = {{"q", "service:svc-a -env:old"}, {"max_nodes", "3"}};
	v = call(api, &a, "/api/v1/aggregate", q3, 2, 200);
	if (v) {
		const struct jsonp_value *tree = jsonp_get(v, "tree");
		CHECK(jsonp_get(tree, "truncated")->boolean);
		CHECK_INT_EQ(tree_self(tree, "other", "self"), 135); /* foo subtree folded */
		CHECK_INT_EQ(at(jsonp_get(tree, "total"), 0)->number, 385);
	}
	/* compare version 1.0 vs 1.1: bar changes most */
	struct http_kv q4[] = {{"q", "version:1.0"}, {"q_b", "version:1.1"}};
	v = call(api, &a, "/api/v1/compare", q4, 2, 200);
	if (v) {
		CHECK_INT_EQ(num(v, "total"), 175);
		CHECK_INT_EQ(num(v, "total_b"), 210);
		const struct jsonp_value *f0 = at(jsonp_get(v, "functions"), 0);
		CHECK_STR_EQ(jsonp_get_str(f0, "name"), "bar");
		CHECK_INT_EQ(num(f0, "self"), 50);
		CHECK_INT_EQ(num(f0, "self_b"), 200);
		CHECK_INT_EQ(tree_self(jsonp_get(v, "tree"), "foo", "self_b"), 10);
	}
	/* one profile */
	snprintf(path, sizeof(path), "/api/v1/profiles/%lld", (long long)ids[3]);
	v = call(api, &a, path, NULL, 0, 200);
	if (v) {
		CHECK_STR_EQ(jsonp_get_str(v, "service"), "svc-b");
		CHECK_INT_EQ(jsonp_get(v, "types")->count, 2);
		CHECK_INT_EQ(jsonp_get(v, "attachments")->count, 2);
		CHECK_STR_EQ(jsonp_get_str(jsonp_get(jsonp_get(v, "info"), "runtime"), "engine"),
			     "x");
	}
	snprintf(path, sizeof(path), "/api/v1/profiles/%lld/flamegraph", (long long)ids[3]);
	struct http_kv q5[] = {{"type", "alloc_space/bytes"}};
	v = call(api, &a, path, q5, 1, 200);
	if (v)
		CHECK_INT_EQ(tree_self(jsonp_get(v, "tree"), "alloc", "self"), 4096);
	snprintf(path, sizeof(path), "/api/v1/profiles/%lld/top", (long long)ids[1]);
	v = call(api, &a, path, NULL, 0, 200);
	if (v)
		CHECK_STR_EQ(jsonp_get_str(at(jsonp_get(v, "top"), 0), "name"), "foo");
	/* timeline: two threads */
	snprintf(path, sizeof(path), "/api/v1/profiles/%lld/timeline", (long long)ids[3]);
	v = call(api, &a, path, NULL, 0, 200);
	if (v) {
		const struct jsonp_value *th = jsonp_get(v, "threads");
		CHECK_INT_EQ(th ? th->count : 0, 2);
		const struct jsonp_value *t1 = at(th, 0);
		CHECK_STR_EQ(jsonp_get_str(t1, "thread_id"), "1");
		CHECK_STR_EQ(jsonp_get_str(t1, "thread_name"), "main");
		CHECK_INT_EQ(jsonp_get(t1, "end_ns")->count, 2);
		CHECK_INT_EQ(at(jsonp_get(t1, "end_ns"), 0)->number, (double)(T0 + 121 * SEC));
	}
	/* downloads */
	snprintf(path, sizeof(path), "/api/v1/profiles/%lld/download", (long long)ids[1]);
	struct http_request req = {.method = "GET", .path = path, .arena = &a};
	struct http_response resp = {.status = 200};
	buf_init(&resp.body);
	api_handle(api, &req, &resp);
	CHECK_INT_EQ(resp.status, 200);
	CHECK(resp.body.len == 8 && !memcmp(resp.body.data, "RAW-BODY", 8));
	CHECK_STR_EQ(resp.content_type, "multipart/form-data; boundary=x");
	buf_release(&resp.body);
	snprintf(path, sizeof(path), "/api/v1/profiles/%lld/attachments/heap.pprof",
		 (long long)ids[3]);
	resp = (struct http_response){.status = 200};
	buf_init(&resp.body);
	api_handle(api, &req, &resp);
	CHECK_INT_EQ(resp.status, 200);
	struct pprof_profile p;
	if (pprof_decode((const uint8_t *)resp.body.data, resp.body.len, NULL, &p, NULL) == 0) {
		CHECK_INT_EQ(p.samples.len, 1);
		pprof_profile_release(&p);
	} else {
		CHECK(!"attachment does not decode");
	}
	buf_release(&resp.body);
	call(api, &a, "/api/v1/profiles/999999", NULL, 0, 404);
	call(api, &a, "/api/v1/profiles/1/attachments/..%2F..%2Fetc%2Fpasswd", NULL, 0, 404);
	call(api, &a, "/api/v1/nothing", NULL, 0, 404);

	/* timeseries grouped by service */
	struct http_kv q6[] = {
	    {"measure", "cpu_cores"}, {"group_by", "service"}, {"step", "60000"}};
	v = call(api, &a, "/api/v1/timeseries", q6, 3, 200);
	if (v) {
		const struct jsonp_value *series = jsonp_get(v, "series");
		CHECK_INT_EQ(series ? series->count : 0, 2);
		const struct jsonp_value *sa = NULL;
		for (size_t i = 0; series && i < series->count; i++)
			if (!strcmp(jsonp_get_str(at(series, i), "group"), "svc-a"))
				sa = at(series, i);
		CHECK(sa && jsonp_get(sa, "points")->count == 3);
	}
	struct http_kv q7[] = {{"measure", "profiles"}, {"group_by", "team"}};
	v = call(api, &a, "/api/v1/timeseries", q7, 2, 200);
	if (v)
		CHECK_INT_EQ(jsonp_get(v, "series")->count, 3); /* core, infra, "" */
	arena_release(&a);
	api_free(api);
}

struct twin {
	struct store *s;
	int failures;
};

/* Both servers store the same never-seen stacks at the same time: the dedupe must end with
 * one row per stack and no failed upload (conflicts wait or retry). */
static void *twin_thread(void *arg)
{
	struct twin *t = arg;
	for (int i = 0; i < 6; i++) {
		char fa[32], fb[32];
		snprintf(fa, sizeof(fa), "twin_a%d", i);
		snprintf(fb, sizeof(fb), "twin_b%d", i);
		struct up x;
		up_init(&x, "svc-twin", "prod", "1", T0 + (400 + i) * SEC);
		struct stk s[] = {{{"main", fa, fb}, 3, 0, 0}, {{"main", fb, fa}, 4, 0, 0}};
		up_attach(&x, "cpu.pprof", "cpu", "nanoseconds", s, 2);
		int64_t id;
		if (store_put(t->s, &x.u, &id) < 0)
			t->failures++;
		up_release(&x);
	}
	return NULL;
}

static void test_shared(void)
{
	struct buf err = BUF_INIT;
	struct store *other = store_open(spec, &err);
	CHECK(other != NULL);
	if (!other) {
		fprintf(stderr, "%s\n", err.data);
		buf_release(&err);
		return;
	}
	CHECK_INT_EQ(search(other, "", 0, 0, NULL), 4);
	struct up x;
	up_init(&x, "svc-c", "prod", "3.0", T0 + 180 * SEC);
	struct stk s[] = {{{"main", "foo"}, 7, 0, 0}, {{"main", "new_fn"}, 9, 0, 0}};
	up_attach(&x, "cpu.pprof", "cpu", "nanoseconds", s, 2);
	ids[4] = put(other, &x);
	CHECK_INT_EQ(search(store, "service:svc-c", 0, 0, NULL), 1);
	/* the first store merges stacks the other one created */
	struct store_query q = {.profile_id = ids[4]};
	struct ftree *t = ftree_new();
	int64_t self[2], total[2];
	CHECK_INT_EQ(ftree_load(t, store, &q, "cpu/nanoseconds", NULL, 0, NULL), 0);
	CHECK_INT_EQ(ftree_build(t, store), 0);
	CHECK_INT_EQ(ftree_function(t, "new_fn", self, total), 0);
	CHECK_INT_EQ(self[0], 9);
	ftree_free(t);

	pthread_t th[2];
	struct twin tw[2] = {{store, 0}, {other, 0}};
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, twin_thread, &tw[i]);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT_EQ(tw[i].failures, 0);
	}
	struct arena a;
	struct store_query tq = {0};
	arena_init(&a, 0);
	CHECK_INT_EQ(query_parse("service:svc-twin", &a, &tq, &err), 0);
	t = ftree_new();
	CHECK_INT_EQ(ftree_load(t, other, &tq, "cpu/nanoseconds", NULL, 0, NULL), 0);
	CHECK_INT_EQ(ftree_build(t, other), 0);
	CHECK_INT_EQ(ftree_total(t, 0), 2 * 6 * 7);
	CHECK_INT_EQ(ftree_function(t, "twin_a3", self, total), 0);
	CHECK_INT_EQ(self[0], 2 * 4);
	CHECK_INT_EQ(total[0], 2 * 7);
	/* root, main, then per i: a, a->b, b, b->a */
	CHECK_INT_EQ(ftree_node_count(t), 2 + 6 * 4);
	ftree_free(t);
	arena_release(&a);
	store_close(other);
	buf_release(&err);
}

struct writer {
	int n;
	int failures;
};

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	for (int i = 0; i < w->n; i++) {
		struct up x;
		up_init(&x, "svc-conc", "prod", "1", T0 + (300 + i) * SEC);
		struct stk s[] = {{{"main", "conc", "leaf"}, 1 + i, 0, 0},
				  {{"main", "bar"}, 2, 0, 0}};
		up_attach(&x, "cpu.pprof", "cpu", "nanoseconds", s, 2);
		int64_t id;
		if (store_put(store, &x.u, &id) < 0)
			w->failures++;
		up_release(&x);
		(void)search(store, "service:svc-conc", 0, 0, NULL);
	}
	return NULL;
}

static void test_concurrent(void)
{
	pthread_t th[4];
	struct writer w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct writer){.n = 5};
		pthread_create(&th[i], NULL, writer_thread, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT_EQ(w[i].failures, 0);
	}
	CHECK_INT_EQ(search(store, "service:svc-conc", 0, 0, NULL), 20);
	struct arena a;
	struct buf err = BUF_INIT;
	struct store_query q = {0};
	arena_init(&a, 0);
	query_parse("service:svc-conc", &a, &q, &err);
	struct ftree *t = ftree_new();
	int64_t self[2], total[2];
	CHECK_INT_EQ(ftree_load(t, store, &q, "cpu/nanoseconds", NULL, 0, NULL), 0);
	CHECK_INT_EQ(ftree_build(t, store), 0);
	CHECK_INT_EQ(ftree_function(t, "leaf", self, total), 0);
	CHECK_INT_EQ(self[0], 4 * (1 + 2 + 3 + 4 + 5));
	CHECK_INT_EQ(ftree_function(t, "bar", self, total), 0);
	CHECK_INT_EQ(self[0], 40);
	ftree_free(t);
	arena_release(&a);
	buf_release(&err);
}

static void test_retention(void)
{
	struct arena a;
	struct store_detail d;
	arena_init(&a, 0);
	int64_t before = search(store, "", 0, 0, NULL);
	CHECK_INT_EQ(store_expire_all(store, T0 - 86400 * SEC), 1);
	CHECK_INT_EQ(search(store, "", 0, 0, NULL), before - 1);
	CHECK_INT_EQ(store->ops->get(store, ids[0], &a, &d), -ENOENT);
	CHECK_INT_EQ(store->ops->get(store, ids[1], &a, &d), 0);
	CHECK_INT_EQ(store_expire_all(store, T0 - 86400 * SEC), 0);
	/* the stacks P0 shared with P1 are still there */
	struct store_query q = {.profile_id = ids[1]};
	struct ftree *t = ftree_new();
	int64_t self[2], total[2];
	CHECK_INT_EQ(ftree_load(t, store, &q, "cpu/nanoseconds", NULL, 0, NULL), 0);
	CHECK_INT_EQ(ftree_build(t, store), 0);
	CHECK_INT_EQ(ftree_function(t, "foo", self, total), 0);
	CHECK_INT_EQ(self[0], 100);
	ftree_free(t);
	arena_release(&a);
}

static void test_durable_reopen(void)
{
	/* Everything put is visible to a freshly opened store (a new process would see the same).
	 */
	struct buf err = BUF_INIT;
	struct store *s2 = store_open(spec, &err);
	CHECK(s2 != NULL);
	if (s2) {
		CHECK_INT_EQ(search(s2, "service:svc-a", 0, 0, NULL), 2);
		store_close(s2);
	}
	buf_release(&err);
}

/* ---- server-side sort: the order across page boundaries ------------------------------- */

#define NSORT 23

struct sort_row {
	int64_t id;
	char service[16], host[8], team[8];
	int64_t start, end, raw_len;
	double cpu, alloc; /* NaN: not applicable */
};

static struct sort_row sort_rows[NSORT];
static const uint8_t sort_body[64];

/* Profiles with ties on every key (so the id tie-break shows), NaN measures, service names
 * whose byte order differs from a locale's ("B" < "a"), and a tag only some have. */
static void fill_sort(struct store *s)
{
	static const char *const svc[] = {"sort-a", "sort-B", "sort-b", "sort-A", "sort-a"};
	for (int i = 0; i < NSORT; i++) {
		struct sort_row *r = &sort_rows[i];
		struct up x;
		snprintf(r->service, sizeof(r->service), "%s", svc[i % 5]);
		snprintf(r->host, sizeof(r->host), "h%d", i % 3);
		if (i % 3)
			snprintf(r->team, sizeof(r->team), "t%d", i % 4);
		else
			r->team[0] = 0;
		r->start = T0 + 1000 * SEC + (i * 7 % 5) * SEC;
		r->end = r->start + ((i * 3) % 4 + 1) * 10 * SEC;
		r->raw_len = 8 + (i % 6) * 7;
		r->cpu = i % 3 == 0 ? NAN : (i % 5) * 0.25;
		r->alloc = i % 4 == 0 ? NAN : (double)(i * 100 % 700);
		up_init(&x, r->service, "sort", "1", r->start);
		x.u.end_ns = r->end;
		x.u.host = r->host;
		x.u.raw_body = sort_body;
		x.u.raw_len = (size_t)r->raw_len;
		x.u.cpu_cores = r->cpu;
		x.u.alloc_bytes_per_s = r->alloc;
		up_tag(&x, "service", r->service);
		if (r->team[0])
			up_tag(&x, "team", r->team);
		r->id = put(s, &x);
	}
}

static const char *sort_field;

/* -1, 0, 1 for a NULL-smallest comparison of two measures. */
static int cmp_measure(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) ? (isnan(b) ? 0 : -1) : 1;
	return a < b ? -1 : a > b;
}

static int cmp_sort_row(const void *pa, const void *pb)
{
	const struct sort_row *a = pa, *b = pb;
	int c = 0;
	if (!strcmp(sort_field, "time"))
		c = (a->start > b->start) - (a->start < b->start);
	else if (!strcmp(sort_field, "duration"))
		c = (a->end - a->start > b->end - b->start) -
		    (a->end - a->start < b->end - b->start);
	else if (!strcmp(sort_field, "size"))
		c = (a->raw_len > b->raw_len) - (a->raw_len < b->raw_len);
	else if (!strcmp(sort_field, "cpu_cores"))
		c = cmp_measure(a->cpu, b->cpu);
	else if (!strcmp(sort_field, "alloc_bytes_per_s"))
		c = cmp_measure(a->alloc, b->alloc);
	else if (!strcmp(sort_field, "service"))
		c = strcmp(a->service, b->service);
	else if (!strcmp(sort_field, "host"))
		c = strcmp(a->host, b->host);
	else if (!strcmp(sort_field, "tag:team")) /* absent sorts before any value */
		c = !a->team[0] || !b->team[0] ? (a->team[0] != 0) - (b->team[0] != 0)
					       : strcmp(a->team, b->team);
	return c ? c : (a->id > b->id) - (a->id < b->id);
}

/* Pages through /api/v1/search with sort/order, `limit` rows at a time, following
 * next_cursor; checks the ids against the order computed here. */
static void check_sorted(struct api *api, const char *field, const char *order, bool asc)
{
	struct sort_row want[NSORT];
	memcpy(want, sort_rows, sizeof(want));
	sort_field = field;
	qsort(want, NSORT, sizeof(want[0]), cmp_sort_row);
	if (!asc)
		for (int i = 0; i < NSORT / 2; i++) {
			struct sort_row t = want[i];
			want[i] = want[NSORT - 1 - i];
			want[NSORT - 1 - i] = t;
		}
	struct arena a;
	arena_init(&a, 0);
	char cursor[32] = "";
	int got = 0, pages = 0;
	bool same = true;
	do {
		struct http_kv q[] = {{"q", "env:sort"},
				      {"limit", "4"},
				      {"sort", field},
				      {"order", order},
				      {"cursor", cursor}};
		const struct jsonp_value *v = call(api, &a, "/api/v1/search", q, 5, 200);
		if (!v)
			break;
		CHECK_INT_EQ(num(v, "total"), NSORT);
		const struct jsonp_value *ps = jsonp_get(v, "profiles");
		for (size_t i = 0; ps && i < ps->count; i++, got++)
			if (got >= NSORT || num(at(ps, i), "id") != want[got].id) {
				if (same)
					fprintf(stderr,
						"sort=%s order=%s: row %d is id %lld, want %lld\n",
						field, order, got, (long long)num(at(ps, i), "id"),
						got < NSORT ? (long long)want[got].id : -1LL);
				same = false;
			}
		const char *next = jsonp_get_str(v, "next_cursor");
		snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
		pages++;
	} while (cursor[0] && pages < 20);
	CHECK(same);
	CHECK_INT_EQ(got, NSORT);
	CHECK_INT_EQ(pages, (NSORT + 3) / 4);
	arena_release(&a);
}

/* An attachment inside the upload's body is stored as a slice of it (no second copy); one
 * that lies elsewhere, or only partly inside the body, is stored as its own bytes. Both read
 * back byte for byte, and the slice's samples are indexed as usual. */
static void test_attachment_slice(void)
{
	struct up x;
	struct stk s[] = {{{"main", "slice_fn"}, 11, 0, 0}};
	up_init(&x, "svc-slice", "prod", "1.0", T0 + 600 * SEC);
	up_attach(&x, "cpu.pprof", "cpu", "nanoseconds", s, 1);
	up_attach(&x, "other.pprof", "cpu", "nanoseconds", s, 1);
	struct buf body = BUF_INIT;
	buf_puts(&body, "--head--");
	size_t off = body.len;
	buf_append(&body, x.enc[0].data, x.enc[0].len);
	buf_puts(&body, "--tail--");
	x.u.raw_body = (const uint8_t *)body.data;
	x.u.raw_len = body.len;
	x.att[0].data = (const uint8_t *)body.data + off; /* a slice of the body */
	size_t len0 = x.enc[0].len;
	struct buf copy0 = BUF_INIT, copy1 = BUF_INIT;
	buf_append(&copy0, x.enc[0].data, x.enc[0].len);
	buf_append(&copy1, x.enc[1].data, x.enc[1].len);
	int64_t id = put(store, &x);

	struct arena a;
	struct buf data = BUF_INIT;
	const char *ct = NULL, *comp = NULL;
	arena_init(&a, 0);
	CHECK_INT_EQ(store->ops->blob(store, id, "cpu.pprof", &data, &a, &ct, &comp), 0);
	CHECK_INT_EQ(data.len, len0);
	CHECK(data.len == copy0.len && !memcmp(data.data, copy0.data, copy0.len));
	CHECK_STR_EQ(ct, "application/octet-stream");
	buf_reset(&data);
	CHECK_INT_EQ(store->ops->blob(store, id, "other.pprof", &data, &a, &ct, &comp), 0);
	CHECK(data.len == copy1.len && !memcmp(data.data, copy1.data, copy1.len));
	buf_reset(&data);
	CHECK_INT_EQ(store->ops->blob(store, id, NULL, &data, &a, &ct, &comp), 0);
	CHECK(data.len == body.len && !memcmp(data.data, body.data, body.len));

	/* a "slice" running past the end of the body is copied, not referenced */
	struct up y;
	up_init(&y, "svc-slice", "prod", "1.0", T0 + 660 * SEC);
	up_attach(&y, "cpu.pprof", "cpu", "nanoseconds", s, 1);
	y.u.raw_body = (const uint8_t *)body.data;
	y.u.raw_len = off + 1;
	y.att[0].data = (const uint8_t *)body.data + off;
	int64_t id2 = put(store, &y);
	buf_reset(&data);
	CHECK_INT_EQ(store->ops->blob(store, id2, "cpu.pprof", &data, &a, &ct, &comp), 0);
	CHECK(data.len == copy0.len && !memcmp(data.data, copy0.data, copy0.len));

	struct store_query q = {0};
	struct buf err = BUF_INIT;
	CHECK_INT_EQ(query_parse("service:svc-slice", &a, &q, &err), 0);
	struct ftree *t = ftree_new();
	int64_t self[2], total[2];
	CHECK_INT_EQ(ftree_load(t, store, &q, "cpu/nanoseconds", "cpu.pprof", 0, NULL), 0);
	CHECK_INT_EQ(ftree_build(t, store), 0);
	CHECK_INT_EQ(ftree_function(t, "slice_fn", self, total), 0);
	CHECK_INT_EQ(self[0], 2 * 11);
	ftree_free(t);
	buf_release(&err);
	buf_release(&data);
	buf_release(&body);
	buf_release(&copy0);
	buf_release(&copy1);
	arena_release(&a);
}

static void test_sort(void)
{
	struct api *api = api_new(store);
	fill_sort(store);
	check_sorted(api, "time", "", false); /* the default order */
	check_sorted(api, "time", "asc", true);
	check_sorted(api, "cpu_cores", "desc", false);
	check_sorted(api, "cpu_cores", "asc", true);
	check_sorted(api, "alloc_bytes_per_s", "", false);
	check_sorted(api, "duration", "desc", false);
	check_sorted(api, "size", "asc", true);
	check_sorted(api, "service", "", true);
	check_sorted(api, "service", "desc", false);
	check_sorted(api, "host", "desc", false);
	check_sorted(api, "tag:team", "asc", true);
	check_sorted(api, "tag:team", "desc", false);

	/* bad fields and orders are the client's error, with the reason */
	struct arena a;
	arena_init(&a, 0);
	struct http_kv b1[] = {{"sort", "cpu"}};
	call(api, &a, "/api/v1/search", b1, 1, 400);
	struct http_kv b2[] = {{"sort", "time"}, {"order", "up"}};
	call(api, &a, "/api/v1/search", b2, 2, 400);
	struct http_kv b3[] = {{"sort", "tag:"}};
	call(api, &a, "/api/v1/search", b3, 1, 400);
	struct store_sort so;
	struct buf err = BUF_INIT;
	CHECK_INT_EQ(query_parse_sort("p.id; DROP TABLE profiles", NULL, &so, &err), -EINVAL);
	CHECK(err.data && strstr(err.data, "unknown sort field") != NULL);
	buf_release(&err);
	CHECK_INT_EQ(query_parse_sort("tag:it's", "asc", &so, &err), 0);
	CHECK_STR_EQ(so.tag, "it's"); /* a tag key is a bound parameter, never SQL */
	buf_release(&err);
	arena_release(&a);
	api_free(api);
}

/* Writers whose uploads name the same new functions in different orders: with several write
 * transactions at once (PostgreSQL), each waits on rows the others inserted first. Every
 * upload must be stored (a deadlock is retried, never a failed upload), each function once. */
#define ORD_THREADS 6
#define ORD_ROUNDS 4
#define ORD_FNS 12

struct orders {
	int seed;
	int failures;
};

static void *orders_thread(void *arg)
{
	struct orders *o = arg;
	unsigned r = (unsigned)o->seed * 2654435761u + 1;
	for (int round = 0; round < ORD_ROUNDS; round++) {
		char names[ORD_FNS][32];
		int perm[ORD_FNS];
		for (int i = 0; i < ORD_FNS; i++)
			perm[i] = i;
		for (int i = ORD_FNS - 1; i > 0; i--) { /* this thread's order of the functions */
			r = r * 1103515245u + 12345u;
			int j = (int)((r >> 8) % (unsigned)(i + 1));
			int t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
		}
		for (int i = 0; i < ORD_FNS; i++)
			snprintf(names[i], sizeof(names[i]), "ord_r%d_f%d", round, perm[i]);
		struct stk st[ORD_FNS / 2];
		for (int i = 0; i < ORD_FNS / 2; i++)
			st[i] = (struct stk){{"main", names[2 * i], names[2 * i + 1]}, 1, 0, 0};
		struct up x;
		up_init(&x, "svc-orders", "prod", "1", T0 + (800 + round) * SEC);
		up_attach(&x, "cpu.pprof", "cpu", "nanoseconds", st, ORD_FNS / 2);
		int64_t id;
		if (store_put(store, &x.u, &id) < 0)
			o->failures++;
		up_release(&x);
	}
	return NULL;
}

static void test_concurrent_orders(void)
{
	pthread_t th[ORD_THREADS];
	struct orders o[ORD_THREADS];
	for (int i = 0; i < ORD_THREADS; i++) {
		o[i] = (struct orders){.seed = i};
		pthread_create(&th[i], NULL, orders_thread, &o[i]);
	}
	for (int i = 0; i < ORD_THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT_EQ(o[i].failures, 0);
	}
	CHECK_INT_EQ(search(store, "service:svc-orders", 0, 0, NULL), ORD_THREADS * ORD_ROUNDS);
	struct arena a;
	struct buf err = BUF_INIT;
	struct store_query q = {0};
	arena_init(&a, 0);
	CHECK_INT_EQ(query_parse("service:svc-orders", &a, &q, &err), 0);
	struct ftree *t = ftree_new();
	int64_t self[2], total[2];
	CHECK_INT_EQ(ftree_load(t, store, &q, "cpu/nanoseconds", NULL, 0, NULL), 0);
	CHECK_INT_EQ(ftree_build(t, store), 0);
	CHECK_INT_EQ(ftree_total(t, 0), ORD_THREADS * ORD_ROUNDS * ORD_FNS / 2);
	/* every function of round 0 was a leaf or a middle frame in each of the 6 uploads */
	CHECK_INT_EQ(ftree_function(t, "ord_r0_f0", self, total), 0);
	CHECK_INT_EQ(total[0], ORD_THREADS);
	ftree_free(t);
	buf_release(&err);
	arena_release(&a);
}

/* PostgreSQL only: the server closes every connection of the store (a restart, a failover, an
 * idle timeout). Each connection had prepared the intake's statements; the next uploads must
 * reconnect, prepare them again in the new session and succeed (retried, not failed). */
static void test_pg_reconnect(void)
{
	if (strncmp(spec, "postgres", 8))
		return;
	const char *bin = getenv("KILN_PG_BIN");
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "'%s/psql' -X -At -q '%s' -c \"SELECT count(pg_terminate_backend(pid)) FROM "
		 "pg_stat_activity WHERE datname = current_database() AND pid <> "
		 "pg_backend_pid()\" >/dev/null",
		 bin ? bin : "/usr/lib/postgresql/15/bin", spec);
	size_t before = search(store, "service:svc-reconnect", 0, 0, NULL);
	CHECK_INT_EQ(system(cmd), 0);
	struct stk s[] = {{{"main", "after_reconnect"}, 5, 0, 0}};
	for (int i = 0; i < 3; i++) {
		struct up x;
		up_init(&x, "svc-reconnect", "prod", "1.0", T0 + (700 + i) * SEC);
		up_tag(&x, "round", i ? "later" : "first");
		up_attach(&x, "cpu.pprof", "cpu", "nanoseconds", s, 1);
		put(store, &x);
	}
	CHECK_INT_EQ(search(store, "service:svc-reconnect", 0, 0, NULL), before + 3);
	CHECK_INT_EQ(search(store, "service:svc-reconnect round:later", 0, 0, NULL), 2);
}

static void run_suite(const char *name, const char *store_spec)
{
	struct buf err = BUF_INIT;
	printf("== storage suite on %s\n", name);
	spec = store_spec;
	store = store_open(spec, &err);
	CHECK(store != NULL);
	if (!store) {
		fprintf(stderr, "cannot open %s: %s\n", spec, err.data ? err.data : "");
		test_cases_failed++;
		buf_release(&err);
		return;
	}
	CHECK_STR_EQ(store->ops->name, name);
	fill(store);
	RUN(test_search);
	RUN(test_facets);
	RUN(test_aggregate);
	RUN(test_api);
	RUN(test_shared);
	RUN(test_concurrent);
	RUN(test_retention);
	RUN(test_durable_reopen);
	RUN(test_sort);
	RUN(test_attachment_slice);
	RUN(test_concurrent_orders);
	RUN(test_pg_reconnect);
	store_close(store);
	store = NULL;
	buf_release(&err);
}

int main(void)
{
	char dir[] = "/tmp/kiln-store-test.XXXXXX";
	char cmd[1024];
	log_set_mode("stderr");
	if (!mkdtemp(dir))
		return 1;
	/* PostgreSQL runs as another user when we are root: let it reach its directory. */
	if (chmod(dir, 0711) < 0)
		return 1;
	char sqlite_dir[600];
	snprintf(sqlite_dir, sizeof(sqlite_dir), "sqlite:%s/db", dir);
	run_suite("sqlite", sqlite_dir);

	const char *url = getenv("KILN_TEST_PG_URL");
	const char *skip = getenv("KILN_TEST_SKIP_PG");
	char pgurl[1024] = "";
	bool started = false;
	if (skip && !strcmp(skip, "1")) {
		printf("SKIP postgres (KILN_TEST_SKIP_PG=1)\n");
	} else {
		if (!url) {
			const char *src = getenv("KILN_SOURCE_DIR");
			snprintf(cmd, sizeof(cmd),
				 "bash '%s/tests/integration/pg/pg.sh' start '%s/pg'",
				 src ? src : "../../..", dir);
			FILE *f = popen(cmd, "r");
			if (f && fgets(pgurl, sizeof(pgurl), f))
				pgurl[strcspn(pgurl, "\n")] = 0;
			if (f)
				pclose(f);
			started = true;
			url = pgurl;
		}
		if (!*url) {
			fprintf(stderr,
				"cannot start PostgreSQL (set KILN_TEST_SKIP_PG=1 to skip)\n");
			test_cases_failed++;
		} else {
			run_suite("postgres", url);
		}
	}
	if (started) {
		snprintf(cmd, sizeof(cmd), "bash '%s/tests/integration/pg/pg.sh' stop '%s/pg'",
			 getenv("KILN_SOURCE_DIR") ? getenv("KILN_SOURCE_DIR") : "../../..", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "warning: could not stop PostgreSQL\n");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
	return test_done();
}
