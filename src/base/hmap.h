/*
 * hmap: an open-addressing hash map from uint64_t keys to uint64_t values.
 *
 * Linear probing with backward-shift deletion, so there are no tombstones and lookups stay
 * short after many deletes. Any key value is allowed (an occupancy byte array tracks slots).
 * Load factor is kept at or below 7/8... in practice 3/4.
 *
 *	struct hmap m;
 *	hmap_init(&m, 0);
 *	hmap_put(&m, addr, size);
 *	uint64_t *v = hmap_get(&m, addr);
 *	hmap_release(&m);
 *
 * Pointers returned by hmap_get/hmap_upsert stay valid until the next insert or delete.
 */
#ifndef KILN_BASE_HMAP_H
#define KILN_BASE_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap {
	uint64_t *keys;
	uint64_t *vals;
	uint8_t *used;
	size_t cap; /* power of two, or 0 */
	size_t len;
};

/* `hint` pre-sizes for that many entries (0: allocate on first insert). 0 or -ENOMEM. */
int hmap_init(struct hmap *m, size_t hint);
void hmap_release(struct hmap *m);
void hmap_clear(struct hmap *m);
uint64_t *hmap_get(const struct hmap *m, uint64_t key);
/* Inserts or overwrites. 0 or -ENOMEM. */
int hmap_put(struct hmap *m, uint64_t key, uint64_t val);
/* Returns the value slot for key, inserting 0 first if absent (*created says which).
 * NULL on -ENOMEM. */
uint64_t *hmap_upsert(struct hmap *m, uint64_t key, bool *created);
/* Removes key; returns true if it was present (and stores its value in *val if non-NULL). */
bool hmap_del(struct hmap *m, uint64_t key, uint64_t *val);

/* Iteration: for (size_t it = 0; hmap_next(m, &it, &k, &v);) … Do not modify during it. */
bool hmap_next(const struct hmap *m, size_t *it, uint64_t *key, uint64_t *val);

/*
 * hindex: deduplicates records the caller stores elsewhere (in a vec, an arena…).
 *
 * The index holds (hash, id) pairs; the caller compares candidates itself:
 *
 *	uint32_t id;
 *	uint64_t h = hash_bytes(key, n, 0);
 *	for (size_t it = 0; hindex_probe(&ix, h, &it, &id);)
 *		if (same(records[id], key))
 *			return id;
 *	id = append_record(key);
 *	hindex_insert(&ix, h, id);
 */
struct hindex_slot {
	uint64_t hash;
	uint32_t id;
	uint32_t used;
};

struct hindex {
	struct hindex_slot *slots;
	size_t cap;
	size_t len;
};

int hindex_init(struct hindex *ix, size_t hint);
void hindex_release(struct hindex *ix);
void hindex_clear(struct hindex *ix);
/* Yields, one per call, the ids stored with this hash. Start with *it = 0. */
bool hindex_probe(const struct hindex *ix, uint64_t hash, size_t *it, uint32_t *id);
int hindex_insert(struct hindex *ix, uint64_t hash, uint32_t id);

#endif
