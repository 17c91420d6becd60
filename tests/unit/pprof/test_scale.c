/*
 * test_scale: a profile of production size (1M samples, 200k locations with
 * KILN_PPROF_BENCH=1; a fifth of that by default, a twentieth under the sanitizers) through
 * builder, encoder, gzip and decoder. Asserts on content only;
 * prints the CPU times so a regression is visible in the log (no timed assertion; CPU
 * time because the test machine is shared).
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "pprof/builder.h"
#include "pprof/pprof.h"
#include "test.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_scale(void)
{
	/* Full size with KILN_PPROF_BENCH=1; a fifth by default (the suite runs on a busy
	 * machine), a twentieth under the sanitizers. */
	const char *san = getenv("KILN_SANITIZE"), *bench = getenv("KILN_PPROF_BENCH");
	size_t scale = bench && !strcmp(bench, "1") ? 1 : san && !strcmp(san, "1") ? 20 : 5;
	size_t nsamples = 1000000 / scale, nlocs = 200000 / scale, nfuncs = 50000 / scale;
	double t0 = now();
	struct pprof_builder *b = pprof_builder_new();
	pprof_builder_sample_type(b, "cpu-samples", "count");
	pprof_builder_sample_type(b, "cpu-time", "nanoseconds");
	uint64_t map = pprof_builder_mapping(b, 0x400000, 0x8000000, 0, "/usr/bin/app", "id", true);
	char name[64];
	for (size_t i = 0; i < nfuncs; i++) {
		snprintf(name, sizeof(name), "function_%zu", i);
		CHECK_INT_EQ(pprof_builder_function(b, name, name, "src/file.c", (int64_t)i),
			     i + 1);
	}
	for (size_t i = 0; i < nlocs; i++) {
		struct pprof_line line = {.function_id = i % nfuncs + 1, .line = (int64_t)i};
		CHECK_INT_EQ(pprof_builder_location(b, map, 0x400000 + i * 16, &line, 1), i + 1);
	}
	struct pprof_label lab = pprof_builder_label_num(b, "thread id", 0, NULL);
	int64_t expect = 0;
	for (size_t i = 0; i < nsamples; i++) {
		uint64_t stack[24];
		size_t depth = 8 + next() % 16;
		for (size_t j = 0; j < depth; j++)
			stack[j] = next() % nlocs + 1;
		int64_t v[2] = {1, (int64_t)(next() % 1000000)};
		expect += v[1];
		lab.num = (int64_t)(i % 64);
		if (pprof_builder_add_sample(b, stack, depth, v, &lab, 1) < 0) {
			CHECK(0);
			break;
		}
	}
	struct pprof_profile p;
	CHECK_INT_EQ(pprof_builder_finish(b, &p), 0);
	double t1 = now();
	CHECK_INT_EQ(p.samples.len, nsamples);
	CHECK_INT_EQ(p.locations.len, nlocs);

	struct buf raw = BUF_INIT, gz = BUF_INIT, err = BUF_INIT;
	CHECK_INT_EQ(pprof_encode(&p, &raw), 0);
	double t2 = now();
	struct pprof_profile q;
	CHECK_INT_EQ(pprof_decode((const uint8_t *)raw.data, raw.len, NULL, &q, &err), 0);
	double t3 = now();
	CHECK(pprof_profile_equal(&p, &q, &err));
	int64_t sum = 0;
	for (size_t i = 0; i < q.samples.len; i++)
		sum += q.samples.items[i].values[1];
	CHECK_INT_EQ(sum, expect);
	pprof_profile_release(&q);
	CHECK_INT_EQ(
	    pprof_compress(PPROF_COMPRESSION_GZIP, 1, (const uint8_t *)raw.data, raw.len, &gz), 0);
	double t4 = now();
	CHECK_INT_EQ(pprof_decode((const uint8_t *)gz.data, gz.len, NULL, &q, &err), 0);
	double t5 = now();
	CHECK_INT_EQ(q.samples.len, nsamples);
	pprof_profile_release(&q);
	printf("scale: %zu samples, %zu locations; raw %zu B, gzip %zu B\n", nsamples, nlocs,
	       raw.len, gz.len);
	printf("scale (CPU time): build %.3f s, encode %.3f s, decode raw %.3f s, gzip -1 %.3f s, "
	       "decode gzip %.3f s\n",
	       t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4);
	pprof_profile_release(&p);
	pprof_builder_free(b);
	buf_release(&raw);
	buf_release(&gz);
	buf_release(&err);
}

int main(void)
{
	RUN(test_scale);
	return test_done();
}
