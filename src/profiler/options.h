/*
 * options: the configuration of `kiln run`, from the command line and the environment.
 *
 * Names, short letters and environment variables follow ddprof so existing deployment files
 * work: -S/--service DD_SERVICE, -E/--environment DD_ENV, … (docs/run.md lists them all).
 * A command-line option wins over its environment variable. kiln's own additions have no
 * ddprof counterpart (--output-dir, --max-frames, --fail-on-error, --include-kernel).
 *
 * Events use ddprof's grammar: `<type> key=value …`, options separated by spaces or commas,
 * events by ';'. The parser is table-driven so new types (hardware, tracepoints) plug in;
 * sCPU (CPU time) and sALLOC (allocations through the preloaded hook) are implemented, the
 * others are recognised and ignored with a message saying so.
 *
 * Presets are ddprof's: default (sCPU;sALLOC; sCPU only with --pid/--global, "default-pid"),
 * cpu_only, alloc_only, alloc_live_heap (sALLOC mode=sl), cpu_live_heap (sCPU;sALLOC
 * mode=sl). As in ddprof, -e events are merged with an explicit preset; with -e and no
 * preset only the -e events run.
 */
#ifndef KILN_PROFILER_OPTIONS_H
#define KILN_PROFILER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

enum event_kind {
	EVENT_CPU = 0, /* sCPU: task clock */
	EVENT_ALLOC,   /* sALLOC: allocations sampled by libkiln_preload.so */
	EVENT_OTHER,   /* a known ddprof event kiln does not implement yet */
};

struct event_spec {
	enum event_kind kind;
	char name[32]; /* as written: "sCPU" */
	bool use_freq;
	uint64_t value;	     /* Hz when use_freq, else period (ns for sCPU) */
	uint32_t stack_size; /* 0 = the global --stack_sample_size */
	bool negative;	     /* sALLOC: the period was written negative (deterministic) */
	unsigned mode;	     /* sALLOC: ALLOC_MODE_* bits (0 = not given: sum) */
};

/* sALLOC `mode=`: s (sum: alloc-samples/alloc-space), l (live: inuse-objects/inuse-space),
 * sl or a/`*` (both), or ddprof's numeric form (bit 0 sum, bit 1 live). */
enum { ALLOC_MODE_SUM = 1u << 0, ALLOC_MODE_LIVE = 1u << 1 };

/* The effective allocation profiling settings (from sALLOC events and presets). */
struct alloc_options {
	bool enabled;
	bool explicit_request; /* asked for by -e/a preset other than default: a missing hook
				* library is an error, not a warning */
	bool sum;	       /* alloc-samples, alloc-space */
	bool live;	       /* inuse-objects, inuse-space */
	bool mode_given;       /* mode= written (else --alloc-ring follows the ring's flags) */
	int64_t period;	       /* bytes; negative: deterministic (passed to the hook) */
	uint32_t stack_size;   /* stack bytes the hook copies per sample */
};

#define OPTIONS_MAX_EVENTS 16

enum tristate { TRI_AUTO = -1, TRI_OFF = 0, TRI_ON = 1 };

struct run_options {
	/* Strings point into argv or the environment (borrowed for the process lifetime). */
	const char *service;
	const char *environment;
	const char *service_version;
	const char *tags;
	const char *url; /* -U; wins over host/port */
	const char *host;
	const char *port;
	const char *output_dir;
	const char *log_level;
	const char *log_mode;
	const char *preset;
	const char *runtime_id;
	const char *api_key;

	int64_t upload_period_ms; /* -u seconds (fractions allowed) */
	bool inlined_functions;
	bool show_config;
	bool enable;
	bool timeline;
	bool fail_on_error;
	enum tristate include_kernel;
	uint32_t stack_sample_size;
	uint32_t max_frames;
	bool agent_explicit; /* -U, -H or -P given (flag or environment) */

	struct event_spec events[OPTIONS_MAX_EVENTS];
	size_t nevents;
	struct event_spec cpu; /* the effective sCPU event */
	bool cpu_enabled;      /* false with alloc_only / alloc_live_heap / -e sALLOC alone */
	struct alloc_options alloc;
	int alloc_ring_fd; /* --alloc-ring FD with --pid (libkiln): an inherited ring; -1 none */

	int pid;	   /* -p: attach to this running process (0: none) */
	bool global;	   /* -g: every process the profiler can see */
	uint32_t max_pids; /* --maximum-pids in global mode */

	char **command; /* NULL-terminated; borrowed from argv; NULL with -p / -g */
	int command_argc;
};

/* Defaults, before the environment and the command line. */
void options_defaults(struct run_options *o);

/*
 * Parses argv (argv[0] = "run") over the environment. Returns 0 when a command should be
 * run, 1 when the request was fully served (--help, -e help, --version: text appended to
 * out), or -EINVAL with a one-line reason in err (usage error: exit status 2). Warnings that
 * do not stop the run (an unimplemented event) are appended to warn, one per line.
 */
int options_parse(struct run_options *o, int argc, char **argv, struct buf *out, struct buf *warn,
		  struct buf *err);

/*
 * Parses one -e value ("sCPU freq=99;sCPU p=1000000") and appends the events to o->events.
 * Unknown keys and malformed values are errors; recognised-but-unimplemented event types
 * are kept with their kind so the caller can say so. 0 or -EINVAL with err set.
 */
int options_parse_events(struct run_options *o, const char *text, struct buf *err);

/* Parses a boolean as ddprof does: true/false, yes/no, on/off, 1/0 (case-insensitive). */
int options_parse_bool(const char *s, bool *out);

/* The agent URL uploads go to: -U, else http://HOST:PORT from -H/-P, else the default
 * http://localhost:8126. Written into b. */
void options_agent_url(const struct run_options *o, struct buf *b);

/* The `--show_config` dump. */
void options_describe(const struct run_options *o, struct buf *out);

/* The `--help` text. */
const char *options_help(void);

#endif
