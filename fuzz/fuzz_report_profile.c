/*
 * fuzz_report_profile: any profile the decoder accepts goes through every kiln report
 * computation (stacks with drop_frames and filters, top, diff, tree, folded stacks, merge)
 * without crashing, leaking, or breaking the invariants checked below.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pprof/pprof.h"
#include "report/merge.h"
#include "report/stacks.h"
#include "report/text.h"
#include "report/top.h"
#include "report/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_index(const struct pprof_profile *p, size_t si, FILE *null)
{
	struct report_filter f;
	struct report_stacks rs, totals;
	struct report_top t;
	struct report_diff d;

	if (report_filter_init(&f, "a|main", "^z", NULL) < 0)
		return;
	report_stacks_init(&rs);
	report_stacks_init(&totals);
	totals.keep_stacks = false;
	if (report_stacks_add_profile(&rs, p, si, 1, &f) == 0 &&
	    report_stacks_add_profile(&totals, p, si, 1, &f) == 0) {
		if (report_top_compute(&t, &rs) == 0) {
			struct report_top t2;
			if (report_top_compute(&t2, &totals) == 0) {
				if (t.rows.len != t2.rows.len || t.flat_sum != t2.flat_sum)
					abort(); /* both modes must agree */
				report_top_release(&t2);
			}
			report_top_release(&t);
		}
		if (report_diff_compute(&d, &rs, &totals) == 0) {
			if (d.rows.len)
				abort(); /* a profile compared with itself has no change */
			report_diff_release(&d);
		}
		report_tree_write(null, &rs, 0);
		report_write_collapsed(null, &rs);
	}
	report_stacks_release(&rs);
	report_stacks_release(&totals);
	report_filter_release(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pprof_profile p, merged;
	FILE *null = fopen("/dev/null", "w");

	if (!null)
		return 0;
	if (pprof_decode(data, size, NULL, &p, NULL) == 0) {
		for (size_t si = 0; si < p.sample_types.len && si < 4; si++)
			run_index(&p, si, null);
		const struct pprof_profile *two[] = {&p, &p};
		if (p.sample_types.len && report_merge(two, 2, &merged) == 0)
			pprof_profile_release(&merged);
		pprof_profile_release(&p);
	}
	fclose(null);
	return 0;
}
