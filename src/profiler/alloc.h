/*
 * alloc: the profiler's end of the allocation ring (preload/ring.h): reads committed records
 * out of the shared memory into private copies (the profiled program can write to that
 * memory, so nothing is validated or used in place), holds them until the profiler's time
 * watermark lets them be merged with the perf records, tracks the ring's loss counters, and
 * recovers from a writer that died between reserving and committing a record.
 *
 *	struct alloc_source *s = alloc_source_new(ring);      // takes the ring
 *	alloc_source_fill(s, now);                           // each loop iteration (bounded)
 *	for (i = 0; alloc_source_get(s, i, &rec); i++) … rec.time <= watermark → process …
 *	alloc_source_consume(s, watermark);                  // drops what was processed
 *
 * Also: alloc_source_find_preload_lib and alloc_source_env for `kiln run`'s wrapper mode.
 * Not thread-safe.
 */
#ifndef KILN_PROFILER_ALLOC_H
#define KILN_PROFILER_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "preload/ring.h"

/* Data area of the ring kiln run creates (plus the 4 KiB header page). */
#define ALLOC_SOURCE_RING_SIZE (4u << 20)

struct alloc_source;

/* One private copy of a record. */
struct alloc_record {
	enum alloc_ring_type type;
	uint64_t time; /* CLOCK_MONOTONIC ns */
	uint32_t pid, tid;
	/* ALLOC (validated: stack_len fits the record) */
	const struct alloc_ring_alloc *alloc;
	const uint8_t *stack;
	/* FREE */
	uint64_t addr;
	/* START */
	int64_t period;
	uint32_t flags;
};

struct alloc_source_counters {
	uint64_t samples;    /* ALLOC records written by the hooks (ring header) */
	uint64_t lost;	     /* ALLOC records dropped by the hooks: ring full */
	uint64_t lost_frees; /* FREE records dropped: ring full */
	uint64_t untracked;  /* sampled addresses the hooks' live sets had no room for */
	uint64_t read;	     /* records copied out */
	uint64_t bad;	     /* malformed records skipped */
	uint64_t skipped;    /* bytes skipped past a record never committed */
	bool broken;	     /* the ring was given up (corrupt) */
};

/* Takes ownership of ring (freed by alloc_source_free). NULL and errno on failure. */
struct alloc_source *alloc_source_new(struct alloc_ring *ring);
void alloc_source_free(struct alloc_source *s);

/*
 * Copies committed records out of the ring (at most a bounded number of bytes per call) and
 * gives the space back to the writers. Detects a ring stuck behind a record that was
 * reserved but never committed for more than a second, and skips it (with a warning).
 * Returns the number of records copied (>= 0).
 */
int alloc_source_fill(struct alloc_source *s, uint64_t now_mono);

/* The i-th held record (in ring order), false past the end. Pointers stay valid until the
 * next alloc_source_fill or alloc_source_consume. */
bool alloc_source_get(const struct alloc_source *s, size_t i, struct alloc_record *out);

/* Drops the held records with time <= watermark (the ones the caller just processed). */
void alloc_source_consume(struct alloc_source *s, uint64_t watermark);

void alloc_source_counters(const struct alloc_source *s, struct alloc_source_counters *out);

/* The configuration the hooks report (START records), else the ring header's: the mean
 * sampling period in bytes (> 0), for weighting lost samples. */
int64_t alloc_source_period(const struct alloc_source *s);

/*
 * Maps a ring that another process created and passed as descriptor fd (libkiln's, for
 * `kiln run --pid P --alloc-ring FD`). The descriptor is closed (the mapping is reopened
 * through /proc/self/fd). NULL with a user-facing explanation in why when fd is not a kiln
 * allocation ring.
 */
struct alloc_ring *alloc_source_open_fd(int fd, struct buf *why);

/*
 * Finds libkiln_preload.so for kiln_exe (the path of the running kiln binary): $KILN_PRELOAD_LIB,
 * else <dir of kiln>/../lib/libkiln_preload.so (installed), else
 * <dir of kiln>/preload/libkiln_preload.so (build tree). Writes the absolute path into out.
 * -ENOENT with the places looked at in why.
 */
int alloc_source_find_preload_lib(const char *kiln_exe, struct buf *out, struct buf *why);

/*
 * True, with the reason in why, when the hook cannot be preloaded into command (a path, or a
 * name looked up in $PATH as execvp does): an ELF without an interpreter (statically linked:
 * LD_PRELOAD cannot reach it), or one that needs a sanitizer runtime (which aborts when a
 * preloaded library comes before it). Scripts and unreadable files: false.
 */
bool alloc_source_preload_blocked(const char *command, struct buf *why);

#endif
