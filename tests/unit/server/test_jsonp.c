/* Unit tests for the JSON parser (server/jsonp.h). */
#include <errno.h>
#include <math.h>

#include "base/buf.h"
#include "server/jsonp.h"
#include "test.h"

static const struct jsonp_value *parse(struct arena *a, const char *s, struct buf *err)
{
	buf_reset(err);
	return jsonp_parse(a, s, strlen(s), err);
}

static void test_event_json(void)
{
	struct arena a;
	struct buf err = BUF_INIT;
	arena_init(&a, 0);
	const char *doc =
	    "{\"attachments\":[\"space.pprof\",\"wall.pprof\"],\"start\":\"2026-11-24T22:14:09."
	    "488Z\","
	    "\"version\":\"4\",\"endpoint_counts\":{\"GET\":86},\"n\":-1.5e3,\"t\":true,"
	    "\"f\":false,\"z\":null,\"info\": {\"a\": [1, 2, {\"b\": \"c\"}]} }";
	const struct jsonp_value *v = parse(&a, doc, &err);
	CHECK(v != NULL);
	if (!v)
		goto out;
	CHECK_INT_EQ(v->type, JSONP_OBJECT);
	CHECK_INT_EQ(v->count, 9);
	CHECK_STR_EQ(jsonp_get_str(v, "start"), "2026-11-24T22:14:09.488Z");
	CHECK_STR_EQ(jsonp_get_str(v, "version"), "4");
	const struct jsonp_value *att = jsonp_get(v, "attachments");
	CHECK(att && att->type == JSONP_ARRAY && att->count == 2);
	CHECK_STR_EQ(att->first->str, "space.pprof");
	CHECK_STR_EQ(att->first->next->str, "wall.pprof");
	CHECK(att->first->next->next == NULL);
	const struct jsonp_value *ec = jsonp_get(v, "endpoint_counts");
	CHECK(ec && jsonp_get(ec, "GET") && jsonp_get(ec, "GET")->number == 86);
	CHECK(jsonp_get(v, "n")->number == -1500);
	CHECK(jsonp_get(v, "t")->type == JSONP_BOOL && jsonp_get(v, "t")->boolean);
	CHECK(jsonp_get(v, "f")->type == JSONP_BOOL && !jsonp_get(v, "f")->boolean);
	CHECK(jsonp_get(v, "z")->type == JSONP_NULL);
	CHECK(jsonp_get_str(v, "n") == NULL);
	CHECK(jsonp_get(v, "missing") == NULL);
	const struct jsonp_value *info = jsonp_get(v, "info");
	CHECK(info && info->raw_len == strlen("{\"a\": [1, 2, {\"b\": \"c\"}]}"));
	CHECK(info && !memcmp(info->raw, "{\"a\": [1, 2, {\"b\": \"c\"}]}", info->raw_len));
out:
	buf_release(&err);
	arena_release(&a);
}

static void test_escapes(void)
{
	struct arena a;
	struct buf err = BUF_INIT;
	arena_init(&a, 0);
	const struct jsonp_value *v =
	    parse(&a, "\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\u20ac\\ud83d\\ude00\\u0000x\"", &err);
	CHECK(v && v->type == JSONP_STRING);
	if (v) {
		const char want[] = "a\"b\\c/d\n\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0x";
		CHECK_INT_EQ(v->len, sizeof(want) - 1);
		CHECK(!memcmp(v->str, want, sizeof(want) - 1));
	}
	buf_release(&err);
	arena_release(&a);
}

static void test_rejects(void)
{
	static const char *const bad[] = {
	    "",	   "{",	   "{\"a\"}", "{\"a\":1,}",    "[1,]",	  "[1 2]",     "01",	      "1.",
	    "-",   "1e",   "\"abc",   "\"a\x01\"",     "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "tru",
	    "nul", "{} x", "{a:1}",   "[\"\\udc00\"]", "+1",	  ".5",	       "{\"a\" 1}",   "[",
	};
	struct arena a;
	struct buf err = BUF_INIT;
	arena_init(&a, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		const struct jsonp_value *v = parse(&a, bad[i], &err);
		if (v)
			fprintf(stderr, "accepted bad JSON: %s\n", bad[i]);
		CHECK(v == NULL);
		CHECK(errno == EINVAL);
		CHECK(err.len > 0 && strstr(err.data, "offset") != NULL);
	}
	buf_release(&err);
	arena_release(&a);
}

static void test_depth(void)
{
	struct arena a;
	struct buf err = BUF_INIT;
	struct buf doc = BUF_INIT;
	arena_init(&a, 0);
	for (int i = 0; i < 10000; i++)
		buf_putc(&doc, '[');
	CHECK(jsonp_parse(&a, doc.data, doc.len, &err) == NULL);
	CHECK(strstr(err.data, "too deep") != NULL);
	buf_reset(&doc);
	for (int i = 0; i < JSONP_MAX_DEPTH; i++)
		buf_putc(&doc, '[');
	for (int i = 0; i < JSONP_MAX_DEPTH; i++)
		buf_putc(&doc, ']');
	buf_reset(&err);
	CHECK(jsonp_parse(&a, doc.data, doc.len, &err) != NULL);
	buf_release(&doc);
	buf_release(&err);
	arena_release(&a);
}

static void test_fixture_event(void)
{
	struct arena a;
	struct buf err = BUF_INIT;
	struct buf doc = BUF_INIT;
	arena_init(&a, 0);
	CHECK(buf_read_file(&doc, test_fixture("dd-trace-js/node22-gzip-periodic/parts/event.json"),
			    0) == 0);
	const struct jsonp_value *v = jsonp_parse(&a, doc.data, doc.len, &err);
	CHECK(v != NULL);
	CHECK_STR_EQ(jsonp_get_str(v, "family"), "node");
	CHECK_STR_EQ(jsonp_get_str(v, "version"), "4");
	CHECK(jsonp_get(v, "attachments") && jsonp_get(v, "attachments")->count == 3);
	const struct jsonp_value *rt = jsonp_get(jsonp_get(v, "info"), "runtime");
	CHECK_STR_EQ(jsonp_get_str(rt, "engine"), "nodejs");
	buf_release(&doc);
	buf_release(&err);
	arena_release(&a);
}

int main(void)
{
	RUN(test_event_json);
	RUN(test_escapes);
	RUN(test_rejects);
	RUN(test_depth);
	RUN(test_fixture_event);
	return test_done();
}
