/*
 * fuzz_perf_records.c: feeds arbitrary bytes to the perf record parser as a stream of
 * records (as the profiler walks a ring), under the layouts kiln opens events with (with and
 * without kernel call chains). The first byte picks the layout.
 */
#include <linux/perf_event.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "perf/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct perf_record_layout layout = {
	    .sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_PERIOD |
			   PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER,
	    .regs_mask = 0xff0fffULL,
	    .sample_id_all = true,
	};
	if (data[0] & 1)
		layout.sample_type |= PERF_SAMPLE_CALLCHAIN;
	if (data[0] & 2)
		layout.sample_type |= PERF_SAMPLE_CPU | PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP;
	if (data[0] & 4)
		layout.sample_id_all = false;
	data++;
	size--;

	/* Records are 8-byte aligned in a ring; parse from an aligned copy as the profiler does. */
	static uint64_t aligned[65536 / 8 + 1];
	size_t off = 0;
	while (off < size) {
		uint32_t type;
		uint16_t misc, rsize;
		if (perf_record_header(data + off, size - off, &type, &misc, &rsize) < 0)
			break;
		size_t n = rsize <= size - off ? rsize : size - off;
		memcpy(aligned, data + off, n);
		struct perf_record r;
		(void)perf_record_time((const uint8_t *)aligned, n, &layout);
		if (perf_record_parse((const uint8_t *)aligned, n, &layout, &r) == 0) {
			volatile uint64_t sink = 0;
			if (r.type == PERF_RECORD_SAMPLE) {
				for (uint64_t i = 0; i < r.sample.callchain_nr; i++)
					sink += r.sample.callchain[i];
				if (r.sample.stack_size)
					sink += r.sample.stack[r.sample.stack_size - 1];
			} else if ((r.type == PERF_RECORD_MMAP2 || r.type == PERF_RECORD_MMAP) &&
				   r.mmap.filename) {
				sink += strlen(r.mmap.filename);
			} else if (r.type == PERF_RECORD_COMM && r.comm.comm) {
				sink += strlen(r.comm.comm);
			}
			(void)sink;
		}
		off += rsize;
	}
	return 0;
}
