/* vec.c: the one out-of-line piece of the generic vector: growth. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"

int vec_reserve_(void **items, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 8;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	if (n > SIZE_MAX / elem)
		return -ENOMEM;
	void *p = realloc(*items, n * elem);
	if (!p)
		return -ENOMEM;
	*items = p;
	*cap = n;
	return 0;
}

void *vec_grow_zero_(void **items, size_t *len, size_t *cap, size_t n, size_t elem)
{
	if (n > SIZE_MAX - *len || vec_reserve_(items, cap, *len + n, elem) < 0)
		return NULL;
	char *p = (char *)*items + *len * elem;
	memset(p, 0, n * elem);
	*len += n;
	return p;
}
