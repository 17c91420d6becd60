/*
 * compress.c: gzip and zstd around profile.proto bytes. pprof files are gzip by convention;
 * Datadog agents and newer tracers send zstd. Decompression is streaming so that frames
 * without a content size work, and is capped so a small bomb cannot exhaust memory.
 */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "pprof/pprof.h"

enum pprof_compression pprof_sniff(const uint8_t *data, size_t len)
{
	if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b)
		return PPROF_COMPRESSION_GZIP;
	if (len >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd)
		return PPROF_COMPRESSION_ZSTD;
	return PPROF_COMPRESSION_NONE;
}

__attribute__((format(printf, 3, 4))) static int fail(struct buf *err, int rc, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		buf_vprintf(err, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/*
 * Makes room for more output, never beyond max+1 bytes in total past `start` (one byte over
 * the cap is how overflow is noticed). Returns the writable room, or 0 on -ENOMEM.
 */
static size_t out_room(struct buf *out, size_t start, size_t max)
{
	size_t produced = out->len - start;
	size_t limit = max - produced + 1; /* produced <= max here */
	size_t room = out->cap > out->len + 1 ? out->cap - out->len - 1 : 0;
	if (room == 0) {
		size_t want = produced < 64 * 1024 ? 64 * 1024 : produced;
		if (want > limit)
			want = limit;
		if (buf_grow(out, want) < 0)
			return 0;
		room = out->cap - out->len - 1;
	}
	return room < limit ? room : limit;
}

static int gunzip(const uint8_t *data, size_t len, size_t max, struct buf *out, struct buf *err)
{
	size_t start = out->len;
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (len > UINT_MAX)
		return fail(err, -EFBIG, "gzip input too large");
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return fail(err, -ENOMEM, "cannot start gzip decompression");
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)len;
	int rc = 0;
	for (;;) {
		size_t room = out_room(out, start, max);
		if (room == 0) {
			rc = fail(err, -ENOMEM, "out of memory decompressing gzip");
			break;
		}
		if (room > UINT_MAX)
			room = UINT_MAX;
		zs.next_out = (Bytef *)out->data + out->len;
		zs.avail_out = (uInt)room;
		int zr = inflate(&zs, Z_NO_FLUSH);
		out->len += room - zs.avail_out;
		out->data[out->len] = '\0';
		if (out->len - start > max) {
			rc = fail(err, -EFBIG,
				  "gzip data decompresses to more than %zu bytes (the cap)", max);
			break;
		}
		if (zr == Z_STREAM_END) {
			if (zs.avail_in == 0)
				break;
			/* Concatenated members: the next one must be another gzip member. */
			if (zs.avail_in < 2 || zs.next_in[0] != 0x1f || zs.next_in[1] != 0x8b) {
				rc = fail(err, -EINVAL, "trailing bytes after gzip data");
				break;
			}
			inflateReset(&zs);
			continue;
		}
		if (zr == Z_BUF_ERROR && zs.avail_out != 0) {
			rc = fail(err, -EINVAL, "truncated gzip data");
			break;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			rc = fail(err, zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL,
				  "corrupt gzip data: %s", zs.msg ? zs.msg : "unknown error");
			break;
		}
		if (zs.avail_in == 0 && zs.avail_out != 0) {
			rc = fail(err, -EINVAL, "truncated gzip data");
			break;
		}
	}
	inflateEnd(&zs);
	return rc;
}

static int unzstd(const uint8_t *data, size_t len, size_t max, struct buf *out, struct buf *err)
{
	size_t start = out->len;
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	if (!dctx)
		return fail(err, -ENOMEM, "cannot start zstd decompression");
	/* Bounds the window a hostile frame can make the decoder allocate (128 MiB). */
	ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 27);
	ZSTD_inBuffer in = {data, len, 0};
	size_t last = 1;
	int rc = 0;
	for (;;) {
		size_t room = out_room(out, start, max);
		if (room == 0) {
			rc = fail(err, -ENOMEM, "out of memory decompressing zstd");
			break;
		}
		ZSTD_outBuffer ob = {out->data + out->len, room, 0};
		size_t r = ZSTD_decompressStream(dctx, &ob, &in);
		out->len += ob.pos;
		out->data[out->len] = '\0';
		if (ZSTD_isError(r)) {
			rc = fail(err, -EINVAL, "corrupt zstd data: %s", ZSTD_getErrorName(r));
			break;
		}
		if (out->len - start > max) {
			rc = fail(err, -EFBIG,
				  "zstd data decompresses to more than %zu bytes (the cap)", max);
			break;
		}
		last = r;
		if (in.pos == in.size && ob.pos < ob.size)
			break;
	}
	if (rc == 0 && last != 0)
		rc = fail(err, -EINVAL, "truncated zstd data");
	ZSTD_freeDCtx(dctx);
	return rc;
}

