/*
 * test_decode: the pprof decoder, encoder and compression on the dd-trace-js fixture, on
 * profiles built here, and on hand-built malformed bytes (one per class of bad input).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "pprof/pprof.h"
#include "test.h"

#define WALL "dd-trace-js/node22-gzip-periodic/parts/wall.pprof"

/* ---- a tiny protobuf writer for hand-built inputs ---------------------------------------- */

static void pv(struct buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	buf_append(b, tmp, n);
}

static void tag(struct buf *b, unsigned field, unsigned wt)
{
	pv(b, (uint64_t)field << 3 | wt);
}

static void fv(struct buf *b, unsigned field, uint64_t v)
{
	tag(b, field, 0);
	pv(b, v);
}

static void fbytes(struct buf *b, unsigned field, const void *d, size_t n)
{
	tag(b, field, 2);
	pv(b, n);
	buf_append(b, d, n);
}

/* Appends message m as field `field` of b and empties m. */
static void fmsg(struct buf *b, unsigned field, struct buf *m)
{
	fbytes(b, field, m->data, m->len);
	buf_reset(m);
}

static void fstr(struct buf *b, const char *s)
{
	fbytes(b, 6, s, strlen(s));
}

/* Strings "", "cpu", "count", "main"; one sample type; function 1; location 1. */
static void base_profile(struct buf *b)
{
	struct buf m = BUF_INIT;
	fv(&m, 1, 1);
	fv(&m, 2, 2);
	fmsg(b, 1, &m);
	fv(&m, 1, 1);
	fv(&m, 2, 3);
	fmsg(b, 5, &m);
	struct buf line = BUF_INIT;
	fv(&line, 1, 1);
	fv(&line, 2, 7);
	fv(&m, 1, 1);
	fmsg(&m, 4, &line);
	fmsg(b, 4, &m);
	fstr(b, "");
	fstr(b, "cpu");
	fstr(b, "count");
	fstr(b, "main");
	buf_release(&m);
	buf_release(&line);
}

static int decode_buf(const struct buf *b, struct pprof_profile *p, struct buf *err)
{
	buf_reset(err);
	return pprof_decode((const uint8_t *)b->data, b->len, NULL, p, err);
}

/* Decodes b, expecting failure rc with `needle` in the message. */
static void expect_bad(const struct buf *b, int rc, const char *needle, int line)
{
	struct pprof_profile p;
	struct buf err = BUF_INIT;
	int got = decode_buf(b, &p, &err);
	if (got != rc || !err.data || !strstr(err.data, needle)) {
		fprintf(stderr, "test_decode.c:%d: expected %d with '%s', got %d '%s'\n", line, rc,
			needle, got, err.data ? err.data : "");
		test_checks_failed++;
	}
	if (err.data && strchr(err.data, '\n')) {
		fprintf(stderr, "test_decode.c:%d: error is not one line\n", line);
		test_checks_failed++;
	}
	buf_release(&err);
}

#define EXPECT_BAD(b, rc, needle) expect_bad((b), (rc), (needle), __LINE__)

/* ---- the fixture ------------------------------------------------------------------------- */

static const char *leaf_name(const struct pprof_profile *p, const struct pprof_sample *s)
{
	if (!s->nlocations)
		return "";
	const struct pprof_location *l = pprof_location_by_id(p, s->location_ids[0]);
	if (!l || !l->nlines)
		return "";
	const struct pprof_function *f = pprof_function_by_id(p, l->lines[0].function_id);
	return f ? pprof_str(p, f->name) : "";
}

static void leaf_shares(const struct pprof_profile *p, int type, double *a, double *b)
{
	int64_t total = 0, ha = 0, hb = 0;
	for (size_t i = 0; i < p->samples.len; i++) {
		const struct pprof_sample *s = &p->samples.items[i];
		int64_t v = s->values[type];
		const char *name = leaf_name(p, s);
		total += v;
		if (!strcmp(name, "hotA"))
			ha += v;
		else if (!strcmp(name, "hotB"))
			hb += v;
	}
	*a = total ? 100.0 * (double)ha / (double)total : 0;
	*b = total ? 100.0 * (double)hb / (double)total : 0;
}

static bool near(double a, double b)
{
	return a - b < 0.005 && b - a < 0.005;
}

