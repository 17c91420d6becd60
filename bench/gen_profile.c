/*
 * gen_profile: writes a large synthetic pprof profile for kiln's benchmarks, the size of a
 * busy fleet's merged hour: by default 1,000,000 samples of distinct stacks over 200,000
 * locations (a tenth of them with an inlined frame) and 60,000 functions.
 *
 * usage: kiln_bench_gen_profile OUT.pprof [SAMPLES [LOCATIONS]]
 *
 * Deterministic (fixed seed), so runs compare. Stacks are random walks from 8 roots down a
 * fixed call graph (each location calls 4 others), so they share prefixes and caller/callee
 * edges the way a real program's do, and nearly every sample is distinct.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "pprof/builder.h"
#include "pprof/pprof.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Skewed pick in [0, n): squares a uniform draw so low indices are hot. */
static size_t pick(size_t n)
{
	double u = (double)(next() >> 11) / (double)(1ULL << 53);
	return (size_t)(u * u * (double)n) % n;
}

static long arg(int argc, char **argv, int i, long def)
{
	if (argc <= i)
		return def;
	char *end;
	long v = strtol(argv[i], &end, 10);
	return *end || v <= 0 ? def : v;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s OUT.pprof [SAMPLES [LOCATIONS]]\n", argv[0]);
		return 2;
	}
	size_t nsamples = (size_t)arg(argc, argv, 2, 1000000);
	size_t nlocs = (size_t)arg(argc, argv, 3, 200000);
	size_t nfuncs = nlocs * 3 / 10;
	struct pprof_builder *b = pprof_builder_new();
	uint64_t *funcs = calloc(nfuncs, sizeof(*funcs));
	uint64_t *locs = calloc(nlocs, sizeof(*locs));
	struct pprof_profile p;
	struct buf err = BUF_INIT;
	char name[128];
	int rc = 1;

	if (!b || !funcs || !locs)
		goto out;
	pprof_builder_sample_type(b, "samples", "count");
	pprof_builder_sample_type(b, "cpu", "nanoseconds");
	pprof_builder_period(b, "cpu", "nanoseconds", 10000000);
	uint64_t map = pprof_builder_mapping(b, 0x400000, 0x40000000, 0, "/usr/bin/bench-service",
					     "0123456789abcdef", true);
	for (size_t i = 0; i < nfuncs; i++) {
		snprintf(name, sizeof(name), "bench::module%zu::Service::handler_%zu", i % 97, i);
		funcs[i] = pprof_builder_function(b, name, name, "src/service.cc", (int64_t)i);
		if (!funcs[i])
			goto out;
	}
	for (size_t i = 0; i < nlocs; i++) {
		struct pprof_line lines[2] = {
			{.function_id = funcs[i % nfuncs], .line = (int64_t)(i % 1000) + 1},
			{.function_id = funcs[(i * 7 + 3) % nfuncs], .line = 42},
		};
		locs[i] = pprof_builder_location(b, map, 0x400000 + i * 16, lines, i % 10 ? 1 : 2);
		if (!locs[i])
			goto out;
	}
	uint64_t stack[64];
	for (size_t s = 0; s < nsamples; s++) {
		size_t depth = 16 + next() % 32;
		/* A random walk down a fixed call graph: every location calls 4 others, so
		 * stacks share prefixes and edges like a real program's, yet are distinct.
		 * Sample values are skewed (1-8 periods, mostly 1). */
		size_t li = next() % 8;
		for (size_t d = 0; d < depth; d++) {
			stack[depth - 1 - d] = locs[li];
			li = (li * 2654435761u + (next() % 4) * 40503u + 17u) % nlocs;
		}
		int64_t v[2] = {1, 10000000 * (int64_t)(1 + pick(8))};
		if (pprof_builder_add_sample(b, stack, depth, v, NULL, 0) < 0)
			goto out;
	}
	if (pprof_builder_finish(b, &p) < 0)
		goto out;
	fprintf(stderr, "gen_profile: %zu samples, %zu locations, %zu functions\n",
		p.samples.len, p.locations.len, p.functions.len);
	if (pprof_write_file(&p, argv[1], &err) < 0)
		fprintf(stderr, "gen_profile: %s\n", err.data ? err.data : "write failed");
	else
		rc = 0;
	pprof_profile_release(&p);
out:
	buf_release(&err);
	free(funcs);
	free(locs);
	pprof_builder_free(b);
	return rc;
}
