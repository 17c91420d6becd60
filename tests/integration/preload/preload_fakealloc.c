/* A stand-in for tcmalloc/jemalloc: a library that provides malloc AND its own operator
 * new/delete which do not call malloc (here: glibc's internal __libc_malloc). The hook must
 * sample its operator new itself, exactly once per allocation. */
#include <stddef.h>
#include <stdlib.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

void *_Znwm(size_t n);
void *_Znam(size_t n);
void _ZdlPv(void *p);
void _ZdaPv(void *p);
void _ZdlPvm(void *p, size_t n);
void _ZdaPvm(void *p, size_t n);

void *malloc(size_t n)
{
	return __libc_malloc(n);
}

void free(void *p)
{
	__libc_free(p);
}

void *calloc(size_t n, size_t m)
{
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	return __libc_realloc(p, n);
}

static void *new_impl(size_t n)
{
	void *p = __libc_malloc(n ? n : 1);
	if (!p)
		abort(); /* a real allocator throws std::bad_alloc */
	return p;
}

void *_Znwm(size_t n)
{
	return new_impl(n);
}

void *_Znam(size_t n)
{
	return new_impl(n);
}

void _ZdlPv(void *p)
{
	__libc_free(p);
}

void _ZdaPv(void *p)
{
	__libc_free(p);
}

void _ZdlPvm(void *p, size_t n)
{
	__libc_free(p);
}

void _ZdaPvm(void *p, size_t n)
{
	__libc_free(p);
}