static void test_fixture_wall(void)
{
	struct pprof_profile p;
	struct buf err = BUF_INIT;
	int rc = pprof_read_file(test_fixture(WALL), NULL, &p, &err);
	CHECK_INT_EQ(rc, 0);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err.data);
		buf_release(&err);
		return;
	}
	CHECK_INT_EQ(p.sample_types.len, 3);
	CHECK_STR_EQ(pprof_str(&p, p.sample_types.items[0].type), "sample");
	CHECK_STR_EQ(pprof_str(&p, p.sample_types.items[0].unit), "count");
	CHECK_STR_EQ(pprof_str(&p, p.sample_types.items[1].type), "wall");
	CHECK_STR_EQ(pprof_str(&p, p.sample_types.items[1].unit), "nanoseconds");
	CHECK_STR_EQ(pprof_str(&p, p.sample_types.items[2].type), "cpu");
	CHECK_STR_EQ(pprof_str(&p, p.sample_types.items[2].unit), "nanoseconds");
	CHECK_INT_EQ(pprof_sample_type_index(&p, "cpu"), 2);
	CHECK_INT_EQ(pprof_sample_type_index(&p, "nope"), -1);
	CHECK_INT_EQ(p.samples.len, 959);
	double a, b;
	leaf_shares(&p, 0, &a, &b);
	CHECK(near(a, 62.53));
	CHECK(near(b, 27.04));
	leaf_shares(&p, 1, &a, &b);
	CHECK(near(a, 62.53));
	CHECK(near(b, 27.04));
	leaf_shares(&p, 2, &a, &b);
	CHECK(near(a, 55.82));
	CHECK(near(b, 24.34));
	int64_t total = 0;
	for (size_t i = 0; i < p.samples.len; i++)
		total += p.samples.items[i].values[1];
	CHECK_INT_EQ(total, 10065706000LL);
	/* Labels: "thread name" is a string label on the samples. */
	int64_t key = strtab_find(&p.strings, "thread name", strlen("thread name"));
	CHECK(key > 0);
	bool found = false;
	for (size_t i = 0; i < p.samples.len && !found; i++)
		for (size_t j = 0; j < p.samples.items[i].nlabels; j++)
			if (p.samples.items[i].labels[j].key == key &&
			    p.samples.items[i].labels[j].str > 0)
				found = true;
	CHECK(found);

	/* The raw (uncompressed) attachment decodes to the same profile. */
	struct pprof_profile raw;
	CHECK_INT_EQ(pprof_read_file(test_fixture(WALL ".raw"), NULL, &raw, &err), 0);
	CHECK(pprof_profile_equal(&p, &raw, &err));
	pprof_profile_release(&raw);
	pprof_profile_release(&p);
	buf_release(&err);
}

static void test_fixture_space_events(void)
{
	struct pprof_profile p;
	struct buf err = BUF_INIT;
	CHECK_INT_EQ(
	    pprof_read_file(test_fixture("dd-trace-js/node22-gzip-periodic/parts/space.pprof"),
			    NULL, &p, &err),
	    0);
	CHECK_INT_EQ(p.sample_types.len, 2);
	CHECK_STR_EQ(pprof_str(&p, p.sample_types.items[0].type), "inuse_objects");
	CHECK_STR_EQ(pprof_str(&p, p.sample_types.items[1].unit), "bytes");
	CHECK_INT_EQ(p.period, 524288);
	CHECK(p.samples.len > 0);
	pprof_profile_release(&p);

	CHECK_INT_EQ(
	    pprof_read_file(test_fixture("dd-trace-js/node22-gzip-periodic/parts/events.pprof"),
			    NULL, &p, &err),
	    0);
	CHECK_INT_EQ(p.sample_types.len, 1);
	CHECK_STR_EQ(pprof_str(&p, p.sample_types.items[0].type), "timeline");
	int64_t key = strtab_find(&p.strings, "event", 5);
	CHECK(key > 0);
	int64_t gc = strtab_find(&p.strings, "gc", 2);
	bool found = false;
	for (size_t i = 0; i < p.samples.len; i++)
		for (size_t j = 0; j < p.samples.items[i].nlabels; j++)
			if (p.samples.items[i].labels[j].key == key &&
			    p.samples.items[i].labels[j].str == gc)
				found = true;
	CHECK(found);
	pprof_profile_release(&p);
	buf_release(&err);
}

/* decode(encode(p)) == p, and the encoding is canonical (a fixed point). */
static void test_roundtrip_fixture(void)
{
	static const char *files[] = {WALL, "dd-trace-js/node22-gzip-periodic/parts/space.pprof",
				      "dd-trace-js/node22-gzip-periodic/parts/events.pprof"};
	for (size_t f = 0; f < 3; f++) {
		struct pprof_profile p, q;
		struct buf err = BUF_INIT, enc = BUF_INIT, enc2 = BUF_INIT;
		CHECK_INT_EQ(pprof_read_file(test_fixture(files[f]), NULL, &p, &err), 0);
		CHECK_INT_EQ(pprof_encode(&p, &enc), 0);
		CHECK_INT_EQ(decode_buf(&enc, &q, &err), 0);
		CHECK(pprof_profile_equal(&p, &q, &err));
		CHECK_INT_EQ(pprof_encode(&q, &enc2), 0);
		CHECK(enc.len == enc2.len && !memcmp(enc.data, enc2.data, enc.len));
		if (err.len)
			fprintf(stderr, "%s: %s\n", files[f], err.data);
		pprof_profile_release(&p);
		pprof_profile_release(&q);
		buf_release(&err);
		buf_release(&enc);
		buf_release(&enc2);
	}
}

