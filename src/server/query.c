/*
 * query: the search language of kiln serve's API (see query.h). Only ever produces
 * key/value pairs; the store binds them as SQL parameters.
 */
#include "server/query.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rfc3339.h"

#define MAX_TERMS 64

/* Reads one token (quotes allowed anywhere) into tok; returns the position after it. */
static const char *token(const char *p, struct buf *tok, bool *ok)
{
	bool quoted = false;
	*ok = true;
	while (*p && (quoted || !isspace((unsigned char)*p))) {
		if (*p == '"') {
			quoted = !quoted;
			p++;
			continue;
		}
		if (quoted && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
			p++;
		if (buf_putc(tok, *p) < 0)
			*ok = false;
		p++;
	}
	if (quoted)
		*ok = false;
	return p;
}

int query_parse(const char *q, struct arena *a, struct store_query *out, struct buf *err)
{
	struct store_term *terms = arena_zalloc(a, MAX_TERMS * sizeof(*terms));
	struct buf tok = BUF_INIT;
	size_t n = 0;
	int rc = 0;

	out->terms = NULL;
	out->nterms = 0;
	if (!terms)
		return -ENOMEM;
	while (q && *q) {
		while (isspace((unsigned char)*q))
			q++;
		if (!*q)
			break;
		bool negate = false;
		if (*q == '-') {
			negate = true;
			q++;
		}
		bool ok;
		buf_reset(&tok);
		q = token(q, &tok, &ok);
		if (!ok) {
			buf_puts(err, "query: unbalanced quote");
			rc = -EINVAL;
			goto out;
		}
		char *colon = tok.data ? strchr(tok.data, ':') : NULL;
		if (!colon || colon == tok.data) {
			buf_printf(err, "query: '%s' is not key:value", tok.data ? tok.data : "");
			rc = -EINVAL;
			goto out;
		}
		if (n == MAX_TERMS) {
			buf_printf(err, "query: more than %d terms", MAX_TERMS);
			rc = -EINVAL;
			goto out;
		}
		terms[n].key = arena_strndup(a, tok.data, (size_t)(colon - tok.data));
		terms[n].value = arena_strdup(a, colon + 1);
		terms[n].negate = negate;
		if (!terms[n].key || !terms[n].value) {
			rc = -ENOMEM;
			goto out;
		}
		n++;
	}
	out->terms = terms;
	out->nterms = n;
out:
	buf_release(&tok);
	return rc;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int query_parse_time(const char *s, int64_t *ns)
{
	if (!s || !*s)
		return -EINVAL;
	if (!strncmp(s, "now", 3)) {
		int64_t d = 0;
		if (s[3] == '-') {
			if (store_parse_duration(s + 4, &d) < 0)
				return -EINVAL;
		} else if (s[3]) {
			return -EINVAL;
		}
		*ns = now_ns() - d;
		return 0;
	}
	bool all_digits = true;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			all_digits = false;
	if (all_digits) {
		long long ms = strlen(s) > 15 ? LLONG_MAX : strtoll(s, NULL, 10);
		if (ms > INT64_MAX / 1000000)
			return -EINVAL; /* past year 2262 */
		*ns = (int64_t)ms * 1000000;
		return 0;
	}
	return rfc3339_parse(s, ns);
}

static const struct {
	const char *name;
	enum store_sort_by by;
} sort_fields[] = {
    {"time", STORE_SORT_TIME},
    {"received", STORE_SORT_RECEIVED},
    {"duration", STORE_SORT_DURATION},
    {"size", STORE_SORT_SIZE},
    {"cpu_cores", STORE_SORT_CPU_CORES},
    {"alloc_bytes_per_s", STORE_SORT_ALLOC_BPS},
    {"wall_seconds", STORE_SORT_WALL_SECONDS},
    {"heap_live_bytes", STORE_SORT_HEAP_LIVE},
    {"service", STORE_SORT_SERVICE},
    {"env", STORE_SORT_ENV},
    {"version", STORE_SORT_VERSION},
    {"host", STORE_SORT_HOST},
    {"runtime", STORE_SORT_RUNTIME},
    {"language", STORE_SORT_LANGUAGE},
    {"family", STORE_SORT_FAMILY},
};

int query_parse_sort(const char *field, const char *order, struct store_sort *out, struct buf *err)
{
	memset(out, 0, sizeof(*out));
	if (!field || !*field)
		field = "time";
	bool found = false;
	if (!strncmp(field, "tag:", 4)) {
		if (!field[4]) {
			buf_puts(err, "sort 'tag:' needs a tag key, e.g. sort=tag:team");
			return -EINVAL;
		}
		out->by = STORE_SORT_TAG;
		out->tag = field + 4;
		found = true;
	}
	for (size_t i = 0; !found && i < sizeof(sort_fields) / sizeof(sort_fields[0]); i++) {
		if (!strcmp(field, sort_fields[i].name)) {
			out->by = sort_fields[i].by;
			found = true;
		}
	}
	if (!found) {
		buf_puts(err, "unknown sort field '");
		/* bounded: the message quotes at most 64 bytes of the field */
		buf_append(err, field, strnlen(field, 64));
		buf_puts(err,
			 "' (time, received, duration, size, cpu_cores, alloc_bytes_per_s, "
			 "wall_seconds, heap_live_bytes, service, env, version, host, runtime, "
			 "language, family, tag:KEY)");
		return -EINVAL;
	}
	if (!order || !*order)
		out->asc = out->by >= STORE_SORT_SERVICE;
	else if (!strcmp(order, "asc"))
		out->asc = true;
	else if (!strcmp(order, "desc"))
		out->asc = false;
	else {
		buf_puts(err, "order must be asc or desc");
		return -EINVAL;
	}
	return 0;
}
