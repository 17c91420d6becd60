/* Unit tests for the upload intake (server/intake.h), with an in-test store that records
 * what it was given. */
#include <errno.h>
#include <lz4frame.h>
#include <math.h>
#include <zstd.h>

#include "base/buf.h"
#include "pprof/pprof.h"
#include "server/intake.h"
#include "base/rfc3339.h"
#include "test.h"

#define FX "dd-trace-js/node22-gzip-periodic/"

/* ---- a store that records the last upload --------------------------------------------- */

struct rec_store {
	struct store base;
	int fail; /* negative errno to return */
	int puts;
	char service[64];
	size_t nattachments;
	size_t raw_len;
	double cpu_cores;
};

static int rec_put(struct store *s, const struct store_upload *u, int64_t *id)
{
	struct rec_store *r = (struct rec_store *)s;
	if (r->fail)
		return r->fail;
	r->puts++;
	snprintf(r->service, sizeof(r->service), "%s", u->service);
	r->nattachments = u->nattachments;
	r->raw_len = u->raw_len;
	r->cpu_cores = u->cpu_cores;
	*id = r->puts;
	return 0;
}

static void rec_close(struct store *s)
{
}

static const struct store_ops rec_ops = {.name = "test", .put = rec_put, .close = rec_close};

/* ---- request helpers ------------------------------------------------------------------ */

struct req {
	struct http_request r;
	struct http_kv headers[8];
	struct arena arena;
	struct buf body;
	char ctype[128];
};

static void req_init(struct req *q, const char *boundary)
{
	memset(q, 0, sizeof(*q));
	arena_init(&q->arena, 0);
	buf_init(&q->body);
	snprintf(q->ctype, sizeof(q->ctype), "multipart/form-data; boundary=%s", boundary);
	q->headers[0] = (struct http_kv){"content-type", q->ctype};
	q->headers[1] = (struct http_kv){"dd-evp-origin", "dd-trace-js"};
	q->headers[2] = (struct http_kv){"dd-evp-origin-version", "6.21.0"};
	q->headers[3] = (struct http_kv){"datadog-entity-id", "in-1"};
	q->r.method = "POST";
	q->r.path = "/profiling/v1/input";
	q->r.headers = q->headers;
	q->r.nheaders = 4;
	q->r.arena = &q->arena;
	q->r.remote_addr = "127.0.0.1";
}

static void req_done(struct req *q)
{
	q->r.body = (const uint8_t *)(q->body.data ? q->body.data : "");
	q->r.body_len = q->body.len;
}

static void req_release(struct req *q)
{
	buf_release(&q->body);
	arena_release(&q->arena);
}

static void add_part(struct buf *b, const char *boundary, const char *name, const char *filename,
		     const char *ctype, const void *data, size_t len)
{
	buf_printf(b, "--%s\r\nContent-Disposition: form-data; name=\"%s\"", boundary, name);
	if (filename)
		buf_printf(b, "; filename=\"%s\"", filename);
	buf_puts(b, "\r\n");
	if (ctype)
		buf_printf(b, "Content-Type: %s\r\n", ctype);
	buf_puts(b, "\r\n");
	buf_append(b, data, len);
	buf_puts(b, "\r\n");
}

static void add_field(struct buf *b, const char *boundary, const char *name, const char *value)
{
	add_part(b, boundary, name, NULL, NULL, value, strlen(value));
}

static void close_body(struct buf *b, const char *boundary)
{
	buf_printf(b, "--%s--\r\n", boundary);
}

static void read_fx(struct buf *b, const char *rel)
{
	char path[256];
	snprintf(path, sizeof(path), FX "%s", rel);
	buf_reset(b);
	CHECK(buf_read_file(b, test_fixture(path), 0) == 0);
}

static const char *leaf_name(const struct pprof_profile *p, const struct pprof_sample *s)
{
	if (!s->nlocations)
		return "";
	const struct pprof_location *loc = pprof_location_by_id(p, s->location_ids[0]);
	if (!loc || !loc->nlines)
		return "";
	const struct pprof_function *f = pprof_function_by_id(p, loc->lines[0].function_id);
	return f ? pprof_str(p, f->name) : "";
}

