/*
 * test_top: kiln report's aggregation — flat/cum with recursion, inlined frames, nameless
 * frames, drop_frames, --focus/--ignore semantics, the diff, and merging.
 */
#include <string.h>

#include "pprof/builder.h"
#include "report/merge.h"
#include "report/stacks.h"
#include "report/top.h"
#include "test.h"

static void check_row(const struct report_top *t, const struct report_stacks *rs, const char *name,
		      long long flat, long long cum)
{
	long i = report_top_find(t, rs, name);
	if (i < 0) {
		fprintf(stderr, "no row for %s\n", name);
		CHECK(i >= 0);
		return;
	}
	CHECK_INT_EQ(t->rows.items[i].flat, flat);
	CHECK_INT_EQ(t->rows.items[i].cum, cum);
}

static void test_recursion_counts_once(void)
{
	struct report_stacks rs;
	struct report_top t;
	const char *s1[] = {"A", "B", "A", "main"}; /* leaf first: main -> A -> B -> A */
	const char *s2[] = {"B", "main"};

	CHECK_INT_EQ(report_stacks_init(&rs), 0);
	CHECK_INT_EQ(report_stacks_add_names(&rs, s1, 4, 10), 0);
	CHECK_INT_EQ(report_stacks_add_names(&rs, s2, 2, 5), 0);
	CHECK_INT_EQ(report_stacks_add_names(&rs, s1, 4, 1), 0); /* summed into the first */
	CHECK_INT_EQ(rs.stacks.len, 2);
	CHECK_INT_EQ(report_top_compute(&t, &rs), 0);
	CHECK_INT_EQ(t.total, 16);
	CHECK_INT_EQ(t.rows.len, 3);
	check_row(&t, &rs, "A", 11, 11);
	check_row(&t, &rs, "B", 5, 16);
	check_row(&t, &rs, "main", 0, 16);
	CHECK_STR_EQ(report_stacks_name(&rs, t.rows.items[0].name), "A");
	CHECK_STR_EQ(report_stacks_name(&rs, t.rows.items[2].name), "main");
	report_top_release(&t);
	report_stacks_release(&rs);
}

/* Totals-only mode (what --top uses) gives the same rows as stored stacks. */
static void test_totals_only_mode(void)
{
	struct report_stacks rs;
	struct report_top t;
	const char *s1[] = {"A", "B", "A", "main"};
	const char *s2[] = {"B", "main"};

	CHECK_INT_EQ(report_stacks_init(&rs), 0);
	rs.keep_stacks = false;
	report_stacks_add_names(&rs, s1, 4, 10);
	report_stacks_add_names(&rs, s2, 2, 5);
	report_stacks_add_names(&rs, s1, 4, 1);
	CHECK_INT_EQ(rs.stacks.len, 0);
	CHECK_INT_EQ(report_top_compute(&t, &rs), 0);
	CHECK_INT_EQ(t.rows.len, 3);
	check_row(&t, &rs, "A", 11, 11);
	check_row(&t, &rs, "B", 5, 16);
	check_row(&t, &rs, "main", 0, 16);
	report_top_release(&t);
	report_stacks_release(&rs);
}

static void test_sort_ties_by_name(void)
{
	struct report_stacks rs;
	struct report_top t;
	const char *a[] = {"zeta", "root"}, *b[] = {"alpha", "root"}, *c[] = {"mid", "root"};

	report_stacks_init(&rs);
	report_stacks_add_names(&rs, a, 2, 5);
	report_stacks_add_names(&rs, b, 2, 5);
	report_stacks_add_names(&rs, c, 2, 7);
	CHECK_INT_EQ(report_top_compute(&t, &rs), 0);
	CHECK_INT_EQ(t.rows.len, 4);
	CHECK_STR_EQ(report_stacks_name(&rs, t.rows.items[0].name), "mid");
	CHECK_STR_EQ(report_stacks_name(&rs, t.rows.items[1].name), "alpha");
	CHECK_STR_EQ(report_stacks_name(&rs, t.rows.items[2].name), "zeta");
	CHECK_STR_EQ(report_stacks_name(&rs, t.rows.items[3].name), "root");
	report_top_release(&t);
	report_stacks_release(&rs);
}

