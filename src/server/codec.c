/*
 * codec.c: attachment decompression for the intake. It exists so the intake has one call
 * for the four encodings clients use; only the LZ4 frame decoder lives here (the pprof
 * module already handles gzip and zstd).
 */
#include "server/codec.h"

#include <errno.h>
#include <lz4frame.h>
#include <string.h>

#include "pprof/pprof.h"

enum codec codec_sniff(const uint8_t *data, size_t len)
{
	if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b)
		return CODEC_GZIP;
	if (len >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd)
		return CODEC_ZSTD;
	if (len >= 4 && data[0] == 0x04 && data[1] == 0x22 && data[2] == 0x4d && data[3] == 0x18)
		return CODEC_LZ4;
	return CODEC_NONE;
}

const char *codec_name(enum codec c)
{
	switch (c) {
	case CODEC_GZIP:
		return "gzip";
	case CODEC_ZSTD:
		return "zstd";
	case CODEC_LZ4:
		return "lz4";
	default:
		return "none";
	}
}

static int lz4_decompress(const uint8_t *data, size_t len, size_t max, struct buf *out,
			  struct buf *err)
{
	LZ4F_dctx *dctx = NULL;
	size_t start_len = out->len;
	int ret = 0;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
		return -ENOMEM;
	size_t pos = 0;
	size_t hint = 1;
	while (pos < len && hint != 0) {
		if (buf_grow(out, 64 * 1024) < 0) {
			ret = -ENOMEM;
			goto out_ctx;
		}
		size_t room = out->cap - out->len - 1;
		size_t src_size = len - pos;
		hint =
		    LZ4F_decompress(dctx, out->data + out->len, &room, data + pos, &src_size, NULL);
		if (LZ4F_isError(hint)) {
			if (err)
				buf_printf(err, "lz4: corrupt frame at byte %zu: %s", pos,
					   LZ4F_getErrorName(hint));
			ret = -EINVAL;
			goto out_ctx;
		}
		pos += src_size;
		out->len += room;
		out->data[out->len] = '\0';
		if (out->len - start_len > max) {
			if (err)
				buf_printf(err, "lz4: decompressed size exceeds %zu bytes", max);
			ret = -EFBIG;
			goto out_ctx;
		}
		/* A frame ended exactly here; a following frame starts a new one. */
		if (hint == 0 && pos < len)
			hint = 1;
		if (src_size == 0 && room == 0)
			break;
	}
	if (hint != 0) {
		if (err)
			buf_printf(err, "lz4: truncated frame (%zu bytes)", len);
		ret = -EINVAL;
	}
out_ctx:
	LZ4F_freeDecompressionContext(dctx);
	if (ret < 0)
		buf_truncate(out, start_len);
	return ret;
}

int codec_decompress(enum codec c, const uint8_t *data, size_t len, size_t max, struct buf *out,
		     struct buf *err)
{
	switch (c) {
	case CODEC_GZIP:
	case CODEC_ZSTD:
		return pprof_decompress(data, len, max, out, err);
	case CODEC_LZ4:
		return lz4_decompress(data, len, max, out, err);
	default:
		if (len > max) {
			if (err)
				buf_printf(err, "attachment larger than %zu bytes", max);
			return -EFBIG;
		}
		return buf_append(out, data, len);
	}
}
