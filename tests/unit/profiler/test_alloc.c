/* Tests of the profiler's allocation-ring reader (profiler/alloc.h): copies, the watermark,
 * counters, a malformed ring, a stuck ring, --alloc-ring descriptors. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "profiler/alloc.h"
#include "test.h"

static uint8_t *data_of(struct alloc_ring *r)
{
	return (uint8_t *)alloc_ring_header(r) + ALLOC_RING_HEADER_SIZE;
}

static void put_alloc(struct alloc_ring *r, uint64_t t, uint32_t pid, uint64_t addr,
		      uint32_t stack_len)
{
	uint32_t len = (uint32_t)((sizeof(struct alloc_ring_alloc) + stack_len + 7) & ~7u);
	struct alloc_ring_alloc *a = alloc_ring_reserve(alloc_ring_header(r), data_of(r), len);
	CHECK(a != NULL);
	if (!a)
		return;
	memset((uint8_t *)a + 8, 0, len - 8);
	a->time_ns = t;
	a->pid = pid;
	a->tid = pid;
	a->addr = addr;
	a->size = 100;
	a->weight = 4096;
	a->count = 1;
	a->stack_len = stack_len;
	memset(a + 1, 0xab, stack_len);
	alloc_ring_commit(a, len, ALLOC_RING_ALLOC);
}

static void put_free(struct alloc_ring *r, uint64_t t, uint32_t pid, uint64_t addr)
{
	struct alloc_ring_free *f =
	    alloc_ring_reserve(alloc_ring_header(r), data_of(r), sizeof(*f));
	CHECK(f != NULL);
	if (!f)
		return;
	f->time_ns = t;
	f->pid = pid;
	f->tid = pid;
	f->addr = addr;
	alloc_ring_commit(f, sizeof(*f), ALLOC_RING_FREE);
}

static void test_read_and_watermark(void)
{
	int fd;
	struct alloc_ring *r = alloc_ring_create(64 * 1024, &fd);
	CHECK(r != NULL);
	alloc_ring_header(r)->period = 4096;
	struct alloc_source *s = alloc_source_new(r);
	put_alloc(r, 100, 7, 0x1000, 256);
	put_free(r, 200, 7, 0x1000);
	put_alloc(r, 300, 7, 0x2000, 0);
	CHECK_INT_EQ(alloc_source_fill(s, 1), 3);
	/* the ring's space is given back at once: the records are ours now */
	CHECK(alloc_ring_header(r)->tail == alloc_ring_header(r)->head);
	struct alloc_record rec;
	CHECK(alloc_source_get(s, 0, &rec));
	CHECK(rec.type == ALLOC_RING_ALLOC && rec.pid == 7 && rec.addr == 0x1000);
	CHECK_INT_EQ(rec.alloc->stack_len, 256);
	CHECK(rec.stack[0] == 0xab && rec.stack[255] == 0xab);
	CHECK(alloc_source_get(s, 1, &rec) && rec.type == ALLOC_RING_FREE && rec.time == 200);
	CHECK(alloc_source_get(s, 2, &rec) && rec.type == ALLOC_RING_ALLOC);
	CHECK(!alloc_source_get(s, 3, &rec));
	/* records newer than the watermark stay for the next round */
	alloc_source_consume(s, 250);
	CHECK(alloc_source_get(s, 0, &rec) && rec.time == 300 && rec.addr == 0x2000);
	CHECK(!alloc_source_get(s, 1, &rec));
	alloc_source_consume(s, 1000);
	CHECK(!alloc_source_get(s, 0, &rec));
	CHECK_INT_EQ(alloc_source_period(s), 4096);
	/* a time far in the future is brought back to the reading time */
	put_alloc(r, UINT64_MAX / 2, 7, 0x3000, 0);
	CHECK_INT_EQ(alloc_source_fill(s, 5000), 1);
	CHECK(alloc_source_get(s, 0, &rec) && rec.time == 5000);
	alloc_source_consume(s, 5000);
	CHECK(!alloc_source_get(s, 0, &rec));
	/* many records through a small ring: all arrive, in order */
	uint64_t t = 1000, got = 0, last = 0;
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 20; i++) {
			t++;
			put_alloc(r, t, 8, t, 1000);
		}
		alloc_source_fill(s, 2);
		for (size_t i = 0; alloc_source_get(s, i, &rec); i++) {
			CHECK(rec.time > last);
			last = rec.time;
			got++;
		}
		alloc_source_consume(s, UINT64_MAX);
	}
	CHECK_INT_EQ(got, 1000);
	/* counters come from the header */
	alloc_ring_header(r)->lost = 5;
	alloc_ring_header(r)->untracked = 2;
	struct alloc_source_counters c;
	alloc_source_counters(s, &c);
	CHECK(c.lost == 5 && c.untracked == 2 && c.read == 1004 && !c.broken);
	alloc_source_free(s);
}

