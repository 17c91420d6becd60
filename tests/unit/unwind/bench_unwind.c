/* bench_unwind: ns per unwind of a ~30 KiB stack of -O2 -fomit-frame-pointer frames,
 * warm caches (the steady state of a profiler). Thread CPU time, so a noisy machine does
 * not count. Usage: unwind_bench [iterations]. */
#include <stdlib.h>
#include <time.h>

#include "kt_util.h"

static struct kt_trace tr;

int main(int argc, char **argv)
{
	long iters = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
	kt_stack_top = kt_find_stack_top();
	struct proc_table *pt = proc_table_new();
	struct unwinder *u = unwinder_new(pt);
	proc_table_load(pt, getpid());
	kt_deep(300);
	struct timespec a, b;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	kt_unwind(u, NULL, kt_sample.len, KT_MAX_FRAMES, &tr); /* cold: compiles CFI rows */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	double cold = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	for (long i = 0; i < iters; i++)
		kt_unwind(u, NULL, kt_sample.len, KT_MAX_FRAMES, &tr);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	printf("stack %zu bytes, %zu frames, status %d\n", kt_sample.len, tr.n, tr.status);
	printf("cold first unwind: %.0f ns\n", cold);
	printf("warm: %.0f ns per unwind (%.1f ns per frame) over %ld iterations\n",
	       ns / (double)iters, ns / (double)iters / (double)(tr.n ? tr.n : 1), iters);
	unwinder_free(u);
	proc_table_free(pt);
	return tr.status == UNWIND_OK ? 0 : 1;
}
