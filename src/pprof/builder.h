/*
 * builder: builds a pprof_profile incrementally with deduplication, for producers (the
 * profiler's aggregator, kiln report --merge, the server's merges).
 *
 * Strings, mappings, functions and locations are interned: adding an equal one returns the
 * existing id. Samples with the same location list and the same labels are summed, so
 * adding a million samples of a hundred stacks yields a hundred samples.
 *
 *	struct pprof_builder *b = pprof_builder_new();
 *	pprof_builder_sample_type(b, "cpu-samples", "count");
 *	pprof_builder_sample_type(b, "cpu-time", "nanoseconds");
 *	uint64_t fn = pprof_builder_function(b, "main", "main", "main.c", 10);
 *	struct pprof_line line = { .function_id = fn, .line = 12 };
 *	uint64_t loc = pprof_builder_location(b, 0, 0x401000, &line, 1);
 *	int64_t v[2] = { 1, 10101010 };
 *	pprof_builder_add_sample(b, &loc, 1, v, NULL, 0);
 *	pprof_builder_finish(b, &profile);   // b is empty again and reusable
 *	pprof_builder_free(b);
 *
 * Ids returned are valid in the profile that pprof_builder_finish produces. Errors: the
 * id-returning functions return 0 (never a valid id) with errno set; the int ones 0 or a
 * negative errno.
 */
#ifndef KILN_PPROF_BUILDER_H
#define KILN_PPROF_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "pprof/pprof.h"

struct pprof_builder;

struct pprof_builder *pprof_builder_new(void);
void pprof_builder_free(struct pprof_builder *b);

/* Sample types must all be declared before the first sample. Returns the index or -errno. */
int pprof_builder_sample_type(struct pprof_builder *b, const char *type, const char *unit);
int pprof_builder_period(struct pprof_builder *b, const char *type, const char *unit,
			 int64_t period);
void pprof_builder_time(struct pprof_builder *b, int64_t time_nanos, int64_t duration_nanos);
int pprof_builder_comment(struct pprof_builder *b, const char *comment);
int pprof_builder_default_sample_type(struct pprof_builder *b, const char *type);

/* String id (interned), or a negative errno. */
int64_t pprof_builder_str(struct pprof_builder *b, const char *s);
int64_t pprof_builder_strn(struct pprof_builder *b, const char *s, size_t len);

uint64_t pprof_builder_mapping(struct pprof_builder *b, uint64_t start, uint64_t limit,
			       uint64_t offset, const char *filename, const char *build_id,
			       bool has_functions);
uint64_t pprof_builder_function(struct pprof_builder *b, const char *name,
				const char *system_name, const char *filename, int64_t start_line);
/* lines[0] is the innermost frame; mapping_id 0 = none. */
uint64_t pprof_builder_location(struct pprof_builder *b, uint64_t mapping_id, uint64_t address,
				const struct pprof_line *lines, size_t nlines);

/* Label helpers: key and str are interned by the builder. */
struct pprof_label pprof_builder_label_str(struct pprof_builder *b, const char *key,
					   const char *value);
struct pprof_label pprof_builder_label_num(struct pprof_builder *b, const char *key, int64_t num,
					   const char *unit);

/* Adds (sums into) a sample. locations leaf first; values has one entry per sample type.
 * Labels are compared as a set in the given order; pass them in a stable order. */
int pprof_builder_add_sample(struct pprof_builder *b, const uint64_t *locations, size_t n,
			     const int64_t *values, const struct pprof_label *labels,
			     size_t nlabels);

/* Moves everything into out (initialised by the call) and resets the builder, keeping its
 * sample types and period so the next period can start at once. */
int pprof_builder_finish(struct pprof_builder *b, struct pprof_profile *out);

#endif
