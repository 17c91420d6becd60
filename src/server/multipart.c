/*
 * multipart.c: the streaming multipart/form-data state machine.
 *
 * Why streaming: dd-trace-js sends each multipart piece as its own HTTP chunk, and a part
 * can be split anywhere, including inside a delimiter. The body is scanned for
 * "\r\n--boundary" with a Knuth-Morris-Pratt matcher: the bytes of a partial match are
 * always a prefix of the delimiter, so when a match breaks they are re-emitted from the
 * delimiter itself and no lookback buffer is needed. The stream is treated as if it began
 * with "\r\n" so that a body starting directly with "--boundary" needs no special case.
 */
#include "server/multipart.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

__attribute__((format(printf, 2, 3))) static int set_error(struct multipart_parser *mp,
							   const char *fmt, ...)
{
	va_list ap;
	mp->state = MP_ERROR;
	buf_reset(&mp->err);
	va_start(ap, fmt);
	buf_vprintf(&mp->err, fmt, ap);
	va_end(ap);
	buf_printf(&mp->err, " (at byte %zu of the body)", mp->offset);
	return -EINVAL;
}

int multipart_boundary(const char *content_type, char *out, size_t out_size)
{
	if (!content_type || strncasecmp(content_type, "multipart/", 10))
		return -EINVAL;
	const char *p = content_type;
	while ((p = strchr(p, ';'))) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "boundary=", 9))
			continue;
		p += 9;
		size_t n = 0;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				if (n + 1 >= out_size)
					return -EINVAL;
				out[n++] = *p++;
			}
			if (*p != '"')
				return -EINVAL;
		} else {
			while (*p && *p != ';' && *p != ' ' && *p != '\t') {
				if (n + 1 >= out_size)
					return -EINVAL;
				out[n++] = *p++;
			}
		}
		if (n == 0 || n > MULTIPART_MAX_BOUNDARY)
			return -EINVAL;
		out[n] = '\0';
		return 0;
	}
	return -EINVAL;
}

int multipart_init(struct multipart_parser *mp, const char *boundary,
		   const struct multipart_callbacks *cb, void *ctx)
{
	memset(mp, 0, sizeof(*mp));
	size_t blen = boundary ? strlen(boundary) : 0;
	if (blen == 0 || blen > MULTIPART_MAX_BOUNDARY)
		return -EINVAL;
	mp->cb = cb;
	mp->ctx = ctx;
	memcpy(mp->delim, "\r\n--", 4);
	memcpy(mp->delim + 4, boundary, blen);
	mp->delim_len = blen + 4;
	/* KMP failure function: fail[i] = length of the longest proper prefix of
	 * delim[0..i] that is also its suffix. */
	mp->fail[0] = 0;
	size_t k = 0;
	for (size_t i = 1; i < mp->delim_len; i++) {
		while (k > 0 && mp->delim[i] != mp->delim[k])
			k = mp->fail[k - 1];
		if (mp->delim[i] == mp->delim[k])
			k++;
		mp->fail[i] = (uint8_t)k;
	}
	mp->state = MP_PREAMBLE;
	mp->match = 2; /* the virtual "\r\n" before the body */
	return 0;
}

void multipart_release(struct multipart_parser *mp)
{
	if (!mp)
		return;
	buf_release(&mp->header);
	buf_release(&mp->strings);
	buf_release(&mp->err);
}

const char *multipart_error(const struct multipart_parser *mp)
{
	return mp->err.len ? mp->err.data : "";
}

static int emit(struct multipart_parser *mp, const void *data, size_t len)
{
	if (mp->state != MP_BODY || len == 0 || !mp->cb->part_data)
		return 0;
	return mp->cb->part_data(mp->ctx, data, len);
}

/* Finds a Content-Disposition parameter (quoted or token) in value, which is modified in
 * place; returns the NUL-terminated, unquoted value, or NULL when absent. */
static char *disposition_param(char *value, const char *param)
{
	size_t plen = strlen(param);
	char *p = value;
	/* Skip the disposition type ("form-data"). */
	p = strchr(p, ';');
	while (p) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!strncasecmp(p, param, plen) && p[plen] == '=') {
			char *v = p + plen + 1;
			if (*v == '"') {
				char *w = v, *r = v + 1;
				while (*r && *r != '"') {
					if (*r == '\\' && r[1])
						r++;
					*w++ = *r++;
				}
				*w = '\0';
				return v;
			}
			char *e = v;
			while (*e && *e != ';' && *e != ' ' && *e != '\t')
				e++;
			*e = '\0';
			return v;
		}
		/* Skip this parameter, honouring quotes that may contain ';'. */
		bool quoted = false;
		while (*p && (quoted || *p != ';')) {
			if (*p == '"')
				quoted = !quoted;
			else if (*p == '\\' && quoted && p[1])
				p++;
			p++;
		}
		if (!*p)
			break;
	}
	return NULL;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Parses the header block (CRLF-separated lines, ending with an empty line). */