static void test_bad_and_stuck(void)
{
	int fd;
	struct alloc_ring *r = alloc_ring_create(64 * 1024, &fd);
	struct alloc_source *s = alloc_source_new(r);
	/* a record whose stack_len was changed after commit to run past the ring */
	put_alloc(r, 10, 7, 0x1000, 64);
	struct alloc_ring_alloc *a = (struct alloc_ring_alloc *)data_of(r);
	a->stack_len = 1u << 30;
	put_alloc(r, 11, 7, 0x2000, 64);
	alloc_source_fill(s, 1);
	struct alloc_record rec;
	struct alloc_source_counters c;
	alloc_source_counters(s, &c);
	CHECK(c.broken); /* the reader refuses it: the ring is given up */
	alloc_source_free(s);
	/* a hole: reserved, never committed; then records behind it */
	r = alloc_ring_create(64 * 1024, &fd);
	s = alloc_source_new(r);
	CHECK(alloc_ring_reserve(alloc_ring_header(r), data_of(r), 512) != NULL);
	put_alloc(r, 20, 7, 0x3000, 0);
	CHECK_INT_EQ(alloc_source_fill(s, 1000), 0);
	CHECK_INT_EQ(alloc_source_fill(s, 500000000), 0);  /* 0.5 s: not yet */
	CHECK_INT_EQ(alloc_source_fill(s, 1100000000), 0); /* 1.1 s: skipped */
	alloc_source_counters(s, &c);
	CHECK(c.skipped > 0 && !c.broken);
	put_alloc(r, 30, 7, 0x4000, 0);
	CHECK_INT_EQ(alloc_source_fill(s, 1200000000), 1);
	CHECK(alloc_source_get(s, 0, &rec) && rec.addr == 0x4000);
	alloc_source_free(s);
	/* garbage in the record word: the ring is given up */
	r = alloc_ring_create(64 * 1024, &fd);
	s = alloc_source_new(r);
	put_alloc(r, 10, 7, 0x1000, 0);
	*(uint64_t *)data_of(r) = 0x1234567812345678ULL;
	alloc_source_fill(s, 1);
	alloc_source_counters(s, &c);
	CHECK(c.broken);
	CHECK_INT_EQ(alloc_source_fill(s, 2), 0);
	alloc_source_free(s);
}

static void test_open_fd(void)
{
	struct buf why = BUF_INIT;
	int fd;
	struct alloc_ring *r = alloc_ring_create(64 * 1024, &fd);
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	struct alloc_ring *r2 = alloc_source_open_fd(dup, &why);
	CHECK(r2 != NULL);
	CHECK(fcntl(dup, F_GETFD) < 0); /* closed: reopened through /proc/self/fd */
	if (r2) {
		put_alloc(r, 5, 9, 0x5000,
			  0); /* written through one mapping, read through the other */
		struct alloc_source *s = alloc_source_new(r2);
		CHECK_INT_EQ(alloc_source_fill(s, 1), 1);
		alloc_source_free(s);
	}
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(alloc_source_open_fd(null, &why) == NULL);
	CHECK(why.data && strstr(why.data, "not a kiln allocation ring"));
	close(null);
	buf_reset(&why);
	CHECK(alloc_source_open_fd(987, &why) == NULL);
	CHECK(why.data && strstr(why.data, "not an open descriptor"));
	buf_release(&why);
	alloc_ring_free(r);
}

static void test_find_lib(void)
{
	struct buf lib = BUF_INIT, why = BUF_INIT;
	setenv("KILN_PRELOAD_LIB", "/nonexistent/libkiln_preload.so", 1);
	CHECK(alloc_source_find_preload_lib("/usr/bin/kiln", &lib, &why) < 0);
	CHECK(why.data && strstr(why.data, "KILN_PRELOAD_LIB"));
	setenv("KILN_PRELOAD_LIB", "/bin/sh", 1);
	buf_reset(&why);
	CHECK_INT_EQ(alloc_source_find_preload_lib("/usr/bin/kiln", &lib, &why), 0);
	CHECK(lib.data && lib.data[0] == '/');
	unsetenv("KILN_PRELOAD_LIB");
	buf_reset(&why);
	CHECK(alloc_source_find_preload_lib("/nonexistent/bin/kiln", &lib, &why) < 0);
	CHECK(why.data && strstr(why.data, "/nonexistent/bin/../lib/libkiln_preload.so"));
	CHECK(!alloc_source_preload_blocked("sh", &why));
	CHECK(!alloc_source_preload_blocked("/nonexistent", &why));
	buf_release(&lib);
	buf_release(&why);
}

int main(void)
{
	log_set_mode("disabled");
	RUN(test_read_and_watermark);
	RUN(test_bad_and_stuck);
	RUN(test_open_fd);
	RUN(test_find_lib);
	return test_done();
}
