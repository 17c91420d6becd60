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
