/*
 * spool: undelivered profiles persisted as files in a directory, so a profiler restart
 * (or an agent outage longer than the profiler's life) does not lose them.
 *
 * One file per profile, named "<start_ns>-<seq>.kspool" so that a name sort is the
 * submission order. Contents: the line "KILNSPOOL 1", the line "<start_ns> <end_ns>", the
 * line of tags_profiler, then the compressed pprof (zstd or gzip) as the upload sends it.
 * Files are written atomically (temp + rename), so a crash never leaves half a profile.
 */
#ifndef KILN_EXPORT_SPOOL_H
#define KILN_EXPORT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct spool_entry {
	int64_t start_ns;
	int64_t end_ns;
	struct buf tags;    /* tags_profiler, NUL-terminated */
	struct buf profile; /* compressed pprof */
};

/* Writes one entry into dir (created if missing). The file's path is appended to path_out
 * (may be NULL). 0 or a negative errno; logs the failure. */
int spool_write(const char *dir, uint64_t seq, const struct spool_entry *e, struct buf *path_out);

/* Parses a spool file's bytes into e (whose bufs the caller initialised and releases).
 * 0 or -EINVAL with a reason appended to err (may be NULL). */
int spool_parse(const uint8_t *data, size_t len, struct spool_entry *e, struct buf *err);

/* Lists the *.kspool files of dir in name order into paths: each path NUL-terminated,
 * one after the other; *count gets how many. A missing dir is an empty list. 0 or -errno. */
int spool_list(const char *dir, struct buf *paths, size_t *count);

#endif
