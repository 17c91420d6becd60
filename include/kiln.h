/*
 * kiln.h: start and stop kiln's CPU profiler from inside an application (libkiln).
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

#define KILN_OPTIONS_VERSION 1

/* Version 1. Zero-initialise, set version = KILN_OPTIONS_VERSION, then the fields wanted;
 * NULL / 0 fields keep the environment's value. Strings are copied by the call. */
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
};

/* Starts profiling the calling process with the environment's configuration. 0 (also when
 * already started), or a negative errno: -ENOENT when no kiln binary is found. */
int kiln_start_profiling(void);

/* The same with options (NULL: as kiln_start_profiling). -EINVAL for an unknown version. */
int kiln_start_profiling_with(const struct kiln_options *opts);

/* Stops the profiler: asks it to flush the last profile and waits at most timeout_ms for it
 * (0: do not wait; the profiler still flushes, on its own). Harmless when not started. */
void kiln_stop_profiling(int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
