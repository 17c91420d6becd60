/*
 * agent: the Datadog profiling intake wire format as kiln's exporter speaks it to an agent:
 * where to send (URL forms), what to send (event.json, the multipart body, tags_profiler) and
 * who is sending (runtime id, the profiler's own container id). Pure functions over bytes, so they
 * are tested without a network; export.c does the I/O.
 *
 * Format facts: /work/shared/reference/intake-protocol.md §1, §4, §5 (family "native",
 * version "4", one attachment "profile.pprof", zstd level 1 as libdatadog sends).
 */
#ifndef KILN_EXPORT_AGENT_H
#define KILN_EXPORT_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define AGENT_INTAKE_PATH "/profiling/v1/input"
#define AGENT_ATTACHMENT "profile.pprof"

/* Where an upload goes: `url` is the full request URL; `unix_path` is non-empty when the
 * request travels over a Unix stream socket (then url is http://localhost/…). */
struct agent_endpoint {
	char url[2048];
	char unix_path[108];
};

/*
 * Parses an agent address: "http(s)://host:port[/base]" (a base path is kept and
 * AGENT_INTAKE_PATH appended, unless the URL already ends with it), "unix:///path", "/path"
 * (Unix socket) or "host:port". 0, or -EINVAL with a reason appended to err (may be NULL).
 */
int agent_endpoint_parse(const char *addr, struct agent_endpoint *ep, struct buf *err);

/*
 * The agent address a Datadog client would use, from the environment: DD_TRACE_AGENT_URL,
 * else http://${DD_AGENT_HOST:-localhost}:${DD_TRACE_AGENT_PORT:-8126} when either is set,
 * else unix:///var/run/datadog/apm.socket when that socket exists, else
 * http://localhost:8126. Appends it to out. 0 or -ENOMEM.
 */
int agent_default_address(struct buf *out);

/* Formats ns since the epoch as RFC 3339 UTC with nanoseconds:
 * "2026-11-24T22:14:09.488000000Z". out needs 31 bytes. 0 or -EINVAL. */
int agent_rfc3339(int64_t ns, char *out, size_t n);

/* A random version-4 UUID, lowercase, 36 chars + NUL. */
void agent_uuid(char out[37]);

/*
 * Finds the container id in the text of /proc/self/cgroup: the end of a line's last path
 * component (after removing a ".scope" suffix) being 64 hex digits, a UUID, or the ECS form
 * <32 hex>-<digits>. Returns the id's length copied into out (NUL-terminated), or 0.
 */
size_t agent_container_id(const char *cgroup, size_t len, char *out, size_t n);

/*
 * The cgroup directory whose inode identifies this process's cgroup when no container id is
 * found (Datadog-Entity-ID: in-<inode>): "/sys/fs/cgroup<path>" from the cgroup v2 line
 * "0::<path>", else "/sys/fs/cgroup/memory<path>" from the v1 memory controller line.
 * Returns the length written to out (NUL-terminated), or 0.
 */
size_t agent_cgroup_dir(const char *cgroup, size_t len, char *out, size_t n);

/*
 * Joins tag lists into one tags_profiler string: each list is comma-separated "key:value";
 * entries are trimmed, empty entries skipped, commas inside an entry are impossible by
 * construction. Appends to out. 0 or -ENOMEM.
 */
int agent_tags_append(struct buf *out, const char *list);
/* True if the comma-joined tags in `tags` contain a tag with this key. */
int agent_tags_has_key(const char *tags, const char *key);

struct agent_event {
	int64_t start_ns;
	int64_t end_ns;
	const char *family;	   /* "native" */
	const char *tags_profiler; /* comma-joined */
	const char *info_json;	   /* a JSON object, or NULL for {} */
};

/* Appends the compact event.json for one profile.pprof attachment. 0 or -ENOMEM. */
int agent_event_json(const struct agent_event *ev, struct buf *out);

/*
 * Appends a multipart/form-data body: part "event" (filename event.json, application/json)
 * then part AGENT_ATTACHMENT (application/octet-stream) holding `attachment`. `boundary` is
 * the bare boundary (16 lowercase hex chars from agent_boundary()). 0 or -ENOMEM.
 */
int agent_multipart(const char *boundary, const struct buf *event_json, const uint8_t *attachment,
		    size_t attachment_len, struct buf *out);
/* A fresh random boundary: 16 lowercase hex chars + NUL. */
void agent_boundary(char out[17]);

#endif
