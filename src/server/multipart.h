/*
 * multipart: a streaming multipart/form-data parser (RFC 2046 section 5.1, RFC 7578).
 *
 * Bytes are fed in pieces of any size (a chunk of a chunked request body, one byte at a
 * time in the tests); the parser calls back at the start of each part with its headers,
 * with the part's data as it is found, and at its end. It holds no copy of part data: its
 * memory is the delimiter and one part's header block (at most MULTIPART_MAX_HEADER bytes).
 * A caller holding the whole body can skip part_data and slice the body with part_start and
 * part_end instead (no copy).
 *
 * Accepted: a preamble before the first delimiter and any epilogue after the closing one,
 * whitespace after a delimiter, part header names in any case, Content-Disposition
 * parameters quoted or not. Lines must end in CRLF (a bare LF never ends a delimiter).
 *
 *	struct multipart_parser mp;
 *	multipart_init(&mp, boundary, &callbacks, ctx);
 *	while (more) if (multipart_feed(&mp, data, n) < 0) → multipart_error(&mp);
 *	if (multipart_finish(&mp) < 0) → truncated body;
 *	multipart_release(&mp);
 */
#ifndef KILN_SERVER_MULTIPART_H
#define KILN_SERVER_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define MULTIPART_MAX_BOUNDARY 200
#define MULTIPART_MAX_HEADER (16 * 1024)
#define MULTIPART_MAX_PARTS 1024

/* One part's headers; the strings are borrowed until part_end returns. */
struct multipart_part {
	const char *name;	  /* Content-Disposition name, "" when absent */
	const char *filename;	  /* Content-Disposition filename, NULL when absent */
	const char *content_type; /* NULL when absent */
};

/* Each callback returns 0, or a negative errno to stop parsing (multipart_feed returns it). */
struct multipart_callbacks {
	int (*part_begin)(void *ctx, const struct multipart_part *part);
	int (*part_data)(void *ctx, const uint8_t *data, size_t len);
	int (*part_end)(void *ctx);
};

enum multipart_state {
	MP_PREAMBLE,
	MP_AFTER_DELIM,
	MP_AFTER_DELIM_CR,
	MP_CLOSE_DASH,
	MP_HEADERS,
	MP_BODY,
	MP_EPILOGUE,
	MP_ERROR,
};

struct multipart_parser {
	const struct multipart_callbacks *cb;
	void *ctx;
	enum multipart_state state;
	char delim[MULTIPART_MAX_BOUNDARY + 5]; /* "\r\n--" boundary */
	size_t delim_len;
	uint8_t fail[MULTIPART_MAX_BOUNDARY + 5]; /* KMP failure function of delim */
	size_t match;				  /* delimiter bytes matched so far */
	struct buf header;			  /* current part's header block */
	struct buf strings;			  /* current part's name and filename */
	size_t nparts;
	size_t offset;	   /* bytes consumed so far */
	size_t part_start; /* offset of the current part's data (valid from part_begin) */
	size_t part_end;   /* offset just past its data (valid in part_end) */
	struct buf err;
};

/* Extracts the boundary parameter of a multipart Content-Type value (quoted or not) into
 * out. 0, or -EINVAL when the type is not multipart or has no usable boundary. */
int multipart_boundary(const char *content_type, char *out, size_t out_size);

/* 0, or -EINVAL for an empty or too long boundary. */
int multipart_init(struct multipart_parser *mp, const char *boundary,
		   const struct multipart_callbacks *cb, void *ctx);
void multipart_release(struct multipart_parser *mp);
/* Parses the next piece of the body. 0, -EINVAL (malformed: see multipart_error), or the
 * negative value a callback returned. After an error, further calls fail. */
int multipart_feed(struct multipart_parser *mp, const uint8_t *data, size_t len);
/* Call at the end of the body: -EINVAL when the closing delimiter was not seen. */
int multipart_finish(struct multipart_parser *mp);
/* The reason of the last failure, "" if none. */
const char *multipart_error(const struct multipart_parser *mp);
/* Number of parts seen so far. */
static inline size_t multipart_count(const struct multipart_parser *mp)
{
	return mp->nparts;
}

#endif
