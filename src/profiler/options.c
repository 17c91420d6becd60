/*
 * options.c: `kiln run` configuration from the environment (DD_* as ddprof reads them) and
 * the command line (getopt_long, stopping at the first non-option so the command's own
 * options are left alone).
 */
#include "profiler/options.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "export/agent.h"

#define DEFAULT_FREQ 99
#define DEFAULT_STACK 32768
#define MAX_STACK 65528

void options_defaults(struct run_options *o)
{
	memset(o, 0, sizeof(*o));
	o->service = NULL;
	o->upload_period_ms = 59000;
	o->enable = true;
	o->timeline = true;
	o->include_kernel = TRI_AUTO;
	o->stack_sample_size = DEFAULT_STACK;
	o->max_frames = 512;
	o->max_pids = 100;
	o->log_level = "warn";
	o->log_mode = "stderr";
	o->cpu.kind = EVENT_CPU;
	snprintf(o->cpu.name, sizeof(o->cpu.name), "sCPU");
	o->cpu.use_freq = true;
	o->cpu.value = DEFAULT_FREQ;
	o->cpu_enabled = true;
	o->alloc_ring_fd = -1;
}

int options_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on", "y", "t"};
	static const char *const no[] = {"0", "false", "no", "off", "n", "f"};
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Seconds, possibly fractional ("59", "0.5"), to milliseconds. */
static int parse_seconds_ms(const char *s, int64_t *out)
{
	char *end;
	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !(v > 0) || v > 86400.0 * 7)
		return -EINVAL;
	*out = (int64_t)(v * 1000.0 + 0.5);
	if (*out < 100)
		*out = 100;
	return 0;
}

/* ---- events ------------------------------------------------------------------------------ */

struct event_type {
	const char *name;
	enum event_kind kind;
};

/* ddprof's built-in names (include/perf_watcher.hpp); sCPU and sALLOC are implemented. */
static const struct event_type event_types[] = {
    {"sCPU", EVENT_CPU},     {"sALLOC", EVENT_ALLOC},  {"hCPU", EVENT_OTHER},
    {"hREF", EVENT_OTHER},   {"hINST", EVENT_OTHER},   {"hCREF", EVENT_OTHER},
    {"hCMISS", EVENT_OTHER}, {"hBRANCH", EVENT_OTHER}, {"hBMISS", EVENT_OTHER},
    {"hBUS", EVENT_OTHER},   {"hBSTF", EVENT_OTHER},   {"hBSTB", EVENT_OTHER},
    {"sPF", EVENT_OTHER},    {"sCS", EVENT_OTHER},     {"sMig", EVENT_OTHER},
    {"sPFMAJ", EVENT_OTHER}, {"sPFMIN", EVENT_OTHER},  {"sALGN", EVENT_OTHER},
    {"sEMU", EVENT_OTHER},   {"sDUM", EVENT_OTHER},
};

enum event_key { KEY_PERIOD, KEY_FREQ, KEY_STACK, KEY_MODE, KEY_LABEL, KEY_IGNORED };

struct event_key_alias {
	const char *name;
	enum event_key key;
};

static const struct event_key_alias event_keys[] = {
    {"p", KEY_PERIOD},	    {"period", KEY_PERIOD},
    {"per", KEY_PERIOD},    {"f", KEY_FREQ},
    {"freq", KEY_FREQ},	    {"frequency", KEY_FREQ},
    {"st", KEY_STACK},	    {"stack_sample_size", KEY_STACK},
    {"stcksz", KEY_STACK},  {"m", KEY_MODE},
    {"mode", KEY_MODE},	    {"l", KEY_LABEL},
    {"label", KEY_LABEL},   {"s", KEY_IGNORED},
    {"scale", KEY_IGNORED}, {"value_scale", KEY_IGNORED},
};

/* sALLOC mode: letters s (sum), l (live), a or * (all), or ddprof's number (bit 0 sum, bit 1
 * live). */
static int parse_mode(const char *val, unsigned *out)
{
	unsigned m = 0;
	if (val[0] >= '0' && val[0] <= '9') {
		uint64_t v;
		if (parse_u64(val, &v) || v == 0 || v > 3)
			return -EINVAL;
		*out = (unsigned)v;
		return 0;
	}
	for (const char *c = val; *c; c++) {
		switch (*c) {
		case 's':
		case 'S':
			m |= ALLOC_MODE_SUM;
			break;
		case 'l':
		case 'L':
			m |= ALLOC_MODE_LIVE;
			break;
		case 'a':
		case 'A':
		case '*':
			m |= ALLOC_MODE_SUM | ALLOC_MODE_LIVE;
			break;
		default:
			return -EINVAL;
		}
	}
	if (!m)
		return -EINVAL;
	*out = m;
	return 0;
}

