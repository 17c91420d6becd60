/*
 * alloc_work.c: allocation workloads with a known truth, for kiln run's allocation tests
 * (tests/integration/run_alloc*.sh). Prints the truth on stdout, one "key value" per line.
 *
 *	alloc-work sites MB RATE_MB_S
 *	    three call sites allocate MB megabytes in all, 50/30/20 %, mixed sizes (16 B ..
 *	    96 KiB, pseudo-random), each block touched and freed; paced to RATE_MB_S.
 *	    Prints "site_a BYTES", "site_b BYTES", "site_c BYTES", "total BYTES".
 *	alloc-work leak SECONDS LEAK_MB_S
 *	    leak_site keeps LEAK_MB_S megabytes per second (never freed); churn_a and churn_b
 *	    allocate ten times as much and free all of it. Prints "leaked BYTES" and
 *	    "churned BYTES".
 * ALLOC_WORK_DELAY=SECONDS waits before starting (time for a profiler to attach).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Mixed sizes: mostly small, some large, never a fixed pattern. */
static size_t random_size(void)
{
	uint64_t r = next_random();
	switch (r % 4) {
	case 0:
		return 16 + (size_t)(r >> 8) % 512;
	case 1:
		return 512 + (size_t)(r >> 8) % 4096;
	case 2:
		return 4096 + (size_t)(r >> 8) % 32768;
	default:
		return 32768 + (size_t)(r >> 8) % 65536;
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps until done bytes at rate bytes/s are due since start. */
static void pace(double start, double done, double rate)
{
	double due = start + done / rate, t = now_s();
	if (due > t) {
		struct timespec ts = {(time_t)(due - t),
				      (long)((due - t - (double)(time_t)(due - t)) * 1e9)};
		nanosleep(&ts, NULL);
	}
}

static volatile uint64_t sink;

/* tag keeps the call sites' bodies distinct (no identical-code folding of them). */
__attribute__((noinline)) static void use(char *p, size_t n, int tag)
{
	p[0] = (char)tag;
	p[n - 1] = 2;
	sink += (uint64_t)(uintptr_t)p + (uint64_t)tag;
}

__attribute__((noinline)) static size_t alloc_site_a(void)
{
	size_t n = random_size();
	char *p = malloc(n);
	use(p, n, 1);
	free(p);
	return n;
}

__attribute__((noinline)) static size_t alloc_site_b(void)
{
	size_t n = random_size();
	char *p = calloc(1, n);
	use(p, n, 2);
	free(p);
	return n;
}

__attribute__((noinline)) static size_t alloc_site_c(void)
{
	size_t n = random_size();
	char *p = malloc(n / 2 + 1);
	p = realloc(p, n); /* realloc counts the new size; the first block is freed by it */
	use(p, n, 3);
	free(p);
	return n + (n / 2 + 1);
}

static int sites(long mb, long rate_mb)
{
	uint64_t total = (uint64_t)mb << 20, done = 0, a = 0, b = 0, c = 0;
	double start = now_s(), rate = (double)rate_mb * 1048576.0;
	uint64_t next_pace = 0;
	while (done < total) {
		uint64_t r = next_random() % 100;
		/* the shares are of bytes: pick the site whose share is furthest behind, with a
		 * random order among near ties so there is no fixed period */
		double da = 0.5 * (double)done - (double)a, db = 0.3 * (double)done - (double)b,
		       dc = 0.2 * (double)done - (double)c;
		size_t n;
		if (r < 10 ? da >= 0 : (da >= db && da >= dc))
			n = alloc_site_a(), a += n;
		else if (db >= dc)
			n = alloc_site_b(), b += n;
		else
			n = alloc_site_c(), c += n;
		done += n;
		if (done >= next_pace) {
			pace(start, (double)done, rate);
			next_pace = done + (4u << 20) + next_random() % (1u << 20);
		}
	}
	printf("site_a %llu\nsite_b %llu\nsite_c %llu\ntotal %llu\n", (unsigned long long)a,
	       (unsigned long long)b, (unsigned long long)c, (unsigned long long)done);
	return 0;
}

struct leak {
	struct leak *next;
};

__attribute__((noinline)) static struct leak *leak_site(struct leak *head, size_t n)
{
	struct leak *l = malloc(n);
	memset(l, 0x5a, n);
	l->next = head;
	return l;
}

__attribute__((noinline)) static size_t churn_a(void)
{
	size_t n = random_size();
	char *p = malloc(n);
	use(p, n, 4);
	free(p);
	return n;
}

__attribute__((noinline)) static size_t churn_b(void)
{
	size_t n = random_size();
	char *p = malloc(n);
	use(p, n, 5);
	free(p);
	return n;
}

static int leak(double seconds, long leak_mb)
{
	struct leak *head = NULL;
	uint64_t leaked = 0, churned = 0;
	double start = now_s(), rate = (double)leak_mb * 1048576.0;
	while (now_s() - start < seconds) {
		size_t n = random_size();
		if (n < sizeof(struct leak))
			n = sizeof(struct leak);
		head = leak_site(head, n);
		leaked += n;
		/* ten times as much churn, freed at once */
		uint64_t target = churned + 10 * n;
		while (churned < target)
			churned += (next_random() & 1) ? churn_a() : churn_b();
		pace(start, (double)leaked, rate);
	}
	printf("leaked %llu\nchurned %llu\n", (unsigned long long)leaked,
	       (unsigned long long)churned);
	fflush(stdout);
	/* the leak is still held at exit, as a leaking program's would be */
	sink += (uint64_t)(uintptr_t)head;
	return 0;
}

int main(int argc, char **argv)
{
	rng ^= (uint64_t)time(NULL) * 0x2545f4914f6cdd1dULL;
	const char *delay = getenv("ALLOC_WORK_DELAY");
	if (delay) {
		double d = strtod(delay, NULL);
		struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
		nanosleep(&ts, NULL);
	}
	if (argc == 4 && !strcmp(argv[1], "sites"))
		return sites(strtol(argv[2], NULL, 10), strtol(argv[3], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "leak"))
		return leak(strtod(argv[2], NULL), strtol(argv[3], NULL, 10));
	fprintf(stderr, "usage: alloc-work sites MB RATE_MB_S | leak SECONDS LEAK_MB_S\n");
	return 2;
}
