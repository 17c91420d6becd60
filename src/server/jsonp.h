/*
 * jsonp: a small JSON parser (RFC 8259) for the documents kiln serve receives: event.json of
 * profile uploads, and API request bodies.
 *
 * The whole document is parsed into a tree allocated from a caller's arena; nothing is
 * freed separately (release the arena). Strings are decoded (escapes, \u surrogate pairs)
 * into NUL-terminated UTF-8; every value also keeps a pointer to its source text, so a
 * sub-document (e.g. event.json "info") can be stored verbatim.
 *
 * Limits that make hostile input harmless: nesting depth JSONP_MAX_DEPTH, and the input
 * length the caller chose. Anything not valid JSON is rejected with a message naming the
 * byte offset; trailing garbage after the top-level value is an error.
 *
 *	struct arena a; arena_init(&a, 0);
 *	const struct jsonp_value *root = jsonp_parse(&a, text, len, &err);
 *	const char *start = jsonp_get_str(root, "start");
 *	arena_release(&a);
 */
#ifndef KILN_SERVER_JSONP_H
#define KILN_SERVER_JSONP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"

#define JSONP_MAX_DEPTH 64

enum jsonp_type {
	JSONP_NULL = 0,
	JSONP_BOOL,
	JSONP_NUMBER,
	JSONP_STRING,
	JSONP_ARRAY,
	JSONP_OBJECT,
};

struct jsonp_value {
	enum jsonp_type type;
	bool boolean;		   /* JSONP_BOOL */
	double number;		   /* JSONP_NUMBER */
	const char *str;	   /* JSONP_STRING: decoded, NUL-terminated (may hold NULs) */
	size_t len;		   /* JSONP_STRING: decoded length */
	struct jsonp_value *first; /* JSONP_ARRAY/OBJECT: first element or member */
	size_t count;		   /* JSONP_ARRAY/OBJECT: number of elements or members */
	struct jsonp_value *next;  /* next sibling in the parent array/object */
	const char *key;	   /* member name when the parent is an object, else NULL */
	const char *raw;	   /* the value's source text (borrowed from the input) */
	size_t raw_len;
};

/*
 * Parses text[0..len) into a tree allocated from a. Returns the root, or NULL with a
 * one-line reason appended to err (may be NULL) and errno set (EINVAL, ENOMEM).
 * The input must outlive the tree (raw points into it).
 */
struct jsonp_value *jsonp_parse(struct arena *a, const char *text, size_t len, struct buf *err);

/* The member `key` of an object (the last one if repeated), or NULL (also for non-objects). */
const struct jsonp_value *jsonp_get(const struct jsonp_value *obj, const char *key);
/* The member's string, or NULL when missing or not a string. */
const char *jsonp_get_str(const struct jsonp_value *obj, const char *key);

#endif
