/*
 * json.c: the streaming JSON writer. Output is valid JSON for any input bytes: strings are
 * validated as UTF-8 and bad sequences become U+FFFD; non-finite doubles become null.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"

void json_w_init(struct json_w *w, struct buf *out)
{
	w->out = out;
	w->depth = 0;
	w->need_comma[0] = false;
	w->after_key = false;
	w->err = 0;
}

static void put(struct json_w *w, const char *s, size_t len)
{
	if (!w->err && buf_append(w->out, s, len) < 0)
		w->err = -ENOMEM;
}

/* Separator before a value (or a key) at the current depth. */
static void before_value(struct json_w *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		put(w, ",", 1);
	w->need_comma[w->depth] = true;
}

static void open_(struct json_w *w, char c)
{
	before_value(w);
	put(w, &c, 1);
	if (w->depth + 1 >= JSON_MAX_DEPTH) {
		w->err = w->err ? w->err : -EINVAL;
		return;
	}
	w->need_comma[++w->depth] = false;
}

static void close_(struct json_w *w, char c)
{
	if (w->depth == 0) {
		w->err = w->err ? w->err : -EINVAL;
		return;
	}
	w->depth--;
	put(w, &c, 1);
}

void json_obj_begin(struct json_w *w)
{
	open_(w, '{');
}

void json_obj_end(struct json_w *w)
{
	close_(w, '}');
}

void json_arr_begin(struct json_w *w)
{
	open_(w, '[');
}

void json_arr_end(struct json_w *w)
{
	close_(w, ']');
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int json_escape(struct buf *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	if (buf_grow(out, len + 2) < 0)
		return -ENOMEM;
	int err = buf_putc(out, '"');
	size_t i = 0;
	while (i < len && !err) {
		size_t start = i;
		while (i < len && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\' &&
		       s[i] != '<' && s[i] != '>' && s[i] != '&')
			i++;
		if (i > start && (err = buf_append(out, s + start, i - start)) < 0)
			break;
		if (i >= len)
			break;
		unsigned char c = s[i];
		char esc[8];
		switch (c) {
		case '"':
			err = buf_append(out, "\\\"", 2);
			i++;
			continue;
		case '\\':
			err = buf_append(out, "\\\\", 2);
			i++;
			continue;
		case '\n':
			err = buf_append(out, "\\n", 2);
			i++;
			continue;
		case '\r':
			err = buf_append(out, "\\r", 2);
			i++;
			continue;
		case '\t':
			err = buf_append(out, "\\t", 2);
			i++;
			continue;
		}
		if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			err = buf_append(out, esc, 6);
			i++;
			continue;
		}
		size_t n = utf8_seq(s + i, len - i);
		if (n == 0) {
			err = buf_append(out, "\\ufffd", 6);
			i++;
		} else {
			err = buf_append(out, s + i, n);
			i += n;
		}
	}
	if (!err)
		err = buf_putc(out, '"');
	return err;
}

void json_key(struct json_w *w, const char *key)
{
	before_value(w);
	if (!w->err && json_escape(w->out, key, strlen(key)) < 0)
		w->err = -ENOMEM;
	put(w, ":", 1);
	w->after_key = true;
}

void json_strn(struct json_w *w, const char *s, size_t len)
{
	before_value(w);
	if (!w->err && json_escape(w->out, s, len) < 0)
		w->err = -ENOMEM;
}

void json_str(struct json_w *w, const char *s)
{
	if (!s) {
		json_null(w);
		return;
	}
	json_strn(w, s, strlen(s));
}

void json_int(struct json_w *w, int64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
	before_value(w);
	put(w, tmp, (size_t)n);
}

void json_uint(struct json_w *w, uint64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	before_value(w);
	put(w, tmp, (size_t)n);
}

void json_double(struct json_w *w, double v)
{
	if (!isfinite(v)) {
		json_null(w);
		return;
	}
	/* 10 significant digits: exact enough for every measure kiln shows, and short. */
	char tmp[40];
	int n = snprintf(tmp, sizeof(tmp), "%.10g", v);
	before_value(w);
	put(w, tmp, (size_t)n);
}

void json_bool(struct json_w *w, bool v)
{
	before_value(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void json_null(struct json_w *w)
{
	before_value(w);
	put(w, "null", 4);
}

void json_raw(struct json_w *w, const char *text, size_t len)
{
	before_value(w);
	put(w, text, len);
}
