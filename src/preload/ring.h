/*
 * ring: the shared-memory ring buffer that carries allocation samples from the preloaded hook
 * library (libkiln_preload.so, many writers: every thread of every process that inherited the
 * ring) to the profiler (one reader). The profiler creates it (alloc_ring_create: a memfd, or
 * alloc_ring_create_file: a file) and passes it to the target in the environment:
 *
 *	KILN_ALLOC_RING=fd:N     an inherited descriptor (memfd; must not be close-on-exec)
 *	KILN_ALLOC_RING=/path    a file the target opens read-write
 *
 * Layout (all little-endian host order, all offsets multiples of 8):
 *
 *	[0, 4096)                 struct alloc_ring_header (one page)
 *	[4096, 4096 + data_size)  records; data_size is a power of two
 *
 * Protocol (MPSC, lock-free, writers never block nor wait):
 * - `head` counts bytes reserved by writers since creation, `tail` bytes released by the
 *   reader. A writer reserves with a CAS on head when head + len - tail <= data_size; when the
 *   ring is full it increments `lost` (or `lost_frees`) and drops the record.
 * - A record never wraps: a writer that would cross the end reserves the remainder as an
 *   ALLOC_RING_PAD record first.
 * - Each record starts with a 64-bit word written LAST with a release store:
 *	bits 0..31 size (whole record, header included, multiple of 8), 32..47 type, 48..63
 *ALLOC_RING_MAGIC16. Zero means "reserved, not committed yet": the reader stops there and retries
 *later.
 * - The reader zeroes every byte it consumed before publishing the new tail (release), so
 *   that the next writer's uncommitted header reads as zero.
 * A writer killed between reserve and commit (SIGKILL in the middle of a malloc) leaves a
 * hole that stops the reader: alloc_ring_read keeps returning 0 while head > tail; the
 * profiler then gives the ring up and creates a new one for that process tree (known limit).
 *
 * Threading: writers are any threads; one reader (struct alloc_ring is not thread-safe).
 */
#ifndef KILN_PRELOAD_RING_H
#define KILN_PRELOAD_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALLOC_RING_MAGIC 0x474e52414e4c494bULL /* "KILNARNG" */
#define ALLOC_RING_VERSION 1
#define ALLOC_RING_HEADER_SIZE 4096
#define ALLOC_RING_MAGIC16 0x6b41u /* top 16 bits of a committed record word */
#define ALLOC_RING_NREGS 24	   /* == UNWIND_NREGS, indexed by UNWIND_REG_* (unwind/unwind.h) */
#define ALLOC_RING_DEFAULT_PERIOD (512 * 1024)
#define ALLOC_RING_DEFAULT_STACK (32 * 1024)
#define ALLOC_RING_MAX_STACK (256 * 1024)

/* The shared first page. The profiler fills the configuration fields at creation; the hook
 * reads them at start-up (environment variables override them, see docs/allocations.md). */
struct alloc_ring_header {
	uint64_t magic;	      /* ALLOC_RING_MAGIC */
	uint32_t version;     /* ALLOC_RING_VERSION */
	uint32_t header_size; /* ALLOC_RING_HEADER_SIZE */
	uint64_t data_size;   /* power of two */
	int64_t period;	      /* mean sampling interval in bytes; < 0: deterministic; 0: default */
	uint32_t stack_size;  /* bytes of stack copied per sample; 0: default */
	uint32_t flags;	      /* ALLOC_RING_F_* */
	uint64_t pad0[2];
	/* Writer/reader cursors, each on its own cache line. */
	_Alignas(64) uint64_t head; /* bytes reserved (writers, CAS) */
	_Alignas(64) uint64_t tail; /* bytes released (reader) */
	_Alignas(64) uint64_t lost; /* allocation records dropped: ring full */
	uint64_t lost_frees;	    /* free records dropped: ring full */
	uint64_t untracked;	    /* sampled addresses the live set had no room for */
	uint64_t samples;	    /* allocation records written */
};

enum {
	ALLOC_RING_F_NO_LIVE = 1u << 0, /* do not track sampled addresses nor emit FREE records */
};

enum alloc_ring_type {
	ALLOC_RING_PAD = 1,   /* filler up to the end of the data area: skip */
	ALLOC_RING_ALLOC = 2, /* struct alloc_ring_alloc, then stack bytes */
	ALLOC_RING_FREE = 3,  /* struct alloc_ring_free: a sampled address was freed */
	ALLOC_RING_START = 4, /* struct alloc_ring_start: a process attached (start, exec, fork
			       * child): forget its earlier live allocations */
};