static double leaf_share(const struct pprof_profile *p, const char *type, const char *fn)
{
	int t = pprof_sample_type_index(p, type);
	double total = 0, mine = 0;
	if (t < 0)
		return -1;
	for (size_t i = 0; i < p->samples.len; i++) {
		const struct pprof_sample *s = &p->samples.items[i];
		total += (double)s->values[t];
		if (!strcmp(leaf_name(p, s), fn))
			mine += (double)s->values[t];
	}
	return total > 0 ? mine / total : -1;
}

static const char *tag(const struct store_upload *u, const char *key)
{
	for (size_t i = 0; i < u->ntags; i++)
		if (!strcmp(u->tags[i].key, key))
			return u->tags[i].value;
	return NULL;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_time_and_tags(void)
{
	int64_t ns = 0;
	CHECK_INT_EQ(rfc3339_parse("2026-11-24T22:14:09.488Z", &ns), 0);
	CHECK_INT_EQ(ns, 1795558449488000000LL);
	CHECK_INT_EQ(rfc3339_parse("1970-01-01T00:00:00Z", &ns), 0);
	CHECK_INT_EQ(ns, 0);
	CHECK_INT_EQ(rfc3339_parse("1970-01-01T01:00:00.123456789+01:00", &ns), 0);
	CHECK_INT_EQ(ns, 123456789);
	CHECK_INT_EQ(rfc3339_parse("2026-11-24T22:14:09", &ns), -EINVAL);
	CHECK_INT_EQ(rfc3339_parse("2026-13-24T22:14:09Z", &ns), -EINVAL);
	CHECK_INT_EQ(rfc3339_parse("2026-11-24T22:14:09.Z", &ns), -EINVAL);
	CHECK_INT_EQ(rfc3339_parse("garbage", &ns), -EINVAL);
	CHECK_INT_EQ(rfc3339_parse("9999-12-31T23:59:59Z", &ns), -EINVAL);

	struct arena a;
	arena_init(&a, 0);
	struct store_tag *tags = NULL;
	size_t n = 0, cap = 0;
	CHECK_INT_EQ(intake_split_tags(&a, "service:x,url:http://h:1/p,,bare, env:prod ", ",",
				       &tags, &n, &cap),
		     0);
	CHECK_INT_EQ(n, 4);
	if (n == 4) {
		CHECK_STR_EQ(tags[1].key, "url");
		CHECK_STR_EQ(tags[1].value, "http://h:1/p");
		CHECK_STR_EQ(tags[2].key, "bare");
		CHECK_STR_EQ(tags[2].value, "");
		CHECK_STR_EQ(tags[3].key, "env");
		CHECK_STR_EQ(tags[3].value, "prod");
	}
	CHECK_INT_EQ(intake_split_tags(&a, "a:1 b:2,c:3", ", ", &tags, &n, &cap), 0);
	CHECK_INT_EQ(n, 7);
	arena_release(&a);
}

static void test_dd_trace_js_fixture(void)
{
	struct req q;
	struct intake_upload up;
	struct buf err = BUF_INIT;
	req_init(&q, "0543be709ca4dd10");
	read_fx(&q.body, "request.body");
	req_done(&q);
	int ret = intake_parse(&q.r, NULL, &up, &err);
	CHECK_INT_EQ(ret, 0);
	if (ret < 0) {
		fprintf(stderr, "intake: %s\n", err.data);
		goto out;
	}
	const struct store_upload *u = &up.up;
	CHECK_STR_EQ(up.format, "v4");
	CHECK_STR_EQ(u->service, "capture-svc");
	CHECK_STR_EQ(u->env, "test");
	CHECK_STR_EQ(u->version, "1.2.3");
	CHECK_STR_EQ(u->family, "node");
	CHECK_STR_EQ(u->language, "javascript");
	CHECK_STR_EQ(u->runtime, "nodejs");
	CHECK_STR_EQ(u->runtime_id, "3dcef843-8ac4-4359-b05c-37985c976346");
	CHECK_STR_EQ(u->host, "");
	CHECK_STR_EQ(u->origin, "dd-trace-js");
	CHECK_STR_EQ(u->origin_version, "6.21.0");
	CHECK_STR_EQ(u->entity_id, "in-1");
	CHECK_STR_EQ(u->container_id, "");
	CHECK_STR_EQ(tag(u, "team"), "intake");
	CHECK_STR_EQ(tag(u, "profile_seq"), "1");
	CHECK_STR_EQ(tag(u, "snapshot"), "periodic");
	CHECK(strstr(u->info_json, "\"application\"") && u->info_json[0] == '{');
	CHECK(strstr(u->event_json, "tags_profiler") != NULL);
	int64_t s, e;
	rfc3339_parse("2026-11-24T22:38:46.903Z", &s);
	rfc3339_parse("2026-11-24T22:38:56.973Z", &e);
	CHECK_INT_EQ(u->start_ns, s);
	CHECK_INT_EQ(u->end_ns, e);
	CHECK_INT_EQ(u->raw_len, 24170);
	CHECK_INT_EQ(u->nattachments, 3);
	static const char *const names[] = {"space.pprof", "events.pprof", "wall.pprof"};
	static const size_t sizes[] = {3634, 580, 17674};
	for (size_t i = 0; i < 3 && i < u->nattachments; i++) {
		const struct store_attachment *a = &u->attachments[i];
		CHECK_STR_EQ(a->name, names[i]);
		CHECK_STR_EQ(a->compression, "gzip");
		CHECK_INT_EQ(a->kind, STORE_ATTACH_PPROF);
		CHECK_INT_EQ(a->len, sizes[i]);
		CHECK(a->pprof != NULL);
		CHECK_STR_EQ(a->content_type, "application/octet-stream");
	}
	const struct pprof_profile *wall = u->nattachments == 3 ? u->attachments[2].pprof : NULL;
	CHECK(wall != NULL);
	if (wall) {
		CHECK_INT_EQ(wall->sample_types.len, 3);
		double a = leaf_share(wall, "sample", "hotA"),
		       b = leaf_share(wall, "sample", "hotB");
		CHECK(fabs(a - 0.6253) < 0.0005);
		CHECK(fabs(b - 0.2704) < 0.0005);
		CHECK(fabs(leaf_share(wall, "cpu", "hotA") - 0.5582) < 0.0005);
	}
	/* cpu 10853265780 ns over the 10.070 s window; wall 10065706000 ns. */
	CHECK(fabs(u->cpu_cores - 10853265780.0 / 10.070e9) < 1e-6);
	CHECK(fabs(u->wall_seconds - 10.065706) < 1e-6);
	CHECK(u->heap_live_bytes > 0);
	CHECK(isnan(u->alloc_bytes_per_s));
	intake_upload_release(&up);

	/* Relayed by a Datadog agent: its tags fill what the upload lacks, never override. */
	q.headers[q.r.nheaders++] =
	    (struct http_kv){"x-datadog-additional-tags",
			     "host:agent-box,default_env:fallback,agent_version:7.60.0"};
	buf_reset(&err);
	CHECK_INT_EQ(intake_parse(&q.r, NULL, &up, &err), 0);
	CHECK_STR_EQ(up.up.host, "agent-box");
	CHECK_STR_EQ(up.up.env, "test");
	CHECK_STR_EQ(tag(&up.up, "agent_version"), "7.60.0");
out:
	intake_upload_release(&up);
	buf_release(&err);
	req_release(&q);
}

/* A v4 body with one attachment of the given bytes. */
static void v4_body(struct req *q, const char *att_name, const void *data, size_t len)
{
	char event[512];
	snprintf(event, sizeof(event),
		 "{\"attachments\":[\"%s\"],\"start\":\"2026-01-01T00:00:00Z\","
		 "\"end\":\"2026-01-01T00:00:10Z\",\"family\":\"go\",\"version\":\"4\","
		 "\"tags_profiler\":\"service:svc-%s,env:prod\"}",
		 att_name, att_name);
	req_init(q, "bnd");
	add_part(&q->body, "bnd", att_name, att_name, NULL, data, len);
	add_part(&q->body, "bnd", "event", "event.json", "application/json", event, strlen(event));
	close_body(&q->body, "bnd");
	req_done(q);
}

static int parse_one(const char *att_name, const void *data, size_t len, size_t max,
		     struct intake_upload *up, struct buf *err, struct req *q)
{
	struct intake_opts o = {.max_decompressed = max};
	v4_body(q, att_name, data, len);
	buf_reset(err);
	return intake_parse(&q->r, &o, up, err);
}

static void test_compressions(void)
{
	struct buf raw = BUF_INIT, c = BUF_INIT, err = BUF_INIT;
	struct intake_upload up;
	struct req q;
	read_fx(&raw, "parts/wall.pprof.raw");

	/* none */
	CHECK_INT_EQ(parse_one("cpu.pprof", raw.data, raw.len, 0, &up, &err, &q), 0);
	CHECK_STR_EQ(up.up.attachments[0].compression, "none");
	CHECK(up.up.attachments[0].pprof != NULL);
	CHECK_STR_EQ(up.up.service, "svc-cpu.pprof");
	CHECK_STR_EQ(up.up.language, "go");
	intake_upload_release(&up);
	req_release(&q);

	/* zstd with a content size */
	CHECK_INT_EQ(
	    pprof_compress(PPROF_COMPRESSION_ZSTD, 1, (const uint8_t *)raw.data, raw.len, &c), 0);
	CHECK_INT_EQ(parse_one("cpu.pprof", c.data, c.len, 0, &up, &err, &q), 0);
	CHECK_STR_EQ(up.up.attachments[0].compression, "zstd");
	CHECK(up.up.attachments[0].pprof && up.up.attachments[0].pprof->samples.len == 959);
	intake_upload_release(&up);
	req_release(&q);

	/* zstd streamed without a content size (what Node 24 sends) */
	buf_reset(&c);
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
	buf_grow(&c, ZSTD_compressBound(raw.len));
	ZSTD_outBuffer ob = {c.data, c.cap - 1, 0};
	ZSTD_inBuffer ib = {raw.data, raw.len, 0};
	CHECK(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end) == 0);
	c.len = ob.pos;
	ZSTD_freeCCtx(cc);
	CHECK(ZSTD_getFrameContentSize(c.data, c.len) == ZSTD_CONTENTSIZE_UNKNOWN);
	CHECK_INT_EQ(parse_one("cpu.pprof", c.data, c.len, 0, &up, &err, &q), 0);
	CHECK(up.up.attachments[0].pprof && up.up.attachments[0].pprof->samples.len == 959);
	intake_upload_release(&up);
	req_release(&q);

	/* lz4 frame */
	buf_reset(&c);
	buf_grow(&c, LZ4F_compressFrameBound(raw.len, NULL));
	size_t n = LZ4F_compressFrame(c.data, c.cap - 1, raw.data, raw.len, NULL);
	CHECK(!LZ4F_isError(n));
	c.len = n;
	CHECK_INT_EQ(parse_one("cpu.pprof", c.data, c.len, 0, &up, &err, &q), 0);
	CHECK_STR_EQ(up.up.attachments[0].compression, "lz4");
	CHECK(up.up.attachments[0].pprof && up.up.attachments[0].pprof->samples.len == 959);
	CHECK_INT_EQ(up.up.attachments[0].len, c.len); /* kept as received */
	intake_upload_release(&up);
	req_release(&q);

	/* lz4 JFR (dd-trace-java) and a JSON attachment */
	char jfr[64] = "FLR\0\0\2\0\0 some chunk";
	buf_reset(&c);
	buf_grow(&c, LZ4F_compressFrameBound(sizeof(jfr), NULL));
	c.len = LZ4F_compressFrame(c.data, c.cap - 1, jfr, sizeof(jfr), NULL);
	CHECK_INT_EQ(parse_one("main.jfr", c.data, c.len, 0, &up, &err, &q), 0);
	CHECK_INT_EQ(up.up.attachments[0].kind, STORE_ATTACH_JFR);
	CHECK(up.up.attachments[0].pprof == NULL);
	intake_upload_release(&up);
	req_release(&q);
	CHECK_INT_EQ(parse_one("metrics.json", "[[\"go_gc\",1]]", 13, 0, &up, &err, &q), 0);
	CHECK_INT_EQ(up.up.attachments[0].kind, STORE_ATTACH_JSON);
	intake_upload_release(&up);
	req_release(&q);

	/* Bombs: the cap applies to every codec. */
	CHECK_INT_EQ(parse_one("cpu.pprof", c.data, c.len, 0, &up, &err, &q), 0);
	intake_upload_release(&up);
	req_release(&q);
	buf_reset(&c);
	CHECK_INT_EQ(
	    pprof_compress(PPROF_COMPRESSION_GZIP, 1, (const uint8_t *)raw.data, raw.len, &c), 0);
	CHECK_INT_EQ(parse_one("cpu.pprof", c.data, c.len, 1000, &up, &err, &q), -EFBIG);
	intake_upload_release(&up);
	req_release(&q);

	buf_release(&raw);
	buf_release(&c);
	buf_release(&err);
}

