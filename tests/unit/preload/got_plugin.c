/* got_plugin.c: a library preload-got-app dlopen's after the hook is installed. */
#include <stdlib.h>

void *plugin_alloc(size_t n);

__attribute__((noinline)) void *plugin_alloc(size_t n)
{
	return malloc(n);
}