/* Every field of profile.proto, with extremes: negative numbers, 64-bit values. */
static void fill_everything(struct pprof_profile *p)
{
	const char *strs[] = {"cpu",   "nanoseconds", "samples", "count", "main",
			      "_main", "a.c",	      "libc.so", "abcd",  "key",
			      "val",   "bytes",	      "drop.*",	 "keep",  "hi"};
	for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++)
		strtab_add(&p->strings, strs[i], strlen(strs[i]));
	struct pprof_value_type st[2] = {{1, 2}, {3, 4}};
	vec_push(&p->sample_types, st[0]);
	vec_push(&p->sample_types, st[1]);
	struct pprof_mapping m = {.id = 7,
				  .memory_start = 0x400000,
				  .memory_limit = UINT64_MAX,
				  .file_offset = 0x1000,
				  .filename = 8,
				  .build_id = 9,
				  .has_functions = true,
				  .has_line_numbers = true,
				  .has_inline_frames = true};
	vec_push(&p->mappings, m);
	struct pprof_function fn[2] = {
	    {.id = 3, .name = 5, .system_name = 6, .filename = 7, .start_line = 10},
	    {.id = 1ULL << 62, .name = 15, .start_line = -1}};
	vec_push(&p->functions, fn[0]);
	vec_push(&p->functions, fn[1]);
	struct pprof_line *lines = arena_alloc(&p->arena, 2 * sizeof(*lines));
	lines[0] = (struct pprof_line){.function_id = 1ULL << 62, .line = 12, .column = 3};
	lines[1] = (struct pprof_line){.function_id = 3, .line = -5};
	struct pprof_location l1 = {.id = 100,
				    .mapping_id = 7,
				    .address = 0x401234,
				    .lines = lines,
				    .nlines = 2,
				    .is_folded = true};
	struct pprof_location l2 = {.id = 2, .address = UINT64_MAX};
	vec_push(&p->locations, l1);
	vec_push(&p->locations, l2);
	uint64_t *locs = arena_alloc(&p->arena, 3 * sizeof(*locs));
	locs[0] = 100;
	locs[1] = 2;
	locs[2] = 100;
	int64_t *vals = arena_alloc(&p->arena, 4 * sizeof(*vals));
	vals[0] = -1;
	vals[1] = INT64_MAX;
	vals[2] = INT64_MIN;
	vals[3] = 0;
	struct pprof_label *labels = arena_alloc(&p->arena, 2 * sizeof(*labels));
	labels[0] = (struct pprof_label){.key = 10, .str = 11};
	labels[1] = (struct pprof_label){.key = 10, .num = -42, .num_unit = 12};
	struct pprof_sample s1 = {locs, 3, vals, 2, labels, 2};
	struct pprof_sample s2 = {NULL, 0, vals + 2, 2, NULL, 0};
	vec_push(&p->samples, s1);
	vec_push(&p->samples, s2);
	p->drop_frames = 13;
	p->keep_frames = 14;
	p->time_nanos = 1732488000123456789LL;
	p->duration_nanos = 10000000000LL;
	p->period_type = (struct pprof_value_type){1, 2};
	p->period = 10101010;
	vec_push(&p->comments, 15);
	vec_push(&p->comments, 5);
	p->default_sample_type = 1;
}

static void test_roundtrip_everything(void)
{
	struct pprof_profile p, q;
	struct buf enc = BUF_INIT, err = BUF_INIT, z = BUF_INIT;
	CHECK_INT_EQ(pprof_profile_init(&p), 0);
	fill_everything(&p);
	CHECK_INT_EQ(pprof_profile_index(&p), 0);
	CHECK(pprof_location_by_id(&p, 100) == &p.locations.items[0]);
	CHECK(pprof_function_by_id(&p, 1ULL << 62) == &p.functions.items[1]);
	CHECK(pprof_mapping_by_id(&p, 8) == NULL);
	CHECK_INT_EQ(pprof_encode(&p, &enc), 0);
	CHECK_INT_EQ(decode_buf(&enc, &q, &err), 0);
	CHECK(pprof_profile_equal(&p, &q, &err));
	if (err.len)
		fprintf(stderr, "%s\n", err.data);
	pprof_profile_release(&q);

	/* The same through gzip and zstd, and through a file. */
	for (int c = PPROF_COMPRESSION_GZIP; c <= PPROF_COMPRESSION_ZSTD; c++) {
		buf_reset(&z);
		CHECK_INT_EQ(pprof_compress(c, 0, (const uint8_t *)enc.data, enc.len, &z), 0);
		CHECK_INT_EQ(pprof_sniff((const uint8_t *)z.data, z.len), c);
		CHECK_INT_EQ(decode_buf(&z, &q, &err), 0);
		CHECK(pprof_profile_equal(&p, &q, NULL));
		pprof_profile_release(&q);
	}
	char path[] = "/tmp/kiln-pprof-test-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	CHECK_INT_EQ(pprof_write_file(&p, path, &err), 0);
	CHECK_INT_EQ(pprof_read_file(path, NULL, &q, &err), 0);
	CHECK(pprof_profile_equal(&p, &q, NULL));
	unlink(path);
	pprof_profile_release(&q);
	pprof_profile_release(&p);
	buf_release(&enc);
	buf_release(&err);
	buf_release(&z);
}

/* ---- compression ------------------------------------------------------------------------- */

/* zstd through the streaming API without a pledged size: the frame has no content size. */
static void zstd_stream(const void *data, size_t len, struct buf *out)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
	/* One-shot ZSTD_e_end would know the size; say explicitly not to write it. */
	ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
	ZSTD_inBuffer in = {data, len, 0};
	uint8_t chunk[65536];
	size_t r;
	do {
		ZSTD_outBuffer o = {chunk, sizeof(chunk), 0};
		r = ZSTD_compressStream2(c, &o, &in, ZSTD_e_end);
		buf_append(out, chunk, o.pos);
	} while (r != 0 && !ZSTD_isError(r));
	ZSTD_freeCCtx(c);
}

