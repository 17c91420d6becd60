/*
 * arena.c: bump allocation from a list of chunks. Large requests get a chunk of their own
 * so the default chunk size stays small.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"

struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	size_t size;
	_Alignas(16) unsigned char data[];
};

#define ARENA_ALIGN 16

void arena_init(struct arena *a, size_t chunk)
{
	a->head = NULL;
	a->chunk = chunk ? chunk : 64 * 1024;
	a->total = 0;
}

void arena_release(struct arena *a)
{
	if (!a)
		return;
	struct arena_chunk *c = a->head;
	while (c) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->total = 0;
}

void *arena_alloc(struct arena *a, size_t size)
{
	size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (size == 0)
		size = ARENA_ALIGN;
	struct arena_chunk *c = a->head;
	if (c && c->size - c->used >= size) {
		void *p = c->data + c->used;
		c->used += size;
		return p;
	}
	size_t want = size > a->chunk / 4 ? size : a->chunk;
	if (want > SIZE_MAX - sizeof(*c)) {
		errno = ENOMEM;
		return NULL;
	}
	struct arena_chunk *n = malloc(sizeof(*n) + want);
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	n->size = want;
	n->used = size;
	a->total += sizeof(*n) + want;
	/* A dedicated large chunk goes behind the current one so its free space stays usable. */
	if (c && want != a->chunk) {
		n->next = c->next;
		c->next = n;
	} else {
		n->next = c;
		a->head = n;
	}
	return n->data;
}

void *arena_zalloc(struct arena *a, size_t size)
{
	void *p = arena_alloc(a, size);
	if (p)
		memset(p, 0, size);
	return p;
}

void *arena_memdup(struct arena *a, const void *p, size_t size)
{
	void *q = arena_alloc(a, size);
	if (q && size)
		memcpy(q, p, size);
	return q;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *q = arena_alloc(a, len + 1);
	if (q) {
		if (len)
			memcpy(q, s, len);
		q[len] = '\0';
	}
	return q;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}
