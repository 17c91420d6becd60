/*
 * arena: a bump allocator for many small objects freed together.
 *
 * Memory comes from chunks of at least `chunk` bytes; arena_release frees them all in one
 * call (the server allocates per request from an arena; decoded profiles own one).
 * Allocations are 16-byte aligned. Returns NULL on -ENOMEM.
 */
#ifndef KILN_BASE_ARENA_H
#define KILN_BASE_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t chunk;  /* default chunk size */
	size_t total;  /* bytes obtained from malloc, for accounting */
};

void arena_init(struct arena *a, size_t chunk);
void arena_release(struct arena *a);
void *arena_alloc(struct arena *a, size_t size);
void *arena_zalloc(struct arena *a, size_t size);
void *arena_memdup(struct arena *a, const void *p, size_t size);
/* Copies len bytes and appends a NUL. */
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);

#endif