static void test_zstd_without_content_size(void)
{
	struct pprof_profile p, q;
	struct buf raw = BUF_INIT, z = BUF_INIT, err = BUF_INIT;
	CHECK_INT_EQ(buf_read_file(&raw, test_fixture(WALL ".raw"), 0), 0);
	zstd_stream(raw.data, raw.len, &z);
	CHECK(ZSTD_getFrameContentSize(z.data, z.len) == ZSTD_CONTENTSIZE_UNKNOWN);
	CHECK_INT_EQ(decode_buf(&z, &q, &err), 0);
	CHECK_INT_EQ(decode_buf(&raw, &p, &err), 0);
	CHECK(pprof_profile_equal(&p, &q, NULL));
	CHECK_INT_EQ(q.samples.len, 959);
	pprof_profile_release(&q);

	/* Concatenated frames: the two halves compressed separately. */
	buf_reset(&z);
	zstd_stream(raw.data, raw.len / 2, &z);
	zstd_stream(raw.data + raw.len / 2, raw.len - raw.len / 2, &z);
	CHECK_INT_EQ(decode_buf(&z, &q, &err), 0);
	CHECK(pprof_profile_equal(&p, &q, NULL));
	pprof_profile_release(&q);

	/* Concatenated gzip members. */
	buf_reset(&z);
	pprof_compress(PPROF_COMPRESSION_GZIP, 1, (const uint8_t *)raw.data, raw.len / 3, &z);
	pprof_compress(PPROF_COMPRESSION_GZIP, 9, (const uint8_t *)raw.data + raw.len / 3,
		       raw.len - raw.len / 3, &z);
	CHECK_INT_EQ(decode_buf(&z, &q, &err), 0);
	CHECK(pprof_profile_equal(&p, &q, NULL));
	pprof_profile_release(&q);

	/* Truncated and corrupt streams fail cleanly. */
	struct buf cut = BUF_INIT;
	buf_append(&cut, z.data, z.len - 9);
	EXPECT_BAD(&cut, -EINVAL, "gzip");
	buf_reset(&cut);
	buf_append(&cut, z.data, z.len);
	buf_append(&cut, "junk", 4);
	EXPECT_BAD(&cut, -EINVAL, "trailing bytes after gzip");
	buf_reset(&z);
	zstd_stream(raw.data, raw.len, &z);
	buf_reset(&cut);
	buf_append(&cut, z.data, z.len / 2);
	EXPECT_BAD(&cut, -EINVAL, "truncated zstd");
	buf_reset(&cut);
	buf_append(&cut, z.data, z.len);
	cut.data[z.len / 2] ^= 0x55;
	cut.data[z.len / 2 + 1] ^= 0x55;
	struct pprof_profile bad;
	CHECK(decode_buf(&cut, &bad, &err) < 0);
	buf_release(&cut);
	pprof_profile_release(&p);
	buf_release(&raw);
	buf_release(&z);
	buf_release(&err);
}

/* 1 GiB of zeros in a few hundred KiB: a small cap stops it at once with -EFBIG. */
static void test_decompression_bomb(void)
{
	size_t chunk = 1 << 20;
	char *zeros = calloc(1, chunk);
	struct buf z = BUF_INIT, out = BUF_INIT, err = BUF_INIT;
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
	uint8_t tmp[65536];
	for (int i = 0; i < 1024; i++) {
		ZSTD_inBuffer in = {zeros, chunk, 0};
		ZSTD_EndDirective mode = i == 1023 ? ZSTD_e_end : ZSTD_e_continue;
		size_t r;
		do {
			ZSTD_outBuffer o = {tmp, sizeof(tmp), 0};
			r = ZSTD_compressStream2(c, &o, &in, mode);
			buf_append(&z, tmp, o.pos);
		} while (in.pos < in.size || (mode == ZSTD_e_end && r != 0));
	}
	ZSTD_freeCCtx(c);
	CHECK(z.len < 1 << 20);
	struct pprof_decode_opts opts = {.max_decompressed = 4 << 20};
	struct pprof_profile p;
	CHECK_INT_EQ(pprof_decode((const uint8_t *)z.data, z.len, &opts, &p, &err), -EFBIG);
	CHECK(strstr(err.data, "cap") != NULL);
	buf_reset(&err);
	CHECK_INT_EQ(pprof_decompress((const uint8_t *)z.data, z.len, 4 << 20, &out, &err), -EFBIG);
	CHECK_INT_EQ(out.len, 0);

	/* gzip: 256 MiB of zeros (deflate caps at ~1000:1). */
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	buf_reset(&z);
	for (int i = 0; i < 256; i++) {
		zs.next_in = (Bytef *)zeros;
		zs.avail_in = (uInt)chunk;
		do {
			zs.next_out = tmp;
			zs.avail_out = sizeof(tmp);
			deflate(&zs, i == 255 ? Z_FINISH : Z_NO_FLUSH);
			buf_append(&z, tmp, sizeof(tmp) - zs.avail_out);
		} while (zs.avail_out == 0);
	}
	deflateEnd(&zs);
	buf_reset(&err);
	CHECK_INT_EQ(pprof_decode((const uint8_t *)z.data, z.len, &opts, &p, &err), -EFBIG);
	/* Exactly at the cap is fine: 1 MiB of zeros with a 1 MiB cap decompresses. */
	buf_reset(&z);
	pprof_compress(PPROF_COMPRESSION_ZSTD, 1, (const uint8_t *)zeros, chunk, &z);
	buf_reset(&out);
	CHECK_INT_EQ(pprof_decompress((const uint8_t *)z.data, z.len, chunk, &out, &err), 0);
	CHECK_INT_EQ(out.len, chunk);
	buf_reset(&out);
	CHECK_INT_EQ(pprof_decompress((const uint8_t *)z.data, z.len, chunk - 1, &out, &err),
		     -EFBIG);
	/* Raw input larger than the cap. */
	opts.max_decompressed = 16;
	CHECK_INT_EQ(pprof_decode((const uint8_t *)zeros, 17, &opts, &p, &err), -EFBIG);
	free(zeros);
	buf_release(&z);
	buf_release(&out);
	buf_release(&err);
}