/*
 * A profile with two sample types:
 *   loc 1: hotA inlined into outer (lines [hotA, outer])    loc 2: main
 *   loc 3: hotB                                              loc 4: other
 *   loc 5: no lines, mapping /usr/lib/libfoo.so              loc 6: malloc
 * samples (leaf first): [1,2] = {1, 6}; [3,2] = {1, 3}; [1,4] = {1, 1};
 *                       [5,2] = {1, 2}; [6,3,2] = {1, 4}
 */
static int build_profile(struct pprof_profile *p)
{
	struct pprof_builder *b = pprof_builder_new();
	if (!b)
		return -1;
	pprof_builder_sample_type(b, "samples", "count");
	pprof_builder_sample_type(b, "cpu", "nanoseconds");
	uint64_t f_hota = pprof_builder_function(b, "hotA", "hotA", "a.c", 1);
	uint64_t f_outer = pprof_builder_function(b, "outer", "outer", "outer.c", 1);
	uint64_t f_main = pprof_builder_function(b, "main", "main", "main.c", 1);
	uint64_t f_hotb = pprof_builder_function(b, "hotB", "hotB", "b.c", 1);
	uint64_t f_other = pprof_builder_function(b, "other", "other", "o.c", 1);
	uint64_t f_malloc = pprof_builder_function(b, "malloc", "malloc", "m.c", 1);
	uint64_t m = pprof_builder_mapping(b, 0x1000, 0x2000, 0, "/usr/lib/libfoo.so", "", false);
	struct pprof_line l1[2] = {{.function_id = f_hota, .line = 3},
				   {.function_id = f_outer, .line = 9}};
	struct pprof_line l2 = {.function_id = f_main}, l3 = {.function_id = f_hotb};
	struct pprof_line l4 = {.function_id = f_other}, l6 = {.function_id = f_malloc};
	uint64_t loc1 = pprof_builder_location(b, 0, 0x10, l1, 2);
	uint64_t loc2 = pprof_builder_location(b, 0, 0x20, &l2, 1);
	uint64_t loc3 = pprof_builder_location(b, 0, 0x30, &l3, 1);
	uint64_t loc4 = pprof_builder_location(b, 0, 0x40, &l4, 1);
	uint64_t loc5 = pprof_builder_location(b, m, 0x1010, NULL, 0);
	uint64_t loc6 = pprof_builder_location(b, 0, 0x60, &l6, 1);
	uint64_t s1[] = {loc1, loc2}, s2[] = {loc3, loc2}, s3[] = {loc1, loc4}, s4[] = {loc5, loc2};
	uint64_t s5[] = {loc6, loc3, loc2};
	int64_t v1[] = {1, 6}, v2[] = {1, 3}, v3[] = {1, 1}, v4[] = {1, 2}, v5[] = {1, 4};
	pprof_builder_add_sample(b, s1, 2, v1, NULL, 0);
	pprof_builder_add_sample(b, s2, 2, v2, NULL, 0);
	pprof_builder_add_sample(b, s3, 2, v3, NULL, 0);
	pprof_builder_add_sample(b, s4, 2, v4, NULL, 0);
	pprof_builder_add_sample(b, s5, 3, v5, NULL, 0);
	int rc = pprof_builder_finish(b, p);
	pprof_builder_free(b);
	return rc;
}

