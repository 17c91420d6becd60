/* test_record.c: perf record parsing from hand-built bytes (no perf events needed). */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "perf/record.h"
#include "test.h"

static const struct perf_record_layout layout = {
    .sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_PERIOD | PERF_SAMPLE_REGS_USER |
		   PERF_SAMPLE_STACK_USER,
    .regs_mask = 0xff0fffULL,
    .sample_id_all = true,
};

static void put64(struct buf *b, uint64_t v)
{
	buf_append(b, &v, 8);
}

static void put32(struct buf *b, uint32_t v)
{
	buf_append(b, &v, 4);
}

static void header(struct buf *b, uint32_t type, uint16_t misc)
{
	struct perf_event_header h = {.type = type, .misc = misc, .size = 0};
	buf_append(b, &h, sizeof(h));
}

static void finish(struct buf *b)
{
	uint16_t size = (uint16_t)b->len;
	memcpy(b->data + 6, &size, 2);
}

static void trailer(struct buf *b, uint32_t pid, uint32_t tid, uint64_t time)
{
	put32(b, pid);
	put32(b, tid);
	put64(b, time);
}

static void build_sample(struct buf *b, uint64_t stack_size, uint64_t dyn)
{
	header(b, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER);
	put32(b, 100);
	put32(b, 101);
	put64(b, 123456789); /* time */
	put64(b, 10101010);  /* period */
	put64(b, PERF_SAMPLE_REGS_ABI_64);
	for (int r = 0; r < 20; r++) /* popcount(0xff0fff) = 20 */
		put64(b, 0x1000 + (uint64_t)r);
	put64(b, stack_size);
	for (uint64_t i = 0; i < stack_size; i++)
		buf_putc(b, (char)i);
	if (stack_size)
		put64(b, dyn);
	finish(b);
}

static void test_sample(void)
{
	struct buf b = BUF_INIT;
	struct perf_record r;
	build_sample(&b, 64, 48);
	CHECK_INT_EQ(perf_record_parse((const uint8_t *)b.data, b.len, &layout, &r), 0);
	CHECK_INT_EQ(r.type, PERF_REC_SAMPLE);
	CHECK_INT_EQ(r.id.pid, 100);
	CHECK_INT_EQ(r.id.tid, 101);
	CHECK_INT_EQ(r.id.time, 123456789);
	CHECK_INT_EQ(r.sample.period, 10101010);
	CHECK_INT_EQ(r.sample.regs[0], 0x1000);	 /* AX */
	CHECK_INT_EQ(r.sample.regs[7], 0x1007);	 /* SP */
	CHECK_INT_EQ(r.sample.regs[8], 0x1008);	 /* IP */
	CHECK_INT_EQ(r.sample.regs[12], 0);	 /* DS: not sampled */
	CHECK_INT_EQ(r.sample.regs[16], 0x100c); /* R8 follows FLAGS, CS, SS */
	CHECK_INT_EQ(r.sample.regs[23], 0x1013); /* R15 */
	CHECK_INT_EQ(r.sample.stack_size, 48);
	CHECK(r.sample.stack && r.sample.stack[5] == 5);
	CHECK_INT_EQ(perf_record_time((const uint8_t *)b.data, b.len, &layout), 123456789);
	buf_release(&b);
}

static void test_sample_bad(void)
{
	struct buf b = BUF_INIT;
	struct perf_record r;
	build_sample(&b, 64, 65); /* dyn_size larger than the copy */
	CHECK_INT_EQ(perf_record_parse((const uint8_t *)b.data, b.len, &layout, &r), -EINVAL);
	buf_reset(&b);
	build_sample(&b, 64, 8);
	/* every truncation is rejected, never read past */
	for (size_t cut = 0; cut < b.len; cut += 8) {
		uint16_t size = (uint16_t)cut;
		struct buf c = BUF_INIT;
		buf_append(&c, b.data, cut);
		if (cut >= 8)
			memcpy(c.data + 6, &size, 2);
		CHECK(perf_record_parse((const uint8_t *)c.data, cut, &layout, &r) < 0);
		buf_release(&c);
	}
	/* header size larger than the bytes given */
	CHECK_INT_EQ(perf_record_parse((const uint8_t *)b.data, b.len - 8, &layout, &r), -EINVAL);
	buf_release(&b);
}

