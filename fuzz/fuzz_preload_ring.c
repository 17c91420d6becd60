/*
 * Fuzz target: the allocation ring reader (src/preload/ring.c). The ring's memory is shared
 * with the profiled program, so the profiler must survive anything written into it: the
 * input becomes the header cursors and the data area, then every record is read and
 * released.
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "preload/ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct alloc_ring *r;
	static int fd = -1;
	if (!r) {
		r = alloc_ring_create(64 * 1024, &fd);
		if (!r)
			return 0;
	}
	struct alloc_ring_header *h = alloc_ring_header(r);
	if (size < 24)
		return 0;
	uint64_t head, tail, dsize;
	memcpy(&head, data, 8);
	memcpy(&tail, data + 8, 8);
	memcpy(&dsize, data + 16, 8);
	data += 24;
	size -= 24;
	uint8_t *area = (uint8_t *)h + ALLOC_RING_HEADER_SIZE;
	memset(area, 0, 64 * 1024);
	memcpy(area, data, size < 64 * 1024 ? size : 64 * 1024);
	/* Cursors near the input's length most of the time, anything some of the time. */
	h->tail = tail & 1 ? tail : 0;
	h->head = head & 1 ? head : h->tail + size;
	h->data_size = dsize; /* a hostile target may rewrite this: the reader must not care */
	struct alloc_ring_event ev;
	for (int i = 0; i < 100000; i++) {
		int rc = alloc_ring_read(r, &ev);
		if (rc <= 0)
			break;
		if (ev.type == ALLOC_RING_ALLOC) {
			volatile uint8_t sum = 0;
			for (uint32_t k = 0; k < ev.alloc->stack_len; k++)
				sum ^= ev.stack[k];
			(void)sum;
		}
	}
	alloc_ring_release(r);
	return 0;
}
