/*
 * hmap.c: open-addressing tables with linear probing.
 *
 * hmap keeps keys, values and an occupancy byte in three arrays (cache-friendly probing on
 * keys alone) and deletes by backward shift, so there are no tombstones. hindex stores
 * (hash, id) slots and lets the caller compare records it keeps elsewhere; it never deletes.
 * Both grow at 3/4 load.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/hmap.h"

static size_t cap_for(size_t n)
{
	size_t cap = 16;
	while (cap - cap / 4 < n + 1)
		cap *= 2;
	return cap;
}

static int hmap_resize(struct hmap *m, size_t cap)
{
	uint64_t *keys = malloc(cap * sizeof(*keys));
	uint64_t *vals = malloc(cap * sizeof(*vals));
	uint8_t *used = calloc(cap, 1);
	if (!keys || !vals || !used) {
		free(keys);
		free(vals);
		free(used);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->used[i])
			continue;
		size_t j = hash_u64(m->keys[i]) & (cap - 1);
		while (used[j])
			j = (j + 1) & (cap - 1);
		used[j] = 1;
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	free(m->used);
	m->keys = keys;
	m->vals = vals;
	m->used = used;
	m->cap = cap;
	return 0;
}

int hmap_init(struct hmap *m, size_t hint)
{
	memset(m, 0, sizeof(*m));
	return hint ? hmap_resize(m, cap_for(hint)) : 0;
}

void hmap_release(struct hmap *m)
{
	if (!m)
		return;
	free(m->keys);
	free(m->vals);
	free(m->used);
	memset(m, 0, sizeof(*m));
}

void hmap_clear(struct hmap *m)
{
	if (m->cap)
		memset(m->used, 0, m->cap);
	m->len = 0;
}

uint64_t *hmap_get(const struct hmap *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	size_t i = hash_u64(key) & (m->cap - 1);
	while (m->used[i]) {
		if (m->keys[i] == key)
			return &m->vals[i];
		i = (i + 1) & (m->cap - 1);
	}
	return NULL;
}

uint64_t *hmap_upsert(struct hmap *m, uint64_t key, bool *created)
{
	if (m->len + 1 > m->cap - m->cap / 4 && hmap_resize(m, cap_for(m->len + 1)) < 0)
		return NULL;
	size_t i = hash_u64(key) & (m->cap - 1);
	while (m->used[i]) {
		if (m->keys[i] == key) {
			if (created)
				*created = false;
			return &m->vals[i];
		}
		i = (i + 1) & (m->cap - 1);
	}
	m->used[i] = 1;
	m->keys[i] = key;
	m->vals[i] = 0;
	m->len++;
	if (created)
		*created = true;
	return &m->vals[i];
}

int hmap_put(struct hmap *m, uint64_t key, uint64_t val)
{
	uint64_t *v = hmap_upsert(m, key, NULL);
	if (!v)
		return -ENOMEM;
	*v = val;
	return 0;
}

bool hmap_del(struct hmap *m, uint64_t key, uint64_t *val)
{
	if (!m->cap)
		return false;
	size_t mask = m->cap - 1;
	size_t i = hash_u64(key) & mask;
	while (m->used[i] && m->keys[i] != key)
		i = (i + 1) & mask;
	if (!m->used[i])
		return false;
	if (val)
		*val = m->vals[i];
	/* Backward shift: pull later members of the cluster into the hole when their home
	 * slot is not between the hole and their current slot (cyclically). */
	size_t hole = i, j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!m->used[j])
			break;
		size_t home = hash_u64(m->keys[j]) & mask;
		bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
		if (movable) {
			m->keys[hole] = m->keys[j];
			m->vals[hole] = m->vals[j];
			hole = j;
		}
	}
	m->used[hole] = 0;
	m->len--;
	return true;
}

bool hmap_next(const struct hmap *m, size_t *it, uint64_t *key, uint64_t *val)
{
	for (size_t i = *it; i < m->cap; i++) {
		if (m->used[i]) {
			if (key)
				*key = m->keys[i];
			if (val)
				*val = m->vals[i];
			*it = i + 1;
			return true;
		}
	}
	*it = m->cap;
	return false;
}

/* ---- hindex ---- */

static int hindex_resize(struct hindex *ix, size_t cap)
{
	struct hindex_slot *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < ix->cap; i++) {
		if (!ix->slots[i].used)
			continue;
		size_t j = ix->slots[i].hash & (cap - 1);
		while (slots[j].used)
			j = (j + 1) & (cap - 1);
		slots[j] = ix->slots[i];
	}
	free(ix->slots);
	ix->slots = slots;
	ix->cap = cap;
	return 0;
}

int hindex_init(struct hindex *ix, size_t hint)
{
	memset(ix, 0, sizeof(*ix));
	return hint ? hindex_resize(ix, cap_for(hint)) : 0;
}

void hindex_release(struct hindex *ix)
{
	if (!ix)
		return;
	free(ix->slots);
	memset(ix, 0, sizeof(*ix));
}

void hindex_clear(struct hindex *ix)
{
	if (ix->cap)
		memset(ix->slots, 0, ix->cap * sizeof(*ix->slots));
	ix->len = 0;
}

bool hindex_probe(const struct hindex *ix, uint64_t hash, size_t *it, uint32_t *id)
{
	if (!ix->cap)
		return false;
	size_t mask = ix->cap - 1;
	/* *it counts probe steps already taken from the home slot. */
	for (size_t step = *it; step < ix->cap; step++) {
		const struct hindex_slot *s = &ix->slots[(hash + step) & mask];
		if (!s->used)
			break;
		if (s->hash == hash) {
			*id = s->id;
			*it = step + 1;
			return true;
		}
	}
	*it = ix->cap;
	return false;
}

int hindex_insert(struct hindex *ix, uint64_t hash, uint32_t id)
{
	if (ix->len + 1 > ix->cap - ix->cap / 4 && hindex_resize(ix, cap_for(ix->len + 1)) < 0)
		return -ENOMEM;
	size_t mask = ix->cap - 1;
	size_t i = hash & mask;
	while (ix->slots[i].used)
		i = (i + 1) & mask;
	ix->slots[i].hash = hash;
	ix->slots[i].id = id;
	ix->slots[i].used = 1;
	ix->len++;
	return 0;
}
