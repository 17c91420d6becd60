/* The program test_sampling.c runs under libkiln_preload.so: three call sites allocating
 * (and freeing) bytes in the ratio 1:2:4 through malloc, calloc and posix_memalign, and one
 * site that leaks. Prints the sites' addresses so that the reader can attribute samples. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void site_a(void);
void site_b(void);
void site_c(void);
void site_leak(void);

static void *volatile sink;

void site_a(void) /* 100 MB: malloc(1000) x 100000 */
{
	for (int i = 0; i < 100000; i++) {
		void *p = malloc(1000);
		sink = p;
		free(p);
	}
}

void site_b(void) /* 200 MB: calloc(10, 400) x 50000 */
{
	for (int i = 0; i < 50000; i++) {
		void *p = calloc(10, 400);
		sink = p;
		free(p);
	}
}

void site_c(void) /* 400 MB: posix_memalign(64, 8000) x 50000 */
{
	for (int i = 0; i < 50000; i++) {
		void *p = NULL;
		if (posix_memalign(&p, 64, 8000))
			abort();
		sink = p;
		free(p);
	}
}

static void *leaked[2000];

void site_leak(void) /* 64 MB kept: malloc(32768) x 2000 */
{
	for (int i = 0; i < 2000; i++)
		leaked[i] = malloc(32768);
}

int main(void)
{
	printf("%p %p %p %p\n", (void *)site_a, (void *)site_b, (void *)site_c, (void *)site_leak);
	fflush(stdout);
	site_a();
	site_b();
	site_c();
	site_leak();
	return 0;
}
