/*
 * fuzz_pprof_decode: the pprof decoder on arbitrary bytes (raw, gzip or zstd). Whatever
 * decodes must encode, decode again to an equal profile, and re-encode byte for byte. Some
 * raw inputs are also sent through gzip and zstd: the compressed copy must decode the same
 * way, and a truncated copy must fail.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pprof/pprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A small cap keeps bombs cheap; the logic is the same at any cap. */
static const struct pprof_decode_opts opts = {.max_decompressed = 8 << 20};

static void check_roundtrip(const struct pprof_profile *p)
{
	struct pprof_profile q;
	struct buf err = BUF_INIT, enc = BUF_INIT, enc2 = BUF_INIT;
	if (pprof_encode(p, &enc) < 0)
		abort();
	if (pprof_decode((const uint8_t *)enc.data, enc.len, NULL, &q, &err) < 0)
		abort();
	if (!pprof_profile_equal(p, &q, &err))
		abort();
	if (pprof_encode(&q, &enc2) < 0 || enc.len != enc2.len ||
	    memcmp(enc.data, enc2.data, enc.len))
		abort();
	pprof_profile_release(&q);
	buf_release(&err);
	buf_release(&enc);
	buf_release(&enc2);
}

static void check_compressed(const uint8_t *data, size_t size, int rc,
			     const struct pprof_profile *p)
{
	for (int c = PPROF_COMPRESSION_GZIP; c <= PPROF_COMPRESSION_ZSTD; c++) {
		struct buf z = BUF_INIT, err = BUF_INIT;
		struct pprof_profile q;
		if (pprof_compress(c, 1, data, size, &z) < 0)
			abort();
		int zrc = pprof_decode((const uint8_t *)z.data, z.len, &opts, &q, &err);
		if (zrc != rc)
			abort();
		if (zrc == 0) {
			if (!pprof_profile_equal(p, &q, NULL))
				abort();
			pprof_profile_release(&q);
		}
		if (pprof_decode((const uint8_t *)z.data, z.len - 1, &opts, &q, &err) == 0)
			abort();
		buf_release(&z);
		buf_release(&err);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pprof_profile p;
	struct buf err = BUF_INIT;
	int rc = pprof_decode(data, size, &opts, &p, &err);
	/* Every failure explains itself, and pass 1's counts are never short. */
	if (rc < 0 && (!err.len || strstr(err.data, "than counted")))
		abort();
	if (rc == 0)
		check_roundtrip(&p);
	/* Compressing is 30x slower than decoding: do it for one input size in 16. */
	if (pprof_sniff(data, size) == PPROF_COMPRESSION_NONE && size < 65536 && size % 16 == 0)
		check_compressed(data, size, rc, &p);
	if (rc == 0)
		pprof_profile_release(&p);
	buf_release(&err);
	return 0;
}
