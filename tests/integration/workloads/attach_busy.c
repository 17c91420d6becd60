/*
 * attach_busy.c: processes for the `kiln run --global` tests.
 *
 *	attach-busy alpha|beta|gamma SECONDS   burn CPU in busy_alpha/busy_beta/busy_gamma
 *	attach-busy burst N                     fork N short-lived children, each spinning ~2 ms
 *	                                        in busy_burst, one or two at a time
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define BUSY(name, k)                                                                              \
	__attribute__((noinline)) static unsigned long name(double seconds)                        \
	{                                                                                          \
		volatile unsigned long x = 0;                                                      \
		double end = now() + seconds;                                                      \
		while (now() < end)                                                                \
			for (int i = 0; i < 10000; i++)                                            \
				x += (unsigned long)i * (k);                                       \
		return x;                                                                          \
	}

/* Distinct constants: identical bodies would be folded into one function (-fipa-icf). */
BUSY(busy_alpha, 3u)
BUSY(busy_beta, 5u)
BUSY(busy_gamma, 7u)
BUSY(busy_burst, 11u)

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: attach-busy alpha|beta|gamma SECONDS | burst N\n");
		return 2;
	}
	double v = strtod(argv[2], NULL);
	if (!strcmp(argv[1], "alpha"))
		busy_alpha(v);
	else if (!strcmp(argv[1], "beta"))
		busy_beta(v);
	else if (!strcmp(argv[1], "gamma"))
		busy_gamma(v);
	else if (!strcmp(argv[1], "burst")) {
		long n = (long)v, running = 0;
		for (long i = 0; i < n; i++) {
			if (running >= 2 && wait(NULL) > 0)
				running--;
			pid_t c = fork();
			if (c == 0) {
				busy_burst(0.002);
				_exit(0);
			}
			if (c > 0)
				running++;
		}
		while (wait(NULL) > 0)
			;
	} else
		return 2;
	return 0;
}
