/*
 * serve_api_bench: the query benchmark of kiln serve's store (bench/serve_query.sh runs it).
 * Stores N one-minute profiles of S samples each (stacks drawn from a shared pool, as a
 * service's profiles look), then times the server-side aggregate of all of them through
 * api_handle: the first (cold: stack cache empty) and the median of the following runs.
 *
 *	serve_api_bench STORE_SPEC [profiles=60] [samples=20000] [runs=7]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/log.h"
#include "pprof/builder.h"
#include "server/api.h"
#include "server/store.h"

#define NFUNCS 3000
#define POOL 8000
#define MAXDEPTH 48

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: serve_api_bench STORE_SPEC [profiles] [samples] [runs]\n");
		return 2;
	}
	const char *spec = argv[1];
	int nprof = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 60;
	int nsamp = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 20000;
	int runs = argc > 4 ? (int)strtol(argv[4], NULL, 10) : 7;
	log_set_mode("stderr");
	log_set_level(LOG_LEVEL_WARN);

	struct buf err = BUF_INIT;
	struct store *s = store_open(spec, &err);
	if (!s) {
		fprintf(stderr, "cannot open %s: %s\n", spec, err.data ? err.data : "");
		return 1;
	}
	/* A pool of stacks over a synthetic call graph. */
	static uint16_t pool[POOL][MAXDEPTH];
	static uint8_t depth[POOL];
	for (int i = 0; i < POOL; i++) {
		depth[i] = (uint8_t)(8 + next() % (MAXDEPTH - 8));
		uint64_t f = 0;
		for (int d = 0; d < depth[i]; d++) {
			f = (f * 31 + 1 + next() % (d < 6 ? 3 : 12)) % NFUNCS;
			pool[i][d] = (uint16_t)f;
		}
	}
	char name[64];
	int64_t base = 1795000000LL * 1000000000LL;
	double put_ms = 0;
	size_t bytes = 0;
	/* SERVE_API_BENCH_NOPUT=1: the store already holds the profiles (profiling runs). */
	for (int p = 0; p < nprof && !getenv("SERVE_API_BENCH_NOPUT"); p++) {
		struct pprof_builder *b = pprof_builder_new();
		struct pprof_profile prof;
		pprof_builder_sample_type(b, "cpu", "nanoseconds");
		uint64_t fids[NFUNCS] = {0};
		for (int k = 0; k < nsamp; k++) {
			/* skewed choice: hot stacks are drawn more often */
			double r = (double)(next() % 1000000) / 1e6;
			int sidx = (int)(r * r * POOL);
			uint64_t locs[MAXDEPTH];
			for (int d = 0; d < depth[sidx]; d++) {
				int f = pool[sidx][d];
				if (!fids[f]) {
					snprintf(name, sizeof(name), "pkg%02d.Type%03d.method%d",
						 f % 40, f % 700, f);
					uint64_t fn =
					    pprof_builder_function(b, name, name, "src/x.c", f);
					struct pprof_line line = {.function_id = fn, .line = f};
					fids[f] = pprof_builder_location(
					    b, 0, 0x1000 + (uint64_t)f * 16, &line, 1);
				}
				locs[depth[sidx] - 1 - d] = fids[f];
			}
			int64_t v = 10000000;
			struct pprof_label lab = pprof_builder_label_num(
			    b, "end_timestamp_ns", base + p * 60000000000LL + k * 3000000LL, NULL);
			pprof_builder_add_sample(b, locs, depth[sidx], &v, &lab, 1);
		}
		pprof_builder_finish(b, &prof);
		pprof_builder_free(b);
		struct buf enc = BUF_INIT;
		pprof_encode(&prof, &enc);
		bytes += enc.len;
		struct store_attachment att = {.name = "cpu.pprof",
					       .content_type = "",
					       .kind = STORE_ATTACH_PPROF,
					       .compression = "none",
					       .data = (const uint8_t *)enc.data,
					       .len = enc.len,
					       .pprof = &prof};
		struct store_tag tags[] = {{"service", "bench"}};
		struct store_upload u = {.service = "bench",
					 .env = "prod",
					 .version = "1",
					 .host = "h",
					 .runtime = "native",
					 .language = "c",
					 .family = "native",
					 .runtime_id = "",
					 .origin = "bench",
					 .origin_version = "",
					 .container_id = "",
					 .entity_id = "",
					 .tags = tags,
					 .ntags = 1,
					 .start_ns = base + p * 60000000000LL,
					 .end_ns = base + (p + 1) * 60000000000LL,
					 .event_json = "{}",
					 .info_json = "{}",
					 .attachments = &att,
					 .nattachments = 1,
					 .raw_body = (const uint8_t *)enc.data,
					 .raw_len = enc.len,
					 .raw_content_type = "",
					 .cpu_cores = 1,
					 .alloc_bytes_per_s = NAN,
					 .wall_seconds = 60,
					 .heap_live_bytes = NAN};
		int64_t id;
		double t0 = now_ms();
		if (store_put(s, &u, &id) < 0) {
			fprintf(stderr, "put failed\n");
			return 1;
		}
		put_ms += now_ms() - t0;
		pprof_profile_release(&prof);
		buf_release(&enc);
	}
	printf("store %s: %d profiles x %d samples (%.1f MB pprof), put %.1f ms/profile\n",
	       s->ops->name, nprof, nsamp, bytes / 1e6, put_ms / nprof);

	struct api *api = api_new(s);
	double *t = calloc((size_t)runs + 1, sizeof(double));
	double *c = calloc((size_t)runs + 1, sizeof(double));
	size_t body_len = 0;
	for (int r = 0; r <= runs; r++) {
		struct arena a;
		arena_init(&a, 0);
		struct http_kv q[] = {{"q", "service:bench"}, {"type", "cpu/nanoseconds"}};
		struct http_request req = {.method = "GET",
					   .path = "/api/v1/aggregate",
					   .query = q,
					   .nquery = 2,
					   .arena = &a};
		struct http_response resp = {.status = 200};
		buf_init(&resp.body);
		double t0 = now_ms(), c0 = cpu_ms();
		api_handle(api, &req, &resp);
		t[r] = now_ms() - t0;
		c[r] = cpu_ms() - c0;
		if (resp.status != 200) {
			fprintf(stderr, "aggregate failed: %d %s\n", resp.status, resp.body.data);
			return 1;
		}
		body_len = resp.body.len;
		buf_release(&resp.body);
		arena_release(&a);
	}
	qsort(t + 1, (size_t)runs, sizeof(double), cmp_double);
	qsort(c + 1, (size_t)runs, sizeof(double), cmp_double);
	printf("aggregate of %d profiles (%d samples): cold %.1f ms, warm median %.1f ms "
	       "(min %.1f, max %.1f), response %zu bytes\n",
	       nprof, nprof * nsamp, t[0], t[1 + runs / 2], t[1], t[runs], body_len);
	printf("aggregate CPU time: cold %.1f ms, warm median %.1f ms\n", c[0], c[1 + runs / 2]);
	free(t);
	free(c);
	api_free(api);
	store_close(s);
	buf_release(&err);
	return 0;
}