static int parse_one_event(struct run_options *o, char *text, struct buf *err)
{
	char *save = NULL;
	char *tok = strtok_r(text, " \t,", &save);
	if (!tok)
		return 0; /* empty between ';' */
	if (o->nevents >= OPTIONS_MAX_EVENTS) {
		buf_printf(err, "too many events (at most %d)", OPTIONS_MAX_EVENTS);
		return -EINVAL;
	}
	struct event_spec ev = {0};
	const struct event_type *type = NULL;
	for (size_t i = 0; i < sizeof(event_types) / sizeof(event_types[0]); i++)
		if (!strcmp(tok, event_types[i].name))
			type = &event_types[i];
	if (!type && strchr(tok, ':')) {
		ev.kind = EVENT_OTHER; /* a tracepoint, group:event */
	} else if (!type) {
		buf_printf(err, "unknown event '%s' (try -e help)", tok);
		return -EINVAL;
	} else {
		ev.kind = type->kind;
	}
	snprintf(ev.name, sizeof(ev.name), "%s", tok);
	if (ev.kind == EVENT_CPU) {
		ev.use_freq = true;
		ev.value = DEFAULT_FREQ;
	}
	while ((tok = strtok_r(NULL, " \t,", &save))) {
		char *eq = strchr(tok, '=');
		if (!eq || eq == tok || !eq[1]) {
			buf_printf(err, "event '%s': expected key=value, got '%s'", ev.name, tok);
			return -EINVAL;
		}
		*eq = '\0';
		const char *val = eq + 1;
		const struct event_key_alias *k = NULL;
		for (size_t i = 0; i < sizeof(event_keys) / sizeof(event_keys[0]); i++)
			if (!strcmp(tok, event_keys[i].name))
				k = &event_keys[i];
		if (!k) {
			buf_printf(err, "event '%s': unknown key '%s' (try -e help)", ev.name, tok);
			return -EINVAL;
		}
		uint64_t v = 0;
		switch (k->key) {
		case KEY_PERIOD:
		case KEY_FREQ:
			if (ev.kind != EVENT_CPU && k->key == KEY_PERIOD && val[0] == '-') {
				val++; /* sALLOC: a negative period means deterministic sampling */
				ev.negative = true;
			}
			if (parse_u64(val, &v) || v == 0) {
				buf_printf(err,
					   "event '%s': %s must be a positive integer, got '%s'",
					   ev.name, tok, val);
				return -EINVAL;
			}
			ev.use_freq = k->key == KEY_FREQ;
			ev.value = v;
			break;
		case KEY_STACK:
			if (parse_u64(val, &v) || v == 0 || v % 8 || v > MAX_STACK) {
				buf_printf(err,
					   "event '%s': stack_sample_size must be a multiple of 8 "
					   "between 8 and %d, got '%s'",
					   ev.name, MAX_STACK, val);
				return -EINVAL;
			}
			ev.stack_size = (uint32_t)v;
			break;
		case KEY_MODE:
			if (ev.kind == EVENT_ALLOC && parse_mode(val, &ev.mode)) {
				buf_printf(
				    err,
				    "event '%s': mode must be s (allocations), l (live heap), "
				    "sl or a (both), got '%s'",
				    ev.name, val);
				return -EINVAL;
			}
			break;
		case KEY_LABEL:
		case KEY_IGNORED:
			break; /* meaningful for sALLOC/custom events only */
		}
	}
	if (ev.kind == EVENT_CPU && ev.use_freq && ev.value > 100000) {
		buf_printf(err, "event '%s': frequency %" PRIu64 " Hz is above 100000", ev.name,
			   ev.value);
		return -EINVAL;
	}
	o->events[o->nevents++] = ev;
	return 0;
}

int options_parse_events(struct run_options *o, const char *text, struct buf *err)
{
	char *copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	int ret = 0;
	for (char *ev = strtok_r(copy, ";", &save); ev; ev = strtok_r(NULL, ";", &save)) {
		ret = parse_one_event(o, ev, err);
		if (ret)
			break;
	}
	free(copy);
	return ret;
}

