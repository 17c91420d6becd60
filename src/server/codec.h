/*
 * codec: the compression of one upload attachment, recognised by its magic bytes, and its
 * decompression with a cap on the output size.
 *
 * Datadog clients compress each attachment on its own and say nothing in the headers:
 * gzip (1f 8b), zstd (28 b5 2f fd; frames with or without a content size), LZ4 frame
 * (04 22 4d 18), or nothing. gzip and zstd go through pprof_decompress (pprof/pprof.h);
 * LZ4 frames are decoded here with liblz4's frame API.
 */
#ifndef KILN_SERVER_CODEC_H
#define KILN_SERVER_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

enum codec {
	CODEC_NONE = 0,
	CODEC_GZIP,
	CODEC_ZSTD,
	CODEC_LZ4,
};

enum codec codec_sniff(const uint8_t *data, size_t len);
/* "none", "gzip", "zstd", "lz4". */
const char *codec_name(enum codec c);

/*
 * Appends the decompressed form of data (or a copy, for CODEC_NONE) to out. Fails with
 * -EFBIG once the output would exceed max bytes, -EINVAL for corrupt or truncated input
 * (a reason is appended to err, which may be NULL), -ENOMEM.
 */
int codec_decompress(enum codec c, const uint8_t *data, size_t len, size_t max, struct buf *out,
		     struct buf *err);

#endif
