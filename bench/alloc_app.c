/*
 * kiln_bench_alloc_app THREADS ROUNDS [PASSES]: an allocation-heavy program with a fixed amount of work,
 * for bench/alloc_slowdown.sh (kiln's allocation profiling against no profiler and against
 * heaptrack). Each thread keeps 4,096 live objects and, every round, replaces one chosen by a
 * xorshift generator with a new small one (90 % of 16–128 B, 10 % up to 1 KiB: the many
 * small allocations of a service's request handling), fills it, and reads an older one.
 * Over 10 M allocations per second per thread on this machine, with little else to do: a
 * worst case for an allocation hook. With PASSES > 0 each new object is also read PASSES
 * times (an FNV-1a hash of its bytes): a program that uses what it allocates, still at
 * millions of allocations per second per thread. Prints a checksum so the work cannot be
 * optimised away.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVE 4096

struct worker {
	long rounds;
	int passes;
	uint64_t seed;
	uint64_t sum;
};

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t draw_size(uint64_t r)
{
	unsigned k = (unsigned)(r & 1023);
	if (k < 922)
		return 16 + (r >> 10) % 113; /* 16..128 */
	return 128 + (r >> 10) % 897;	     /* ..1 KiB */
}

static void *work(void *arg)
{
	struct worker *w = arg;
	unsigned char **live = calloc(LIVE, sizeof(*live));
	if (!live)
		return NULL;
	uint64_t s = w->seed, sum = 0;
	for (long i = 0; i < w->rounds; i++) {
		uint64_t r = next(&s);
		size_t slot = (size_t)(r % LIVE);
		size_t n = draw_size(r >> 12);
		free(live[slot]);
		unsigned char *p = malloc(n);
		if (!p)
			abort();
		memset(p, (int)(r >> 56), n);
		p[n - 1] = (unsigned char)i;
		for (int k = 0; k < w->passes; k++) {
			uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)k;
			for (size_t j = 0; j < n; j++)
				h = (h ^ p[j]) * 0x100000001b3ULL;
			sum += h;
		}
		live[slot] = p;
		unsigned char *o = live[(slot * 31 + 7) % LIVE];
		if (o)
			sum += o[0];
	}
	for (size_t i = 0; i < LIVE; i++)
		free(live[i]);
	free(live);
	w->sum = sum;
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 2;
	long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 20000000;
	int passes = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 0;
	if (threads < 1 || threads > 64 || rounds < 1 || passes < 0) {
		fprintf(stderr, "usage: kiln_bench_alloc_app THREADS ROUNDS [PASSES]\n");
		return 2;
	}
	pthread_t tid[64];
	struct worker w[64];
	for (int t = 0; t < threads; t++) {
		w[t] = (struct worker){.rounds = rounds, .passes = passes, .seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(t + 1)};
		if (pthread_create(&tid[t], NULL, work, &w[t]))
			return 1;
	}
	uint64_t sum = 0;
	for (int t = 0; t < threads; t++) {
		pthread_join(tid[t], NULL);
		sum += w[t].sum;
	}
	printf("%llu\n", (unsigned long long)sum);
	return 0;
}
