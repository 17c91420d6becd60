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

static bool digits(const char *p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return true;
}

static int parse_rfc3339(const char *s, int64_t *ns)
{
	int y, mo, d, h, mi, sec;
	if (strlen(s) < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	const char *p = s + 19;
	int64_t frac = 0;
	if (*p == '.') {
		int nd = 0;
		p++;
		while (isdigit((unsigned char)*p)) {
			if (nd < 9) {
				frac = frac * 10 + (*p - '0');
				nd++;
			}
			p++;
		}
		if (nd == 0)
			return -EINVAL;
		while (nd++ < 9)
			frac *= 10;
	}
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
			return -EINVAL;
		off = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	/* days from civil (Howard Hinnant's algorithm) */
	int yy = y - (mo <= 2);
	int era = (yy >= 0 ? yy : yy - 399) / 400;
	int yoe = yy - era * 400;
	int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = (int64_t)era * 146097 + doe - 719468;
	int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - off;
	if (secs > INT64_MAX / 1000000000 - 1 || secs < INT64_MIN / 1000000000 + 1)
		return -EINVAL; /* outside 1677..2262, what int64 nanoseconds can hold */
	*ns = secs * 1000000000 + frac;
	return 0;
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
	return parse_rfc3339(s, ns);
}
