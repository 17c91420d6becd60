/*
 * top: per-function flat and cumulative values, the numbers behind `kiln report --top`,
 * --json and --diff.
 *
 * Semantics are go tool pprof's: flat is the value of samples whose leaf frame is the
 * function; cum is the value of samples with the function anywhere in the stack, counted once
 * per sample even when it recurses. Functions whose flat and cum are both 0 are left out.
 * Rows are sorted like `go tool pprof -top`: |flat| descending, then name, then |cum|
 * descending.
 */
#ifndef KILN_REPORT_TOP_H
#define KILN_REPORT_TOP_H

#include <stddef.h>
#include <stdint.h>

#include "base/vec.h"
#include "report/stacks.h"

struct report_row {
	uint32_t name; /* frame id in the report_stacks it was computed from */
	int64_t flat;
	int64_t cum;
};

struct report_top {
	VEC(struct report_row) rows;
	int64_t total;	  /* the stacks' total (percentage base) */
	int64_t flat_sum; /* sum of every row's flat (what the filtered stacks account for) */
};

/* Computes the rows of rs into t (initialised by the call). 0 or -ENOMEM. */
int report_top_compute(struct report_top *t, const struct report_stacks *rs);
void report_top_release(struct report_top *t);
/* Index of the row for `name`, or -1. Linear: for tests. */
long report_top_find(const struct report_top *t, const struct report_stacks *rs, const char *name);

/* One function in a comparison of a base profile with a new one. */
struct report_diff_row {
	const char *name; /* borrowed from one of the two report_stacks */
	int64_t flat_base, flat_new;
	int64_t cum_base, cum_new;
};

struct report_diff {
	VEC(struct report_diff_row) rows;
	int64_t total_base, total_new;
};

/*
 * Joins the per-function values of base and new by name; rows are sorted by |flat change|
 * descending, then |cum change| descending, then name. Functions whose values did not change
 * are left out. Names are borrowed from base_rs / new_rs. 0 or -ENOMEM.
 */
int report_diff_compute(struct report_diff *d, const struct report_stacks *base_rs,
			const struct report_stacks *new_rs);
void report_diff_release(struct report_diff *d);

#endif