static int begin_part(struct multipart_parser *mp)
{
	struct multipart_part part = {.name = "", .filename = NULL, .content_type = NULL};
	char *disp = NULL;
	char *save = NULL;
	/* The block ends with "\r\n" (empty header) or "\r\n\r\n"; replace CRs to split. */
	char *blk = mp->header.data;
	for (size_t i = 0; i < mp->header.len; i++)
		if (blk[i] == '\r' || blk[i] == '\0')
			blk[i] = '\n';
	for (char *line = strtok_r(blk, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		if (!colon)
			return set_error(mp, "multipart: malformed part header '%.60s'", line);
		*colon = '\0';
		char *name = trim(line);
		char *value = trim(colon + 1);
		if (!strcasecmp(name, "content-disposition"))
			disp = value;
		else if (!strcasecmp(name, "content-type"))
			part.content_type = value;
	}
	if (disp) {
		/* Two copies of the value: extracting a parameter writes NULs into it. */
		size_t n = strlen(disp);
		buf_reset(&mp->strings);
		if (buf_append(&mp->strings, disp, n + 1) < 0 ||
		    buf_append(&mp->strings, disp, n + 1) < 0)
			return -ENOMEM;
		char *nm = disposition_param(mp->strings.data, "name");
		char *fn = disposition_param(mp->strings.data + n + 1, "filename");
		if (nm)
			part.name = nm;
		part.filename = fn;
	}
	if (++mp->nparts > MULTIPART_MAX_PARTS)
		return set_error(mp, "multipart: more than %d parts", MULTIPART_MAX_PARTS);
	if (mp->cb->part_begin)
		return mp->cb->part_begin(mp->ctx, &part);
	return 0;
}

int multipart_feed(struct multipart_parser *mp, const uint8_t *data, size_t len)
{
	size_t i = 0;
	int ret = 0;
	if (mp->state == MP_ERROR)
		return -EINVAL;
	while (i < len) {
		switch (mp->state) {
		case MP_PREAMBLE:
		case MP_BODY: {
			if (mp->match == 0) {
				const uint8_t *cr = memchr(data + i, '\r', len - i);
				size_t n = cr ? (size_t)(cr - (data + i)) : len - i;
				if ((ret = emit(mp, data + i, n)) < 0)
					return ret;
				i += n;
				mp->offset += n;
				if (!cr)
					break;
				mp->match = 1;
				i++;
				mp->offset++;
				break;
			}
			char c = (char)data[i];
			while (mp->match > 0 && c != mp->delim[mp->match]) {
				size_t nk = mp->fail[mp->match - 1];
				if ((ret = emit(mp, mp->delim, mp->match - nk)) < 0)
					return ret;
				mp->match = nk;
			}
			if (c == mp->delim[mp->match])
				mp->match++;
			else if ((ret = emit(mp, &c, 1)) < 0)
				return ret;
			i++;
			mp->offset++;
			if (mp->match == mp->delim_len) {
				mp->match = 0;
				mp->part_end = mp->offset - mp->delim_len;
				if (mp->state == MP_BODY && mp->cb->part_end &&
				    (ret = mp->cb->part_end(mp->ctx)) < 0)
					return ret;
				mp->state = MP_AFTER_DELIM;
			}
			break;
		}
		case MP_AFTER_DELIM: {
			char c = (char)data[i++];
			mp->offset++;
			if (c == '-')
				mp->state = MP_CLOSE_DASH;
			else if (c == '\r')
				mp->state = MP_AFTER_DELIM_CR;
			else if (c != ' ' && c != '\t')
				return set_error(mp, "multipart: %s", "garbage after a boundary");
			break;
		}
		case MP_AFTER_DELIM_CR:
			mp->offset++;
			if (data[i++] != '\n')
				return set_error(mp, "multipart: %s",
						 "boundary line not ended by CRLF");
			buf_reset(&mp->header);
			mp->state = MP_HEADERS;
			break;
		case MP_CLOSE_DASH:
			mp->offset++;
			if (data[i++] != '-')
				return set_error(mp, "multipart: %s", "garbage after a boundary");
			mp->state = MP_EPILOGUE;
			break;
		case MP_HEADERS: {
			/* Copy up to and including the end of the header block. */
			size_t start = i;
			bool done = false;
			while (i < len) {
				char c = (char)data[i++];
				if (buf_putc(&mp->header, c) < 0)
					return -ENOMEM;
				size_t hl = mp->header.len;
				const char *h = mp->header.data;
				if (c == '\n' && hl >= 2 && h[hl - 2] == '\r' &&
				    (hl == 2 ||
				     (hl >= 4 && h[hl - 3] == '\n' && h[hl - 4] == '\r'))) {
					done = true;
					break;
				}
				if (hl > MULTIPART_MAX_HEADER) {
					mp->offset += i - start;
					return set_error(mp, "multipart: %s",
							 "part header block larger than 16 KiB");
				}
			}
			mp->offset += i - start;
			if (done) {
				mp->part_start = mp->offset;
				if ((ret = begin_part(mp)) < 0) {
					if (mp->state != MP_ERROR)
						mp->state = MP_ERROR;
					return ret;
				}
				mp->state = MP_BODY;
				mp->match = 0;
			}
			break;
		}
		case MP_EPILOGUE:
			mp->offset += len - i;
			i = len;
			break;
		case MP_ERROR:
			return -EINVAL;
		}
	}
	return 0;
}

int multipart_finish(struct multipart_parser *mp)
{
	switch (mp->state) {
	case MP_EPILOGUE:
		return 0;
	case MP_ERROR:
		return -EINVAL;
	case MP_PREAMBLE:
		return set_error(mp, "multipart: %s",
				 "the boundary from Content-Type never occurs in the body");
	default:
		return set_error(mp, "multipart: %s",
				 "truncated body: the closing boundary is missing");
	}
}