static void test_mmap2(void)
{
	struct buf b = BUF_INIT;
	struct perf_record r;
	header(&b, PERF_RECORD_MMAP2, PERF_RECORD_MISC_USER);
	put32(&b, 7);
	put32(&b, 8);
	put64(&b, 0x400000);
	put64(&b, 0x2000);
	put64(&b, 0x1000);
	put32(&b, 8);  /* maj */
	put32(&b, 1);  /* min */
	put64(&b, 42); /* ino */
	put64(&b, 0);  /* ino_generation */
	put32(&b, 5);  /* PROT_READ|PROT_EXEC */
	put32(&b, 2);  /* MAP_PRIVATE */
	buf_append(&b, "/usr/bin/app\0\0\0\0", 16);
	trailer(&b, 7, 8, 999);
	finish(&b);
	CHECK_INT_EQ(perf_record_parse((const uint8_t *)b.data, b.len, &layout, &r), 0);
	CHECK_INT_EQ(r.type, PERF_REC_MMAP2);
	CHECK_INT_EQ(r.mmap.addr, 0x400000);
	CHECK_INT_EQ(r.mmap.len, 0x2000);
	CHECK_INT_EQ(r.mmap.pgoff, 0x1000);
	CHECK_INT_EQ(r.mmap.ino, 42);
	CHECK_INT_EQ(r.mmap.prot, 5);
	CHECK_STR_EQ(r.mmap.filename, "/usr/bin/app");
	CHECK_INT_EQ(r.id.time, 999);
	CHECK_INT_EQ(perf_record_time((const uint8_t *)b.data, b.len, &layout), 999);

	/* a file name without its NUL before the trailer is malformed */
	memset(b.data + b.len - 16 - 16, 'x', 16);
	CHECK_INT_EQ(perf_record_parse((const uint8_t *)b.data, b.len, &layout, &r), -EINVAL);
	buf_release(&b);
}

static void test_comm_task_lost(void)
{
	struct buf b = BUF_INIT;
	struct perf_record r;
	header(&b, PERF_RECORD_COMM, PERF_RECORD_MISC_COMM_EXEC);
	put32(&b, 10);
	put32(&b, 10);
	buf_append(&b, "worker\0\0", 8);
	trailer(&b, 10, 10, 5);
	finish(&b);
	CHECK_INT_EQ(perf_record_parse((const uint8_t *)b.data, b.len, &layout, &r), 0);
	CHECK_STR_EQ(r.comm.comm, "worker");
	CHECK(r.comm.exec);

	buf_reset(&b);
	header(&b, PERF_RECORD_FORK, 0);
	put32(&b, 11);
	put32(&b, 10);
	put32(&b, 12);
	put32(&b, 10);
	put64(&b, 77);
	trailer(&b, 11, 12, 77);
	finish(&b);
	CHECK_INT_EQ(perf_record_parse((const uint8_t *)b.data, b.len, &layout, &r), 0);
	CHECK_INT_EQ(r.type, PERF_REC_FORK);
	CHECK_INT_EQ(r.task.pid, 11);
	CHECK_INT_EQ(r.task.ppid, 10);
	CHECK_INT_EQ(r.task.tid, 12);

	buf_reset(&b);
	header(&b, PERF_RECORD_LOST, 0);
	put64(&b, 1);
	put64(&b, 17);
	trailer(&b, 0, 0, 88);
	finish(&b);
	CHECK_INT_EQ(perf_record_parse((const uint8_t *)b.data, b.len, &layout, &r), 0);
	CHECK_INT_EQ(r.lost.lost, 17);
	CHECK_INT_EQ(r.id.time, 88);

	/* unknown types decode their header only */
	buf_reset(&b);
	header(&b, 99, 0);
	put64(&b, 0);
	finish(&b);
	CHECK_INT_EQ(perf_record_parse((const uint8_t *)b.data, b.len, &layout, &r), 0);
	CHECK_INT_EQ(r.type, 99);
	buf_release(&b);
}

static void test_callchain(void)
{
	struct perf_record_layout l = layout;
	l.sample_type |= PERF_SAMPLE_CALLCHAIN;
	struct buf b = BUF_INIT;
	struct perf_record r;
	header(&b, PERF_RECORD_SAMPLE, 0);
	put32(&b, 1);
	put32(&b, 2);
	put64(&b, 3);
	put64(&b, 4);
	put64(&b, 3); /* nr */
	put64(&b, (uint64_t)PERF_CONTEXT_KERNEL);
	put64(&b, 0xffffffff81000010ULL);
	put64(&b, 0xffffffff81000020ULL);
	put64(&b, 0); /* regs abi none */
	put64(&b, 0); /* stack size 0 */
	finish(&b);
	CHECK_INT_EQ(perf_record_parse((const uint8_t *)b.data, b.len, &l, &r), 0);
	CHECK_INT_EQ(r.sample.callchain_nr, 3);
	CHECK(r.sample.callchain[2] == 0xffffffff81000020ULL);
	CHECK_INT_EQ(r.sample.regs_abi, 0);
	CHECK(r.sample.stack == NULL);
	/* a callchain count that runs past the record */
	uint64_t huge = 1ULL << 40;
	memcpy(b.data + 32, &huge, 8);
	CHECK_INT_EQ(perf_record_parse((const uint8_t *)b.data, b.len, &l, &r), -EINVAL);
	buf_release(&b);
}

int main(void)
{
	RUN(test_sample);
	RUN(test_sample_bad);
	RUN(test_mmap2);
	RUN(test_comm_task_lost);
	RUN(test_callchain);
	return test_done();
}
