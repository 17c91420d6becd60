/* Unit tests for the streaming multipart parser (server/multipart.h). */
#include <errno.h>

#include "base/buf.h"
#include "server/multipart.h"
#include "test.h"

struct rec_part {
	char name[64];
	char filename[64];
	char ctype[64];
	bool has_filename, has_ctype;
	struct buf data;
	size_t start, end;
};

struct rec {
	struct multipart_parser *mp;
	struct rec_part parts[16];
	size_t n;
	int fail_at_begin; /* part index whose begin fails, or -1 */
};

static int rec_begin(void *ctx, const struct multipart_part *p)
{
	struct rec *r = ctx;
	if ((int)r->n == r->fail_at_begin)
		return -ECANCELED;
	if (r->n >= 16)
		return -E2BIG;
	struct rec_part *rp = &r->parts[r->n];
	memset(rp, 0, sizeof(*rp));
	snprintf(rp->name, sizeof(rp->name), "%s", p->name);
	if (p->filename) {
		rp->has_filename = true;
		snprintf(rp->filename, sizeof(rp->filename), "%s", p->filename);
	}
	if (p->content_type) {
		rp->has_ctype = true;
		snprintf(rp->ctype, sizeof(rp->ctype), "%s", p->content_type);
	}
	rp->start = r->mp->part_start;
	return 0;
}

static int rec_data(void *ctx, const uint8_t *d, size_t n)
{
	struct rec *r = ctx;
	return buf_append(&r->parts[r->n].data, d, n);
}

static int rec_end(void *ctx)
{
	struct rec *r = ctx;
	r->parts[r->n].end = r->mp->part_end;
	r->n++;
	return 0;
}

static const struct multipart_callbacks rec_cb = {rec_begin, rec_data, rec_end};

static void rec_release(struct rec *r)
{
	for (size_t i = 0; i < 16; i++)
		buf_release(&r->parts[i].data);
}

/* Parses body in pieces of `step` bytes (0 = all at once). Returns the result of finish. */
static int run(struct rec *r, const char *boundary, const void *body, size_t len, size_t step,
	       struct buf *errmsg)
{
	struct multipart_parser mp;
	memset(r, 0, sizeof(*r));
	r->mp = &mp;
	r->fail_at_begin = -1;
	int ret = multipart_init(&mp, boundary, &rec_cb, r);
	if (ret < 0)
		return ret;
	const uint8_t *b = body;
	if (!step)
		step = len ? len : 1;
	for (size_t off = 0; off < len && ret == 0; off += step)
		ret = multipart_feed(&mp, b + off, off + step > len ? len - off : step);
	if (ret == 0)
		ret = multipart_finish(&mp);
	if (errmsg) {
		buf_reset(errmsg);
		buf_puts(errmsg, multipart_error(&mp));
	}
	multipart_release(&mp);
	return ret;
}

static void test_boundary_param(void)
{
	char b[256];
	CHECK_INT_EQ(
	    multipart_boundary("multipart/form-data; boundary=641c19e98397f9a5", b, sizeof(b)), 0);
	CHECK_STR_EQ(b, "641c19e98397f9a5");
	CHECK_INT_EQ(
	    multipart_boundary("Multipart/Form-Data;boundary=\"a b;c\"; charset=x", b, sizeof(b)),
	    0);
	CHECK_STR_EQ(b, "a b;c");
	CHECK_INT_EQ(
	    multipart_boundary("multipart/form-data; charset=utf-8; BOUNDARY=xyz", b, sizeof(b)),
	    0);
	CHECK_STR_EQ(b, "xyz");
	CHECK(multipart_boundary("application/json", b, sizeof(b)) < 0);
	CHECK(multipart_boundary("multipart/form-data", b, sizeof(b)) < 0);
	CHECK(multipart_boundary("multipart/form-data; boundary=", b, sizeof(b)) < 0);
	CHECK(multipart_boundary("multipart/form-data; boundary=\"unterminated", b, sizeof(b)) < 0);
	CHECK(multipart_boundary(NULL, b, sizeof(b)) < 0);
	CHECK(multipart_boundary("multipart/form-data; boundary=abcdef", b, 4) < 0);
}

