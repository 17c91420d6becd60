/*
 * diag: explanations for the failures users of a perf-based profiler meet, each with what to
 * do about it (docs/troubleshooting.md has the long form).
 */
#ifndef KILN_PROFILER_DIAG_H
#define KILN_PROFILER_DIAG_H

#include <stdbool.h>

#include "base/buf.h"
#include "perf/events.h"

/* Appends a multi-line explanation of why perf events could not be set up (one fact or
 * remedy per line, no trailing newline on the last). */
void diag_perf_failure(const struct perf_open_failure *f, bool include_kernel, struct buf *out);

/* Appends the warning for ring buffers smaller than asked for because of the locked-memory
 * limit. */
void diag_ring_shrunk(size_t pages_wanted, size_t pages_got, struct buf *out);

/* The Seccomp: line of /proc/self/status (0 none, 1 strict, 2 filter), -1 unknown. */
int diag_seccomp_mode(void);

#endif
