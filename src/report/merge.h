/*
 * merge: combining several profiles of the same sample types (kiln report FILE… and
 * kiln report --merge -o OUT).
 */
#ifndef KILN_REPORT_MERGE_H
#define KILN_REPORT_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "pprof/pprof.h"

/* True when a and b have the same sample types (type and unit) in the same order. */
bool report_same_types(const struct pprof_profile *a, const struct pprof_profile *b);
/* Appends "type/unit, type/unit…" to out. */
void report_types_str(const struct pprof_profile *p, struct buf *out);

/*
 * Merges n profiles (n >= 1, same sample types: the caller checks) into out, which the call
 * initialises; out owns its memory (release with pprof_profile_release). Samples with equal
 * stacks and labels are summed; mappings, functions and locations are deduplicated. Time is
 * the earliest start, duration spans to the latest end; period and default sample type come
 * from the first profile; comments are concatenated. 0 or a negative errno.
 */
int report_merge(const struct pprof_profile *const *profiles, size_t n, struct pprof_profile *out);

#endif
