/*
 * rfc3339: RFC 3339 timestamps ("2026-11-24T22:38:46.903Z", "…+02:00"), as event.json and
 * the query API carry them, to and from epoch nanoseconds.
 */
#ifndef KILN_BASE_RFC3339_H
#define KILN_BASE_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/* Parses s (fraction up to nanoseconds, 'T'/'t'/' ' separator, 'Z' or ±hh:mm). 0 or
 * -EINVAL for anything else, including times outside what int64 nanoseconds hold
 * (1677..2262). */
int rfc3339_parse(const char *s, int64_t *ns);

#endif
