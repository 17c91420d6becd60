/*
 * kiln.h: start and stop kiln's profiler from inside an application (libkiln): CPU, and
 * allocations when asked for.
 *
 *	#include <kiln.h>
 *	int err = kiln_start_profiling();   // 0, or a negative errno (-ENOENT: no kiln binary)
 *	…
 *	kiln_stop_profiling(1000);          // flushes the last profile, within 1 s
 *
 * The profiler is a separate process (`kiln run --pid <this process>`), spawned by the
 * library: a profiler bug cannot crash the application, and the application never blocks
 * on it. Its configuration comes from the environment, as for `kiln run`: DD_SERVICE,
 * DD_ENV, DD_VERSION, DD_TAGS, DD_TRACE_AGENT_URL, DD_AGENT_HOST, DD_TRACE_AGENT_PORT,
 * DD_PROFILING_* and KILN_OUTPUT_DIR; fields set in struct kiln_options win over it.
 *
 * The kiln binary is found by: the KILN_PROFILER environment variable, then
 * kiln_options.profiler_path, then the installed kiln (PREFIX/bin/kiln), then `kiln` in PATH.
 *
 * Allocation profiling (off unless asked for: DD_PROFILING_NATIVE_PRESET=default, alloc_only,
 * cpu_live_heap or alloc_live_heap, an sALLOC event in DD_PROFILING_NATIVE_EVENTS, or
 * kiln_options.alloc) loads libkiln_preload.so into the process (KILN_PRELOAD_LIB, else next
 * to the kiln binary) and redirects the process's calls to malloc & co. through it (GOT
 * patching); kiln_stop_profiling puts them back. When that cannot be done, CPU profiling
 * still starts, a warning is logged and the start returns 0. See docs/library.md.
 *
 * The start returns once the profiler samples (its events are enabled), or after the
 * readiness timeout (2 s by default) with a warning.
 *
 * Thread-safe. Starting twice or stopping twice is harmless. A child forked after the start
 * is profiled with its parent (until it execs another program); calling kiln_stop_profiling
 * in that child does not stop its parent's profiler. If the application exits without
 * stopping, the profiler notices, flushes the last profile and exits on its own.
 */
#ifndef KILN_H
#define KILN_H

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_OPTIONS_VERSION 2

/* Version 2 (version 1 ended at upload_period_s, and is still accepted). Zero-initialise, set
 * version = KILN_OPTIONS_VERSION, then the fields wanted; NULL / 0 fields keep the
 * environment's value. Strings are copied by the call. */
struct kiln_options {
	unsigned version;
	const char *service;	     /* DD_SERVICE */
	const char *env;	     /* DD_ENV */
	const char *service_version; /* DD_VERSION */
	const char *tags;	     /* DD_TAGS: "key:value,key:value" */
	const char *url;	     /* DD_TRACE_AGENT_URL */
	const char *output_dir;	     /* KILN_OUTPUT_DIR: also write each profile there */
	const char *profiler_path;   /* the kiln binary, after KILN_PROFILER */
	double upload_period_s;	     /* DD_PROFILING_UPLOAD_PERIOD */
	/* version 2 */
	int alloc;		/* allocation profiling: 1 on, 2 on with live heap, -1 off */
	long long alloc_period; /* mean bytes between allocation samples (negative:
				 * deterministic, for tests); 0: 524288 or the environment */
	int ready_timeout_ms;	/* how long start waits for the profiler to sample: 0 = 2000;
				 * negative: do not wait */
};

/* Starts profiling the calling process with the environment's configuration. 0 (also when
 * already started), or a negative errno: -ENOENT when no kiln binary is found. */
int kiln_start_profiling(void);

/* The same with options (NULL: as kiln_start_profiling). -EINVAL for an unknown version. */
int kiln_start_profiling_with(const struct kiln_options *opts);

/* Where libkiln's messages go (warnings such as "allocation profiling off: …"). level is 0
 * error, 1 warning, 2 info. The default handler writes warnings and errors to stderr as
 * "kiln: warning: …"; NULL restores it. Set it before starting. */
typedef void (*kiln_log_fn)(int level, const char *message, void *ctx);
void kiln_set_log(kiln_log_fn fn, void *ctx);

/* Stops the profiler: puts the allocation functions back (no hook left in the process), asks
 * the profiler to flush the last profile and waits at most timeout_ms for it (0: do not wait;
 * the profiler still flushes, on its own). Harmless when not started. */
void kiln_stop_profiling(int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
