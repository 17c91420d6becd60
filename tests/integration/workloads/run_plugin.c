/* run_plugin.c: a shared library run-work dlopens after it started (kiln must pick up the
 * new mapping from its MMAP2 record and symbolize plugin_hot). */
#include <stdint.h>
#include <time.h>

void plugin_work(double seconds);

static volatile uint64_t plugin_sink;

__attribute__((noinline)) static void plugin_hot(void)
{
	uint64_t x = plugin_sink + 1;
	for (int i = 0; i < 100000; i++)
		x = x * 2862933555777941757ULL + 3037000493ULL;
	plugin_sink = x;
}

void plugin_work(double seconds)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double end = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + seconds;
	for (;;) {
		plugin_hot();
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9 > end)
			break;
	}
}