static void test_malformed(void)
{
	struct buf err = BUF_INIT, raw = BUF_INIT;
	struct intake_upload up;
	struct req q;
	static const uint8_t bad_gzip[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe};
	static const uint8_t bad_zstd[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x99, 0x99, 0x99};
	static const uint8_t bad_lz4[] = {0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7, 0xff, 0xff};
	static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0xff, 0x01};

	CHECK_INT_EQ(parse_one("cpu.pprof", bad_gzip, sizeof(bad_gzip), 0, &up, &err, &q), -EINVAL);
	CHECK(strstr(err.data, "cannot decompress gzip") != NULL);
	intake_upload_release(&up);
	req_release(&q);
	CHECK_INT_EQ(parse_one("cpu.pprof", bad_zstd, sizeof(bad_zstd), 0, &up, &err, &q), -EINVAL);
	CHECK(strstr(err.data, "zstd") != NULL);
	intake_upload_release(&up);
	req_release(&q);
	CHECK_INT_EQ(parse_one("cpu.pprof", bad_lz4, sizeof(bad_lz4), 0, &up, &err, &q), -EINVAL);
	CHECK(strstr(err.data, "lz4") != NULL);
	intake_upload_release(&up);
	req_release(&q);
	CHECK_INT_EQ(parse_one("cpu.pprof", garbage, sizeof(garbage), 0, &up, &err, &q), -EINVAL);
	CHECK(strstr(err.data, "not a valid pprof") != NULL);
	intake_upload_release(&up);
	req_release(&q);
	/* The same bytes under a name that does not claim pprof are kept as "other". */
	CHECK_INT_EQ(parse_one("blob.bin", garbage, sizeof(garbage), 0, &up, &err, &q), 0);
	CHECK_INT_EQ(up.up.attachments[0].kind, STORE_ATTACH_OTHER);
	intake_upload_release(&up);
	req_release(&q);

	/* Wrong boundary, truncated body, missing event, event not JSON, missing attachment. */
	read_fx(&raw, "request.body");
	req_init(&q, "0543be709ca4dd11");
	buf_append(&q.body, raw.data, raw.len);
	req_done(&q);
	buf_reset(&err);
	CHECK_INT_EQ(intake_parse(&q.r, NULL, &up, &err), -EINVAL);
	CHECK(strstr(err.data, "boundary") != NULL);
	intake_upload_release(&up);
	req_release(&q);

	req_init(&q, "0543be709ca4dd10");
	buf_append(&q.body, raw.data, raw.len / 2);
	req_done(&q);
	buf_reset(&err);
	CHECK_INT_EQ(intake_parse(&q.r, NULL, &up, &err), -EINVAL);
	CHECK(strstr(err.data, "truncated") != NULL);
	intake_upload_release(&up);
	req_release(&q);

	req_init(&q, "b");
	add_part(&q.body, "b", "wall.pprof", "wall.pprof", NULL, "x", 1);
	close_body(&q.body, "b");
	req_done(&q);
	buf_reset(&err);
	CHECK_INT_EQ(intake_parse(&q.r, NULL, &up, &err), -EINVAL);
	CHECK(strstr(err.data, "missing the 'event' part") != NULL);
	intake_upload_release(&up);
	req_release(&q);

	req_init(&q, "b");
	add_part(&q.body, "b", "event", "event.json", NULL, "{\"start\":", 9);
	close_body(&q.body, "b");
	req_done(&q);
	buf_reset(&err);
	CHECK_INT_EQ(intake_parse(&q.r, NULL, &up, &err), -EINVAL);
	CHECK(strstr(err.data, "event.json is not a JSON object") != NULL);
	intake_upload_release(&up);
	req_release(&q);

	const char *ev = "{\"attachments\":[\"wall.pprof\"],\"start\":\"2026-01-01T00:00:00Z\","
			 "\"end\":\"2026-01-01T00:00:10Z\"}";
	req_init(&q, "b");
	add_part(&q.body, "b", "event", "event.json", NULL, ev, strlen(ev));
	close_body(&q.body, "b");
	req_done(&q);
	buf_reset(&err);
	CHECK_INT_EQ(intake_parse(&q.r, NULL, &up, &err), -EINVAL);
	CHECK(strstr(err.data, "lists attachment 'wall.pprof'") != NULL);
	intake_upload_release(&up);
	req_release(&q);

	/* No Content-Type at all. */
	req_init(&q, "b");
	q.r.nheaders = 0;
	req_done(&q);
	buf_reset(&err);
	CHECK_INT_EQ(intake_parse(&q.r, NULL, &up, &err), -EINVAL);
	CHECK(strstr(err.data, "multipart/form-data") != NULL);
	intake_upload_release(&up);
	req_release(&q);

	buf_release(&raw);
	buf_release(&err);
}

