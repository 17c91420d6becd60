/*
 * aggregate: the samples of one profile period, with frames and stacks interned so that a
 * million samples of a hundred stacks cost a hundred stacks, and the conversion of all of it
 * into a pprof profile at export time.
 *
 * Frames are identified by (ELF, ELF-relative address) as unwind.h promises, so symbolization
 * happens once per distinct frame, batched per ELF, at export (aggregator_build). Kernel
 * frames are absolute kernel addresses; frames outside any ELF keep (pid, pc) so JIT maps
 * (/tmp/perf-PID.map) can name them; synthetic frames ("[lost]", "[truncated]", the process
 * root) are names.
 *
 * Lifetime: ELF pointers are borrowed from the proc table; call aggregator_build and
 * aggregator_reset before proc_table_gc. Not thread-safe.
 */
#ifndef KILN_PROFILER_AGGREGATE_H
#define KILN_PROFILER_AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pprof/builder.h"
#include "proc/proc.h"
#include "symbolize/symbolize.h"

#define AGG_NO_FRAME UINT32_MAX

struct aggregator;

struct aggregator *aggregator_new(void);
void aggregator_free(struct aggregator *a);

/* Frame ids (AGG_NO_FRAME when out of memory). map may be NULL. */
uint32_t aggregator_frame_elf(struct aggregator *a, struct proc_elf *elf, uint64_t elf_addr,
			      uint64_t pc, const struct proc_map *map);
uint32_t aggregator_frame_pc(struct aggregator *a, int pid, uint64_t pc,
			     const struct proc_map *map);
uint32_t aggregator_frame_kernel(struct aggregator *a, uint64_t pc);
uint32_t aggregator_frame_synthetic(struct aggregator *a, const char *name);

struct agg_sample_info {
	int pid, tid;
	const char *process_name; /* copied (interned) */
	const char *thread_name;  /* copied (interned) */
	int64_t timestamp_ns;	  /* CLOCK_REALTIME; 0 = no timeline: equal samples are summed */
	int64_t count;		  /* cpu-samples */
	int64_t nanos;		  /* cpu-time */
	int64_t alloc_count;	  /* alloc-samples */
	int64_t alloc_bytes;	  /* alloc-space */
	int64_t inuse_count;	  /* inuse-objects */
	int64_t inuse_bytes;	  /* inuse-space */
};

/* Which values a profile carries, in this order (aggregate_build_opts.values). */
enum {
	AGG_CPU = 1u << 0,   /* cpu-samples, cpu-time */
	AGG_ALLOC = 1u << 1, /* alloc-samples, alloc-space */
	AGG_INUSE = 1u << 2, /* inuse-objects, inuse-space */
};

/* Adds a sample whose frames (ids from the functions above) are leaf first. 0 or -ENOMEM. */
int aggregator_add(struct aggregator *a, const uint32_t *frames, size_t n,
		   const struct agg_sample_info *info);

size_t aggregator_sample_count(const struct aggregator *a); /* distinct sample records */
/* Sum of the counts (cpu-samples + alloc-samples + inuse-objects). */
int64_t aggregator_total_count(const struct aggregator *a);
size_t aggregator_frame_count(const struct aggregator *a);

struct aggregate_build_opts {
	bool timeline;		       /* end_timestamp_ns labels */
	struct symbolizer *symbolizer; /* may be NULL: frames named binary+0xoffset */
	unsigned values;	       /* AGG_* the builder declared, in that order; 0 = AGG_CPU */
};

/* Adds every sample (with functions, locations, mappings, labels) to b, which has its sample
 * types declared already (opts->values: cpu-samples, cpu-time, alloc-samples, alloc-space,
 * inuse-objects, inuse-space, only the selected pairs). Samples whose selected values are
 * all zero are left out. 0 or a negative errno. */
int aggregator_build(struct aggregator *a, const struct aggregate_build_opts *opts,
		     struct pprof_builder *b);

/* Forgets everything (keeps memory for the next period). */
void aggregator_reset(struct aggregator *a);

#endif