int pprof_decompress(const uint8_t *data, size_t len, size_t max, struct buf *out, struct buf *err)
{
	if (max == 0)
		max = PPROF_DEFAULT_MAX_DECOMPRESSED;
	size_t start = out->len;
	int rc;
	switch (pprof_sniff(data, len)) {
	case PPROF_COMPRESSION_GZIP:
		rc = gunzip(data, len, max, out, err);
		break;
	case PPROF_COMPRESSION_ZSTD:
		rc = unzstd(data, len, max, out, err);
		break;
	default:
		if (len > max)
			return fail(err, -EFBIG, "profile larger than %zu bytes (the cap)", max);
		return buf_append(out, data, len);
	}
	if (rc < 0)
		buf_truncate(out, start);
	return rc;
}

static int gzip(int level, const uint8_t *in, size_t len, struct buf *out)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, level ? level : 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -EINVAL;
	size_t start = out->len;
	int rc = 0;
	zs.next_in = (Bytef *)in;
	size_t left = len;
	for (;;) {
		if (zs.avail_in == 0 && left) {
			zs.avail_in = left > UINT_MAX ? UINT_MAX : (uInt)left;
			left -= zs.avail_in;
		}
		if (out->cap <= out->len + 1 && buf_grow(out, len / 4 + 4096) < 0) {
			rc = -ENOMEM;
			break;
		}
		size_t room = out->cap - out->len - 1;
		if (room > UINT_MAX)
			room = UINT_MAX;
		zs.next_out = (Bytef *)out->data + out->len;
		zs.avail_out = (uInt)room;
		int zr = deflate(&zs, left ? Z_NO_FLUSH : Z_FINISH);
		out->len += room - zs.avail_out;
		out->data[out->len] = '\0';
		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			rc = -EINVAL;
			break;
		}
	}
	deflateEnd(&zs);
	if (rc < 0)
		buf_truncate(out, start);
	return rc;
}

static int zstd(int level, const uint8_t *in, size_t len, struct buf *out)
{
	size_t bound = ZSTD_compressBound(len);
	if (ZSTD_isError(bound))
		return -EFBIG;
	if (buf_grow(out, bound) < 0)
		return -ENOMEM;
	size_t n = ZSTD_compress(out->data + out->len, bound, in, len, level ? level : 3);
	if (ZSTD_isError(n))
		return -EINVAL;
	out->len += n;
	out->data[out->len] = '\0';
	return 0;
}

int pprof_compress(enum pprof_compression c, int level, const uint8_t *in, size_t len,
		   struct buf *out)
{
	switch (c) {
	case PPROF_COMPRESSION_GZIP:
		if (level < 0 || level > 9)
			return -EINVAL;
		return gzip(level, in, len, out);
	case PPROF_COMPRESSION_ZSTD:
		if (level < 0 || level > 19)
			return -EINVAL;
		return zstd(level, in, len, out);
	case PPROF_COMPRESSION_NONE:
		return buf_append(out, in, len);
	}
	return -EINVAL;
}
