/*
 * text: kiln report's printed outputs — the top table, folded stacks, the JSON document and
 * the diff table. The numbers come from report/top.h and report/stacks.h; this module only
 * selects rows and formats them. Values are printed raw, in the sample type's unit.
 */
#ifndef KILN_REPORT_TEXT_H
#define KILN_REPORT_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pprof/pprof.h"
#include "report/stacks.h"
#include "report/top.h"

/* What is being shown, for headers and row selection. */
struct report_view {
	const char *const *files; /* borrowed */
	size_t nfiles;
	const struct pprof_profile *profile; /* the first profile: sample types */
	size_t sample_index;
	size_t nodecount;    /* 0 = no limit */
	double nodefraction; /* rows with |cum| below total * nodefraction are dropped */
	const char *focus;   /* for headers; may be NULL */
	const char *ignore;
};

/* The |cum| threshold below which rows are dropped (go's node cutoff). */
int64_t report_view_cutoff(const struct report_view *v, int64_t total);

/* `go tool pprof -top`-like table. 0 or -EIO. */
int report_write_top(FILE *out, const struct report_view *v, const struct report_stacks *rs,
		     const struct report_top *t);
/* One line per distinct stack, "root;…;leaf value", in first-seen order; zero stacks skipped. */
int report_write_collapsed(FILE *out, const struct report_stacks *rs);
/* The JSON document described in docs/report.md. */
int report_write_json(FILE *out, const struct report_view *v, const struct report_stacks *rs,
		      const struct report_top *t);
/* The --diff table: base and new flat/cum per function with signed changes. */
int report_write_diff(FILE *out, const struct report_view *v, const char *const *base_files,
		      size_t nbase, const struct report_diff *d);

#endif
