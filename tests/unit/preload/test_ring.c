/* The allocation ring alone: reserve/commit/read order, wrap-around padding, full ring,
 * corrupt records, and many concurrent writers against one reader losing nothing silently. */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "preload/ring.h"
#include "test.h"

static struct alloc_ring *ring;

static int write_free(uint64_t addr)
{
	struct alloc_ring_header *h = alloc_ring_header(ring);
	struct alloc_ring_free *f =
	    alloc_ring_reserve(h, (uint8_t *)h + ALLOC_RING_HEADER_SIZE, sizeof(*f));
	if (!f)
		return -1;
	f->addr = addr;
	f->pid = 7;
	alloc_ring_commit(f, sizeof(*f), ALLOC_RING_FREE);
	return 0;
}

static void test_order_and_wrap(void)
{
	int fd = -1;
	ring = alloc_ring_create(1000, &fd);
	CHECK(ring != NULL);
	if (!ring)
		return;
	CHECK(fd >= 0);
	char env[64];
	CHECK_INT_EQ(alloc_ring_env(ring, env, sizeof(env)), 0);
	CHECK(!strncmp(env, "fd:", 3));
	CHECK_INT_EQ(alloc_ring_header(ring)->data_size, 64 * 1024);
	struct alloc_ring_event ev;
	CHECK_INT_EQ(alloc_ring_read(ring, &ev), 0);
	/* 32-byte records: 2048 fill the ring, the next is refused. */
	uint64_t next = 1, expect = 1;
	for (int round = 0; round < 5; round++) {
		int wrote = 0;
		while (write_free(next) == 0) {
			next++;
			wrote++;
		}
		CHECK(wrote > 0);
		int got = 0, r;
		while ((r = alloc_ring_read(ring, &ev)) == 1) {
			CHECK_INT_EQ(ev.type, ALLOC_RING_FREE);
			CHECK_INT_EQ(ev.free->addr, expect);
			expect++;
			got++;
			if (got % 100 == 0)
				alloc_ring_release(ring);
		}
		CHECK_INT_EQ(r, 0);
		CHECK_INT_EQ(got, wrote);
		alloc_ring_release(ring);
		/* misalign the next round so that records straddle the end: 40-byte ALLOC-less
		 * records are not possible, so shift with one odd-sized pad-able write */
		struct alloc_ring_header *h = alloc_ring_header(ring);
		void *p = alloc_ring_reserve(h, (uint8_t *)h + ALLOC_RING_HEADER_SIZE, 24);
		CHECK(p != NULL);
		if (p)
			alloc_ring_commit(p, 24, 99); /* unknown type: skipped by the reader */
	}
	CHECK_INT_EQ(expect, next);
	alloc_ring_free(ring);
	ring = NULL;
}

static void test_corrupt(void)
{
	ring = alloc_ring_create(0, NULL);
	CHECK(ring != NULL);
	if (!ring)
		return;
	struct alloc_ring_header *h = alloc_ring_header(ring);
	uint64_t *p = alloc_ring_reserve(h, (uint8_t *)h + ALLOC_RING_HEADER_SIZE, 16);
	CHECK(p != NULL);
	if (p)
		*p = 0xdeadbeefULL; /* no magic */
	struct alloc_ring_event ev;
	CHECK_INT_EQ(alloc_ring_read(ring, &ev), -EBADMSG);
	alloc_ring_free(ring);
	ring = NULL;
}

#define WRITERS 4
#define PER_WRITER 200000

static void *writer(void *arg)
{
	uint64_t base = (uint64_t)(uintptr_t)arg << 32;
	for (uint64_t i = 0; i < PER_WRITER; i++)
		if (write_free(base | i) < 0)
			__atomic_fetch_add(&alloc_ring_header(ring)->lost_frees, 1,
					   __ATOMIC_RELAXED);
	return NULL;
}

static void test_concurrent(void)
{
	ring = alloc_ring_create(64 * 1024, NULL);
	CHECK(ring != NULL);
	if (!ring)
		return;
	pthread_t t[WRITERS];
	for (uintptr_t i = 0; i < WRITERS; i++)
		pthread_create(&t[i], NULL, writer, (void *)(i + 1));
	uint64_t got = 0, last[WRITERS + 1] = {0};
	int bad = 0, done = 0;
	for (;;) {
		struct alloc_ring_event ev;
		int r = alloc_ring_read(ring, &ev);
		if (r == 1) {
			unsigned w = (unsigned)(ev.free->addr >> 32);
			uint64_t i = ev.free->addr & 0xffffffffu;
			if (w < 1 || w > WRITERS || (last[w] && i <= last[w] - 1))
				bad++;
			else
				last[w] = i + 1;
			got++;
			continue;
		}
		CHECK_INT_EQ(r, 0);
		alloc_ring_release(ring);
		if (done)
			break;
		if (got + alloc_ring_lost_frees(ring) == (uint64_t)WRITERS * PER_WRITER) {
			done = 1;
			continue;
		}
		usleep(100);
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_join(t[i], NULL);
	CHECK_INT_EQ(bad, 0);
	CHECK_INT_EQ(got + alloc_ring_lost_frees(ring), (uint64_t)WRITERS * PER_WRITER);
	CHECK(got > 0);
	alloc_ring_free(ring);
	ring = NULL;
}

static void test_file(void)
{
	char path[] = "/tmp/kiln-ring-test-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	ring = alloc_ring_create_file(path, 4096);
	CHECK(ring != NULL);
	if (!ring)
		return;
	CHECK_INT_EQ(write_free(42), 0);
	struct alloc_ring *r2 = alloc_ring_open_file(path);
	CHECK(r2 != NULL);
	struct alloc_ring_event ev;
	if (r2) {
		CHECK_INT_EQ(alloc_ring_read(r2, &ev), 1);
		CHECK_INT_EQ(ev.free->addr, 42);
		alloc_ring_free(r2);
	}
	char env[256];
	CHECK_INT_EQ(alloc_ring_env(ring, env, sizeof(env)), 0);
	CHECK_STR_EQ(env, path);
	alloc_ring_free(ring);
	ring = NULL;
	unlink(path);
	CHECK(alloc_ring_open_file(path) == NULL);
}

int main(void)
{
	RUN(test_order_and_wrap);
	RUN(test_corrupt);
	RUN(test_concurrent);
	RUN(test_file);
	return test_done();
}