static void test_profile_inline_and_nameless(void)
{
	struct pprof_profile p;
	struct report_stacks rs;
	struct report_top t;

	CHECK_INT_EQ(build_profile(&p), 0);
	CHECK_INT_EQ(report_stacks_init(&rs), 0);
	CHECK_INT_EQ(report_stacks_add_profile(&rs, &p, 1, 1, NULL), 0);
	CHECK_INT_EQ(report_top_compute(&t, &rs), 0);
	CHECK_INT_EQ(t.total, 16);
	check_row(&t, &rs, "hotA", 7, 7);  /* the inlined frame is a function of its own */
	check_row(&t, &rs, "outer", 0, 7); /* its caller, same location */
	check_row(&t, &rs, "main", 0, 15);
	check_row(&t, &rs, "hotB", 3, 7);
	check_row(&t, &rs, "malloc", 4, 4);
	check_row(&t, &rs, "[libfoo.so]", 2, 2);
	check_row(&t, &rs, "other", 0, 1);
	report_top_release(&t);
	report_stacks_release(&rs);

	/* sample index 0 counts samples */
	report_stacks_init(&rs);
	report_stacks_add_profile(&rs, &p, 0, 1, NULL);
	report_top_compute(&t, &rs);
	CHECK_INT_EQ(t.total, 5);
	check_row(&t, &rs, "hotA", 2, 2);
	report_top_release(&t);
	report_stacks_release(&rs);
	pprof_profile_release(&p);
}

static void test_drop_frames(void)
{
	struct pprof_profile p;
	struct report_stacks rs;
	struct report_top t;

	CHECK_INT_EQ(build_profile(&p), 0);
	p.drop_frames = strtab_add(&p.strings, "malloc|free", 11);
	CHECK(p.drop_frames > 0);
	report_stacks_init(&rs);
	CHECK_INT_EQ(report_stacks_add_profile(&rs, &p, 1, 1, NULL), 0);
	report_top_compute(&t, &rs);
	CHECK(report_top_find(&t, &rs, "malloc") < 0);
	check_row(&t, &rs, "hotB", 7, 7); /* malloc's 4 now lands on its caller */
	CHECK_INT_EQ(t.total, 16);
	report_top_release(&t);
	report_stacks_release(&rs);
	pprof_profile_release(&p);
}

static int64_t kept_total(const struct pprof_profile *p, const char *focus, const char *ignore)
{
	struct report_filter f;
	struct report_stacks rs;
	struct report_top t;
	struct buf err = BUF_INIT;
	int64_t sum = -1;

	if (report_filter_init(&f, focus, ignore, &err) < 0)
		return -1;
	report_stacks_init(&rs);
	if (report_stacks_add_profile(&rs, p, 1, 1, &f) == 0 && report_top_compute(&t, &rs) == 0) {
		sum = t.flat_sum;
		CHECK_INT_EQ(t.total, 16); /* filters never change the percentage base */
		report_top_release(&t);
	}
	report_stacks_release(&rs);
	report_filter_release(&f);
	buf_release(&err);
	return sum;
}

static void test_focus_ignore(void)
{
	struct pprof_profile p;
	struct report_filter f;
	struct buf err = BUF_INIT;

	CHECK_INT_EQ(build_profile(&p), 0);
	CHECK_INT_EQ(kept_total(&p, NULL, NULL), 16);
	CHECK_INT_EQ(kept_total(&p, "^main$", NULL), 15); /* all but [hotA, other] */
	CHECK_INT_EQ(kept_total(&p, "hotA", NULL), 7);
	CHECK_INT_EQ(kept_total(&p, "outer", NULL), 7);	 /* inlined caller, same location */
	CHECK_INT_EQ(kept_total(&p, NULL, "hotB"), 9);	 /* drops [hotB,main], [malloc,hotB,main] */
	CHECK_INT_EQ(kept_total(&p, NULL, "outer"), 9);	 /* the whole location goes */
	CHECK_INT_EQ(kept_total(&p, "main", "hotA"), 9); /* focus and not ignored */
	CHECK_INT_EQ(kept_total(&p, "libfoo", NULL), 2); /* mapping file names match too */
	CHECK_INT_EQ(kept_total(&p, "^b\\.c$", NULL), 7); /* and source file names */
	CHECK_INT_EQ(kept_total(&p, "nothing", NULL), 0);
	CHECK(report_filter_init(&f, "(", NULL, &err) < 0);
	CHECK(strstr(err.data, "--focus") != NULL);
	buf_release(&err);
	pprof_profile_release(&p);
}

