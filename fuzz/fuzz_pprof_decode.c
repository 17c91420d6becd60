/*
 * fuzz_pprof_decode: the pprof decoder on arbitrary bytes (raw, gzip or zstd). Whatever
 * decodes must encode, decode again to an equal profile, and re-encode byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pprof/pprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A small cap keeps bombs cheap; the logic is the same at any cap. */
	struct pprof_decode_opts opts = {.max_decompressed = 8 << 20};
	struct pprof_profile p, q;
	struct buf err = BUF_INIT, enc = BUF_INIT, enc2 = BUF_INIT;
	if (pprof_decode(data, size, &opts, &p, &err) < 0) {
		/* Every failure explains itself, and pass 1's counts are never short. */
		if (!err.len || strstr(err.data, "than counted"))
			abort();
		goto out;
	}
	if (pprof_encode(&p, &enc) < 0)
		abort();
	if (pprof_decode((const uint8_t *)enc.data, enc.len, NULL, &q, &err) < 0)
		abort();
	if (!pprof_profile_equal(&p, &q, &err))
		abort();
	if (pprof_encode(&q, &enc2) < 0 || enc.len != enc2.len ||
	    memcmp(enc.data, enc2.data, enc.len))
		abort();
	pprof_profile_release(&q);
	pprof_profile_release(&p);
out:
	buf_release(&err);
	buf_release(&enc);
	buf_release(&enc2);
	return 0;
}
