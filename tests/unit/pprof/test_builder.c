/*
 * test_builder: interning and sample summing in pprof_builder, reuse across periods, bad
 * arguments, and that what it builds encodes and decodes back unchanged.
 */
#include <errno.h>
#include <string.h>

#include "pprof/builder.h"
#include "pprof/pprof.h"
#include "test.h"

static void test_dedupe(void)
{
	struct pprof_builder *b = pprof_builder_new();
	CHECK(b != NULL);
	CHECK_INT_EQ(pprof_builder_sample_type(b, "cpu-samples", "count"), 0);
	CHECK_INT_EQ(pprof_builder_sample_type(b, "cpu-time", "nanoseconds"), 1);
	CHECK_INT_EQ(pprof_builder_period(b, "cpu-time", "nanoseconds", 10101010), 0);
	CHECK_INT_EQ(pprof_builder_str(b, "x"), pprof_builder_strn(b, "xyz", 1));

	uint64_t m1 = pprof_builder_mapping(b, 0x400000, 0x500000, 0, "/bin/app", "abcd", true);
	uint64_t m2 = pprof_builder_mapping(b, 0x400000, 0x500000, 0, "/bin/app", "abcd", true);
	uint64_t m3 = pprof_builder_mapping(b, 0x400000, 0x500000, 0, "/bin/app", "abcd", false);
	CHECK(m1 != 0);
	CHECK_INT_EQ(m1, m2);
	CHECK(m3 != m1);
	uint64_t f1 = pprof_builder_function(b, "main", "main", "main.c", 10);
	uint64_t f2 = pprof_builder_function(b, "work", "_Z4workv", "work.c", 3);
	CHECK_INT_EQ(pprof_builder_function(b, "main", "main", "main.c", 10), f1);
	CHECK(f2 != f1);
	struct pprof_line l1 = {.function_id = f1, .line = 12};
	struct pprof_line inl[2] = {{.function_id = f2, .line = 4},
				    {.function_id = f1, .line = 13}};
	uint64_t a = pprof_builder_location(b, m1, 0x401000, &l1, 1);
	uint64_t c = pprof_builder_location(b, m1, 0x401100, inl, 2);
	CHECK(a != 0 && c != 0 && a != c);
	CHECK_INT_EQ(pprof_builder_location(b, m1, 0x401000, &l1, 1), a);
	CHECK_INT_EQ(pprof_builder_location(b, m1, 0x401100, inl, 2), c);
	CHECK(pprof_builder_location(b, 0, 0x401000, &l1, 1) != a);

	/* A million samples of two stacks times two label sets: four samples. */
	struct pprof_label lab[2] = {pprof_builder_label_str(b, "thread name", "main"),
				     pprof_builder_label_num(b, "thread id", 42, NULL)};
	uint64_t s1[2] = {c, a}, s2[1] = {a};
	int64_t v[2] = {1, 10};
	for (int i = 0; i < 1000000; i++) {
		int rc = pprof_builder_add_sample(b, (i & 1) ? s1 : s2, (i & 1) ? 2 : 1, v,
						  (i & 2) ? lab : NULL, (i & 2) ? 2 : 0);
		if (rc < 0) {
			CHECK_INT_EQ(rc, 0);
			break;
		}
	}
	/* Bad arguments. */
	uint64_t bogus = 999;
	CHECK_INT_EQ(pprof_builder_add_sample(b, &bogus, 1, v, NULL, 0), -EINVAL);
	CHECK_INT_EQ(pprof_builder_sample_type(b, "late", "count"), -EBUSY);
	struct pprof_line badline = {.function_id = 77};
	errno = 0;
	CHECK_INT_EQ(pprof_builder_location(b, 0, 1, &badline, 1), 0);
	CHECK_INT_EQ(errno, EINVAL);
	CHECK_INT_EQ(pprof_builder_location(b, 55, 1, NULL, 0), 0);

	CHECK_INT_EQ(pprof_builder_comment(b, "built by a test"), 0);
	CHECK_INT_EQ(pprof_builder_default_sample_type(b, "cpu-time"), 0);
	pprof_builder_time(b, 1000, 2000);

	struct pprof_profile p;
	CHECK_INT_EQ(pprof_builder_finish(b, &p), 0);
	CHECK_INT_EQ(p.samples.len, 4);
	CHECK_INT_EQ(p.mappings.len, 2);
	CHECK_INT_EQ(p.functions.len, 2);
	CHECK_INT_EQ(p.locations.len, 3);
	int64_t total = 0;
	for (size_t i = 0; i < p.samples.len; i++) {
		CHECK_INT_EQ(p.samples.items[i].values[0], 250000);
		CHECK_INT_EQ(p.samples.items[i].values[1], 2500000);
		total += p.samples.items[i].values[0];
	}
	CHECK_INT_EQ(total, 1000000);
	CHECK_STR_EQ(pprof_str(&p, p.period_type.unit), "nanoseconds");
	CHECK_INT_EQ(p.period, 10101010);
	CHECK_STR_EQ(pprof_str(&p, p.default_sample_type), "cpu-time");
	CHECK_INT_EQ(p.time_nanos, 1000);
	const struct pprof_location *loc = pprof_location_by_id(&p, c);
	CHECK(loc && loc->nlines == 2);
	CHECK_STR_EQ(pprof_str(&p, pprof_function_by_id(&p, loc->lines[0].function_id)->name),
		     "work");

	/* Encode, decode: the same profile. */
	struct buf enc = BUF_INIT, err = BUF_INIT;
	struct pprof_profile q;
	CHECK_INT_EQ(pprof_encode(&p, &enc), 0);
	CHECK_INT_EQ(pprof_decode((const uint8_t *)enc.data, enc.len, NULL, &q, &err), 0);
	CHECK(pprof_profile_equal(&p, &q, &err));
	pprof_profile_release(&q);

	/* The next period keeps sample types and period; ids start over. */
	CHECK_INT_EQ(pprof_builder_function(b, "other", NULL, NULL, 0), 1);
	uint64_t loc2 = pprof_builder_location(b, 0, 0x10, NULL, 0);
	CHECK_INT_EQ(loc2, 1);
	CHECK_INT_EQ(pprof_builder_add_sample(b, &loc2, 1, v, NULL, 0), 0);
	struct pprof_profile r;
	CHECK_INT_EQ(pprof_builder_finish(b, &r), 0);
	CHECK_INT_EQ(r.sample_types.len, 2);
	CHECK_STR_EQ(pprof_str(&r, r.sample_types.items[1].type), "cpu-time");
	CHECK_INT_EQ(r.period, 10101010);
	CHECK_INT_EQ(r.samples.len, 1);
	CHECK_INT_EQ(r.functions.len, 1);
	CHECK_INT_EQ(r.comments.len, 0);
	buf_reset(&enc);
	CHECK_INT_EQ(pprof_encode(&r, &enc), 0);
	CHECK_INT_EQ(pprof_decode((const uint8_t *)enc.data, enc.len, NULL, &q, &err), 0);
	CHECK(pprof_profile_equal(&r, &q, &err));
	pprof_profile_release(&q);
	pprof_profile_release(&r);
	pprof_profile_release(&p);
	buf_release(&enc);
	buf_release(&err);
	pprof_builder_free(b);
	pprof_builder_free(NULL);
}