static const char events_help[] =
    "Event grammar (-e, repeatable; DD_PROFILING_NATIVE_EVENTS separates events with ';'):\n"
    "  <type> [key=value ...]      options separated by spaces or commas, events by ';'\n"
    "\n"
    "Types:\n"
    "  sCPU     CPU time (task clock), 99 Hz per thread by default\n"
    "  sALLOC   allocations sampled by the preloaded hook (libkiln_preload.so), one sample\n"
    "           per 524288 bytes on average by default; wrapper mode or --alloc-ring\n"
    "  hCPU hREF hINST hCREF hCMISS hBRANCH hBMISS hBUS hBSTF hBSTB (hardware)\n"
    "  sPF sCS sMig sPFMAJ sPFMIN sALGN sEMU sDUM (software), group:event (tracepoints)\n"
    "                                                                [not yet in kiln]\n"
    "Keys:\n"
    "  p, period, per                sampling period (ns of CPU time for sCPU; mean bytes\n"
    "                                between samples for sALLOC, negative: deterministic)\n"
    "  f, freq, frequency            sampling frequency in Hz per thread\n"
    "  st, stack_sample_size, stcksz user stack bytes copied per sample (multiple of 8)\n"
    "  m, mode                       sALLOC: s (allocations, default), l (live heap),\n"
    "                                sl or a (both)\n"
    "  l, label / s, scale           accepted for ddprof compatibility (custom events)\n"
    "\n"
    "Examples: -e sCPU   -e \"sCPU freq=999\"   -e sCPU,period=1000000\n"
    "          -e \"sALLOC period=1048576\"   -e \"sALLOC mode=sl\"   -e \"sCPU;sALLOC mode=l\"\n";

/* ---- presets ----------------------------------------------------------------------------- */

/* ddprof's presets (src/presets.cc). */
struct preset {
	const char *name;
	const char *events;
};

static const struct preset presets[] = {
    {"default", "sCPU;sALLOC"},
    {"default-pid", "sCPU"},
    {"cpu_only", "sCPU"},
    {"alloc_only", "sALLOC"},
    {"alloc_live_heap", "sALLOC mode=sl"},
    {"cpu_live_heap", "sCPU;sALLOC mode=sl"},
};

static bool has_event(const struct run_options *o, size_t n, enum event_kind kind)
{
	for (size_t i = 0; i < n; i++)
		if (o->events[i].kind == kind)
			return true;
	return false;
}

/* Adds the preset's events that are not there already (-e events win, as in ddprof). */
static int apply_preset(struct run_options *o, const char *preset, struct buf *err)
{
	const struct preset *p = NULL;
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (!strcmp(preset, presets[i].name))
			p = &presets[i];
	if (!p) {
		buf_printf(
		    err,
		    "unknown preset '%s' (known: default, default-pid, cpu_only, alloc_only, "
		    "alloc_live_heap, cpu_live_heap)",
		    preset);
		return -EINVAL;
	}
	struct run_options tmp;
	memset(&tmp, 0, sizeof(tmp));
	int ret = options_parse_events(&tmp, p->events, err);
	if (ret)
		return ret;
	size_t given = o->nevents;
	for (size_t i = 0; i < tmp.nevents; i++) {
		if (has_event(o, given, tmp.events[i].kind))
			continue;
		if (o->nevents >= OPTIONS_MAX_EVENTS) {
			buf_printf(err, "too many events (at most %d)", OPTIONS_MAX_EVENTS);
			return -EINVAL;
		}
		o->events[o->nevents++] = tmp.events[i];
	}
	return 0;
}

/* ---- command line ------------------------------------------------------------------------ */

enum {
	OPT_PRESET = 1000,
	OPT_SHOW_CONFIG,
	OPT_ENABLE,
	OPT_STACK,
	OPT_MAX_FRAMES,
	OPT_INCLUDE_KERNEL,
	OPT_NO_INCLUDE_KERNEL,
	OPT_TIMELINE,
	OPT_NO_TIMELINE,
	OPT_OUTPUT_DIR,
	OPT_FAIL_ON_ERROR,
	OPT_RUNTIME_ID,
	OPT_API_KEY,
	OPT_PID,
	OPT_GLOBAL,
	OPT_MAX_PIDS,
	OPT_ALLOC_RING,
};