static void test_legacy(void)
{
	struct buf raw = BUF_INIT, err = BUF_INIT;
	struct intake_upload up;
	struct req q;
	read_fx(&raw, "parts/wall.pprof");

	/* v3 (2021): version, family, start, end, tags[], data[NAME]. */
	req_init(&q, "v3b");
	add_field(&q.body, "v3b", "version", "3");
	add_field(&q.body, "v3b", "family", "dotnet");
	add_field(&q.body, "v3b", "start", "2021-05-01T10:00:00Z");
	add_field(&q.body, "v3b", "end", "2021-05-01T10:01:00Z");
	add_field(&q.body, "v3b", "tags[]", "service:legacy-net");
	add_field(&q.body, "v3b", "tags[]", "env:staging");
	add_field(&q.body, "v3b", "tags[]", "host:box1");
	add_part(&q.body, "v3b", "data[auto.pprof]", "auto.pprof", "application/octet-stream",
		 raw.data, raw.len);
	close_body(&q.body, "v3b");
	req_done(&q);
	CHECK_INT_EQ(intake_parse(&q.r, NULL, &up, &err), 0);
	CHECK_STR_EQ(up.format, "v3");
	CHECK_STR_EQ(up.up.service, "legacy-net");
	CHECK_STR_EQ(up.up.env, "staging");
	CHECK_STR_EQ(up.up.host, "box1");
	CHECK_STR_EQ(up.up.family, "dotnet");
	CHECK_STR_EQ(up.up.language, "dotnet");
	CHECK_INT_EQ(up.up.end_ns - up.up.start_ns, 60000000000LL);
	CHECK_INT_EQ(up.up.nattachments, 1);
	if (up.up.nattachments == 1) {
		CHECK_STR_EQ(up.up.attachments[0].name, "auto.pprof");
		CHECK(up.up.attachments[0].pprof != NULL);
	}
	intake_upload_release(&up);
	req_release(&q);

	/* v1 (2019): recording-start/-end, format, runtime, types[0], data[0]. */
	req_init(&q, "v1b");
	add_field(&q.body, "v1b", "format", "pprof");
	add_field(&q.body, "v1b", "runtime", "go");
	add_field(&q.body, "v1b", "recording-start", "2019-12-01T00:00:00Z");
	add_field(&q.body, "v1b", "recording-end", "2019-12-01T00:01:00Z");
	add_field(&q.body, "v1b", "tags[]", "service:old-go");
	add_field(&q.body, "v1b", "types[0]", "samples,cpu");
	add_part(&q.body, "v1b", "data[0]", "pprof-data", "application/octet-stream", raw.data,
		 raw.len);
	close_body(&q.body, "v1b");
	req_done(&q);
	buf_reset(&err);
	CHECK_INT_EQ(intake_parse(&q.r, NULL, &up, &err), 0);
	CHECK_STR_EQ(up.format, "v1");
	CHECK_STR_EQ(up.up.service, "old-go");
	CHECK_STR_EQ(up.up.language, "go");
	CHECK_INT_EQ(up.up.nattachments, 1);
	if (up.up.nattachments == 1) {
		CHECK_STR_EQ(up.up.attachments[0].name, "profile-0.pprof");
		CHECK(up.up.attachments[0].pprof != NULL);
	}
	intake_upload_release(&up);
	req_release(&q);
	buf_release(&raw);
	buf_release(&err);
}