#define SIMPLE                                                                                     \
	"--XyZ\r\n"                                                                                \
	"Content-Disposition: form-data; name=\"event\"; filename=\"event.json\"\r\n"              \
	"Content-Type: application/json\r\n"                                                       \
	"\r\n"                                                                                     \
	"{\"a\":1}\r\n"                                                                            \
	"--XyZ\r\n"                                                                                \
	"content-disposition: form-data; name=tags[]\r\n"                                          \
	"\r\n"                                                                                     \
	"env:prod\r\n"                                                                             \
	"--XyZ\r\n"                                                                                \
	"Content-Disposition: form-data; name=\"bin\"; filename=\"x.pprof\"\r\n"                   \
	"\r\n"                                                                                     \
	"\r\n--Xy\r\n--XyZZ\r\r\n\r\n-\r\n--X\r\n"                                                 \
	"--XyZ--\r\n"

static void check_simple(const struct rec *r, const char *body)
{
	CHECK_INT_EQ(r->n, 3);
	CHECK_STR_EQ(r->parts[0].name, "event");
	CHECK_STR_EQ(r->parts[0].filename, "event.json");
	CHECK_STR_EQ(r->parts[0].ctype, "application/json");
	CHECK_INT_EQ(r->parts[0].data.len, 7);
	CHECK(r->parts[0].data.data && !memcmp(r->parts[0].data.data, "{\"a\":1}", 7));
	CHECK_STR_EQ(r->parts[1].name, "tags[]");
	CHECK(!r->parts[1].has_filename && !r->parts[1].has_ctype);
	CHECK_STR_EQ(r->parts[1].data.data, "env:prod");
	CHECK_STR_EQ(r->parts[2].filename, "x.pprof");
	/* Offsets slice the body exactly like the streamed data. */
	for (size_t i = 0; i < r->n; i++) {
		CHECK_INT_EQ(r->parts[i].end - r->parts[i].start, r->parts[i].data.len);
		CHECK(!memcmp(body + r->parts[i].start,
			      r->parts[i].data.data ? r->parts[i].data.data : "",
			      r->parts[i].data.len));
	}
}

static void test_simple_every_split(void)
{
	/* "\r\n--XyZZ" does contain the delimiter "\r\n--XyZ": the part ends there and "Z" is
	 * garbage after the boundary. Use a body without that ambiguity for the split test. */
	const char *body = "preamble text\r\n" SIMPLE;
	struct rec r;
	struct buf err = BUF_INIT;
	int ret = run(&r, "XyZ", body, strlen(body), 0, &err);
	CHECK(ret == -EINVAL);
	CHECK(strstr(err.data, "garbage after a boundary") != NULL);
	rec_release(&r);

	const char *body2 =
	    "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"event\"; filename=\"event.json\"\r\n"
	    "Content-Type: application/json\r\n"
	    "\r\n"
	    "{\"a\":1}\r\n"
	    "--XyZ  \r\n"
	    "content-disposition: form-data; name=tags[]\r\n"
	    "\r\n"
	    "env:prod\r\n"
	    "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"bin\"; filename=\"x.pprof\"\r\n"
	    "\r\n"
	    "\r\n--Xy\r\n-XyZ\r\r\n\r\n-\r\n--X\r--XyZ\n--\r\n\r\n--X"
	    "\r\n--XyZ--\r\nepilogue";
	for (size_t step = 0; step <= strlen(body2); step++) {
		ret = run(&r, "XyZ", body2, strlen(body2), step, &err);
		CHECK_INT_EQ(ret, 0);
		check_simple(&r, body2);
		const char *want = "\r\n--Xy\r\n-XyZ\r\r\n\r\n-\r\n--X\r--XyZ\n--\r\n\r\n--X";
		CHECK_INT_EQ(r.parts[2].data.len, strlen(want));
		CHECK(r.parts[2].data.data && !memcmp(r.parts[2].data.data, want, strlen(want)));
		rec_release(&r);
	}
	buf_release(&err);
}