/* ---- malformed input --------------------------------------------------------------------- */

static void test_valid_base_and_unknown_fields(void)
{
	struct buf b = BUF_INIT, m = BUF_INIT, err = BUF_INIT;
	struct pprof_profile p;
	base_profile(&b);
	fv(&m, 1, 1);
	fv(&m, 2, 5);
	fmsg(&b, 2, &m);
	CHECK_INT_EQ(decode_buf(&b, &p, &err), 0);
	CHECK_INT_EQ(p.samples.len, 1);
	CHECK_INT_EQ(p.samples.items[0].values[0], 5);
	struct pprof_profile clean = p;

	/* Unknown fields of every wire type, at top level and inside messages. */
	struct buf u = BUF_INIT;
	base_profile(&u);
	tag(&u, 99, 1);
	buf_append(&u, "12345678", 8);
	tag(&u, 100, 5);
	buf_append(&u, "1234", 4);
	fv(&u, 101, 1ULL << 63);
	fbytes(&u, 102, "xyz", 3);
	tag(&u, 103, 3); /* a group with a nested group */
	fv(&u, 1, 1);
	tag(&u, 104, 3);
	fbytes(&u, 2, "ab", 2);
	tag(&u, 104, 4);
	tag(&u, 103, 4);
	fv(&m, 1, 1);
	tag(&m, 50, 5);
	buf_append(&m, "abcd", 4);
	fv(&m, 2, 5);
	fbytes(&m, 51, "", 0);
	fmsg(&u, 2, &m);
	struct pprof_profile q;
	CHECK_INT_EQ(decode_buf(&u, &q, &err), 0);
	CHECK(pprof_profile_equal(&clean, &q, &err));
	pprof_profile_release(&q);
	pprof_profile_release(&clean);

	/* An empty input is an empty profile. */
	buf_reset(&u);
	CHECK_INT_EQ(decode_buf(&u, &q, &err), 0);
	CHECK_INT_EQ(q.samples.len, 0);
	CHECK_INT_EQ(strtab_count(&q.strings), 1);
	pprof_profile_release(&q);
	buf_release(&u);
	buf_release(&b);
	buf_release(&m);
	buf_release(&err);
}

static void test_packed_unpacked(void)
{
	struct buf a = BUF_INIT, b = BUF_INIT, m = BUF_INIT, pk = BUF_INIT, err = BUF_INIT;
	/* Two locations, two sample types (reuse "cpu"/"count" ids). */
	base_profile(&a);
	struct buf st = BUF_INIT;
	fv(&st, 1, 3);
	fv(&st, 2, 2);
	fmsg(&a, 1, &st);
	fv(&m, 1, 2);
	fmsg(&a, 4, &m);
	buf_append(&b, a.data, a.len);
	/* a: packed */
	pv(&pk, 2);
	pv(&pk, 1);
	pv(&pk, 2);
	fbytes(&m, 1, pk.data, pk.len);
	buf_reset(&pk);
	pv(&pk, 300);
	pv(&pk, (uint64_t)-7);
	fbytes(&m, 2, pk.data, pk.len);
	fmsg(&a, 2, &m);
	/* b: unpacked, and one value packed in two runs */
	fv(&m, 1, 2);
	fv(&m, 1, 1);
	fv(&m, 1, 2);
	fv(&m, 2, 300);
	buf_reset(&pk);
	pv(&pk, (uint64_t)-7);
	fbytes(&m, 2, pk.data, pk.len);
	fmsg(&b, 2, &m);
	struct pprof_profile p, q;
	CHECK_INT_EQ(decode_buf(&a, &p, &err), 0);
	CHECK_INT_EQ(decode_buf(&b, &q, &err), 0);
	CHECK(pprof_profile_equal(&p, &q, &err));
	CHECK_INT_EQ(p.samples.items[0].nlocations, 3);
	CHECK_INT_EQ(p.samples.items[0].location_ids[0], 2);
	CHECK_INT_EQ(p.samples.items[0].values[1], -7);
	pprof_profile_release(&p);
	pprof_profile_release(&q);
	buf_release(&a);
	buf_release(&b);
	buf_release(&m);
	buf_release(&pk);
	buf_release(&st);
	buf_release(&err);
}

