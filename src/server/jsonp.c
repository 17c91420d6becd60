/*
 * jsonp.c: a recursive-descent JSON parser building an arena tree.
 *
 * It exists because kiln serve reads JSON from the network (event.json) and the base layer
 * only writes JSON. Recursion is bounded by JSONP_MAX_DEPTH, so a document of nested
 * brackets cannot exhaust the stack; every read is checked against the end of the input.
 */
#include "server/jsonp.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	struct arena *a;
	const char *s;
	size_t len;
	size_t pos;
	struct buf *err;
	int failed; /* errno of the first failure */
};

static void fail(struct parser *p, int e, const char *what)
{
	if (p->failed)
		return;
	p->failed = e;
	if (p->err)
		buf_printf(p->err, "json: %s at offset %zu", what, p->pos);
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static bool literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n)) {
		fail(p, EINVAL, "invalid literal");
		return false;
	}
	p->pos += n;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads the 4 hex digits after "\u"; -1 on error. */
static long read_u4(struct parser *p)
{
	if (p->len - p->pos < 4)
		return -1;
	long v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p->s[p->pos + i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	p->pos += 4;
	return v;
}

static size_t put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Parses a string starting at the opening quote; the decoded text goes to the arena. */
static bool parse_string(struct parser *p, const char **out, size_t *out_len)
{
	p->pos++; /* opening quote */
	size_t start = p->pos;
	bool plain = true;
	/* First pass: find the end and whether any escape needs decoding. */
	while (p->pos < p->len && p->s[p->pos] != '"') {
		unsigned char c = (unsigned char)p->s[p->pos];
		if (c < 0x20) {
			fail(p, EINVAL, "control character in string");
			return false;
		}
		if (c == '\\') {
			plain = false;
			p->pos++;
			if (p->pos >= p->len)
				break;
		}
		p->pos++;
	}
	if (p->pos >= p->len) {
		fail(p, EINVAL, "unterminated string");
		return false;
	}
	size_t end = p->pos;
	p->pos++; /* closing quote */
	if (plain) {
		char *s = arena_strndup(p->a, p->s + start, end - start);
		if (!s) {
			fail(p, ENOMEM, "out of memory");
			return false;
		}
		*out = s;
		*out_len = end - start;
		return true;
	}
	/* Decoded text is never longer than the source (\uXXXX = 6 bytes -> at most 4). */
	char *d = arena_alloc(p->a, end - start + 1);
	if (!d) {
		fail(p, ENOMEM, "out of memory");
		return false;
	}
	size_t n = 0;
	size_t save = p->pos;
	p->pos = start;
	while (p->pos < end) {
		char c = p->s[p->pos++];
		if (c != '\\') {
			d[n++] = c;
			continue;
		}
		c = p->s[p->pos++];
		switch (c) {
		case '"':
			d[n++] = '"';
			break;
		case '\\':
			d[n++] = '\\';
			break;
		case '/':
			d[n++] = '/';
			break;
		case 'b':
			d[n++] = '\b';
			break;
		case 'f':
			d[n++] = '\f';
			break;
		case 'n':
			d[n++] = '\n';
			break;
		case 'r':
			d[n++] = '\r';
			break;
		case 't':
			d[n++] = '\t';
			break;
		case 'u': {
			if (end - p->pos < 4) {
				p->pos--;
				fail(p, EINVAL, "bad \\u escape");
				return false;
			}
			long cp = read_u4(p);
			if (cp < 0) {
				fail(p, EINVAL, "bad \\u escape");
				return false;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				/* A high surrogate must be followed by \u + low surrogate. */
				long lo = -1;
				if (end - p->pos >= 6 && p->s[p->pos] == '\\' &&
				    p->s[p->pos + 1] == 'u') {
					p->pos += 2;
					lo = read_u4(p);
				}
				if (lo < 0xdc00 || lo > 0xdfff) {
					fail(p, EINVAL, "unpaired surrogate in \\u escape");
					return false;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				fail(p, EINVAL, "unpaired surrogate in \\u escape");
				return false;
			}
			n += put_utf8(d + n, (unsigned long)cp);
			break;
		}
		default:
			p->pos--;
			fail(p, EINVAL, "bad escape in string");
			return false;
		}
	}
	d[n] = '\0';
	p->pos = save;
	*out = d;
	*out_len = n;
	return true;
}

static bool parse_number(struct parser *p, double *out)
{
	size_t start = p->pos;
	const char *s = p->s;
	size_t i = p->pos;
	if (i < p->len && s[i] == '-')
		i++;
	if (i >= p->len)
		goto bad;
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		goto bad;
	}
	if (i < p->len && s[i] == '.') {
		i++;
		if (i >= p->len || s[i] < '0' || s[i] > '9')
			goto bad;
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < p->len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= p->len || s[i] < '0' || s[i] > '9')
			goto bad;
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	char tmp[64];
	size_t n = i - start;
	if (n >= sizeof(tmp)) {
		/* Absurdly long numbers are valid JSON; keep the value approximate. */
		char *copy = arena_strndup(p->a, s + start, n);
		if (!copy) {
			fail(p, ENOMEM, "out of memory");
			return false;
		}
		*out = strtod(copy, NULL);
	} else {
		memcpy(tmp, s + start, n);
		tmp[n] = '\0';
		*out = strtod(tmp, NULL);
	}
	p->pos = i;
	return true;
bad:
	p->pos = i;
	fail(p, EINVAL, "invalid number");
	return false;
}

static struct jsonp_value *parse_value(struct parser *p, int depth);

static bool parse_container(struct parser *p, struct jsonp_value *v, int depth)
{
	bool object = p->s[p->pos] == '{';
	char close = object ? '}' : ']';
	struct jsonp_value **tail = &v->first;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return true;
	}
	for (;;) {
		const char *key = NULL;
		size_t key_len = 0;
		skip_ws(p);
		if (object) {
			if (p->pos >= p->len || p->s[p->pos] != '"') {
				fail(p, EINVAL, "expected a member name");
				return false;
			}
			if (!parse_string(p, &key, &key_len))
				return false;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':') {
				fail(p, EINVAL, "expected ':'");
				return false;
			}
			p->pos++;
		}
		struct jsonp_value *child = parse_value(p, depth + 1);
		if (!child)
			return false;
		child->key = key;
		*tail = child;
		tail = &child->next;
		v->count++;
		skip_ws(p);
		if (p->pos >= p->len) {
			fail(p, EINVAL, object ? "unterminated object" : "unterminated array");
			return false;
		}
		char c = p->s[p->pos++];
		if (c == close)
			return true;
		if (c != ',') {
			p->pos--;
			fail(p, EINVAL, object ? "expected ',' or '}'" : "expected ',' or ']'");
			return false;
		}
	}
}

