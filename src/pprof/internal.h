/*
 * internal: helpers shared by the .c files of src/pprof and nothing else.
 */
#ifndef KILN_PPROF_INTERNAL_H
#define KILN_PPROF_INTERNAL_H

#include <stddef.h>

#include "base/hmap.h"

/*
 * Fills m with id -> index+1 for n records of `stride` bytes whose first member is their
 * uint64_t id. Returns 0, -EINVAL for an id of 0 or -EEXIST for a duplicate (*bad = the
 * offending record's index), or -ENOMEM.
 */
int pprof_index_ids(struct hmap *m, const void *items, size_t n, size_t stride, size_t *bad);

#endif
