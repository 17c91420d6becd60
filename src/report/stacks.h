/*
 * stacks: the call stacks of one or more profiles for one sample type, reduced to what kiln
 * report needs: a frame is a function name, a stack is a list of frame ids with a value.
 *
 * Frames follow `go tool pprof`'s "functions" granularity: every line of a location is a
 * frame of its own (inlined functions count as separate functions), frames are keyed by
 * function name, a frame without a name is "[basename of mapping file]" or "<unknown>".
 * Identical stacks are summed, so a million samples over ten thousand distinct stacks cost
 * ten thousand records.
 *
 * Filters use go's semantics: a location matches a regex when one of its functions' names or
 * file names, or its mapping's file, matches (unanchored POSIX extended regex). --ignore drops
 * samples with any matching location; --focus keeps samples with at least one matching
 * location. Like go, a profile's drop_frames / keep_frames are applied first.
 *
 * `total` is the sum of |value| over every sample before filtering (go's percentage base).
 *
 *	struct report_stacks rs;
 *	report_stacks_init(&rs);
 *	report_stacks_add_profile(&rs, &profile, sample_index, &filter, &err);
 *	for (size_t i = 0; i < rs.stacks.len; i++) … rs.frames.items[rs.stacks.items[i].off …]
 *	report_stacks_release(&rs);
 */
#ifndef KILN_REPORT_STACKS_H
#define KILN_REPORT_STACKS_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/hmap.h"
#include "base/strtab.h"
#include "base/vec.h"
#include "pprof/pprof.h"

/*
 * Sums of values from outside can overflow int64; kiln report wraps them (two's complement)
 * instead of invoking undefined behaviour, so a hostile file gives odd numbers, never a crash.
 */
static inline int64_t report_add(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

static inline int64_t report_sub(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a - (uint64_t)b);
}

static inline int64_t report_abs(int64_t v)
{
	return v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
}

/* Compiled --focus / --ignore expressions; a NULL-pattern filter keeps everything. */
struct report_filter {
	bool has_focus;
	bool has_ignore;
	regex_t focus;
	regex_t ignore;
};

/* Compiles the patterns (either may be NULL). On error appends a message to err. */
int report_filter_init(struct report_filter *f, const char *focus, const char *ignore,
		       struct buf *err);
void report_filter_release(struct report_filter *f);

struct report_stack_rec {
	uint64_t off;  /* index of the leaf frame in report_stacks.frames */
	uint32_t len;  /* number of frames */
	int64_t value; /* summed value of every sample with this stack */
};

struct report_stacks {
	/*
	 * false (set before adding profiles) = totals only: flat/cum per frame are summed as
	 * samples stream by and no stack is stored, which is all --top/--json/--diff need.
	 */
	bool keep_stacks;
	struct strtab names;  /* frame id -> function name (id 0 = "", never used as a frame) */
	VEC(uint32_t) frames; /* frames of all stacks, each stack leaf first */
	VEC(struct report_stack_rec) stacks;
	struct hindex index; /* dedup of stacks by their frames */
	int64_t total;	     /* sum of |value| over all samples, before filtering */
	uint64_t nsamples;   /* samples seen */
	uint64_t nkept;	     /* samples kept by the filter */
	/* Totals-only mode: per frame id, flat and cum values, and the last sample counted. */
	VEC(int64_t) flat;
	VEC(int64_t) cum;
	VEC(uint64_t) stamp;
	uint64_t nstamp;
};

/* Initialises rs with keep_stacks = true. */
int report_stacks_init(struct report_stacks *rs);
void report_stacks_release(struct report_stacks *rs);

/*
 * Adds the samples of p, using value number `sample_index`, filtered by f (may be NULL).
 * `sign` is +1 or -1 (a diff base is added negated). 0 or a negative errno.
 */
int report_stacks_add_profile(struct report_stacks *rs, const struct pprof_profile *p,
			      size_t sample_index, int sign, const struct report_filter *f);

/* Adds one stack (frames are names, leaf first). For tests and generators. */
int report_stacks_add_names(struct report_stacks *rs, const char *const *names, size_t n,
			    int64_t value);

static inline const char *report_stacks_name(const struct report_stacks *rs, uint32_t id)
{
	const char *s = strtab_get(&rs->names, id, NULL);
	return s ? s : "";
}

#endif