/* Long packed arrays of mixed varint sizes: pass 1 counts them a word at a time. */
static void test_long_packed(void)
{
	struct buf b = BUF_INIT, m = BUF_INIT, pk = BUF_INIT, vals = BUF_INIT, err = BUF_INIT;
	for (size_t n = 1; n <= 70; n++) {
		buf_reset(&b);
		base_profile(&b);
		buf_reset(&pk);
		for (size_t i = 0; i < n; i++)
			pv(&pk, 1);
		fbytes(&m, 1, pk.data, pk.len);
		buf_reset(&vals);
		pv(&vals, (uint64_t)1 << (7 * (n % 10))); /* 1 to 10 bytes */
		fbytes(&m, 2, vals.data, vals.len);
		fmsg(&b, 2, &m);
		/* A second sample with n values of growing size and one location. */
		fv(&m, 1, 1);
		buf_reset(&vals);
		for (size_t i = 0; i < n; i++)
			pv(&vals, (uint64_t)1 << (7 * (i % 10)));
		fbytes(&m, 2, vals.data, vals.len);
		fmsg(&b, 2, &m);
		/* n sample types so the second sample is valid; the first has one value. */
		struct pprof_profile p;
		int rc = decode_buf(&b, &p, &err);
		CHECK_INT_EQ(rc, n == 1 ? 0 : -EINVAL);
		if (n == 1) {
			CHECK_INT_EQ(p.samples.items[1].values[0], 1);
			pprof_profile_release(&p);
		} else if (!strstr(err.data, "sample 1 has")) {
			fprintf(stderr, "n=%zu: %s\n", n, err.data);
			test_checks_failed++;
		}
	}
	/* And valid: a packed run of 70 locations with sizes 1..3 bytes. */
	buf_reset(&b);
	base_profile(&b);
	struct buf loc = BUF_INIT;
	for (uint64_t id = 2; id <= 20000; id += 300) {
		fv(&loc, 1, id);
		fmsg(&b, 4, &loc);
	}
	buf_reset(&pk);
	size_t count = 0;
	for (uint64_t id = 2; id <= 20000; id += 300, count++)
		pv(&pk, id);
	pv(&pk, 1);
	count++;
	fbytes(&m, 1, pk.data, pk.len);
	fv(&m, 2, 9);
	fmsg(&b, 2, &m);
	struct pprof_profile p;
	CHECK_INT_EQ(decode_buf(&b, &p, &err), 0);
	if (p.samples.len == 1) {
		CHECK_INT_EQ(p.samples.items[0].nlocations, count);
		CHECK_INT_EQ(p.samples.items[0].location_ids[count - 2], 2 + 300 * (count - 2));
		CHECK_INT_EQ(p.samples.items[0].location_ids[count - 1], 1);
	}
	pprof_profile_release(&p);
	buf_release(&loc);
	buf_release(&b);
	buf_release(&m);
	buf_release(&pk);
	buf_release(&vals);
	buf_release(&err);
}