static void test_errors(void)
{
	struct rec r;
	struct buf err = BUF_INIT;
	const char *truncated = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc";
	CHECK_INT_EQ(run(&r, "b", truncated, strlen(truncated), 0, &err), -EINVAL);
	CHECK(strstr(err.data, "truncated") != NULL);
	rec_release(&r);

	const char *no_end =
	    "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc\r\n--b\r\n";
	CHECK_INT_EQ(run(&r, "b", no_end, strlen(no_end), 0, &err), -EINVAL);
	rec_release(&r);

	const char *wrong = "--other\r\n\r\nabc\r\n--other--\r\n";
	CHECK_INT_EQ(run(&r, "b", wrong, strlen(wrong), 0, &err), -EINVAL);
	CHECK(strstr(err.data, "never occurs") != NULL);
	CHECK_INT_EQ(r.n, 0);
	rec_release(&r);

	const char *lf_only = "--b\nContent-Disposition: form-data; name=\"a\"\n\nabc\n--b--\n";
	CHECK_INT_EQ(run(&r, "b", lf_only, strlen(lf_only), 0, &err), -EINVAL);
	rec_release(&r);

	const char *bad_header = "--b\r\nno colon here\r\n\r\nabc\r\n--b--";
	CHECK_INT_EQ(run(&r, "b", bad_header, strlen(bad_header), 0, &err), -EINVAL);
	CHECK(strstr(err.data, "malformed part header") != NULL);
	rec_release(&r);

	CHECK_INT_EQ(run(&r, "b", "", 0, 0, &err), -EINVAL);
	rec_release(&r);

	/* Oversized header block. */
	struct buf big = BUF_INIT;
	buf_puts(&big, "--b\r\nX-Long: ");
	for (int i = 0; i < 20000; i++)
		buf_putc(&big, 'a');
	buf_puts(&big, "\r\n\r\nx\r\n--b--");
	CHECK_INT_EQ(run(&r, "b", big.data, big.len, 0, &err), -EINVAL);
	CHECK(strstr(err.data, "16 KiB") != NULL);
	rec_release(&r);
	buf_release(&big);

	/* A callback's error stops the parse and is returned as is. */
	struct multipart_parser mp;
	memset(&r, 0, sizeof(r));
	r.mp = &mp;
	r.fail_at_begin = 0;
	multipart_init(&mp, "b", &rec_cb, &r);
	const char *ok = "--b\r\n\r\nx\r\n--b--";
	CHECK_INT_EQ(multipart_feed(&mp, (const uint8_t *)ok, strlen(ok)), -ECANCELED);
	multipart_release(&mp);
	rec_release(&r);

	CHECK(multipart_init(&mp, "", &rec_cb, &r) < 0);
	buf_release(&err);
}

static void test_no_headers_and_close_without_crlf(void)
{
	struct rec r;
	const char *body = "--b\r\n\r\nraw\r\n--b--";
	CHECK_INT_EQ(run(&r, "b", body, strlen(body), 1, NULL), 0);
	CHECK_INT_EQ(r.n, 1);
	CHECK_STR_EQ(r.parts[0].name, "");
	CHECK_STR_EQ(r.parts[0].data.data, "raw");
	rec_release(&r);
}

static void test_dd_trace_js_body(void)
{
	struct buf body = BUF_INIT;
	struct rec r;
	CHECK(buf_read_file(&body, test_fixture("dd-trace-js/node22-gzip-periodic/request.body"),
			    0) == 0);
	static const char *const names[] = {"event", "space.pprof", "events.pprof", "wall.pprof"};
	static const char *const files[] = {"parts/event.json", "parts/space.pprof",
					    "parts/events.pprof", "parts/wall.pprof"};
	/* Whole, then in the chunk sizes dd-trace-js used, then in 7-byte pieces. */
	size_t steps[] = {0, 20, 7, 4096};
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		CHECK_INT_EQ(run(&r, "0543be709ca4dd10", body.data, body.len, steps[s], NULL), 0);
		CHECK_INT_EQ(r.n, 4);
		for (size_t i = 0; i < 4 && i < r.n; i++) {
			CHECK_STR_EQ(r.parts[i].name, names[i]);
			struct buf want = BUF_INIT;
			char rel[256];
			snprintf(rel, sizeof(rel), "dd-trace-js/node22-gzip-periodic/%s", files[i]);
			CHECK(buf_read_file(&want, test_fixture(rel), 0) == 0);
			CHECK_INT_EQ(r.parts[i].data.len, want.len);
			CHECK(r.parts[i].data.len == want.len &&
			      !memcmp(r.parts[i].data.data, want.data, want.len));
			buf_release(&want);
		}
		CHECK_STR_EQ(r.parts[0].filename, "event.json");
		CHECK_STR_EQ(r.parts[3].ctype, "application/octet-stream");
		rec_release(&r);
	}
	buf_release(&body);
}

int main(void)
{
	RUN(test_boundary_param);
	RUN(test_simple_every_split);
	RUN(test_errors);
	RUN(test_no_headers_and_close_without_crlf);
	RUN(test_dd_trace_js_body);
	return test_done();
}