/* Merging a decoded profile through the builder (what kiln report --merge does). */
static void test_merge_twice(void)
{
	struct pprof_profile in;
	struct buf err = BUF_INIT;
	CHECK_INT_EQ(
	    pprof_read_file(test_fixture("dd-trace-js/node22-gzip-periodic/parts/wall.pprof"), NULL,
			    &in, &err),
	    0);
	struct pprof_builder *b = pprof_builder_new();
	for (size_t i = 0; i < in.sample_types.len; i++)
		pprof_builder_sample_type(b, pprof_str(&in, in.sample_types.items[i].type),
					  pprof_str(&in, in.sample_types.items[i].unit));
	uint64_t *fmap = calloc(in.functions.len + 1, sizeof(*fmap));
	uint64_t *lmap = calloc(in.locations.len + 1, sizeof(*lmap));
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < in.functions.len; i++) {
			const struct pprof_function *f = &in.functions.items[i];
			fmap[i] = pprof_builder_function(
			    b, pprof_str(&in, f->name), pprof_str(&in, f->system_name),
			    pprof_str(&in, f->filename), f->start_line);
		}
		for (size_t i = 0; i < in.locations.len; i++) {
			const struct pprof_location *l = &in.locations.items[i];
			struct pprof_line lines[16];
			size_t n = l->nlines < 16 ? l->nlines : 16;
			for (size_t j = 0; j < n; j++) {
				lines[j] = l->lines[j];
				const struct pprof_function *f =
				    pprof_function_by_id(&in, l->lines[j].function_id);
				lines[j].function_id = fmap[f - in.functions.items];
			}
			lmap[i] = pprof_builder_location(b, 0, l->address, lines, n);
		}
		for (size_t i = 0; i < in.samples.len; i++) {
			const struct pprof_sample *s = &in.samples.items[i];
			uint64_t ids[256];
			size_t n = s->nlocations < 256 ? s->nlocations : 256;
			for (size_t j = 0; j < n; j++)
				ids[j] = lmap[pprof_location_by_id(&in, s->location_ids[j]) -
					      in.locations.items];
			CHECK_INT_EQ(pprof_builder_add_sample(b, ids, n, s->values, NULL, 0), 0);
		}
	}
	struct pprof_profile out;
	CHECK_INT_EQ(pprof_builder_finish(b, &out), 0);
	int64_t tin = 0, tout = 0;
	for (size_t i = 0; i < in.samples.len; i++)
		tin += in.samples.items[i].values[1];
	for (size_t i = 0; i < out.samples.len; i++)
		tout += out.samples.items[i].values[1];
	CHECK_INT_EQ(tout, 2 * tin);
	CHECK(out.samples.len < in.samples.len);
	CHECK(out.functions.len <= in.functions.len);
	free(fmap);
	free(lmap);
	pprof_profile_release(&out);
	pprof_profile_release(&in);
	pprof_builder_free(b);
	buf_release(&err);
}

int main(void)
{
	RUN(test_dedupe);
	RUN(test_merge_twice);
	return test_done();
}
