/*
 * run_work.c: the CPU workloads kiln run's integration tests profile. Work is split between
 * functions in known ratios so a test can check the profile's shares; built with -O2
 * -fomit-frame-pointer so complete stacks need the CFI unwinder.
 *
 *	run-work spin SECONDS THREADS     work_a/work_b/work_c = 50/30/20 in every thread
 *	run-work deep SECONDS THREADS     ~25 KiB deep recursion under entry_a/b/c = 50/30/20
 *	run-work fork SECONDS CHILDREN    forked children run spin (one thread each)
 *	run-work dlopen SECONDS LIB       dlopen LIB after 100 ms, then run its plugin_work
 *	run-work exit CODE                spin 50 ms, exit with CODE
 *	run-work signal                   spin 50 ms, kill itself with SIGTERM
 *	run-work fixed ROUNDS THREADS     a fixed amount of work (for overhead benchmarks)
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__clang__)
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noinline, noipa))
#endif

static volatile uint64_t sink;
static double seconds;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define BODY(n)                                                                                    \
	do {                                                                                       \
		uint64_t x = sink + 1;                                                             \
		for (int i_ = 0; i_ < (n); i_++)                                                   \
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;                   \
		sink = x;                                                                          \
	} while (0)

#define UNIT 20000

NOIPA void work_a(int units);
NOIPA void work_b(int units);
NOIPA void work_c(int units);

NOIPA void work_a(int units)
{
	BODY(units * UNIT);
}

NOIPA void work_b(int units)
{
	BODY(units * UNIT + 1);
}

NOIPA void work_c(int units)
{
	BODY(units * UNIT + 2);
}

NOIPA static void spin_round_n(int r)
{
	work_a(5 * r);
	work_b(3 * r);
	work_c(2 * r);
}

NOIPA static void spin_round(void)
{
	spin_round_n(1);
}

/* 1..4, pseudo-random per thread: timed loops vary their round size so that no round length
 * can fall into step with the sampling period (the shares the tests check stay 50/30/20). */
static int jitter(void)
{
	static __thread uint64_t s;
	if (!s)
		s = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)&s;
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return 1 + (int)(s >> 62);
}

NOIPA static void *spin_thread(void *arg)
{
	double end = now() + seconds;
	while (now() < end)
		spin_round_n(jitter());
	return arg;
}

/* ---- deep stacks ---- */

NOIPA static int recurse(int depth, int units)
{
	volatile char pad[96];
	pad[0] = (char)depth;
	if (depth == 0) {
		BODY(units * UNIT);
		return pad[0];
	}
	return recurse(depth - 1, units) + pad[0];
}

NOIPA int entry_a(int k);
NOIPA int entry_b(int k);
NOIPA int entry_c(int k);

NOIPA int entry_a(int k)
{
	int r = recurse(180, 5 * k); /* not a tail call: entry_a stays on the stack */
	sink += (uint64_t)r;
	return r;
}

NOIPA int entry_b(int k)
{
	int r = recurse(180, 3 * k); /* not a tail call: entry_b stays on the stack */
	sink += (uint64_t)r;
	return r;
}

NOIPA int entry_c(int k)
{
	int r = recurse(180, 2 * k); /* not a tail call: entry_c stays on the stack */
	sink += (uint64_t)r;
	return r;
}

NOIPA static void *deep_thread(void *arg)
{
	double end = now() + seconds;
	while (now() < end) {
		int k = jitter();
		sink += (uint64_t)(entry_a(k) + entry_b(k) + entry_c(k));
	}
	return arg;
}

static void run_threads(int n, void *(*fn)(void *))
{
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	for (int i = 1; i < n; i++)
		pthread_create(&t[i], NULL, fn, NULL);
	fn(NULL);
	for (int i = 1; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
}

static void spin_for(double s)
{
	double end = now() + s;
	while (now() < end)
		spin_round();
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: run-work spin|deep|fork|dlopen|exit|signal ...\n");
		return 2;
	}
	const char *mode = argv[1];
	if (!strcmp(mode, "exit")) {
		spin_for(0.05);
		return argc > 2 ? (int)strtol(argv[2], NULL, 10) : 0;
	}
	if (!strcmp(mode, "signal")) {
		spin_for(0.05);
		kill(getpid(), SIGTERM);
		pause();
		return 0;
	}
	seconds = argc > 2 ? strtod(argv[2], NULL) : 1.0;
	int n = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 1;
	if (n < 1)
		n = 1;
	if (!strcmp(mode, "fixed")) {
		long rounds = (long)seconds; /* the second argument is a count here */
		for (long r = 0; r < rounds; r++)
			spin_round();
		printf("run-work: done %llu\n", (unsigned long long)(sink & 1));
		return 0;
	}
	if (!strcmp(mode, "spin")) {
		run_threads(n, spin_thread);
	} else if (!strcmp(mode, "deep")) {
		run_threads(n, deep_thread);
	} else if (!strcmp(mode, "fork")) {
		for (int i = 0; i < n; i++) {
			pid_t c = fork();
			if (c == 0) {
				spin_thread(NULL);
				_exit(0);
			}
		}
		while (wait(NULL) > 0)
			;
	} else if (!strcmp(mode, "dlopen")) {
		spin_for(0.1);
		void *h = dlopen(argc > 3 ? argv[3] : "", RTLD_NOW);
		if (!h) {
			fprintf(stderr, "run-work: dlopen: %s\n", dlerror());
			return 1;
		}
		void (*plugin_work)(double) = (void (*)(double))dlsym(h, "plugin_work");
		if (!plugin_work)
			return 1;
		plugin_work(seconds);
		dlclose(h);
	} else {
		fprintf(stderr, "run-work: unknown mode '%s'\n", mode);
		return 2;
	}
	printf("run-work: done %llu\n", (unsigned long long)(sink & 1));
	return 0;
}
