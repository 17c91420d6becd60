/* A library the torture program dlopens after start-up: its allocations must be sampled. */
#include <stdlib.h>
#include <string.h>

unsigned long preload_plugin_work(int n);

unsigned long preload_plugin_work(int n)
{
	unsigned long sum = 0;
	for (int i = 0; i < n; i++) {
		unsigned char *p = malloc(777777);
		if (!p)
			return 0;
		memset(p, i & 0xff, 777777);
		sum += p[i % 777777] + p[777776];
		free(p);
	}
	return sum;
}
