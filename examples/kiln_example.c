/*
 * kiln_example.c: an application profiling itself with libkiln. Build against an installed
 * kiln with `cc kiln_example.c $(pkg-config --cflags --libs kiln)`.
 *
 * The profiler reads its configuration from the environment: here the program sets its own
 * service, environment and version before starting it (a deployment would set them).
 * `DD_PROFILING_NATIVE_PRESET=cpu_live_heap ./kiln-example` also profiles its allocations
 * (see docs/library.md).
 */
#include <kiln.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The work being profiled. */
__attribute__((noinline)) static unsigned long example_work(double seconds)
{
	volatile unsigned long x = 0;
	double end = now() + seconds;
	while (now() < end)
		for (int i = 0; i < 10000; i++)
			x += (unsigned long)i * 13u;
	return x;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 2.0;
	setenv("DD_SERVICE", "kiln-example", 0);
	setenv("DD_ENV", "dev", 0);
	setenv("DD_VERSION", "1.0", 0);
	int err = kiln_start_profiling();
	if (err) {
		fprintf(stderr, "kiln-example: cannot start profiling: %s\n", strerror(-err));
		return 1;
	}
	example_work(seconds);
	kiln_stop_profiling(5000);
	printf("kiln-example: done\n");
	return 0;
}
