/* got_lib.c: a shared library linked into preload-got-app at start-up; its allocations go
 * through its own GOT. */
#include <stdlib.h>

void *gotlib_alloc(size_t n);

__attribute__((noinline)) void *gotlib_alloc(size_t n)
{
	return malloc(n);
}
