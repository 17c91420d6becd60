/*
 * preload: libkiln_preload.so, the allocation hook (preload.c). Loaded with LD_PRELOAD it
 * interposes malloc, calloc, realloc, reallocarray, free, posix_memalign, aligned_alloc,
 * memalign, valloc and pvalloc, samples allocated bytes (exponential intervals, mean
 * KILN_ALLOC_PERIOD bytes, default 512 KiB; negative: deterministic) and writes each sample
 * (registers, a copy of the stack, size, address, weight) into the ring named by
 * KILN_ALLOC_RING (ring.h). Without a usable ring every hook passes straight through.
 * See docs/allocations.md.
 */
#ifndef KILN_PRELOAD_PRELOAD_H
#define KILN_PRELOAD_PRELOAD_H

/* 1 when this process writes samples into a ring (exported for tests and diagnostics). */
int preload_enabled(void);

#endif
