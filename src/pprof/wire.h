/*
 * wire: protobuf wire-format primitives shared by the pprof decoder and encoder (internal to
 * src/pprof). Varints are little-endian base-128; a tag is (field << 3) | wire type.
 */
#ifndef KILN_PPROF_WIRE_H
#define KILN_PPROF_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum wire_type {
	WIRE_VARINT = 0,
	WIRE_I64 = 1,
	WIRE_LEN = 2,
	WIRE_SGROUP = 3,
	WIRE_EGROUP = 4,
	WIRE_I32 = 5,
};

/* Reads one varint from [*pp, end). 0 and advances *pp, -1 if truncated, -2 if longer than
 * ten bytes. */
static inline int wire_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	if (p < end && !(*p & 0x80)) {
		*out = *p;
		*pp = p + 1;
		return 0;
	}
	/* At most ten bytes, and no further than end: one bound, no per-byte checks. */
	size_t avail = p < end ? (size_t)(end - p) : 0;
	unsigned max = avail < 10 ? (unsigned)avail : 10;
	uint64_t v = 0;
	for (unsigned i = 0; i < max; i++) {
		uint8_t b = p[i];
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*out = v;
			*pp = p + i + 1;
			return 0;
		}
	}
	return max == 10 ? -2 : -1;
}

static inline size_t wire_varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Writes v at p (room for ten bytes needed) and returns the byte after it. */
static inline uint8_t *wire_put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline uint8_t *wire_put_tag(uint8_t *p, uint32_t field, enum wire_type wt)
{
	return wire_put_varint(p, ((uint64_t)field << 3) | (uint64_t)wt);
}

#endif
