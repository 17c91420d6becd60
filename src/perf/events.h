/*
 * events: the perf events kiln samples with, one per CPU on one target process, each with
 * its own mmap'ed ring buffer, and the reading side of those rings.
 *
 * Calling sequence (the profiler's main loop):
 *	struct perf_events *ev = perf_events_open(&cfg, &fail);   // before the target execs
 *	poll(perf_events_fd(ev, i) for i < perf_events_count(ev)…)
 *	struct perf_ring *r = perf_events_ring(ev, i);
 *	uint64_t head = perf_ring_head(r), pos = perf_ring_tail(r);
 *	while ((rec = perf_ring_next(r, &pos, head, &len)))  …   // records stay in the ring
 *	perf_ring_consume(r, pos);                                // hands the space back
 *	perf_events_close(ev);
 *
 * Events are opened disabled with enable_on_exec and inherit, so counting starts when the
 * target execs and follows its threads and children. Threading: one reader thread.
 */
#ifndef KILN_PERF_EVENTS_H
#define KILN_PERF_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perf/record.h"

struct perf_event_config {
	int pid;	 /* target process; -1 = every process (global mode, pid unused
			    when tids is set) */
	const int *tids; /* attach mode: the target's existing threads, one event per
			    thread per CPU redirected into the CPU's ring (NULL: pid) */
	size_t ntids;
	bool use_freq;		 /* sample_freq (Hz) instead of sample_period */
	uint64_t freq_or_period; /* Hz, or ns of task clock */
	uint32_t stack_size;	 /* sample_stack_user, multiple of 8, < 65528 */
	uint64_t regs_mask;	 /* sample_regs_user */
	bool include_kernel;	 /* count kernel time (exclude_kernel = 0) */
	bool kernel_callchain;	 /* PERF_SAMPLE_CALLCHAIN with exclude_callchain_user */
	bool enable_on_exec;	 /* start counting at the target's next exec */
	bool start_enabled;	 /* count from the open (attach and global modes) */
	size_t ring_pages;	 /* data pages per CPU wished for (power of 2); 0 = 128 */
};

/* Where perf_events_open failed, for diagnostics. */
enum perf_open_stage {
	PERF_STAGE_NONE = 0,
	PERF_STAGE_OPEN, /* perf_event_open() refused */
	PERF_STAGE_MMAP, /* the ring buffer could not be mapped even at the minimum size */
};

struct perf_open_failure {
	enum perf_open_stage stage;
	int err; /* positive errno */
	int cpu;
};

struct perf_ring;
struct perf_events;

/*
 * Opens one event per online CPU on cfg->pid and maps their rings, halving the ring size
 * while the kernel refuses the mapping (locked-memory limit) down to what holds two maximal
 * samples. NULL with errno set and *fail filled on failure. Nothing is logged: the caller
 * knows what to tell the user.
 */
struct perf_events *perf_events_open(const struct perf_event_config *cfg,
				     struct perf_open_failure *fail);
void perf_events_close(struct perf_events *ev);

size_t perf_events_count(const struct perf_events *ev);
int perf_events_fd(const struct perf_events *ev, size_t i);
struct perf_ring *perf_events_ring(struct perf_events *ev, size_t i);
/* Data pages per ring actually mapped (may be fewer than asked for). */
size_t perf_events_ring_pages(const struct perf_events *ev);
/* How the records are laid out (for perf_record_parse). */
const struct perf_record_layout *perf_events_layout(const struct perf_events *ev);
/*
 * Attach mode: opens one more event per ring on thread tid (a thread found by a later scan of
 * /proc/PID/task) and redirects it into the ring (PERF_EVENT_IOC_SET_OUTPUT). 0, or a negative
 * errno (-ESRCH: the thread is gone).
 */
int perf_events_add_thread(struct perf_events *ev, int tid);
/* Event descriptors opened, rings included. */
size_t perf_events_nfds(const struct perf_events *ev);

/* Enables all events now (used when the target is already running). 0 or -errno. */
int perf_events_enable(struct perf_events *ev);

/* The kernel's write position (read with acquire semantics). */
uint64_t perf_ring_head(struct perf_ring *r);
/* The reader's position: everything before it has been handed back. */
uint64_t perf_ring_tail(const struct perf_ring *r);
/*
 * The record at *pos if *pos < head: returns a pointer to its bytes (contiguous; a record that
 * wraps around the end of the ring is copied into a per-ring scratch buffer, valid until the
 * next wrapping record) and its length, and advances *pos. NULL at head, or when the ring
 * holds garbage (then *pos = head and the caller should consume up to head).
 */
const uint8_t *perf_ring_next(struct perf_ring *r, uint64_t *pos, uint64_t head, size_t *len);
/* Hands the space before pos back to the kernel (release semantics). */
void perf_ring_consume(struct perf_ring *r, uint64_t pos);

/* Reads /proc/sys/kernel/perf_event_paranoid; INT32_MIN when unreadable. */
int perf_paranoid_level(void);
/* Reads /proc/sys/kernel/perf_event_mlock_kb; -1 when unreadable. */
long perf_mlock_kb(void);

#endif