static struct jsonp_value *parse_value(struct parser *p, int depth)
{
	if (depth > JSONP_MAX_DEPTH) {
		fail(p, EINVAL, "nesting too deep");
		return NULL;
	}
	skip_ws(p);
	if (p->pos >= p->len) {
		fail(p, EINVAL, "unexpected end of input");
		return NULL;
	}
	struct jsonp_value *v = arena_zalloc(p->a, sizeof(*v));
	if (!v) {
		fail(p, ENOMEM, "out of memory");
		return NULL;
	}
	size_t start = p->pos;
	bool ok;
	switch (p->s[p->pos]) {
	case '{':
		v->type = JSONP_OBJECT;
		ok = parse_container(p, v, depth);
		break;
	case '[':
		v->type = JSONP_ARRAY;
		ok = parse_container(p, v, depth);
		break;
	case '"':
		v->type = JSONP_STRING;
		ok = parse_string(p, &v->str, &v->len);
		break;
	case 't':
		v->type = JSONP_BOOL;
		v->boolean = true;
		ok = literal(p, "true");
		break;
	case 'f':
		v->type = JSONP_BOOL;
		ok = literal(p, "false");
		break;
	case 'n':
		v->type = JSONP_NULL;
		ok = literal(p, "null");
		break;
	default:
		v->type = JSONP_NUMBER;
		ok = parse_number(p, &v->number);
		break;
	}
	if (!ok)
		return NULL;
	v->raw = p->s + start;
	v->raw_len = p->pos - start;
	return v;
}

struct jsonp_value *jsonp_parse(struct arena *a, const char *text, size_t len, struct buf *err)
{
	struct parser p = {.a = a, .s = text, .len = len, .err = err};
	if (!text)
		p.len = 0;
	struct jsonp_value *root = parse_value(&p, 0);
	if (root) {
		skip_ws(&p);
		if (p.pos != p.len) {
			fail(&p, EINVAL, "unexpected data after the document");
			root = NULL;
		}
	}
	if (!root)
		errno = p.failed ? p.failed : EINVAL;
	return root;
}

const struct jsonp_value *jsonp_get(const struct jsonp_value *obj, const char *key)
{
	const struct jsonp_value *found = NULL;
	if (!obj || obj->type != JSONP_OBJECT)
		return NULL;
	for (const struct jsonp_value *m = obj->first; m; m = m->next)
		if (m->key && !strcmp(m->key, key))
			found = m;
	return found;
}

const char *jsonp_get_str(const struct jsonp_value *obj, const char *key)
{
	const struct jsonp_value *v = jsonp_get(obj, key);
	return v && v->type == JSONP_STRING ? v->str : NULL;
}