static void test_malformed(void)
{
	struct buf b = BUF_INIT, m = BUF_INIT, sub = BUF_INIT;

	/* Truncated varint: time_nanos tag then a continuation byte. */
	base_profile(&b);
	tag(&b, 9, 0);
	buf_putc(&b, (char)0x80);
	EXPECT_BAD(&b, -EINVAL, "truncated varint");
	/* Overlong varint: eleven bytes. */
	buf_reset(&b);
	tag(&b, 9, 0);
	for (int i = 0; i < 10; i++)
		buf_putc(&b, (char)0xff);
	buf_putc(&b, 1);
	EXPECT_BAD(&b, -EINVAL, "overlong varint");
	/* Length beyond the end, and an absurd one. */
	buf_reset(&b);
	base_profile(&b);
	tag(&b, 2, 2);
	pv(&b, 5);
	buf_putc(&b, 1);
	EXPECT_BAD(&b, -EINVAL, "claims 5 bytes");
	buf_reset(&b);
	tag(&b, 2, 2);
	pv(&b, 1ULL << 60);
	EXPECT_BAD(&b, -EINVAL, "claims");
	/* Truncated tag and invalid wire types / field numbers. */
	buf_reset(&b);
	buf_putc(&b, (char)0x80);
	EXPECT_BAD(&b, -EINVAL, "truncated varint in Profile tag");
	buf_reset(&b);
	tag(&b, 20, 7);
	EXPECT_BAD(&b, -EINVAL, "invalid wire type 7");
	buf_reset(&b);
	tag(&b, 0, 0);
	pv(&b, 1);
	EXPECT_BAD(&b, -EINVAL, "invalid field number 0");
	buf_reset(&b);
	tag(&b, 20, 4);
	EXPECT_BAD(&b, -EINVAL, "unexpected end-group");
	buf_reset(&b);
	tag(&b, 20, 3);
	fv(&b, 1, 1);
	EXPECT_BAD(&b, -EINVAL, "unterminated group");
	buf_reset(&b);
	tag(&b, 20, 5);
	buf_append(&b, "12", 2);
	EXPECT_BAD(&b, -EINVAL, "truncated fixed-size");

	/* Wrong wire types for known fields. */
	buf_reset(&b);
	fv(&b, 1, 1); /* sample_type must be a message */
	EXPECT_BAD(&b, -EINVAL, "wire type 0");
	buf_reset(&b);
	fbytes(&b, 9, "x", 1); /* time_nanos must be a varint */
	EXPECT_BAD(&b, -EINVAL, "wire type 2");
	buf_reset(&b);
	base_profile(&b);
	tag(&m, 1, 5); /* location_id as fixed32 */
	buf_append(&m, "\1\0\0\0", 4);
	fmsg(&b, 2, &m);
	EXPECT_BAD(&b, -EINVAL, "Sample.location_id");
	buf_reset(&b);
	base_profile(&b);
	fbytes(&m, 1, "\x80", 1); /* packed with a truncated varint */
	fmsg(&b, 2, &m);
	EXPECT_BAD(&b, -EINVAL, "truncated varint in packed");
	buf_reset(&b);
	base_profile(&b);
	fbytes(&m, 1, "ab", 2); /* function id as bytes */
	fmsg(&b, 5, &m);
	EXPECT_BAD(&b, -EINVAL, "Function field 1");
	buf_reset(&b);
	base_profile(&b);
	fv(&m, 4, 1); /* a location's line as a varint */
	fmsg(&b, 4, &m);
	EXPECT_BAD(&b, -EINVAL, "Location field 4");

	/* String ids out of range (the table has 4 strings). */
	buf_reset(&b);
	base_profile(&b);
	fv(&m, 1, 2);
	fv(&m, 2, 4);
	fmsg(&b, 5, &m);
	EXPECT_BAD(&b, -EINVAL, "Function.name at offset");
	buf_reset(&b);
	base_profile(&b);
	fv(&b, 14, (uint64_t)-1);
	EXPECT_BAD(&b, -EINVAL, "refers to string -1");
	buf_reset(&b);
	base_profile(&b);
	fv(&sub, 1, 3);
	fv(&sub, 2, 1000);
	fv(&m, 1, 1);
	fv(&m, 2, 1);
	fmsg(&m, 3, &sub);
	fmsg(&b, 2, &m);
	EXPECT_BAD(&b, -EINVAL, "Label.str");
	buf_reset(&b);
	base_profile(&b);
	fv(&b, 13, 9);
	EXPECT_BAD(&b, -EINVAL, "Profile.comment");
	buf_reset(&b);
	fstr(&b, "not empty");
	EXPECT_BAD(&b, -EINVAL, "string_table[0]");

	/* References to missing records. */
	buf_reset(&b);
	base_profile(&b);
	fv(&m, 1, 99);
	fv(&m, 2, 1);
	fmsg(&b, 2, &m);
	EXPECT_BAD(&b, -EINVAL, "sample 0 references location 99 which does not exist");
	buf_reset(&b);
	base_profile(&b);
	fv(&sub, 1, 42);
	fv(&m, 1, 2);
	fmsg(&m, 4, &sub);
	fmsg(&b, 4, &m);
	EXPECT_BAD(&b, -EINVAL, "references function 42 which does not exist");
	buf_reset(&b);
	base_profile(&b);
	fv(&m, 1, 2);
	fv(&m, 2, 5);
	fmsg(&b, 4, &m);
	EXPECT_BAD(&b, -EINVAL, "references mapping 5 which does not exist");
	buf_reset(&b);
	base_profile(&b);
	fv(&m, 1, 5);
	fv(&m, 2, 0x1000);
	fmsg(&b, 3, &m);
	fv(&m, 1, 2);
	fv(&m, 2, 0); /* mapping 0 = no mapping: fine */
	fmsg(&b, 4, &m);
	fv(&m, 1, 3);
	fv(&m, 2, 5);
	fmsg(&b, 4, &m);
	struct pprof_profile ok;
	struct buf err = BUF_INIT;
	CHECK_INT_EQ(decode_buf(&b, &ok, &err), 0);
	CHECK(pprof_mapping_by_id(&ok, 5) != NULL);
	pprof_profile_release(&ok);

	/* Values that do not match the sample types. */
	buf_reset(&b);
	base_profile(&b);
	fv(&m, 1, 1);
	fv(&m, 2, 1);
	fv(&m, 2, 2);
	fmsg(&b, 2, &m);
	EXPECT_BAD(&b, -EINVAL, "sample 0 has 2 values for 1 sample types");
	buf_reset(&b);
	base_profile(&b);
	fv(&m, 1, 1);
	fmsg(&b, 2, &m);
	EXPECT_BAD(&b, -EINVAL, "sample 0 has 0 values for 1 sample types");
	/* No sample types and no values: allowed. */
	buf_reset(&b);
	fstr(&b, "");
	fv(&m, 1, 1);
	fmsg(&b, 5, &m);
	fv(&m, 1, 1);
	fmsg(&b, 4, &m);
	fv(&m, 1, 1);
	fmsg(&b, 2, &m);
	CHECK_INT_EQ(decode_buf(&b, &ok, &err), 0);
	CHECK_INT_EQ(ok.samples.len, 1);
	pprof_profile_release(&ok);

	/* Duplicate and reserved ids. */
	buf_reset(&b);
	base_profile(&b);
	fv(&m, 1, 1);
	fmsg(&b, 5, &m);
	EXPECT_BAD(&b, -EINVAL, "function 1 has a duplicate id (1)");
	buf_reset(&b);
	base_profile(&b);
	fv(&m, 2, 0x1000);
	fmsg(&b, 4, &m);
	EXPECT_BAD(&b, -EINVAL, "location 1 has a reserved id 0");
	buf_reset(&b);
	base_profile(&b);
	fv(&m, 1, 3);
	fmsg(&b, 3, &m);
	fv(&m, 1, 3);
	fmsg(&b, 3, &m);
	EXPECT_BAD(&b, -EINVAL, "mapping 1 has a duplicate id (3)");

	buf_release(&b);
	buf_release(&m);
	buf_release(&sub);
	buf_release(&err);
}

/* Many copies of one string: decoding stays linear and keeps every id. */
/*
 * Samples and labels in unusual shapes: the decoder has an inline path for the usual shape
 * and must give the same profile (or the same error) for every other one.
 */
