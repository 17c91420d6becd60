/*
 * Fuzz target: the profiler's copy of the allocation ring (src/profiler/alloc.c) on top of the
 * ring reader. The ring's memory belongs to the profiled program as much as to kiln: the
 * input becomes the data area (and the head cursor), then records are copied out, held,
 * looked at and consumed as the profiler does, with a stall and a recovery in between.
 */
#include <stdint.h>
#include <string.h>

#include "base/log.h"
#include "profiler/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet) {
		log_set_mode("disabled");
		quiet = 1;
	}
	if (size < 8)
		return 0;
	int fd;
	struct alloc_ring *r = alloc_ring_create(64 * 1024, &fd);
	if (!r)
		return 0;
	struct alloc_ring_header *h = alloc_ring_header(r);
	struct alloc_source *s = alloc_source_new(r);
	if (!s) {
		alloc_ring_free(r);
		return 0;
	}
	uint64_t head;
	memcpy(&head, data, 8);
	data += 8;
	size -= 8;
	size_t n = size < 64 * 1024 ? size : 64 * 1024;
	memcpy((uint8_t *)h + ALLOC_RING_HEADER_SIZE, data, n);
	h->head = head & 1 ? head : (n + 7) & ~(size_t)7;
	uint64_t now = 1000;
	for (int round = 0; round < 3; round++) {
		alloc_source_fill(s, now);
		struct alloc_record rec;
		for (size_t i = 0; alloc_source_get(s, i, &rec); i++) {
			sink += rec.time + rec.pid + rec.addr;
			if (rec.type == ALLOC_RING_ALLOC && rec.alloc->stack_len)
				sink += rec.stack[rec.alloc->stack_len - 1];
		}
		alloc_source_consume(s, now);
		now += 2000000000ULL; /* past the stall limit: a stuck ring is recovered */
	}
	struct alloc_source_counters c;
	alloc_source_counters(s, &c);
	alloc_source_free(s);
	return 0;
}
