/*
 * The query API on a real upload: the dd-trace-js fixture's parts are stored (as the intake
 * would) in a SQLite store, then read back through api_handle: search, the profile view,
 * the aggregate (hotA 62.53 % / hotB 27.04 % of sample/count self), and the timeline.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/log.h"
#include "server/api.h"
#include "server/jsonp.h"
#include "server/store.h"
#include "test.h"

static struct store *store;
static struct api *api;
static int64_t profile_id;

static const char *const parts[] = {"space.pprof", "events.pprof", "wall.pprof"};

static void put_fixture(void)
{
	struct buf body = BUF_INIT, event = BUF_INIT, data[3], err = BUF_INIT;
	struct pprof_profile p[3];
	struct store_attachment att[3];
	struct store_tag tags[] = {{"service", "capture-svc"},
				   {"env", "test"},
				   {"version", "1.2.3"},
				   {"team", "intake"},
				   {"layer", "api"}};
	char path[256];

	CHECK_INT_EQ(
	    buf_read_file(&body, test_fixture("dd-trace-js/node22-gzip-periodic/request.body"), 0),
	    0);
	CHECK_INT_EQ(
	    buf_read_file(&event, test_fixture("dd-trace-js/node22-gzip-periodic/parts/event.json"),
			  0),
	    0);
	for (int i = 0; i < 3; i++) {
		buf_init(&data[i]);
		snprintf(path, sizeof(path), "dd-trace-js/node22-gzip-periodic/parts/%s", parts[i]);
		CHECK_INT_EQ(buf_read_file(&data[i], test_fixture(path), 0), 0);
		CHECK_INT_EQ(
		    pprof_decode((const uint8_t *)data[i].data, data[i].len, NULL, &p[i], &err), 0);
		att[i] = (struct store_attachment){.name = parts[i],
						   .content_type = "application/octet-stream",
						   .kind = STORE_ATTACH_PPROF,
						   .compression = "gzip",
						   .data = (const uint8_t *)data[i].data,
						   .len = data[i].len,
						   .pprof = &p[i]};
	}
	struct store_upload u = {
	    .service = "capture-svc",
	    .env = "test",
	    .version = "1.2.3",
	    .host = "",
	    .runtime = "nodejs",
	    .language = "javascript",
	    .family = "node",
	    .runtime_id = "3dcef843-8ac4-4359-b05c-37985c976346",
	    .origin = "dd-trace-js",
	    .origin_version = "6.21.0",
	    .container_id = "",
	    .entity_id = "in-1",
	    .tags = tags,
	    .ntags = sizeof(tags) / sizeof(tags[0]),
	    .start_ns = 1795559926903000000LL,
	    .end_ns = 1795559936973000000LL,
	    .event_json = event.data,
	    .info_json = "{\"runtime\":{\"engine\":\"nodejs\"}}",
	    .attachments = att,
	    .nattachments = 3,
	    .raw_body = (const uint8_t *)body.data,
	    .raw_len = body.len,
	    .raw_content_type = "multipart/form-data; boundary=0543be709ca4dd10",
	    .cpu_cores = 1.08,
	    .alloc_bytes_per_s = NAN,
	    .wall_seconds = 10.07,
	    .heap_live_bytes = NAN,
	};
	CHECK_INT_EQ(store_put(store, &u, &profile_id), 0);
	for (int i = 0; i < 3; i++) {
		pprof_profile_release(&p[i]);
		buf_release(&data[i]);
	}
	buf_release(&body);
	buf_release(&event);
	buf_release(&err);
}

static const struct jsonp_value *call(struct arena *a, const char *path, const struct http_kv *q,
				      size_t nq, int want, struct buf *raw)
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
	CHECK_INT_EQ(resp.status, want);
	const struct jsonp_value *v = NULL;
	if (raw) {
		buf_append(raw, resp.body.data ? resp.body.data : "", resp.body.len);
	} else if (resp.status == want) {
		char *copy =
		    arena_memdup(a, resp.body.data ? resp.body.data : "", resp.body.len + 1);
		v = jsonp_parse(a, copy, resp.body.len, NULL);
		CHECK(v != NULL);
	}
	buf_release(&resp.body);
	return v;
}

static const struct jsonp_value *find_fn(const struct jsonp_value *top, const char *name)
{
	for (const struct jsonp_value *e = top ? top->first : NULL; e; e = e->next)
		if (!strcmp(jsonp_get_str(e, "name"), name))
			return e;
	return NULL;
}

static double num(const struct jsonp_value *v, const char *k)
{
	const struct jsonp_value *m = jsonp_get(v, k);
	return m && m->type == JSONP_NUMBER ? m->number : -1;
}

static void test_aggregate_shares(void)
{
	struct arena a;
	arena_init(&a, 0);
	struct http_kv q[] = {{"q", "service:capture-svc env:test"},
			      {"type", "sample/count"},
			      {"attachment", "wall.pprof"},
			      {"limit", "10"}};
	const struct jsonp_value *v = call(&a, "/api/v1/aggregate", q, 4, 200, NULL);
	if (v) {
		CHECK_INT_EQ(num(v, "profiles"), 1);
		CHECK_INT_EQ(num(v, "total"), 958);
		const struct jsonp_value *top = jsonp_get(v, "top");
		const struct jsonp_value *a1 = find_fn(top, "hotA"), *b1 = find_fn(top, "hotB");
		CHECK(a1 && b1);
		if (a1 && b1) {
			CHECK(fabs(num(a1, "self_share") * 100 - 62.53) < 0.01);
			CHECK(fabs(num(b1, "self_share") * 100 - 27.04) < 0.01);
			CHECK_STR_EQ(jsonp_get_str(top->first, "name"), "hotA");
		}
		/* tree: root total is the whole, names are a table */
		const struct jsonp_value *tree = jsonp_get(v, "tree");
		CHECK_INT_EQ(jsonp_get(tree, "total")->first->number, 958);
		CHECK_INT_EQ(jsonp_get(tree, "parent")->first->number, -1);
	}
	/* wall/nanoseconds over both... the same shares */
	struct http_kv q2[] = {{"q", "service:capture-svc"}, {"type", "wall/nanoseconds"}};
	v = call(&a, "/api/v1/aggregate", q2, 2, 200, NULL);
	if (v) {
		CHECK_INT_EQ(num(v, "total"), 10065706000.0);
		const struct jsonp_value *a1 = find_fn(jsonp_get(v, "top"), "hotA");
		CHECK(a1 && fabs(num(a1, "self_share") * 100 - 62.53) < 0.01);
	}
	arena_release(&a);
}

