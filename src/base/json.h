/*
 * json: a streaming JSON writer into a struct buf.
 *
 * Handles commas and nesting so callers only say what to write; strings are escaped
 * (control characters, quotes, backslash, and invalid UTF-8 replaced by U+FFFD, so any
 * bytes from outside produce valid JSON). '<', '>' and '&' are escaped as \u003c… so JSON
 * can be embedded in HTML <script> safely.
 *
 *	struct json_w w;
 *	json_w_init(&w, &buf);
 *	json_obj_begin(&w);
 *	json_key(&w, "name"); json_str(&w, name);
 *	json_key(&w, "n");    json_int(&w, n);
 *	json_obj_end(&w);
 *	if (json_w_error(&w)) …
 */
#ifndef KILN_BASE_JSON_H
#define KILN_BASE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define JSON_MAX_DEPTH 64

struct json_w {
	struct buf *out;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	bool after_key;
	int err; /* first error (-ENOMEM, -EINVAL for misuse) */
};

void json_w_init(struct json_w *w, struct buf *out);
static inline int json_w_error(const struct json_w *w)
{
	return w->err;
}
void json_obj_begin(struct json_w *w);
void json_obj_end(struct json_w *w);
void json_arr_begin(struct json_w *w);
void json_arr_end(struct json_w *w);
void json_key(struct json_w *w, const char *key);
void json_str(struct json_w *w, const char *s);
void json_strn(struct json_w *w, const char *s, size_t len);
void json_int(struct json_w *w, int64_t v);
void json_uint(struct json_w *w, uint64_t v);
void json_double(struct json_w *w, double v);
void json_bool(struct json_w *w, bool v);
void json_null(struct json_w *w);
/* Writes already-valid JSON text as one value. */
void json_raw(struct json_w *w, const char *text, size_t len);

/* Appends s as a quoted, escaped JSON string to out. 0 or -ENOMEM. */
int json_escape(struct buf *out, const char *s, size_t len);

#endif
