/*
 * fuzz_server_multipart: the streaming multipart parser on arbitrary bodies. The first byte
 * chooses the piece size the body is fed in; whatever the split, the parts found and their
 * bytes must be the same as when the body is fed at once (checked with a running hash), and
 * part_start/part_end must slice the body to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct st {
	struct multipart_parser *mp;
	const uint8_t *body;
	uint64_t hash;
	uint64_t slice_hash;
	size_t parts;
};

static void mix(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		*h = (*h ^ b[i]) * 1099511628211ULL;
}

static int on_begin(void *ctx, const struct multipart_part *p)
{
	struct st *s = ctx;
	mix(&s->hash, p->name, strlen(p->name) + 1);
	if (p->filename)
		mix(&s->hash, p->filename, strlen(p->filename) + 1);
	if (p->content_type)
		mix(&s->hash, p->content_type, strlen(p->content_type) + 1);
	return 0;
}

static int on_data(void *ctx, const uint8_t *d, size_t n)
{
	struct st *s = ctx;
	mix(&s->hash, d, n);
	return 0;
}

static int on_end(void *ctx)
{
	struct st *s = ctx;
	s->parts++;
	if (s->mp->part_end < s->mp->part_start)
		abort();
	mix(&s->slice_hash, s->body + s->mp->part_start, s->mp->part_end - s->mp->part_start);
	return 0;
}

static const struct multipart_callbacks cb = {on_begin, on_data, on_end};

static int run(const uint8_t *body, size_t len, size_t step, struct st *s)
{
	struct multipart_parser mp;
	memset(s, 0, sizeof(*s));
	s->mp = &mp;
	s->body = body;
	if (multipart_init(&mp, "XyZ", &cb, s) < 0)
		abort();
	int ret = 0;
	for (size_t off = 0; off < len && ret == 0; off += step)
		ret = multipart_feed(&mp, body + off, len - off < step ? len - off : step);
	if (ret == 0)
		ret = multipart_finish(&mp);
	if (ret < 0 && !multipart_error(&mp)[0])
		abort(); /* every failure explains itself */
	multipart_release(&mp);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = data[0] ? data[0] : 1;
	const uint8_t *body = data + 1;
	size_t len = size - 1;
	struct st whole, split;
	int a = run(body, len, len ? len : 1, &whole);
	int b = run(body, len, step, &split);
	if (a != b || whole.parts != split.parts || whole.hash != split.hash)
		abort();
	/* Slicing by offsets gives the streamed bytes (data hashes only; the headers were
	 * mixed into hash too, so compare slices between the two runs). */
	if (whole.slice_hash != split.slice_hash)
		abort();

	/* The Content-Type parser on the same bytes. */
	char ct[256], out[MULTIPART_MAX_BOUNDARY + 1];
	size_t n = len < sizeof(ct) - 1 ? len : sizeof(ct) - 1;
	memcpy(ct, body, n);
	ct[n] = '\0';
	if (multipart_boundary(ct, out, sizeof(out)) == 0 &&
	    (!out[0] || strlen(out) > MULTIPART_MAX_BOUNDARY))
		abort();
	return 0;
}