static const struct option long_opts[] = {
    {"service", required_argument, NULL, 'S'},
    {"environment", required_argument, NULL, 'E'},
    {"service_version", required_argument, NULL, 'V'},
    {"service-version", required_argument, NULL, 'V'},
    {"tags", required_argument, NULL, 'T'},
    {"url", required_argument, NULL, 'U'},
    {"host", required_argument, NULL, 'H'},
    {"port", required_argument, NULL, 'P'},
    {"upload_period", required_argument, NULL, 'u'},
    {"upload-period", required_argument, NULL, 'u'},
    {"inlined_functions", optional_argument, NULL, 'I'},
    {"inlined-functions", optional_argument, NULL, 'I'},
    {"event", required_argument, NULL, 'e'},
    {"preset", required_argument, NULL, OPT_PRESET},
    {"log_level", required_argument, NULL, 'l'},
    {"log-level", required_argument, NULL, 'l'},
    {"log_mode", required_argument, NULL, 'o'},
    {"log-mode", required_argument, NULL, 'o'},
    {"show_config", optional_argument, NULL, OPT_SHOW_CONFIG},
    {"show-config", optional_argument, NULL, OPT_SHOW_CONFIG},
    {"enable", required_argument, NULL, OPT_ENABLE},
    {"stack_sample_size", required_argument, NULL, OPT_STACK},
    {"stack-sample-size", required_argument, NULL, OPT_STACK},
    {"max-frames", required_argument, NULL, OPT_MAX_FRAMES},
    {"max_frames", required_argument, NULL, OPT_MAX_FRAMES},
    {"include-kernel", no_argument, NULL, OPT_INCLUDE_KERNEL},
    {"no-include-kernel", no_argument, NULL, OPT_NO_INCLUDE_KERNEL},
    {"timeline", optional_argument, NULL, OPT_TIMELINE},
    {"no-timeline", no_argument, NULL, OPT_NO_TIMELINE},
    {"output-dir", required_argument, NULL, OPT_OUTPUT_DIR},
    {"output_dir", required_argument, NULL, OPT_OUTPUT_DIR},
    {"fail-on-error", no_argument, NULL, OPT_FAIL_ON_ERROR},
    {"runtime_id", required_argument, NULL, OPT_RUNTIME_ID},
    {"api_key", required_argument, NULL, OPT_API_KEY},
    {"pid", required_argument, NULL, 'p'},
    {"global", no_argument, NULL, 'g'},
    {"maximum-pids", required_argument, NULL, OPT_MAX_PIDS},
    {"maximum_pids", required_argument, NULL, OPT_MAX_PIDS},
    {"alloc-ring", required_argument, NULL, OPT_ALLOC_RING},
    {"alloc_ring", required_argument, NULL, OPT_ALLOC_RING},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static int set_bool(const char *what, const char *val, bool *out, struct buf *err)
{
	if (options_parse_bool(val, out)) {
		buf_printf(err, "%s: expected true or false, got '%s'", what, val);
		return -EINVAL;
	}
	return 0;
}

static int set_stack(const char *what, const char *val, uint32_t *out, struct buf *err)
{
	uint64_t v;
	if (parse_u64(val, &v) || v < 8 || v % 8 || v > MAX_STACK) {
		buf_printf(err, "%s: must be a multiple of 8 between 8 and %d, got '%s'", what,
			   MAX_STACK, val);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int set_period(const char *what, const char *val, int64_t *out, struct buf *err)
{
	if (parse_seconds_ms(val, out)) {
		buf_printf(err, "%s: expected a positive number of seconds, got '%s'", what, val);
		return -EINVAL;
	}
	return 0;
}

static int read_env(struct run_options *o, const char **preset, struct buf *err)
{
	const char *v;
	int ret = 0;

	o->service = env("DD_SERVICE");
	o->environment = env("DD_ENV");
	o->service_version = env("DD_VERSION");
	o->tags = env("DD_TAGS");
	o->url = env("DD_TRACE_AGENT_URL");
	o->host = env("DD_AGENT_HOST");
	o->port = env("DD_TRACE_AGENT_PORT");
	o->agent_explicit = o->url || o->host || o->port;
	o->runtime_id = env("DD_PROFILING_RUNTIME_ID");
	o->api_key = env("DD_API_KEY");
	o->output_dir = env("KILN_OUTPUT_DIR");
	if ((v = env("DD_PROFILING_NATIVE_LOG_LEVEL")))
		o->log_level = v;
	if ((v = env("DD_PROFILING_NATIVE_LOG_MODE")))
		o->log_mode = v;
	*preset = env("DD_PROFILING_NATIVE_PRESET");
	if ((v = env("DD_PROFILING_UPLOAD_PERIOD")) &&
	    (ret = set_period("DD_PROFILING_UPLOAD_PERIOD", v, &o->upload_period_ms, err)))
		return ret;
	if ((v = env("DD_PROFILING_INLINED_FUNCTIONS")) &&
	    (ret = set_bool("DD_PROFILING_INLINED_FUNCTIONS", v, &o->inlined_functions, err)))
		return ret;
	if ((v = env("DD_PROFILING_TIMELINE_ENABLE")) &&
	    (ret = set_bool("DD_PROFILING_TIMELINE_ENABLE", v, &o->timeline, err)))
		return ret;
	if ((v = env("DD_PROFILING_SHOW_CONFIG")) &&
	    (ret = set_bool("DD_PROFILING_SHOW_CONFIG", v, &o->show_config, err)))
		return ret;
	if ((v = env("DD_PROFILING_ENABLED")) &&
	    (ret = set_bool("DD_PROFILING_ENABLED", v, &o->enable, err)))
		return ret;
	if ((v = env("DD_PROFILING_SAMPLE_STACK_USER")) &&
	    (ret = set_stack("DD_PROFILING_SAMPLE_STACK_USER", v, &o->stack_sample_size, err)))
		return ret;
	if ((v = env("DD_PROFILING_NATIVE_EVENTS")) && (ret = options_parse_events(o, v, err)))
		return ret;
	return 0;
}

int options_parse(struct run_options *o, int argc, char **argv, struct buf *out, struct buf *warn,
		  struct buf *err)
{
	const char *preset = NULL;
	bool cli_events = false;
	int ret = read_env(o, &preset, err);
	if (ret)
		return ret;

	opterr = 0;
	optind = 0; /* full re-initialisation (glibc), so tests may parse several times */
	int c;
	uint64_t v;
	while ((c = getopt_long(argc, argv, "+:S:E:V:T:U:H:P:u:I::e:l:o:p:ghv", long_opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'S':
			o->service = optarg;
			break;
		case 'E':
			o->environment = optarg;
			break;
		case 'V':
			o->service_version = optarg;
			break;
		case 'T':
			o->tags = optarg;
			break;
		case 'U':
			o->url = optarg;
			o->agent_explicit = true;
			break;
		case 'H':
			o->host = optarg;
			o->agent_explicit = true;
			break;
		case 'P':
			if (parse_u64(optarg, &v) || v == 0 || v > 65535) {
				buf_printf(err, "--port: expected a TCP port, got '%s'", optarg);
				return -EINVAL;
			}
			o->port = optarg;
			o->agent_explicit = true;
			break;
		case 'u':
			if ((ret =
				 set_period("--upload_period", optarg, &o->upload_period_ms, err)))
				return ret;
			break;
		case 'I':
			o->inlined_functions = true;
			if (optarg && (ret = set_bool("--inlined_functions", optarg,
						      &o->inlined_functions, err)))
				return ret;
			break;
		case 'e':
			if (!strcmp(optarg, "help")) {
				buf_puts(out, events_help);
				return 1;
			}
			if (!cli_events) {
				o->nevents =
				    0; /* the command line replaces DD_PROFILING_NATIVE_EVENTS */
				cli_events = true;
			}
			if ((ret = options_parse_events(o, optarg, err)))
				return ret;
			break;
		case OPT_PRESET:
			preset = optarg;
			break;
		case 'l':
			o->log_level = optarg;
			break;
		case 'o':
			o->log_mode = optarg;
			break;
		case OPT_SHOW_CONFIG:
			o->show_config = true;
			if (optarg &&
			    (ret = set_bool("--show_config", optarg, &o->show_config, err)))
				return ret;
			break;
		case OPT_ENABLE:
			if ((ret = set_bool("--enable", optarg, &o->enable, err)))
				return ret;
			break;
		case OPT_STACK:
			if ((ret = set_stack("--stack_sample_size", optarg, &o->stack_sample_size,
					     err)))
				return ret;
			break;
		case OPT_MAX_FRAMES:
			if (parse_u64(optarg, &v) || v < 8 || v > 65536) {
				buf_printf(err, "--max-frames: expected 8..65536, got '%s'",
					   optarg);
				return -EINVAL;
			}
			o->max_frames = (uint32_t)v;
			break;
		case OPT_INCLUDE_KERNEL:
			o->include_kernel = TRI_ON;
			break;
		case OPT_NO_INCLUDE_KERNEL:
			o->include_kernel = TRI_OFF;
			break;
		case OPT_TIMELINE:
			o->timeline = true;
			if (optarg && (ret = set_bool("--timeline", optarg, &o->timeline, err)))
				return ret;
			break;
		case OPT_NO_TIMELINE:
			o->timeline = false;
			break;
		case OPT_OUTPUT_DIR:
			o->output_dir = optarg;
			break;
		case OPT_FAIL_ON_ERROR:
			o->fail_on_error = true;
			break;
		case OPT_RUNTIME_ID:
			o->runtime_id = optarg;
			break;
		case OPT_API_KEY:
			o->api_key = optarg;
			break;
		case 'p':
			if (parse_u64(optarg, &v) || v < 1 || v > INT32_MAX) {
				buf_printf(err, "--pid: expected a process id, got '%s'", optarg);
				return -EINVAL;
			}
			o->pid = (int)v;
			break;
		case 'g':
			o->global = true;
			break;
		case OPT_MAX_PIDS:
			if (parse_u64(optarg, &v) || v < 1 || v > 100000) {
				buf_printf(err, "--maximum-pids: expected 1..100000, got '%s'",
					   optarg);
				return -EINVAL;
			}
			o->max_pids = (uint32_t)v;
			break;
		case OPT_ALLOC_RING:
			if (parse_u64(optarg, &v) || v < 3 || v > INT32_MAX) {
				buf_printf(err,
					   "--alloc-ring: expected an inherited descriptor number "
					   "(>= 3), got '%s'",
					   optarg);
				return -EINVAL;
			}
			o->alloc_ring_fd = (int)v;
			break;
		case 'h':
			buf_puts(out, options_help());
			return 1;
		case 'v':
			buf_printf(out, "kiln %s\n", KILN_VERSION);
			return 1;
		case ':':
			buf_printf(err, "option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			buf_printf(err, "unknown option '%s' (see kiln run --help)",
				   argv[optind - 1]);
			return -EINVAL;
		}
	}

	bool running = o->pid || o->global;
	if (o->alloc_ring_fd >= 0 && !o->pid) {
		buf_puts(err, "--alloc-ring needs --pid (it is how libkiln hands its ring over)");
		return -EINVAL;
	}
	/* No preset and no event: ddprof's default (default-pid for running processes). */
	const char *eff = preset;
	if (!eff && !o->nevents)
		eff = running ? "default-pid" : "default";
	if (eff && !strcmp(eff, "default") && running)
		eff = "default-pid";
	if (eff && (ret = apply_preset(o, eff, err)))
		return ret;
	o->preset = preset ? preset : "default";
	/* --alloc-ring: the ring's own configuration decides the sampling; drain it. */
	if (o->alloc_ring_fd >= 0 && !has_event(o, o->nevents, EVENT_ALLOC) &&
	    (ret = options_parse_events(o, "sALLOC", err)))
		return ret;

	/* The effective events: the last sCPU and the last sALLOC given. */
	bool cpu = false;
	const struct event_spec *alloc = NULL;
	for (size_t i = 0; i < o->nevents; i++) {
		const struct event_spec *e = &o->events[i];
		if (e->kind == EVENT_CPU) {
			o->cpu = *e;
			cpu = true;
		} else if (e->kind == EVENT_ALLOC) {
			alloc = e;
		} else {
			buf_printf(warn,
				   "event '%s': only sCPU and sALLOC are implemented in kiln; "
				   "ignored\n",
				   e->name);
		}
	}
	if (o->cpu.stack_size)
		o->stack_sample_size = o->cpu.stack_size;
	memset(&o->alloc, 0, sizeof(o->alloc));
	if (alloc && o->global) {
		buf_printf(warn,
			   "event '%s': allocation profiling needs the program to be started "
			   "by kiln run (or libkiln); not available with --global\n",
			   alloc->name);
		alloc = NULL;
	} else if (alloc && o->pid && o->alloc_ring_fd < 0) {
		buf_printf(warn,
			   "event '%s': allocation profiling of a running process needs the "
			   "ring of libkiln (--alloc-ring); profiling CPU only\n",
			   alloc->name);
		alloc = NULL;
	}
	if (alloc) {
		struct alloc_options *a = &o->alloc;
		a->enabled = true;
		a->explicit_request = !(preset == NULL && eff && !strcmp(eff, "default")) &&
				      !(preset && !strcmp(preset, "default"));
		unsigned mode = alloc->mode ? alloc->mode : ALLOC_MODE_SUM;
		a->mode_given = alloc->mode != 0;
		a->sum = mode & ALLOC_MODE_SUM;
		a->live = mode & ALLOC_MODE_LIVE;
		a->period = alloc->value ? (int64_t)alloc->value : 524288;
		if (alloc->negative)
			a->period = -a->period;
		a->stack_size = alloc->stack_size ? alloc->stack_size : o->stack_sample_size;
	}
	/* Nothing implemented asked for (e.g. -e hCPU alone): CPU, as before. */
	o->cpu_enabled = cpu || !alloc;

	if (o->pid && o->global) {
		buf_puts(err, "--pid and --global exclude each other");
		return -EINVAL;
	}
	if (o->pid || o->global) {
		if (optind < argc) {
			buf_printf(err,
				   "%s profiles running processes: no command expected (got '%s')",
				   o->pid ? "--pid" : "--global", argv[optind]);
			return -EINVAL;
		}
		o->command = NULL;
		o->command_argc = 0;
		return 0;
	}
	if (optind >= argc) {
		buf_puts(err,
			 "no command given (usage: kiln run [options] [--] command [args...])");
		return -EINVAL;
	}
	o->command = argv + optind;
	o->command_argc = argc - optind;
	return 0;
}

void options_agent_url(const struct run_options *o, struct buf *b)
{
	if (o->url) {
		buf_puts(b, o->url);
		return;
	}
	if (!o->host && !o->port) {
		/* Nothing given: what every Datadog client does (the apm.socket, then
		 * localhost:8126), decided in one place. */
		agent_default_address(b);
		return;
	}
	const char *host = o->host ? o->host : "localhost";
	const char *port = o->port ? o->port : "8126";
	if (strchr(host, ':') && host[0] != '[')
		buf_printf(b, "http://[%s]:%s", host, port); /* IPv6 literal */
	else
		buf_printf(b, "http://%s:%s", host, port);
}

void options_describe(const struct run_options *o, struct buf *out)
{
	struct buf url = BUF_INIT;
	bool upload = !o->output_dir || o->agent_explicit;
	if (upload)
		options_agent_url(o, &url);
#define S(x) ((x) ? (x) : "(unset)")
	buf_printf(out,
		   "kiln run configuration:\n"
		   "  service: %s\n  environment: %s\n  service_version: %s\n  tags: %s\n"
		   "  upload: %s\n  output-dir: %s\n  upload_period: %.3f s\n"
		   "  event: %s %s=%" PRIu64 "\n  preset: %s\n  stack_sample_size: %u\n"
		   "  max-frames: %u\n  include-kernel: %s\n  timeline: %s\n"
		   "  inlined_functions: %s\n  enable: %s\n  fail-on-error: %s\n"
		   "  log_level: %s\n  log_mode: %s\n"
		   "  cpu: %s\n  alloc: %s",
		   S(o->service), S(o->environment), S(o->service_version), S(o->tags),
		   upload ? url.data : "(off)", S(o->output_dir),
		   (double)o->upload_period_ms / 1000, o->cpu.name,
		   o->cpu.use_freq ? "freq" : "period", o->cpu.value, o->preset,
		   o->stack_sample_size, o->max_frames,
		   o->include_kernel == TRI_AUTO ? "auto"
		   : o->include_kernel		 ? "yes"
						 : "no",
		   o->timeline ? "yes" : "no", o->inlined_functions ? "yes" : "no",
		   o->enable ? "yes" : "no", o->fail_on_error ? "yes" : "no", o->log_level,
		   o->log_mode, o->cpu_enabled ? "on" : "off", o->alloc.enabled ? "on" : "off");
	if (o->alloc.enabled)
		buf_printf(out, " (period %" PRId64 " bytes%s, stack %u, %s%s%s)",
			   o->alloc.period < 0 ? -o->alloc.period : o->alloc.period,
			   o->alloc.period < 0 ? " deterministic" : " mean", o->alloc.stack_size,
			   o->alloc.sum ? "alloc-space" : "",
			   o->alloc.sum && o->alloc.live ? "+" : "",
			   o->alloc.live ? "inuse-space" : "");
	if (o->alloc_ring_fd >= 0)
		buf_printf(out, "\n  alloc-ring: fd %d", o->alloc_ring_fd);
	buf_putc(out, '\n');
#undef S
	buf_release(&url);
}

static const char help_text[] =
    "usage: kiln run [options] [--] command [args...]\n"
    "\n"
    "Runs command under kiln's CPU and allocation profiler. The command keeps kiln's PID\n"
    "(kiln execs it), so its exit status and signals reach the caller unchanged, and\n"
    "`exec kiln run app` works for PID 1 in a container. Threads, forked children and exec'd\n"
    "programs are followed. One profile is produced per upload period and uploaded to a\n"
    "Datadog agent (or kiln serve) and/or written to --output-dir.\n"
    "\n"
    "Tags and upload (a command-line option wins over its environment variable):\n"
    "  -S, --service NAME             service tag                          [DD_SERVICE]\n"
    "  -E, --environment NAME         env tag                              [DD_ENV]\n"
    "  -V, --service_version VER      version tag                          [DD_VERSION]\n"
    "  -T, --tags K:V,K:V             extra tags                           [DD_TAGS]\n"
    "  -U, --url URL                  agent URL: http(s)://host:port, host:port,\n"
    "                                 unix:///path or /path; wins over -H/-P\n"
    "                                                                      [DD_TRACE_AGENT_URL]\n"
    "  -H, --host HOST                agent host (default localhost)       [DD_AGENT_HOST]\n"
    "  -P, --port PORT                agent port (default 8126)            [DD_TRACE_AGENT_PORT]\n"
    "      --output-dir DIR           write each profile as a gzip .pprof file in DIR;\n"
    "                                 then nothing is uploaded unless -U/-H/-P is given\n"
    "                                                                      [KILN_OUTPUT_DIR]\n"
    "  -u, --upload_period SECONDS    profile period (default 59)  [DD_PROFILING_UPLOAD_PERIOD]\n"
    "      --runtime_id UUID          runtime-id tag (default: random)\n"
    "                                                              [DD_PROFILING_RUNTIME_ID]\n"
    "      --api_key KEY              sent as DD-API-KEY                    [DD_API_KEY]\n"
    "\n"
    "Sampling:\n"
    "  -e, --event SPEC               event, e.g. \"sCPU freq=99\", \"sALLOC period=1048576\",\n"
    "                                 \"sALLOC mode=sl\" (allocations + live heap); repeatable;\n"
    "                                 -e help shows the grammar   [DD_PROFILING_NATIVE_EVENTS]\n"
    "      --preset NAME              default (CPU + allocations; CPU only with --pid),\n"
    "                                 cpu_only, alloc_only, alloc_live_heap (allocations +\n"
    "                                 live heap), cpu_live_heap (CPU + allocations + live\n"
    "                                 heap), default-pid (CPU)  [DD_PROFILING_NATIVE_PRESET]\n"
    "                                 Allocations need libkiln_preload.so (next to kiln, or\n"
    "                                 KILN_PRELOAD_LIB) and a dynamically linked command\n"
    "      --stack_sample_size BYTES  user stack copied per sample, multiple of 8\n"
    "                                 (default 32768)         [DD_PROFILING_SAMPLE_STACK_USER]\n"
    "      --max-frames N             frames kept per stack, leaf side (default 512); the\n"
    "                                 rest becomes one \"[N frames omitted]\" frame\n"
    "      --include-kernel           count kernel time and record kernel call chains\n"
    "                                 (needs perf_event_paranoid <= 1 or CAP_PERFMON)\n"
    "      --no-include-kernel        user time and user stacks only\n"
    "                                 (default: kernel time when permitted, no kernel chains)\n"
    "  -I, --inlined_functions[=BOOL] report inlined functions and lines (DWARF; costs more)\n"
    "                                                        [DD_PROFILING_INLINED_FUNCTIONS]\n"
    "      --timeline[=BOOL]          per-sample end_timestamp_ns, thread and process names\n"
    "      --no-timeline              (default on)              [DD_PROFILING_TIMELINE_ENABLE]\n"
    "\n"
    "Behaviour and diagnostics:\n"
    "      --enable BOOL              false: only exec the command   [DD_PROFILING_ENABLED]\n"
    "      --fail-on-error            do not run the command when profiling cannot start\n"
    "                                 (default: run it anyway, unprofiled, and say why)\n"
    "  -l, --log_level LEVEL          debug, informational, notice, warn (default), error\n"
    "                                                         [DD_PROFILING_NATIVE_LOG_LEVEL]\n"
    "  -o, --log_mode MODE            stderr (default), stdout, syslog, disabled, or a file\n"
    "                                 path (appended)          [DD_PROFILING_NATIVE_LOG_MODE]\n"
    "      --show_config[=BOOL]       print the configuration at start\n"
    "                                                              [DD_PROFILING_SHOW_CONFIG]\n"
    "  -p, --pid PID                  profile a running process (its threads, new ones too)\n"
    "  -g, --global                   profile every process (root or CAP_PERFMON)\n"
    "      --maximum-pids N           global mode: processes with their own profile (100)\n"
    "      --alloc-ring FD            with --pid: drain the allocation ring inherited as FD\n"
    "                                 (used by libkiln)\n"
    "  -h, --help                     this text\n"
    "  -v, --version                  kiln's version\n"
    "\n"
    "Examples:\n"
    "  kiln run -S my-svc -E prod -V 1.0.3 -- ./myapp --arg1\n"
    "  DD_SERVICE=my-svc DD_ENV=prod kiln run ./myapp --arg1\n"
    "  exec kiln run ./myapp                      # PID 1 in a container\n"
    "  kiln run --output-dir ./profiles -u 10 -- ./myapp\n"
    "  kiln run --preset cpu_live_heap -u 10 -- ./myapp  # CPU, allocations, live heap\n"
    "\n"
    "Full reference: docs/run.md; problems: docs/troubleshooting.md.\n";

const char *options_help(void)
{
	return help_text;
}
