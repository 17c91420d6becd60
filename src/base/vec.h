/*
 * vec: a type-generic growable array.
 *
 *	VEC(uint64_t) ids = VEC_INIT;
 *	if (vec_push(&ids, 42) < 0)
 *		return -ENOMEM;
 *	for (size_t i = 0; i < ids.len; i++)
 *		use(ids.items[i]);
 *	vec_release(&ids);
 *
 * Pointers into items are invalidated by any call that grows the vector.
 */
#ifndef KILN_BASE_VEC_H
#define KILN_BASE_VEC_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#define VEC(T)                                                                                     \
	struct {                                                                                   \
		T *items;                                                                          \
		size_t len;                                                                        \
		size_t cap;                                                                        \
	}

#define VEC_INIT {NULL, 0, 0}

/* Grows *items so that it holds at least `need` elements of `elem` bytes. 0 or -ENOMEM. */
int vec_reserve_(void **items, size_t *cap, size_t need, size_t elem);

#define vec_reserve(v, n) vec_reserve_((void **)&(v)->items, &(v)->cap, (n), sizeof(*(v)->items))
#define vec_push(v, x)                                                                             \
	(vec_reserve((v), (v)->len + 1) < 0 ? -ENOMEM : ((v)->items[(v)->len++] = (x), 0))
/* Appends n zeroed elements and returns a pointer to the first, or NULL. */
#define vec_grow_zero(v, n) vec_grow_zero_((void **)&(v)->items, &(v)->len, &(v)->cap, (n), sizeof(*(v)->items))
void *vec_grow_zero_(void **items, size_t *len, size_t *cap, size_t n, size_t elem);
#define vec_last(v) (&(v)->items[(v)->len - 1])
#define vec_clear(v) ((v)->len = 0)
#define vec_release(v) (free((v)->items), (v)->items = NULL, (v)->len = 0, (v)->cap = 0)

#endif
