/*
 * record: decodes perf_event ring-buffer records (bytes in, structs out).
 *
 * The parser never trusts the bytes: every length is checked against the record size, and a
 * malformed record yields -EINVAL instead of a read past the end. It needs to know how the
 * events were opened (sample_type, the user register mask, sample_id_all), which the caller
 * passes in a struct perf_record_layout.
 *
 * Pointers in a parsed record (stack, callchain, strings) borrow from the input bytes and are
 * valid as long as they are.
 */
#ifndef KILN_PERF_RECORD_H
#define KILN_PERF_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Record types kiln handles (values of linux/perf_event.h PERF_RECORD_*). */
enum perf_record_type {
	PERF_REC_MMAP = 1,
	PERF_REC_LOST = 2,
	PERF_REC_COMM = 3,
	PERF_REC_EXIT = 4,
	PERF_REC_THROTTLE = 5,
	PERF_REC_UNTHROTTLE = 6,
	PERF_REC_FORK = 7,
	PERF_REC_SAMPLE = 9,
	PERF_REC_MMAP2 = 10,
	PERF_REC_LOST_SAMPLES = 13,
};

/* How the records were produced: copied from the perf_event_attr the events used. */
struct perf_record_layout {
	uint64_t sample_type; /* PERF_SAMPLE_* bits */
	uint64_t regs_mask;   /* sample_regs_user */
	bool sample_id_all;
};

#define PERF_RECORD_MAX_REGS 64
#define PERF_RECORD_MAX_COMM 16

/* The sample_id trailer of non-sample records (sample_id_all) and the sample's own ids. */
struct perf_record_id {
	uint32_t pid, tid;
	uint64_t time;
	uint32_t cpu;
	bool has_tid, has_time;
};

struct perf_sample {
	uint64_t ip;
	uint64_t period;
	uint64_t addr;
	const uint64_t *callchain; /* nr entries, unaligned-safe copy not needed: 8-aligned */
	uint64_t callchain_nr;
	uint64_t regs_abi;		     /* 0 = no registers (kernel thread) */
	uint64_t regs[PERF_RECORD_MAX_REGS]; /* indexed by register number; unsampled = 0 */
	const uint8_t *stack; /* user stack copy, stack_size bytes valid (dyn_size) */
	uint64_t stack_size;
};

struct perf_mmap {
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	uint32_t maj, min;
	uint64_t ino;
	uint32_t prot, flags;
	bool has_inode;	      /* MMAP2 without the build-id flavour */
	const char *filename; /* NUL-terminated inside the record */
};

struct perf_comm {
	uint32_t pid, tid;
	bool exec;	  /* PERF_RECORD_MISC_COMM_EXEC */
	const char *comm; /* NUL-terminated inside the record */
};

struct perf_task { /* FORK and EXIT */
	uint32_t pid, ppid, tid, ptid;
	uint64_t time;
};

struct perf_lost {
	uint64_t id, lost;
};

struct perf_record {
	uint32_t type; /* enum perf_record_type, or another PERF_RECORD_* the caller skips */
	uint16_t misc;
	uint16_t size;
	struct perf_record_id id;
	union {
		struct perf_sample sample;
		struct perf_mmap mmap;
		struct perf_comm comm;
		struct perf_task task;
		struct perf_lost lost;
	};
};

/*
 * Decodes the record at data[0..len). len must cover the whole record (the header's size);
 * on success *out describes it. Returns 0, or -EINVAL for a malformed record (truncated,
 * lengths that do not add up, a string without its NUL). Unknown record types decode their
 * header only (returns 0, type as found).
 */
int perf_record_parse(const uint8_t *data, size_t len, const struct perf_record_layout *layout,
		      struct perf_record *out);

/* Reads just the header (type, misc, size). -EINVAL when len < 8 or size < 8. */
int perf_record_header(const uint8_t *data, size_t len, uint32_t *type, uint16_t *misc,
		       uint16_t *size);

/* The record's timestamp if the layout carries one (samples and, with sample_id_all, the
 * others); 0 otherwise or when malformed. Cheap: used to order records from several rings. */
uint64_t perf_record_time(const uint8_t *data, size_t len, const struct perf_record_layout *layout);

#endif
