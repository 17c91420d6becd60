/*
 * pprof_write: writes profiles for the go tool pprof interoperability test.
 *
 *	pprof-write reencode IN OUT     decode IN (any producer), write it back (gzip)
 *	pprof-write built OUT [zstd]    a small profile from the builder: inlined frames, a
 *	                                mapping, labels, comment, period (zstd: raw zstd file)
 */
#include <stdio.h>
#include <string.h>

#include "pprof/builder.h"
#include "pprof/pprof.h"

static int reencode(const char *in, const char *out)
{
	struct pprof_profile p;
	struct buf err = BUF_INIT;
	int rc = pprof_read_file(in, NULL, &p, &err);
	if (rc == 0) {
		rc = pprof_write_file(&p, out, &err);
		pprof_profile_release(&p);
	}
	if (rc < 0)
		fprintf(stderr, "pprof-write: %s\n", err.data);
	buf_release(&err);
	return rc < 0;
}

static int built(const char *out, bool zstd)
{
	struct pprof_builder *b = pprof_builder_new();
	struct pprof_profile p;
	struct buf err = BUF_INIT, raw = BUF_INIT, z = BUF_INIT;
	pprof_builder_sample_type(b, "cpu-samples", "count");
	pprof_builder_sample_type(b, "cpu-time", "nanoseconds");
	pprof_builder_period(b, "cpu-time", "nanoseconds", 10101010);
	pprof_builder_comment(b, "made by kiln");
	pprof_builder_time(b, 1732488000000000000LL, 10000000000LL);
	uint64_t m = pprof_builder_mapping(b, 0x400000, 0x500000, 0, "/bin/app", "deadbeef", true);
	uint64_t fmain = pprof_builder_function(b, "main", "main", "main.c", 10);
	uint64_t fhot = pprof_builder_function(b, "hot", "_Z3hotv", "hot.c", 3);
	uint64_t fcold = pprof_builder_function(b, "cold", "cold", "cold.c", 20);
	struct pprof_line lmain = {fmain, 12, 0}, lcold = {fcold, 22, 0};
	struct pprof_line inl[2] = {{fhot, 5, 2}, {fmain, 14, 0}}; /* hot inlined into main */
	uint64_t a = pprof_builder_location(b, m, 0x401000, &lmain, 1);
	uint64_t h = pprof_builder_location(b, m, 0x402000, inl, 2);
	uint64_t c = pprof_builder_location(b, m, 0x403000, &lcold, 1);
	uint64_t hot[2] = {h, a}, cold[2] = {c, a};
	int64_t v[2] = {1, 10101010};
	struct pprof_label lab = pprof_builder_label_str(b, "thread name", "worker");
	for (int i = 0; i < 75; i++)
		pprof_builder_add_sample(b, hot, 2, v, &lab, 1);
	for (int i = 0; i < 25; i++)
		pprof_builder_add_sample(b, cold, 2, v, NULL, 0);
	int rc = pprof_builder_finish(b, &p);
	if (rc == 0 && !zstd)
		rc = pprof_write_file(&p, out, &err);
	if (rc == 0 && zstd) {
		rc = pprof_encode(&p, &raw);
		if (rc == 0)
			rc = pprof_compress(PPROF_COMPRESSION_ZSTD, 0, (const uint8_t *)raw.data,
					    raw.len, &z);
		if (rc == 0)
			rc = buf_write_file(&z, out);
	}
	if (rc < 0)
		fprintf(stderr, "pprof-write: cannot write '%s': %s\n", out,
			err.data ? err.data : "");
	pprof_profile_release(&p);
	pprof_builder_free(b);
	buf_release(&err);
	buf_release(&raw);
	buf_release(&z);
	return rc < 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "reencode"))
		return reencode(argv[2], argv[3]);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "built"))
		return built(argv[2], argc == 4 && !strcmp(argv[3], "zstd"));
	fprintf(stderr, "usage: pprof-write reencode IN OUT | built OUT [zstd]\n");
	return 2;
}
