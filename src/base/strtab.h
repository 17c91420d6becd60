/*
 * strtab: a table of byte strings addressed by dense ids, with optional interning.
 *
 * Id 0 is always the empty string, as in pprof's string table. strtab_add appends
 * unconditionally (keeps ids of a decoded table even when it has duplicates);
 * strtab_intern returns the id of an equal string if one exists. Strings are stored
 * NUL-terminated and may contain NUL bytes (use the length).
 *
 * Pointers returned by strtab_get stay valid until strtab_release.
 */
#ifndef KILN_BASE_STRTAB_H
#define KILN_BASE_STRTAB_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/hmap.h"

struct strtab_entry {
	const char *s;
	uint32_t len;
};

struct strtab {
	struct strtab_entry *v;
	size_t len;
	size_t cap;
	struct hindex index;
	struct arena arena;
	uint64_t seed;
};

int strtab_init(struct strtab *t);
void strtab_release(struct strtab *t);
/* Returns the new id, or a negative errno. */
int64_t strtab_add(struct strtab *t, const char *s, size_t len);
/* Returns the id of an equal string, adding it if absent; or a negative errno. */
int64_t strtab_intern(struct strtab *t, const char *s, size_t len);
int64_t strtab_intern_str(struct strtab *t, const char *s);
/* Returns the id of an equal string or -ENOENT. */
int64_t strtab_find(const struct strtab *t, const char *s, size_t len);
/* NULL if id is out of range. *len may be NULL. */
const char *strtab_get(const struct strtab *t, int64_t id, size_t *len);
static inline size_t strtab_count(const struct strtab *t)
{
	return t->len;
}

#endif
