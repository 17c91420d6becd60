/*
 * profiler: the sampling pipeline of `kiln run` for one target process tree: perf rings ->
 * records merged by time -> process table and unwinder -> aggregator -> every upload period
 * a pprof profile handed to the exporter.
 *
 * Calling sequence (in the profiler process, see run.c):
 *	struct profiler *p = profiler_new(&opts, target_pid, &why);   // events open, not enabled
 *	…let the target exec (enable_on_exec starts the sampling)…
 *	profiler_run(p);      // until the target exits or SIGTERM/SIGINT; flushes the last period
 *	profiler_free(p);
 */
#ifndef KILN_PROFILER_PROFILER_H
#define KILN_PROFILER_PROFILER_H

#include <stdint.h>

#include "base/buf.h"
#include "preload/ring.h"
#include "profiler/options.h"

struct profiler;

struct profiler_stats {
	uint64_t records;
	uint64_t samples;
	uint64_t lost;
	uint64_t bad_records;
	uint64_t unwind_status[8]; /* by enum unwind_status */
	uint64_t profiles;
	uint64_t frames_total;
};

/*
 * Opens the perf events on target (enable_on_exec) and everything downstream. NULL on
 * failure, with the explanation for the user appended to why (errno set).
 */
struct profiler *profiler_new(const struct run_options *opts, int target, struct buf *why);
/*
 * Allocation profiling (opts->alloc.enabled): hands the profiler the ring the target's hooks
 * write to (owned from now on, also on failure). Call before profiler_run. 0 or -errno.
 */
int profiler_set_alloc_ring(struct profiler *p, struct alloc_ring *ring);
/* Runs until the target exits (or a termination signal); 0 or a negative errno. */
int profiler_run(struct profiler *p);
void profiler_free(struct profiler *p);
void profiler_get_stats(const struct profiler *p, struct profiler_stats *out);

/* Asks profiler_run to flush and return (async-signal-safe). */
void profiler_request_stop(void);

#endif