static void test_handle(void)
{
	struct rec_store st = {.base.ops = &rec_ops};
	struct req q;
	struct http_response resp;

	req_init(&q, "0543be709ca4dd10");
	read_fx(&q.body, "request.body");
	req_done(&q);
	memset(&resp, 0, sizeof(resp));
	intake_handle(&st.base, NULL, &q.r, &resp);
	CHECK_INT_EQ(resp.status, 200);
	CHECK_STR_EQ(resp.body.data, "{}");
	CHECK_INT_EQ(st.puts, 1);
	CHECK_STR_EQ(st.service, "capture-svc");
	CHECK_INT_EQ(st.nattachments, 3);
	CHECK_INT_EQ(st.raw_len, 24170);
	CHECK(st.cpu_cores > 1.0 && st.cpu_cores < 1.2);
	buf_release(&resp.body);

	/* Storage failing: 503 so clients retry. */
	st.fail = -EIO;
	memset(&resp, 0, sizeof(resp));
	intake_handle(&st.base, NULL, &q.r, &resp);
	CHECK_INT_EQ(resp.status, 503);
	CHECK(strstr(resp.body.data, "\"error\"") != NULL);
	buf_release(&resp.body);
	memset(&resp, 0, sizeof(resp));
	intake_handle(NULL, NULL, &q.r, &resp);
	CHECK_INT_EQ(resp.status, 503);
	buf_release(&resp.body);
	req_release(&q);

	/* Malformed: 400 with a JSON message; escaping keeps it valid JSON. */
	st.fail = 0;
	req_init(&q, "\"<b>\"");
	buf_puts(&q.body, "--<b>\r\n\r\n--<b>--");
	req_done(&q);
	memset(&resp, 0, sizeof(resp));
	intake_handle(&st.base, NULL, &q.r, &resp);
	CHECK_INT_EQ(resp.status, 400);
	CHECK(resp.body.data && resp.body.data[0] == '{' && !strchr(resp.body.data, '<'));
	CHECK_INT_EQ(st.puts, 1);
	buf_release(&resp.body);
	req_release(&q);
}

int main(void)
{
	RUN(test_time_and_tags);
	RUN(test_dd_trace_js_fixture);
	RUN(test_compressions);
	RUN(test_malformed);
	RUN(test_legacy);
	RUN(test_handle);
	return test_done();
}
