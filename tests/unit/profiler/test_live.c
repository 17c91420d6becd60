/* Tests of the live-heap table (profiler/live.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "profiler/live.h"
#include "test.h"

/* Sum of bytes and count over the live stacks of pid (0: all). */
static void totals(struct live_heap *h, int pid, int64_t *bytes, int64_t *count, size_t *stacks)
{
	int p;
	const uint64_t *tok;
	size_t n;
	int64_t b, c;
	*bytes = *count = 0;
	*stacks = 0;
	for (size_t it = 0; live_heap_next(h, &it, &p, &tok, &n, &b, &c);) {
		if (pid && p != pid)
			continue;
		*bytes += b;
		*count += c;
		(*stacks)++;
	}
}

static void test_add_remove(void)
{
	struct live_heap *h = live_heap_new(1000, 10000);
	uint64_t s1[] = {0x401000, 0x402000, 0x403000}, s2[] = {0x405000, 0x403000};
	int64_t b, c;
	size_t ns;
	CHECK_INT_EQ(live_heap_add(h, 10, 0x1000, s1, 3, 4096, 1), 0);
	CHECK_INT_EQ(live_heap_add(h, 10, 0x2000, s1, 3, 8192, 2), 0);
	CHECK_INT_EQ(live_heap_add(h, 10, 0x3000, s2, 2, 100, 1), 0);
	CHECK_INT_EQ(live_heap_add(h, 11, 0x1000, s1, 3, 1, 1), 0); /* same address, other pid */
	totals(h, 10, &b, &c, &ns);
	CHECK(b == 4096 + 8192 + 100 && c == 4);
	CHECK_INT_EQ(ns, 2);
	totals(h, 0, &b, &c, &ns);
	CHECK_INT_EQ(ns, 3); /* (10,s1) (10,s2) (11,s1) */
	CHECK(live_heap_remove(h, 10, 0x1000));
	CHECK(!live_heap_remove(h, 10, 0x1000)); /* twice */
	CHECK(!live_heap_remove(h, 12, 0x1000)); /* unknown pid */
	totals(h, 10, &b, &c, &ns);
	CHECK(b == 8192 + 100 && c == 3);
	/* an address allocated again without a free: replaced */
	CHECK_INT_EQ(live_heap_add(h, 10, 0x2000, s2, 2, 50, 1), 0);
	totals(h, 10, &b, &c, &ns);
	CHECK(b == 150 && c == 2);
	CHECK_INT_EQ(ns, 1);
	struct live_stats st;
	live_heap_stats(h, &st);
	CHECK_INT_EQ(st.entries, 3);
	CHECK_INT_EQ(st.replaced, 1);
	CHECK_INT_EQ(st.unknown_frees, 2);
	/* START / exit: forget a pid */
	live_heap_forget_pid(h, 10);
	totals(h, 0, &b, &c, &ns);
	CHECK(b == 1 && c == 1 && ns == 1);
	live_heap_compact(h);
	totals(h, 0, &b, &c, &ns);
	CHECK(b == 1 && c == 1 && ns == 1);
	/* compaction keeps the remaining entries attached to the right stack */
	CHECK(live_heap_remove(h, 11, 0x1000));
	totals(h, 0, &b, &c, &ns);
	CHECK(b == 0 && ns == 0);
	live_heap_free(h);
}

static bool odd_alive(int pid, void *ctx)
{
	(void)ctx;
	return pid & 1;
}

static void test_bounds_and_prune(void)
{
	struct live_heap *h = live_heap_new(100, 50);
	uint64_t s[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	int ok = 0, full = 0;
	for (int i = 0; i < 200; i++) {
		s[0] = (uint64_t)(i % 4); /* 4 distinct stacks of 8 tokens: 32 tokens */
		int r = live_heap_add(h, 1 + i % 2, 0x10000 + (uint64_t)i * 16, s, 8, 10, 1);
		if (!r)
			ok++;
		else if (r == -ENOSPC)
			full++;
	}
	CHECK_INT_EQ(ok, 100);
	CHECK_INT_EQ(full, 100);
	struct live_stats st;
	live_heap_stats(h, &st);
	CHECK_INT_EQ(st.dropped, 100);
	live_heap_prune(h, odd_alive, NULL); /* pid 2 is gone */
	int64_t b, c;
	size_t ns;
	totals(h, 0, &b, &c, &ns);
	CHECK(c == 50 && b == 500);
	live_heap_compact(h);
	/* pid 1's 2 stacks (16 tokens) are left: 4 more fit in 50 tokens, not 5 */
	for (int i = 0; i < 4; i++) {
		s[0] = 100 + (uint64_t)i;
		CHECK_INT_EQ(live_heap_add(h, 3, 0x90000 + (uint64_t)i, s, 8, 1, 1), 0);
	}
	s[0] = 200;
	CHECK_INT_EQ(live_heap_add(h, 3, 0x99999, s, 8, 1, 1), -ENOSPC);
	totals(h, 3, &b, &c, &ns);
	CHECK(c == 4 && ns == 4);
	live_heap_free(h);
	live_heap_free(NULL);
}

int main(void)
{
	RUN(test_add_remove);
	RUN(test_bounds_and_prune);
	return test_done();
}
