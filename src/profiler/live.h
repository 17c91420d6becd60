/*
 * live: the live heap of the profiled processes, as far as sampling sees it: every sampled
 * allocation not freed yet, per process, keyed by address, with the stack that made it and
 * the bytes and objects it stands for. Maintained from the hook's ALLOC, FREE and START
 * records; re-emitted whole in every profile as inuse-space/inuse-objects (a leak is a stack
 * whose inuse bytes grow period after period).
 *
 * Stacks are kept as "frame tokens": absolute pcs (already call sites for non-leaf frames, as
 * unwinder_unwind returns them) or LIVE_TOKEN_STATUS + an enum unwind_status for a synthetic
 * end-of-walk frame. They are resolved to ELF frames again at each export (the proc table's
 * ELF pointers do not outlive a period; the process's mappings do, as long as it runs).
 *
 * Bounded: at most max_entries live addresses (further ALLOC records are dropped and
 * counted) and max_tokens frame tokens in all stacks together. Not thread-safe.
 */
#ifndef KILN_PROFILER_LIVE_H
#define KILN_PROFILER_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIVE_TOKEN_STATUS 0xffffffffffff0000ULL /* + enum unwind_status */

struct live_heap;

struct live_stats {
	uint64_t entries;	/* live addresses now */
	uint64_t stacks;	/* distinct live (pid, stack) now */
	uint64_t dropped;	/* ALLOC records not tracked: table full */
	uint64_t replaced;	/* an address allocated again without a FREE in between */
	uint64_t unknown_frees; /* FREE of an address the table does not hold */
};

/* NULL and errno on failure. */
struct live_heap *live_heap_new(size_t max_entries, size_t max_tokens);
void live_heap_free(struct live_heap *h);

/* Records a live allocation of pid at addr (tokens leaf first, copied). 0, -ENOSPC when the
 * table is full (counted as dropped) or -ENOMEM. */
int live_heap_add(struct live_heap *h, int pid, uint64_t addr, const uint64_t *tokens, size_t n,
		  int64_t bytes, int64_t count);
/* A FREE record: forgets addr of pid. false when it was not live (counted). */
bool live_heap_remove(struct live_heap *h, int pid, uint64_t addr);
/* A START record or the exit of pid: forgets every allocation of pid. */
void live_heap_forget_pid(struct live_heap *h, int pid);
/* Forgets the processes for which alive(pid, ctx) says false. */
void live_heap_prune(struct live_heap *h, bool (*alive)(int pid, void *ctx), void *ctx);

/* Iterates over the live stacks (it starts at 0): pid, tokens (borrowed until the next
 * change) and their sums. false at the end. */
bool live_heap_next(const struct live_heap *h, size_t *it, int *pid, const uint64_t **tokens,
		    size_t *n, int64_t *bytes, int64_t *count);

/* Reclaims the memory of stacks that no longer hold anything (call once per period). */
void live_heap_compact(struct live_heap *h);

void live_heap_stats(const struct live_heap *h, struct live_stats *out);

#endif
