/* preload-bench [N]: ns per malloc(64)+free pair, the best of 5 runs of N pairs. Run with
 * and without libkiln_preload.so by bench/alloc.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *volatile sink;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000000;
	double best = 1e30;
	for (int run = 0; run < 5; run++) {
		double t0 = now();
		for (long i = 0; i < n; i++) {
			void *p = malloc(64);
			sink = p;
			free(p);
		}
		double ns = (now() - t0) / (double)n;
		if (ns < best)
			best = ns;
	}
	printf("%.2f\n", best);
	return 0;
}