static void test_diff(void)
{
	struct report_stacks base, cur;
	struct report_diff d;
	const char *a[] = {"A", "main"}, *b[] = {"B", "main"}, *c[] = {"C", "main"};

	report_stacks_init(&base);
	report_stacks_init(&cur);
	report_stacks_add_names(&base, a, 2, 10);
	report_stacks_add_names(&base, c, 2, 2);
	report_stacks_add_names(&cur, a, 2, 3);
	report_stacks_add_names(&cur, b, 2, 8);
	report_stacks_add_names(&cur, c, 2, 2);
	CHECK_INT_EQ(report_diff_compute(&d, &base, &cur), 0);
	CHECK_INT_EQ(d.total_base, 12);
	CHECK_INT_EQ(d.total_new, 13);
	CHECK_INT_EQ(d.rows.len, 3); /* C unchanged: left out */
	CHECK_STR_EQ(d.rows.items[0].name, "B");
	CHECK_INT_EQ(d.rows.items[0].flat_new - d.rows.items[0].flat_base, 8);
	CHECK_STR_EQ(d.rows.items[1].name, "A");
	CHECK_INT_EQ(d.rows.items[1].flat_new - d.rows.items[1].flat_base, -7);
	CHECK_INT_EQ(d.rows.items[1].cum_base, 10);
	CHECK_STR_EQ(d.rows.items[2].name, "main");
	CHECK_INT_EQ(d.rows.items[2].cum_new - d.rows.items[2].cum_base, 1);
	report_diff_release(&d);
	report_stacks_release(&base);
	report_stacks_release(&cur);
}

static void test_merge(void)
{
	struct pprof_profile p, merged;
	struct report_stacks rs;
	struct report_top t;

	CHECK_INT_EQ(build_profile(&p), 0);
	const struct pprof_profile *two[] = {&p, &p};
	CHECK_INT_EQ(report_merge(two, 2, &merged), 0);
	CHECK(report_same_types(&p, &merged));
	CHECK_INT_EQ(merged.samples.len, 5); /* equal stacks summed */
	report_stacks_init(&rs);
	CHECK_INT_EQ(report_stacks_add_profile(&rs, &merged, 1, 1, NULL), 0);
	report_top_compute(&t, &rs);
	CHECK_INT_EQ(t.total, 32);
	check_row(&t, &rs, "hotA", 14, 14);
	check_row(&t, &rs, "[libfoo.so]", 4, 4);
	report_top_release(&t);
	report_stacks_release(&rs);

	struct pprof_builder *b = pprof_builder_new();
	struct pprof_profile other;
	pprof_builder_sample_type(b, "cpu", "nanoseconds");
	CHECK_INT_EQ(pprof_builder_finish(b, &other), 0);
	pprof_builder_free(b);
	CHECK(!report_same_types(&p, &other));
	struct buf s = BUF_INIT;
	report_types_str(&p, &s);
	CHECK_STR_EQ(s.data, "samples/count, cpu/nanoseconds");
	buf_release(&s);
	pprof_profile_release(&other);
	pprof_profile_release(&merged);
	pprof_profile_release(&p);
}

int main(void)
{
	RUN(test_recursion_counts_once);
	RUN(test_totals_only_mode);
	RUN(test_sort_ties_by_name);
	RUN(test_profile_inline_and_nameless);
	RUN(test_drop_frames);
	RUN(test_focus_ignore);
	RUN(test_diff);
	RUN(test_merge);
	return test_done();
}
