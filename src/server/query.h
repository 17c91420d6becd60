/*
 * query: parses the search language of the query API into a struct store_query.
 *
 *	service:checkout env:prod -version:1.2 "team:core infra" host:web-* any_tag:value
 *	key:"quoted value"
 *
 * Terms are separated by spaces; each is key:value (split on the first colon), optionally
 * negated with a leading '-'; values may be double-quoted (with \" and \\ escapes); a value
 * ending in '*' matches by prefix. Times are epoch milliseconds, RFC 3339
 * ("2026-11-24T22:14:09.488Z", offsets allowed), "now" or "now-1h" (s, m, h, d, w).
 */
#ifndef KILN_SERVER_QUERY_H
#define KILN_SERVER_QUERY_H

#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "server/store.h"

/* Parses q (may be NULL or empty) into out->terms, allocated from a. 0 or -EINVAL with a
 * reason in err. Does not touch the time range. */
int query_parse(const char *q, struct arena *a, struct store_query *out, struct buf *err);

/*
 * Parses a search order: field is "time" (default when NULL or empty), "received",
 * "duration", "size", "cpu_cores", "alloc_bytes_per_s", "wall_seconds", "heap_live_bytes",
 * "service", "env", "version", "host", "runtime", "language", "family" or "tag:KEY"; order
 * is "asc", "desc", or NULL/empty for the field's default (desc for times, sizes and
 * measures, asc for strings). out->tag points into field. 0 or -EINVAL with a reason in err.
 */
int query_parse_sort(const char *field, const char *order, struct store_sort *out, struct buf *err);

/* Parses a time as described above into epoch nanoseconds. 0 or -EINVAL. */
int query_parse_time(const char *s, int64_t *ns);

#endif
