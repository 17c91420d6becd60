/* test_aggregate.c: interning, summing and pprof building of the profiler's aggregator. */
#include <string.h>

#include "pprof/builder.h"
#include "pprof/pprof.h"
#include "profiler/aggregate.h"
#include "test.h"

static const char *label_str(const struct pprof_profile *p, const struct pprof_sample *s,
			     const char *key)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (!strcmp(pprof_str(p, s->labels[i].key), key))
			return pprof_str(p, s->labels[i].str);
	return NULL;
}

static int64_t label_num(const struct pprof_profile *p, const struct pprof_sample *s,
			 const char *key)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (!strcmp(pprof_str(p, s->labels[i].key), key))
			return s->labels[i].num;
	return -1;
}

static const char *leaf_name(const struct pprof_profile *p, const struct pprof_sample *s)
{
	const struct pprof_location *loc = pprof_location_by_id(p, s->location_ids[0]);
	const struct pprof_function *fn = pprof_function_by_id(p, loc->lines[0].function_id);
	return pprof_str(p, fn->name);
}

static void test_sum_and_build(void)
{
	struct aggregator *a = aggregator_new();
	struct proc_map map = {.start = 0x7000, .end = 0x9000, .path = "/opt/jit/code"};
	uint32_t f1 = aggregator_frame_pc(a, 42, 0x7010, &map);
	uint32_t f1b = aggregator_frame_pc(a, 42, 0x7010, &map);
	uint32_t k = aggregator_frame_kernel(a, 0xffffffff81000000ULL);
	uint32_t root = aggregator_frame_synthetic(a, "myapp");
	uint32_t root2 = aggregator_frame_synthetic(a, "myapp");
	CHECK_INT_EQ(f1, f1b);
	CHECK_INT_EQ(root, root2);
	CHECK_INT_EQ(aggregator_frame_count(a), 3);

	uint32_t s1[] = {f1, root};
	uint32_t s2[] = {k, f1, root};
	struct agg_sample_info info = {.pid = 42,
				       .tid = 43,
				       .process_name = "myapp",
				       .thread_name = "worker",
				       .count = 1,
				       .nanos = 10};
	for (int i = 0; i < 5; i++)
		CHECK_INT_EQ(aggregator_add(a, s1, 2, &info), 0);
	CHECK_INT_EQ(aggregator_add(a, s2, 3, &info), 0);
	info.tid = 44;
	CHECK_INT_EQ(aggregator_add(a, s1, 2, &info), 0);
	CHECK_INT_EQ(aggregator_sample_count(a), 3); /* summed without timeline */
	CHECK_INT_EQ(aggregator_total_count(a), 7);

	struct pprof_builder *b = pprof_builder_new();
	pprof_builder_sample_type(b, "cpu-samples", "count");
	pprof_builder_sample_type(b, "cpu-time", "nanoseconds");
	struct aggregate_build_opts opts = {.timeline = false, .symbolizer = NULL};
	CHECK_INT_EQ(aggregator_build(a, &opts, b), 0);
	struct pprof_profile p;
	CHECK_INT_EQ(pprof_builder_finish(b, &p), 0);
	pprof_profile_index(&p);
	CHECK_INT_EQ(p.samples.len, 3);
	int64_t total = 0, found = 0;
	for (size_t i = 0; i < p.samples.len; i++) {
		const struct pprof_sample *s = &p.samples.items[i];
		total += s->values[0];
		CHECK_INT_EQ(label_num(&p, s, "process_id"), 42);
		CHECK_STR_EQ(label_str(&p, s, "thread_name"), "worker");
		CHECK_STR_EQ(label_str(&p, s, "process_name"), "myapp");
		if (label_num(&p, s, "thread id") == 43 && s->nlocations == 2) {
			found = 1;
			CHECK_INT_EQ(s->values[0], 5);
			CHECK_INT_EQ(s->values[1], 50);
			CHECK_STR_EQ(leaf_name(&p, s), "code+0x10");
		}
		if (s->nlocations == 3)
			CHECK(!strncmp(leaf_name(&p, s), "[kernel]", 8));
	}
	CHECK_INT_EQ(total, 7);
	CHECK(found);
	pprof_profile_release(&p);

	/* timeline: every sample kept with its timestamp */
	aggregator_reset(a);
	CHECK_INT_EQ(aggregator_total_count(a), 0);
	root = aggregator_frame_synthetic(a, "myapp");
	uint32_t lost = aggregator_frame_synthetic(a, "[lost]");
	uint32_t s3[] = {lost, root};
	info.timestamp_ns = 1000;
	aggregator_add(a, s3, 2, &info);
	info.timestamp_ns = 2000;
	aggregator_add(a, s3, 2, &info);
	CHECK_INT_EQ(aggregator_sample_count(a), 2);
	opts.timeline = true;
	CHECK_INT_EQ(aggregator_build(a, &opts, b), 0);
	CHECK_INT_EQ(pprof_builder_finish(b, &p), 0);
	pprof_profile_index(&p);
	CHECK_INT_EQ(p.samples.len, 2);
	if (p.samples.len == 2) {
		CHECK_INT_EQ(label_num(&p, &p.samples.items[0], "end_timestamp_ns") +
				 label_num(&p, &p.samples.items[1], "end_timestamp_ns"),
			     3000);
		CHECK_STR_EQ(leaf_name(&p, &p.samples.items[0]), "[lost]");
	}
	pprof_profile_release(&p);
	pprof_builder_free(b);
	aggregator_free(a);
}

int main(void)
{
	RUN(test_sum_and_build);
	return test_done();
}
