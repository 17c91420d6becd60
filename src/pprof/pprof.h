/*
 * pprof: the in-memory form of a profile.proto profile, shared by the decoder, the encoder,
 * kiln report, the profiler and the server.
 *
 * Field meanings follow github.com/google/pprof/proto/profile.proto. Strings are ids into
 * `strings` (id 0 is ""). Ids of mappings, locations and functions are the proto's uint64
 * ids (non-zero); the arrays are in file order, and pprof_profile_index() builds lookup
 * tables from id to array index, after which pprof_location_by_id() and friends are O(1).
 *
 * A profile owns all its memory (an arena plus the vectors); pprof_profile_release() frees
 * everything. Sample arrays (location_ids, values, labels) point into the arena.
 *
 * Calling sequence for a reader:
 *	struct pprof_profile p;
 *	struct buf err = BUF_INIT;
 *	if (pprof_read_file(path, NULL, &p, &err) < 0) { report(err.data); … }
 *	for (size_t i = 0; i < p.samples.len; i++) …
 *	pprof_profile_release(&p);
 */
#ifndef KILN_PPROF_PPROF_H
#define KILN_PPROF_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/hmap.h"
#include "base/strtab.h"
#include "base/vec.h"

struct pprof_value_type {
	int64_t type; /* string id, e.g. "cpu" */
	int64_t unit; /* string id, e.g. "nanoseconds" */
};

struct pprof_label {
	int64_t key;      /* string id */
	int64_t str;      /* string id, 0 when the label is numeric */
	int64_t num;
	int64_t num_unit; /* string id or 0 */
};

struct pprof_sample {
	const uint64_t *location_ids; /* leaf first, as in the proto */
	size_t nlocations;
	const int64_t *values; /* one per sample type; nvalues == sample_types.len when valid */
	size_t nvalues;
	const struct pprof_label *labels;
	size_t nlabels;
};

struct pprof_mapping {
	uint64_t id;
	uint64_t memory_start;
	uint64_t memory_limit;
	uint64_t file_offset;
	int64_t filename; /* string id */
	int64_t build_id; /* string id */
	bool has_functions;
	bool has_filenames;
	bool has_line_numbers;
	bool has_inline_frames;
};

struct pprof_line {
	uint64_t function_id;
	int64_t line;
	int64_t column;
};

struct pprof_location {
	uint64_t id;
	uint64_t mapping_id;
	uint64_t address;
	const struct pprof_line *lines; /* lines[0] is the innermost (inlined) frame */
	size_t nlines;
	bool is_folded;
};

struct pprof_function {
	uint64_t id;
	int64_t name;        /* string id */
	int64_t system_name; /* string id */
	int64_t filename;    /* string id */
	int64_t start_line;
};

struct pprof_profile {
	VEC(struct pprof_value_type) sample_types;
	VEC(struct pprof_sample) samples;
	VEC(struct pprof_mapping) mappings;
	VEC(struct pprof_location) locations;
	VEC(struct pprof_function) functions;
	struct strtab strings;
	int64_t drop_frames; /* string id */
	int64_t keep_frames; /* string id */
	int64_t time_nanos;
	int64_t duration_nanos;
	struct pprof_value_type period_type;
	int64_t period;
	VEC(int64_t) comments; /* string ids */
	int64_t default_sample_type; /* string id */

	/* id -> index+1 lookup tables, built by pprof_profile_index(). */
	struct hmap mapping_index;
	struct hmap location_index;
	struct hmap function_index;

	struct arena arena; /* owns sample arrays, location lines */
};

/* An empty profile whose string table holds "". 0 or -ENOMEM. */
int pprof_profile_init(struct pprof_profile *p);
void pprof_profile_release(struct pprof_profile *p);
/* Builds the id lookup tables. The decoder calls it; call it again after adding entries. */
int pprof_profile_index(struct pprof_profile *p);
const struct pprof_mapping *pprof_mapping_by_id(const struct pprof_profile *p, uint64_t id);
const struct pprof_location *pprof_location_by_id(const struct pprof_profile *p, uint64_t id);
const struct pprof_function *pprof_function_by_id(const struct pprof_profile *p, uint64_t id);
/* The string for an id; "" for an out-of-range id (the decoder rejects those anyway). */
const char *pprof_str(const struct pprof_profile *p, int64_t id);
/* Index of the sample type named `name` (e.g. "cpu"), or -1. */
int pprof_sample_type_index(const struct pprof_profile *p, const char *name);
/*
 * True when a and b hold the same profile, field by field (same ids, same string table in the
 * same order). Otherwise false, with a one-line description of the first difference appended
 * to why (may be NULL). Used by round-trip tests and the fuzzer.
 */
bool pprof_profile_equal(const struct pprof_profile *a, const struct pprof_profile *b,
			 struct buf *why);

/* ---- decoding ---------------------------------------------------------------------------- */

struct pprof_decode_opts {
	size_t max_decompressed; /* cap for gzip/zstd output; 0 = PPROF_DEFAULT_MAX_DECOMPRESSED */
};

#define PPROF_DEFAULT_MAX_DECOMPRESSED ((size_t)256 << 20)

enum pprof_compression {
	PPROF_COMPRESSION_NONE = 0,
	PPROF_COMPRESSION_GZIP,
	PPROF_COMPRESSION_ZSTD,
};

/* Recognises gzip (1f 8b) and zstd (28 b5 2f fd) by magic bytes. */
enum pprof_compression pprof_sniff(const uint8_t *data, size_t len);

/*
 * Decompresses gzip or zstd (frames with or without a content size, concatenated frames),
 * or copies raw bytes, into out. Stops with -EFBIG once more than `max` bytes would be
 * produced (0 = the default cap). On error a message is appended to err (may be NULL).
 */
int pprof_decompress(const uint8_t *data, size_t len, size_t max, struct buf *out,
		     struct buf *err);

/*
 * Decodes a profile (raw, gzip or zstd) into p, which the call initialises. Returns 0 or a
 * negative errno (-EINVAL malformed, -EFBIG too large, -ENOMEM); on error p is released and
 * a one-line reason is appended to err ("truncated varint at offset 1234", "sample 12
 * references location 99 which does not exist", …).
 */
int pprof_decode(const uint8_t *data, size_t len, const struct pprof_decode_opts *opts,
		 struct pprof_profile *p, struct buf *err);
/* pprof_decode of a file's contents; the error message names the file. */
int pprof_read_file(const char *path, const struct pprof_decode_opts *opts,
		    struct pprof_profile *p, struct buf *err);

/* ---- encoding ---------------------------------------------------------------------------- */

/* Appends the uncompressed profile.proto encoding of p to out. */
int pprof_encode(const struct pprof_profile *p, struct buf *out);
/* Compresses in into out (appending). level: gzip 1-9, zstd 1-19; 0 = a sensible default. */
int pprof_compress(enum pprof_compression c, int level, const uint8_t *in, size_t len,
		   struct buf *out);
/* Encodes, gzips and writes atomically to path. */
int pprof_write_file(const struct pprof_profile *p, const char *path, struct buf *err);

#endif
