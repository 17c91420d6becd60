/*
 * lib_alloc_app.c: an application using libkiln with allocation profiling, for
 * tests/integration/lib_alloc.sh (built twice: linked with libkiln.so and with libkiln.a).
 *
 *	lib-alloc-app alloc MIB     start (configuration from the environment), allocate MIB MiB
 *	                            from three sites in the ratio 50:30:20, stop(10000)
 *	lib-alloc-app options MIB   the same, allocation profiling asked for in kiln_options
 *	lib-alloc-app leak MIB      start, leak MIB MiB from leak_site while alloc_site_a
 *	                            allocates and frees as much, stop(10000) with the leak live
 *	lib-alloc-app ready MS      start, burn MS ms of CPU in ready_hot, stop(10000)
 *	lib-alloc-app ready-nowait MS   the same, but start does not wait for the profiler
 *
 * The sites allocate pseudo-random sizes (1..64 KiB) and pause a few ms after every MiB, so
 * that the profiler drains the ring as it fills, whatever the machine's load.
 */
#include <errno.h>
#include <kiln.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *volatile sink;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void pause_a_little(void)
{
	struct timespec ts = {0, (long)(3000000 + next() % 4000000)};
	nanosleep(&ts, NULL);
}

#if defined(__clang__)
#define NOFOLD __attribute__((noinline))
#else
#define NOFOLD __attribute__((noipa)) /* no identical code folding of the three sites */
#endif

/* Allocates about `bytes` in blocks of 1..64 KiB; returns the exact bytes allocated. */
#define SITE(name, id)                                                                             \
	NOFOLD static uint64_t name(uint64_t bytes)                                                \
	{                                                                                          \
		uint64_t done = 0;                                                                 \
		while (done < bytes) {                                                             \
			size_t n = 1024 + (size_t)(next() % (63 * 1024));                          \
			char *p = malloc(n);                                                       \
			if (!p)                                                                    \
				exit(10);                                                          \
			p[0] = id; /* noipa and distinct bodies: never folded into one */          \
			p[n - 1] = 2;                                                              \
			sink = p;                                                                  \
			free(p);                                                                   \
			done += n;                                                                 \
		}                                                                                  \
		return done;                                                                       \
	}
SITE(alloc_site_a, 11)
SITE(alloc_site_b, 22)
SITE(alloc_site_c, 33)

/* Allocates about `bytes` and keeps every block (a leak, as the profiler sees it: never
 * freed); the blocks stay chained from leaked_head so that LeakSanitizer does not complain. */
static void *leaked_head;

NOFOLD static uint64_t leak_site(uint64_t bytes)
{
	uint64_t done = 0;
	while (done < bytes) {
		size_t n = 1024 + (size_t)(next() % (63 * 1024));
		void **p = malloc(n);
		if (!p)
			exit(10);
		p[0] = leaked_head;
		leaked_head = p;
		done += n;
	}
	return done;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static unsigned long ready_hot(double seconds)
{
	volatile unsigned long x = 0;
	struct timespec t0;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	double start = (double)t0.tv_sec + (double)t0.tv_nsec / 1e9;
	for (;;) {
		struct timespec t;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
		if ((double)t.tv_sec + (double)t.tv_nsec / 1e9 - start >= seconds)
			break;
		int round = 5000 + (int)(next() % 5000);
		for (int i = 0; i < round; i++)
			x += (unsigned long)i * 7u;
	}
	return x;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	const char *mode = argv[1];
	double arg = strtod(argv[2], NULL);
	int err;
	if (!strcmp(mode, "options")) {
		struct kiln_options o = {.version = KILN_OPTIONS_VERSION, .alloc = 1};
		const char *p = getenv("LIB_ALLOC_PERIOD");
		if (p)
			o.alloc_period = strtoll(p, NULL, 10);
		err = kiln_start_profiling_with(&o);
	} else if (!strcmp(mode, "ready-nowait")) {
		struct kiln_options o = {.version = KILN_OPTIONS_VERSION, .ready_timeout_ms = -1};
		err = kiln_start_profiling_with(&o);
	} else {
		err = kiln_start_profiling();
	}
	if (err) {
		fprintf(stderr, "lib-alloc-app: start: %s\n", strerror(-err));
		return 1;
	}
	if (!strncmp(mode, "ready", 5)) {
		double t = now();
		ready_hot(arg / 1000);
		printf("ready_hot %.0f ms wall\n", (now() - t) * 1000);
		kiln_stop_profiling(10000);
		return 0;
	}
	uint64_t total = (uint64_t)(arg * 1024 * 1024), a = 0, b = 0, c = 0;
	if (!strcmp(mode, "leak")) {
		uint64_t leaked = 0;
		for (uint64_t mib = 0; mib * 1024 * 1024 < total; mib++) {
			leaked += leak_site(1 << 20);
			a += alloc_site_a(1 << 20);
			pause_a_little();
		}
		printf("truth leak_site %llu alloc_site_a %llu\n", (unsigned long long)leaked,
		       (unsigned long long)a);
		kiln_stop_profiling(10000);
		printf("lib-alloc-app: done\n");
		return 0;
	}
	/* interleaved, 1 MiB at a time, in the ratio 5:3:2 */
	for (uint64_t mib = 0; mib * 1024 * 1024 < total; mib++) {
		unsigned k = (unsigned)(mib % 10);
		if (k < 5)
			a += alloc_site_a(1 << 20);
		else if (k < 8)
			b += alloc_site_b(1 << 20);
		else
			c += alloc_site_c(1 << 20);
		pause_a_little();
	}
	printf("truth alloc_site_a %llu alloc_site_b %llu alloc_site_c %llu\n",
	       (unsigned long long)a, (unsigned long long)b, (unsigned long long)c);
	kiln_stop_profiling(10000);
	printf("lib-alloc-app: done\n");
	return 0;
}