static void test_sample_shapes(void)
{
	struct buf a = BUF_INIT, b = BUF_INIT, m = BUF_INIT, l = BUF_INIT, err = BUF_INIT;
	struct pprof_profile p, q;

	/* a: the usual shape; b: the same sample with labels first, fields repeated (the last
	 * wins), a label field the proto does not define, multi-byte values and ids. */
	base_profile(&a);
	fv(&l, 1, 1);
	fv(&l, 2, 3);
	fmsg(&m, 3, &l);
	fv(&l, 1, 2);
	fv(&l, 3, 1ULL << 40);
	fv(&l, 4, 3);
	fmsg(&m, 3, &l);
	fv(&m, 1, 1);
	fv(&m, 2, 70000);
	buf_append(&b, a.data, a.len);
	struct buf sa = BUF_INIT;
	fbytes(&sa, 1, "\x01", 1);
	fbytes(&sa, 2, "\xf0\xa2\x04", 3); /* 70000 */
	buf_append(&sa, m.data, m.len);	     /* labels (and unpacked dups) */
	buf_reset(&m);
	/* a's sample: packed ids and values, then the two labels as above. */
	fbytes(&m, 1, "\x01", 1);
	fbytes(&m, 2, "\xf0\xa2\x04", 3);
	fv(&l, 1, 1);
	fv(&l, 2, 3);
	fmsg(&m, 3, &l);
	fv(&l, 1, 2);
	fv(&l, 3, 1ULL << 40);
	fv(&l, 4, 3);
	fmsg(&m, 3, &l);
	fmsg(&a, 2, &m);
	/* b's sample: labels first, key given twice, an unknown field 7, then the ids. */
	fv(&l, 1, 3);
	fv(&l, 7, 99);
	fv(&l, 1, 1);
	fv(&l, 2, 3);
	fmsg(&m, 3, &l);
	fv(&l, 3, 1ULL << 40);
	fv(&l, 1, 2);
	fv(&l, 4, 3);
	fmsg(&m, 3, &l);
	fv(&m, 1, 1);
	fv(&m, 2, 70000);
	fmsg(&b, 2, &m);
	CHECK_INT_EQ(decode_buf(&a, &p, &err), 0);
	CHECK_INT_EQ(decode_buf(&b, &q, &err), 0);
	CHECK(pprof_profile_equal(&p, &q, &err));
	CHECK_INT_EQ(p.samples.items[0].nlabels, 2);
	CHECK_INT_EQ(p.samples.items[0].values[0], 70000);
	CHECK_INT_EQ(p.samples.items[0].labels[1].num, 1LL << 40);
	CHECK_INT_EQ(q.samples.items[0].labels[0].key, 1);
	CHECK_INT_EQ(q.samples.items[0].labels[1].num_unit, 3);
	pprof_profile_release(&p);
	pprof_profile_release(&q);
	buf_release(&sa);

	/* Label string ids out of range, on the usual path: the general one names the field. */
	static const unsigned fields[] = {1, 2, 4};
	static const char *const names[] = {"Label.key", "Label.str", "Label.num_unit"};
	for (size_t i = 0; i < 3; i++) {
		buf_reset(&a);
		base_profile(&a);
		fbytes(&m, 1, "\x01", 1);
		fbytes(&m, 2, "\x05", 1);
		fv(&l, 1, 1);
		fv(&l, fields[i], 4);
		fmsg(&m, 3, &l);
		fmsg(&a, 2, &m);
		EXPECT_BAD(&a, -EINVAL, names[i]);
	}
	/* A label that is not a message, a truncated label, a label of the wrong wire type. */
	buf_reset(&a);
	base_profile(&a);
	fbytes(&m, 1, "\x01", 1);
	fbytes(&m, 2, "\x05", 1);
	fbytes(&m, 3, "\x08\x80", 2);
	fmsg(&a, 2, &m);
	EXPECT_BAD(&a, -EINVAL, "truncated varint in Label field 1");
	buf_reset(&a);
	base_profile(&a);
	fbytes(&m, 1, "\x01", 1);
	fbytes(&m, 2, "\x05", 1);
	fv(&m, 3, 1);
	fmsg(&a, 2, &m);
	EXPECT_BAD(&a, -EINVAL, "has wire type 0, expected 2");
	/* A packed location list with a truncated varint. */
	buf_reset(&a);
	base_profile(&a);
	fbytes(&m, 1, "\x01\x81", 2);
	fbytes(&m, 2, "\x05", 1);
	fmsg(&a, 2, &m);
	EXPECT_BAD(&a, -EINVAL, "truncated varint in packed Sample.location_id");
	buf_release(&a);
	buf_release(&b);
	buf_release(&m);
	buf_release(&l);
	buf_release(&err);
}

static void test_duplicate_strings(void)
{
	struct buf b = BUF_INIT, err = BUF_INIT;
	fstr(&b, "");
	for (int i = 0; i < 200000; i++)
		fstr(&b, "same");
	struct pprof_profile p;
	CHECK_INT_EQ(decode_buf(&b, &p, &err), 0);
	CHECK_INT_EQ(strtab_count(&p.strings), 200001);
	CHECK_STR_EQ(pprof_str(&p, 200000), "same");
	CHECK_INT_EQ(strtab_find(&p.strings, "same", 4), 1);
	pprof_profile_release(&p);
	buf_release(&b);
	buf_release(&err);
}

int main(void)
{
	RUN(test_fixture_wall);
	RUN(test_fixture_space_events);
	RUN(test_roundtrip_fixture);
	RUN(test_roundtrip_everything);
	RUN(test_zstd_without_content_size);
	RUN(test_decompression_bomb);
	RUN(test_valid_base_and_unknown_fields);
	RUN(test_packed_unpacked);
	RUN(test_long_packed);
	RUN(test_malformed);
	RUN(test_duplicate_strings);
	RUN(test_sample_shapes);
	return test_done();
}
