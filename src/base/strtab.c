/*
 * strtab.c: string table with interning. Bytes live in an arena; an hindex over
 * (hash, id) finds equal strings. Only the first of equal strings is indexed: a duplicate
 * added with strtab_add gets its own id but stays out of the index, so lookups find the
 * lowest id and many duplicates (decoded tables can hold thousands) do not build one long
 * probe chain.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/strtab.h"

int strtab_init(struct strtab *t)
{
	memset(t, 0, sizeof(*t));
	arena_init(&t->arena, 64 * 1024);
	t->seed = 0x6b696c6e; /* "kiln" */
	if (strtab_add(t, "", 0) < 0) {
		strtab_release(t);
		return -ENOMEM;
	}
	return 0;
}

void strtab_release(struct strtab *t)
{
	if (!t)
		return;
	free(t->v);
	hindex_release(&t->index);
	arena_release(&t->arena);
	memset(t, 0, sizeof(*t));
}

static int64_t find(const struct strtab *t, const char *s, size_t len, uint64_t h)
{
	uint32_t id;
	for (size_t it = 0; hindex_probe(&t->index, h, &it, &id);)
		if (t->v[id].len == len && !memcmp(t->v[id].s, s, len))
			return id;
	return -ENOENT;
}

int64_t strtab_add(struct strtab *t, const char *s, size_t len)
{
	if (len > UINT32_MAX || t->len >= UINT32_MAX)
		return -E2BIG;
	if (t->len == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct strtab_entry *v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	char *copy = arena_strndup(&t->arena, s, len);
	if (!copy)
		return -ENOMEM;
	uint64_t h = hash_bytes(s, len, t->seed);
	if (find(t, s, len, h) < 0 && hindex_insert(&t->index, h, (uint32_t)t->len) < 0)
		return -ENOMEM;
	t->v[t->len].s = copy;
	t->v[t->len].len = (uint32_t)len;
	return (int64_t)t->len++;
}

int64_t strtab_find(const struct strtab *t, const char *s, size_t len)
{
	return find(t, s, len, hash_bytes(s, len, t->seed));
}

int64_t strtab_intern(struct strtab *t, const char *s, size_t len)
{
	int64_t id = find(t, s, len, hash_bytes(s, len, t->seed));
	return id >= 0 ? id : strtab_add(t, s, len);
}

int64_t strtab_intern_str(struct strtab *t, const char *s)
{
	return strtab_intern(t, s, strlen(s));
}

const char *strtab_get(const struct strtab *t, int64_t id, size_t *len)
{
	if (id < 0 || (uint64_t)id >= t->len)
		return NULL;
	if (len)
		*len = t->v[id].len;
	return t->v[id].s;
}
