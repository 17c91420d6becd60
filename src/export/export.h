/*
 * export: delivers finished profiles to a Datadog-compatible agent endpoint and/or files.
 *
 * CONTRACT between the profiler (producer) and the exporter. The profiler hands over one
 * encoded profile per upload period with exporter_submit(), which never blocks on the
 * network: a background thread uploads (POST /profiling/v1/input, multipart: event.json +
 * the zstd- or gzip-compressed pprof, format of reference/intake-protocol.md), retries with
 * backoff, and keeps failed uploads in a bounded spool (memory, optionally a directory) so
 * an agent outage of several minutes loses nothing; what must be dropped is counted and
 * logged. With an output directory, each profile is also written as a gzip .pprof file.
 */
#ifndef KILN_EXPORT_EXPORT_H
#define KILN_EXPORT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct export_config {
	/* Agent URL: "http://host:port", "https://…", "unix:///path", "/path" (unix socket) or
	 * "host:port". NULL = no upload (files only). */
	const char *url;
	const char *api_key;	/* optional; sent as DD-API-KEY */
	const char *output_dir; /* NULL = no files */
	const char *spool_dir;	/* NULL = memory spool only */
	size_t spool_max_bytes; /* 0 = default (64 MiB) */
	int timeout_ms;		/* per request; 0 = default 10 s */

	/* Tags sent in event.json tags_profiler: "service:x,env:y,version:z,host:h,…". The
	 * exporter adds language:native, profiler_version, runtime-id when absent. */
	const char *tags;
	const char *family;	/* "native" */
	const char *origin;	/* DD-EVP-ORIGIN, "kiln" */
	const char *runtime_id; /* UUID; NULL = generate one */

	/* Additions (kiln): */
	const char *info_json;	 /* event.json "info" object (raw JSON, e.g. profiler settings);
				  * NULL = {} */
	const char *compression; /* upload codec: "zstd" (default, level 1, what libdatadog
				  * sends) or "gzip"; files are always gzip */
	int backoff_min_ms;	 /* first retry delay; 0 = 1000. Env KILN_EXPORT_BACKOFF_MS
				  * ("min[,max]", for tests) overrides both. */
	int backoff_max_ms;	 /* delay cap (doubling, jittered); 0 = 60000 */
};

struct export_profile {
	int64_t start_ns; /* CLOCK_REALTIME */
	int64_t end_ns;
	const uint8_t *pprof; /* encoded profile.proto, uncompressed; copied */
	size_t pprof_len;
	/* Per-profile tags, e.g. "process_id:12,profile_seq:3"; may be NULL. */
	const char *extra_tags;
	const char *file_prefix; /* for files: e.g. "myapp-1234"; may be NULL */
};

struct export_stats {
	uint64_t submitted;
	uint64_t uploaded;
	uint64_t retried;
	uint64_t dropped; /* given up on (spool full, or rejected 4xx) */
	uint64_t files_written;
	/* Additions (kiln): */
	uint64_t rejected;     /* of dropped: answered with a non-retryable 4xx */
	uint64_t spooled;      /* written to spool_dir by exporter_free, for the next start */
	uint64_t queued;       /* waiting now (in memory) */
	uint64_t queued_bytes; /* what the queue counts against spool_max_bytes */
};

struct exporter;

/*
 * The agent address Datadog clients would use, from DD_TRACE_AGENT_URL, DD_AGENT_HOST,
 * DD_TRACE_AGENT_PORT and /var/run/datadog/apm.socket (see export/agent.h,
 * agent_default_address) — for the profiler's option defaults.
 *
 * Spool directory (one per exporter): a profile whose first upload attempt fails is written
 * there, and so is what exporter_free cannot deliver; on exporter_new, profiles left there by
 * a previous exporter are queued first (oldest first). Each file is removed once its profile
 * is delivered or dropped.
 */

/* Starts the upload thread. NULL and errno on failure (e.g. -EINVAL: a bad URL). */
struct exporter *exporter_new(const struct export_config *cfg);
/* Queues one profile; never blocks on I/O. 0 or a negative errno. */
int exporter_submit(struct exporter *e, const struct export_profile *p);
/* Tries to deliver everything queued within timeout_ms (an upload in progress is aborted at
 * the deadline), then stops the thread, writes what is left to spool_dir (or drops and logs
 * it) and frees. Accepts NULL. */
void exporter_free(struct exporter *e, int timeout_ms);
/* A consistent snapshot of the counters (all zero for NULL). */
void exporter_stats(struct exporter *e, struct export_stats *out);

#endif