static void test_profile_view(void)
{
	struct arena a;
	char path[128];
	arena_init(&a, 0);
	snprintf(path, sizeof(path), "/api/v1/profiles/%lld", (long long)profile_id);
	const struct jsonp_value *v = call(&a, path, NULL, 0, 200, NULL);
	if (v) {
		CHECK_STR_EQ(jsonp_get_str(v, "origin"), "dd-trace-js");
		const struct jsonp_value *types = jsonp_get(v, "types");
		/* space: 2, events: 1, wall: 3 */
		CHECK_INT_EQ(types ? types->count : 0, 6);
		CHECK_INT_EQ(jsonp_get(v, "attachments")->count, 3);
		CHECK_INT_EQ(jsonp_get(v, "tags")->count, 5);
		CHECK(strstr(jsonp_get_str(v, "event"), "tags_profiler") != NULL);
	}
	/* the attachment download is the decompressed pprof, byte for byte */
	struct buf raw = BUF_INIT, want = BUF_INIT;
	snprintf(path, sizeof(path), "/api/v1/profiles/%lld/attachments/wall.pprof",
		 (long long)profile_id);
	call(&a, path, NULL, 0, 200, &raw);
	buf_read_file(&want, test_fixture("dd-trace-js/node22-gzip-periodic/parts/wall.pprof.raw"),
		      0);
	CHECK(raw.len == want.len && raw.len > 0 && !memcmp(raw.data, want.data, raw.len));
	buf_reset(&raw);
	buf_reset(&want);
	snprintf(path, sizeof(path), "/api/v1/profiles/%lld/download", (long long)profile_id);
	call(&a, path, NULL, 0, 200, &raw);
	buf_read_file(&want, test_fixture("dd-trace-js/node22-gzip-periodic/request.body"), 0);
	CHECK(raw.len == want.len && !memcmp(raw.data, want.data, raw.len));
	buf_release(&raw);
	buf_release(&want);
	arena_release(&a);
}

static void test_timeline(void)
{
	struct arena a;
	char path[128];
	arena_init(&a, 0);
	snprintf(path, sizeof(path), "/api/v1/profiles/%lld/timeline", (long long)profile_id);
	const struct jsonp_value *v = call(&a, path, NULL, 0, 200, NULL);
	if (v) {
		CHECK_STR_EQ(jsonp_get_str(v, "attachment"), "wall.pprof");
		CHECK_STR_EQ(jsonp_get_str(v, "type"), "wall/nanoseconds");
		const struct jsonp_value *th = jsonp_get(v, "threads");
		CHECK(th && th->count >= 1);
		size_t samples = 0;
		bool main_thread = false;
		for (const struct jsonp_value *t = th ? th->first : NULL; t; t = t->next) {
			samples += jsonp_get(t, "end_ns")->count;
			main_thread |= !strcmp(jsonp_get_str(t, "thread_name"), "Main Event Loop");
			/* every timestamp within the profile's window (±1 s) */
			for (const struct jsonp_value *e = jsonp_get(t, "end_ns")->first; e;
			     e = e->next)
				if (e->number < 1795559925.9e9 || e->number > 1795559937.98e9) {
					CHECK(!"end_ns outside the profile window");
					break;
				}
		}
		CHECK(main_thread);
		CHECK(samples + (size_t)num(v, "untimed_samples") == 959);
		CHECK(samples > 900);
	}
	arena_release(&a);
}

int main(void)
{
	char dir[] = "/tmp/kiln-api-test.XXXXXX";
	struct buf err = BUF_INIT;
	log_set_mode("stderr");
	if (!mkdtemp(dir))
		return 1;
	store = store_open(dir, &err);
	CHECK(store != NULL);
	if (!store)
		return test_done();
	api = api_new(store);
	put_fixture();
	RUN(test_aggregate_shares);
	RUN(test_profile_view);
	RUN(test_timeline);
	api_free(api);
	store_close(store);
	buf_release(&err);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return test_done();
}
