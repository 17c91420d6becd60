/*
 * hash.c: a simple, fast 64-bit hash over bytes: 8-byte words folded with a multiply-xorshift
 * mix (the same family as hash_u64). Good distribution for table lookups; not cryptographic.
 */
#include <string.h>

#include "base/hash.h"

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

uint64_t hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
	while (len >= 16) {
		uint64_t a = load64(p) * 0xff51afd7ed558ccdULL;
		uint64_t b = load64(p + 8) * 0xc4ceb9fe1a85ec53ULL;
		h = (h ^ a) * 0x9e3779b97f4a7c15ULL;
		h = ((h << 31) | (h >> 33)) ^ b;
		p += 16;
		len -= 16;
	}
	if (len >= 8) {
		h = (h ^ load64(p) * 0xff51afd7ed558ccdULL) * 0x9e3779b97f4a7c15ULL;
		p += 8;
		len -= 8;
	}
	uint64_t tail = 0;
	for (size_t i = 0; i < len; i++)
		tail |= (uint64_t)p[i] << (8 * i);
	h ^= tail * 0xc4ceb9fe1a85ec53ULL;
	return hash_u64(h);
}