/* Which entry point made the allocation. */
enum alloc_ring_kind {
	ALLOC_KIND_MALLOC = 1,
	ALLOC_KIND_CALLOC,
	ALLOC_KIND_REALLOC,
	ALLOC_KIND_REALLOCARRAY,
	ALLOC_KIND_POSIX_MEMALIGN,
	ALLOC_KIND_ALIGNED_ALLOC,
	ALLOC_KIND_MEMALIGN,
	ALLOC_KIND_VALLOC,
	ALLOC_KIND_PVALLOC,
	ALLOC_KIND_NEW, /* C++ operator new of an allocator that does not go through malloc */
};

struct alloc_ring_alloc {
	uint64_t word;	  /* committed header word */
	uint64_t time_ns; /* CLOCK_MONOTONIC */
	uint32_t pid;
	uint32_t tid;
	uint64_t addr;	    /* the returned pointer */
	uint64_t size;	    /* bytes requested */
	uint64_t weight;    /* bytes this sample stands for: count * mean period (unbiased) */
	uint64_t count;	    /* samples drawn inside this allocation (>= 1) */
	uint64_t caller;    /* return address of the hooked call (the allocating call site) */
	uint32_t kind;	    /* enum alloc_ring_kind */
	uint32_t stack_len; /* bytes of stack that follow this struct */
	uint64_t regs[ALLOC_RING_NREGS]; /* registers inside the hook, UNWIND_REG_* order;
					  * stack[0] is the byte at regs[UNWIND_REG_SP] */
					 /* uint8_t stack[stack_len], then padding to 8 */
};

struct alloc_ring_free {
	uint64_t word;
	uint64_t time_ns;
	uint32_t pid;
	uint32_t tid;
	uint64_t addr;
};

struct alloc_ring_start {
	uint64_t word;
	uint64_t time_ns;
	uint32_t pid;
	uint32_t tid;
	int64_t period;	     /* the period in effect (env may override the header) */
	uint32_t stack_size; /* the stack copy size in effect */
	uint32_t flags;	     /* ALLOC_RING_F_* in effect */
};

/* Reader-side view of one record; pointers are into the ring and valid until the next
 * alloc_ring_read or alloc_ring_release. */
struct alloc_ring_event {
	enum alloc_ring_type type;
	const struct alloc_ring_alloc *alloc; /* type ALLOC */
	const uint8_t *stack;		      /* type ALLOC: alloc->stack_len bytes */
	const struct alloc_ring_free *free;   /* type FREE */
	const struct alloc_ring_start *start; /* type START */
};

struct alloc_ring;

/* Creates a ring with data_size (rounded up to a power of two, >= 64 KiB) bytes of records
 * in a memfd (not close-on-exec, so that the exec'd target inherits it); *fd_out receives
 * the descriptor (owned by the ring, closed by alloc_ring_free). NULL and errno on failure. */
struct alloc_ring *alloc_ring_create(size_t data_size, int *fd_out);
/* The same in a file at path (created or truncated, mode 0600). */
struct alloc_ring *alloc_ring_create_file(const char *path, size_t data_size);
/* Maps an existing ring (from a path) for reading. */
struct alloc_ring *alloc_ring_open_file(const char *path);
void alloc_ring_free(struct alloc_ring *r);

/* The configuration the hook will see (call before starting the target). */
struct alloc_ring_header *alloc_ring_header(struct alloc_ring *r);

/* Writes the KILN_ALLOC_RING value for this ring ("fd:N" or the path) into buf. Returns 0 or
 * -ENOSPC. */
int alloc_ring_env(const struct alloc_ring *r, char *buf, size_t len);

/*
 * Reads the next committed record. Returns 1 with *ev filled, 0 when nothing is committed
 * yet, -EBADMSG when the ring is corrupt (a bad
 * record word; the reader should discard the ring). The record stays in the ring until
 * alloc_ring_release (or the next alloc_ring_read, which releases the previous one).
 */
int alloc_ring_read(struct alloc_ring *r, struct alloc_ring_event *ev);
/* Gives every record read so far back to the writers. */
void alloc_ring_release(struct alloc_ring *r);

/* Counters from the shared header. */
uint64_t alloc_ring_lost(const struct alloc_ring *r);
uint64_t alloc_ring_lost_frees(const struct alloc_ring *r);
uint64_t alloc_ring_samples(const struct alloc_ring *r);

/*
 * Writer side (used by the hook; no allocation, async-signal-safe). Reserves len bytes
 * (multiple of 8) and returns where to write, or NULL when full (the caller counts the loss).
 * The caller fills the record after the first word, then calls alloc_ring_commit.
 */
void *alloc_ring_reserve(struct alloc_ring_header *h, uint8_t *data, size_t len);
void alloc_ring_commit(void *rec, uint32_t len, enum alloc_ring_type type);

#endif
