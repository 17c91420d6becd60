/*
 * profiler.c: the main loop of `kiln run`'s profiler process.
 *
 * Design: one thread. poll() waits on every per-CPU perf ring and on a pidfd of the target
 * (100 ms timeout). Each wake-up drains the rings in place: records are collected from all
 * rings, ordered by timestamp (CLOCK_MONOTONIC, use_clockid) and processed, except those
 * younger than a 2 ms watermark, which stay in their ring for the next round. A record is
 * written to its ring at the moment its timestamp is taken, so everything older than the
 * watermark is already visible in every ring: an MMAP2 on one CPU is always processed before
 * a sample on another CPU that needs it. Space is handed back to the kernel only for the
 * records processed. Every upload period the aggregator becomes one pprof profile; the
 * exporter thread (export/) uploads or writes it without blocking this loop.
 */
#include "profiler/profiler.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/hmap.h"
#include "base/log.h"
#include "base/vec.h"
#include "export/export.h"
#include "perf/events.h"
#include "perf/record.h"
#include "pprof/builder.h"
#include "pprof/pprof.h"
#include "proc/proc.h"
#include "profiler/aggregate.h"
#include "profiler/alloc.h"
#include "profiler/container.h"
#include "profiler/diag.h"
#include "profiler/live.h"
#include "symbolize/symbolize.h"
#include "unwind/unwind.h"

#define WATERMARK_NS 2000000ULL
#define POLL_MS 100
#define ALLOC_POLL_MS 10	 /* the allocation ring has no wake-up: poll it this often */
#define ALLOC_PENDING UINT32_MAX /* struct pending.ring of an allocation record */
#define LIVE_MAX_ENTRIES 65536	 /* as the hook's live set */
#define LIVE_MAX_TOKENS (4u << 20)
#define NO_CPU_PERIOD                                                                              \
	(1ULL << 62) /* alloc only: a task clock that never fires, for the                         \
		      * MMAP/COMM/FORK records */
#define UNWIND_CAP 4096
#define RESCAN_NS 1000000000ULL

struct pending {
	uint64_t time;
	const uint8_t *rec;
	size_t len;
	uint32_t ring;
	uint64_t end; /* ring position after the record; allocation records: held index */
};

/* Global mode: one aggregator (one profile per period) per sampled process. */
struct proc_slot {
	int pid;
	bool active;		/* sampled during this period */
	struct aggregator *agg; /* owned */
	char comm[64];
	char container[80];
};

struct profiler {
	const struct run_options *opts;
	int target;
	int pidfd;
	struct perf_events *ev;
	struct proc_table *pt;
	struct unwinder *unw;
	struct symbolizer *sym;
	struct exporter *exp;
	struct aggregator *agg;
	struct pprof_builder *builder;
	bool include_kernel;
	uint64_t nominal_period_ns;

	int64_t mono_to_real; /* realtime - monotonic, refreshed each period */
	int64_t period_start_real;
	uint64_t period_start_mono;
	uint32_t seq;

	VEC(struct pending) pending;
	uint64_t *consume_to; /* per ring */
	struct unwind_frame *uframes;
	uint32_t *ids;
	size_t ids_cap;
	struct profiler_stats stats;
	uint64_t sample_hist[1025]; /* per-sample processing time, 100 ns buckets (last: more) */
	char tags[2048];
	char target_name[64]; /* for the service tag and file names when no command is run */

	/* Attach mode (--pid): threads with an event of their own or inherited (tid -> 1), and
	 * threads seen by the last /proc scan but not yet covered (tid -> 1). */
	bool attach;
	struct hmap covered;
	struct hmap seen_once;
	uint64_t last_scan_mono;

	/* Global mode (--global): slots for up to opts->max_pids processes (pid -> index in
	 * slot_of); samples of the others go to overflow, the "[maximum pids]" profile. agg is
	 * the aggregator of the sample being processed. */
	bool global;
	int self;
	VEC(struct proc_slot) slots;
	struct hmap slot_of;
	struct aggregator *main_agg; /* owned: wrapper/attach modes, and global overflow */

	/* Allocation profiling (wrapper mode, or --alloc-ring): NULL when off. */
	bool cpu_on;
	unsigned values;	    /* AGG_* in the profile */
	struct alloc_source *alloc; /* owned */
	struct live_heap *live;	    /* owned; NULL without mode=l */
	uint64_t *tokens;	    /* UNWIND_CAP frame tokens for the live heap */
	uint64_t alloc_lost_seen;   /* the ring's lost counter already turned into [lost] */
	uint64_t alloc_samples, alloc_frees, alloc_starts, alloc_bad;
	uint64_t alloc_hist[1025]; /* per-record processing time, 100 ns buckets */
};

static volatile sig_atomic_t stop_requested;

void profiler_request_stop(void)
{
	stop_requested = 1;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void refresh_clock_offset(struct profiler *p)
{
	uint64_t m = now_ns(CLOCK_MONOTONIC);
	uint64_t r = now_ns(CLOCK_REALTIME);
	p->mono_to_real = (int64_t)(r - m);
}

/* Appends "key:value," to the tag string when value is set. */
static void add_tag(struct buf *b, const char *key, const char *value)
{
	if (!value || !*value)
		return;
	if (b->len)
		buf_putc(b, ',');
	buf_printf(b, "%s:%s", key, value);
}

static void build_tags(struct profiler *p)
{
	const struct run_options *o = p->opts;
	struct buf b = BUF_INIT;
	char host[256] = "";
	char num[32];
	const char *cmd = o->command ? o->command[0] : p->target_name;
	const char *base = strrchr(cmd, '/');

	gethostname(host, sizeof(host) - 1);
	add_tag(&b, "service", o->service ? o->service : (base ? base + 1 : cmd));
	add_tag(&b, "env", o->environment);
	add_tag(&b, "version", o->service_version);
	add_tag(&b, "host", host);
	add_tag(&b, "language", "native");
	add_tag(&b, "profiler_version", KILN_VERSION);
	snprintf(num, sizeof(num), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	add_tag(&b, "number_of_cpu_cores", num);
#if defined(__x86_64__)
	add_tag(&b, "cpu_arch", "amd64");
#elif defined(__aarch64__)
	add_tag(&b, "cpu_arch", "arm64");
#endif
	add_tag(&b, "include_kernel", p->include_kernel ? "true" : "false");
	if (o->tags) {
		/* DD_TAGS may separate with commas or spaces; entries without ':' are dropped. */
		char *copy = strdup(o->tags);
		char *save = NULL;
		for (char *t = copy ? strtok_r(copy, ", ", &save) : NULL; t;
		     t = strtok_r(NULL, ", ", &save)) {
			char *colon = strchr(t, ':');
			if (!colon || colon == t || !colon[1] || strlen(t) > 200) {
				LOG_WARN(
				    "profiler: ignoring malformed tag '%s' (expected key:value)",
				    t);
				continue;
			}
			if (b.len)
				buf_putc(&b, ',');
			buf_puts(&b, t);
		}
		free(copy);
	}
	snprintf(p->tags, sizeof(p->tags), "%s", b.data ? b.data : "");
	buf_release(&b);
}

/* The threads of pid from /proc/PID/task, into a heap array (main thread first). */
static int scan_threads(int pid, int **out, size_t *n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	VEC(int) tids = VEC_INIT;
	int err = vec_push(&tids, pid);
	struct dirent *de;
	while (!err && (de = readdir(d))) {
		char *end;
		long t = strtol(de->d_name, &end, 10);
		if (end == de->d_name || *end || t <= 0 || t == pid)
			continue;
		err = vec_push(&tids, (int)t);
	}
	closedir(d);
	if (err) {
		vec_release(&tids);
		return err;
	}
	*out = tids.items;
	*n = tids.len;
	return 0;
}

static struct perf_events *open_events(struct profiler *p, struct buf *why)
{
	const struct run_options *o = p->opts;
	int *tids = NULL;
	size_t ntids = 0;
	if (p->attach) {
		int err = scan_threads(p->target, &tids, &ntids);
		if (err) {
			buf_printf(why, "profiler: cannot list the threads of process %d: %s",
				   p->target, strerror(-err));
			errno = -err;
			return NULL;
		}
	}
	struct perf_event_config cfg = {
	    .pid = p->global ? -1 : p->target,
	    .tids = tids,
	    .ntids = ntids,
	    .start_enabled = p->attach || p->global,
	    .use_freq = o->cpu_enabled && o->cpu.use_freq,
	    .freq_or_period = o->cpu_enabled ? o->cpu.value : NO_CPU_PERIOD,
	    .stack_size = o->stack_sample_size,
	    .regs_mask = UNWIND_PERF_REGS_MASK,
	    .include_kernel = o->include_kernel != TRI_OFF,
	    .kernel_callchain = o->include_kernel == TRI_ON,
	    .enable_on_exec = !p->attach && !p->global,
	    .ring_pages = 128,
	};
	struct perf_open_failure fail;
	struct perf_events *ev = perf_events_open(&cfg, &fail);
	if (!ev && o->include_kernel == TRI_AUTO && fail.stage == PERF_STAGE_OPEN &&
	    (fail.err == EACCES || fail.err == EPERM)) {
		LOG_INFO("perf: kernel time not permitted (perf_event_paranoid %d); sampling user "
			 "time only",
			 perf_paranoid_level());
		cfg.include_kernel = false;
		ev = perf_events_open(&cfg, &fail);
	}
	if (!ev && p->global && fail.stage == PERF_STAGE_OPEN &&
	    (fail.err == EACCES || fail.err == EPERM)) {
		buf_printf(why,
			   "perf: --global needs root, CAP_PERFMON (or CAP_SYS_ADMIN), or "
			   "perf_event_paranoid <= 0 (it is %d here): perf_event_open on every CPU "
			   "was refused: %s",
			   perf_paranoid_level(), strerror(fail.err));
		errno = fail.err;
		return NULL;
	}
	if (!ev) {
		diag_perf_failure(&fail, cfg.include_kernel, why);
		free(tids);
		errno = fail.err ? fail.err : EIO;
		return NULL;
	}
	for (size_t i = 0; i < ntids; i++)
		hmap_put(&p->covered, (uint64_t)tids[i], 1);
	free(tids);
	p->include_kernel = cfg.include_kernel;
	if (perf_events_ring_pages(ev) < cfg.ring_pages) {
		struct buf w = BUF_INIT;
		diag_ring_shrunk(cfg.ring_pages, perf_events_ring_pages(ev), &w);
		LOG_WARN("%s", w.data);
		buf_release(&w);
	}
	return ev;
}

/* The sample types of the profile, as ddprof names them, in AGG_* order. */
static int declare_types(struct profiler *p)
{
	struct pprof_builder *b = p->builder;
	int64_t alloc_period =
	    p->opts->alloc.period < 0 ? -p->opts->alloc.period : p->opts->alloc.period;
	int err = 0;
	if (p->values & AGG_CPU)
		err |= pprof_builder_sample_type(b, "cpu-samples", "count") |
		       pprof_builder_sample_type(b, "cpu-time", "nanoseconds");
	if (p->values & AGG_ALLOC)
		err |= pprof_builder_sample_type(b, "alloc-samples", "count") |
		       pprof_builder_sample_type(b, "alloc-space", "bytes");
	if (p->values & AGG_INUSE)
		err |= pprof_builder_sample_type(b, "inuse-objects", "count") |
		       pprof_builder_sample_type(b, "inuse-space", "bytes");
	if (p->values & AGG_CPU) {
		err |= pprof_builder_period(b, "cpu-time", "nanoseconds",
					    (int64_t)p->nominal_period_ns);
		err |= pprof_builder_default_sample_type(b, "cpu-time");
	} else if (p->values & AGG_ALLOC) {
		err |= pprof_builder_period(b, "alloc-space", "bytes", alloc_period);
		err |= pprof_builder_default_sample_type(b, "alloc-space");
	} else {
		err |= pprof_builder_period(b, "inuse-space", "bytes", alloc_period);
		err |= pprof_builder_default_sample_type(b, "inuse-space");
	}
	return err < 0 ? -EINVAL : 0;
}

int profiler_set_alloc_ring(struct profiler *p, struct alloc_ring *ring)
{
	if (!ring)
		return -EINVAL;
	if (!p->opts->alloc.enabled || p->alloc) {
		alloc_ring_free(ring);
		return -EINVAL;
	}
	p->alloc = alloc_source_new(ring);
	if (!p->alloc) {
		alloc_ring_free(ring);
		return -ENOMEM;
	}
	if (p->opts->alloc.live) {
		p->live = live_heap_new(LIVE_MAX_ENTRIES, LIVE_MAX_TOKENS);
		p->tokens = calloc(UNWIND_CAP + 1, sizeof(*p->tokens));
		if (!p->live || !p->tokens)
			return -ENOMEM;
	}
	p->alloc_lost_seen = 0;
	return 0;
}

struct profiler *profiler_new(const struct run_options *opts, int target, struct buf *why)
{
	int err = ENOMEM;
	struct profiler *p = calloc(1, sizeof(*p));
	if (!p) {
		buf_puts(why, "profiler: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	p->opts = opts;
	p->target = target;
	p->pidfd = -1;
	p->attach = opts->pid > 0;
	p->global = opts->global;
	p->self = (int)getpid();
	hmap_init(&p->slot_of, 0);
	hmap_init(&p->covered, 0);
	hmap_init(&p->seen_once, 0);
	if (p->global) {
		snprintf(p->target_name, sizeof(p->target_name), "kiln-global");
	} else if (opts->command) {
		snprintf(p->target_name, sizeof(p->target_name), "%s", opts->command[0]);
	} else {
		char path[64];
		struct buf b = BUF_INIT;
		snprintf(path, sizeof(path), "/proc/%d/comm", target);
		if (buf_read_file(&b, path, 256) == 0 && b.len) {
			size_t n = strcspn(b.data, "\n");
			snprintf(p->target_name, sizeof(p->target_name), "%.*s", (int)n, b.data);
		}
		buf_release(&b);
		if (!p->target_name[0])
			snprintf(p->target_name, sizeof(p->target_name), "pid-%d", target);
	}
	p->cpu_on = opts->cpu_enabled;
	p->values = (p->cpu_on ? AGG_CPU : 0) |
		    (opts->alloc.enabled && opts->alloc.sum ? AGG_ALLOC : 0) |
		    (opts->alloc.enabled && opts->alloc.live ? AGG_INUSE : 0);
	p->nominal_period_ns = opts->cpu.use_freq
				   ? 1000000000ULL / (opts->cpu.value ? opts->cpu.value : 99)
				   : opts->cpu.value;
	p->ev = open_events(p, why);
	if (!p->ev) {
		err = errno;
		goto fail;
	}
	p->consume_to = calloc(perf_events_count(p->ev), sizeof(*p->consume_to));
	p->uframes = calloc(UNWIND_CAP, sizeof(*p->uframes));
	p->ids_cap = UNWIND_CAP + 512;
	p->ids = calloc(p->ids_cap, sizeof(*p->ids));
	if (!p->consume_to || !p->uframes || !p->ids) {
		buf_puts(why, "profiler: out of memory");
		goto fail;
	}
	p->pt = proc_table_new();
	if (!p->pt) {
		buf_puts(why, "profiler: cannot create the process table");
		goto fail;
	}
	if (p->attach) {
		/* After the events are open: a mapping made from now on arrives as MMAP2. */
		int lerr = proc_table_load(p->pt, target);
		if (lerr)
			LOG_WARN("profiler: cannot read the mappings of process %d: %s", target,
				 strerror(-lerr));
	}
	p->unw = unwinder_new(p->pt);
	if (!p->unw) {
		buf_puts(why, "profiler: cannot create the unwinder");
		goto fail;
	}
	struct symbolize_opts so = {.inlined_functions = opts->inlined_functions};
	p->sym = symbolizer_new(&so);
	if (!p->sym) {
		buf_puts(why, "profiler: cannot create the symbolizer");
		goto fail;
	}
	p->agg = p->main_agg = aggregator_new();
	p->builder = pprof_builder_new();
	if (!p->agg || !p->builder) {
		buf_puts(why, "profiler: out of memory");
		goto fail;
	}
	if (declare_types(p) < 0) {
		buf_puts(why, "profiler: cannot set up the profile builder");
		goto fail;
	}

	build_tags(p);
	struct buf url = BUF_INIT;
	bool upload = !opts->output_dir || opts->agent_explicit;
	if (upload)
		options_agent_url(opts, &url);
	struct export_config ec = {
	    .url = upload ? url.data : NULL,
	    .api_key = opts->api_key,
	    .output_dir = opts->output_dir,
	    .tags = p->tags,
	    .family = "native",
	    .origin = "kiln",
	    .runtime_id = opts->runtime_id,
	};
	p->exp = exporter_new(&ec);
	err = errno;
	if (!p->exp)
		buf_printf(why,
			   "export: cannot set up the exporter (url '%s', output dir '%s'): %s",
			   upload ? url.data : "", opts->output_dir ? opts->output_dir : "",
			   strerror(err));
	buf_release(&url);
	if (!p->exp)
		goto fail;
	return p;

fail:
	profiler_free(p);
	errno = err;
	return NULL;
}

void profiler_free(struct profiler *p)
{
	if (!p)
		return;
	exporter_free(p->exp, 5000); /* the program has exited: do not linger long */
	alloc_source_free(p->alloc);
	live_heap_free(p->live);
	free(p->tokens);
	pprof_builder_free(p->builder);
	aggregator_free(p->main_agg);
	for (size_t i = 0; i < p->slots.len; i++)
		aggregator_free(p->slots.items[i].agg);
	vec_release(&p->slots);
	hmap_release(&p->slot_of);
	symbolizer_free(p->sym);
	unwinder_free(p->unw);
	proc_table_free(p->pt);
	perf_events_close(p->ev);
	if (p->pidfd >= 0)
		close(p->pidfd);
	vec_release(&p->pending);
	hmap_release(&p->covered);
	hmap_release(&p->seen_once);
	free(p->consume_to);
	free(p->uframes);
	free(p->ids);
	free(p);
}

void profiler_get_stats(const struct profiler *p, struct profiler_stats *out)
{
	*out = p->stats;
}

/* ---- records ----------------------------------------------------------------------------- */

static const char *status_frame(enum unwind_status s)
{
	switch (s) {
	case UNWIND_TRUNCATED:
		return "[truncated]";
	case UNWIND_UNKNOWN_MAPPING:
		return "[unknown mapping]";
	case UNWIND_FAILURE:
		return "[unwind failure]";
	default:
		return NULL;
	}
}

static uint32_t root_frame(struct profiler *p, int pid, const char **pname)
{
	const char *name = proc_table_comm(p->pt, pid);
	char fallback[32];
	if (!name || !*name) {
		snprintf(fallback, sizeof(fallback), "[pid %d]", pid);
		*pname = "";
		return aggregator_frame_synthetic(p->agg, fallback);
	}
	*pname = name;
	return aggregator_frame_synthetic(p->agg, name);
}

/* Global mode: the aggregator of pid's profile (a new slot, or the overflow when full). */
static struct aggregator *global_agg(struct profiler *p, int pid)
{
	uint64_t *ix = hmap_get(&p->slot_of, (uint64_t)pid);
	if (ix) {
		struct proc_slot *sl = &p->slots.items[*ix];
		sl->active = true;
		return sl->agg;
	}
	if (p->slots.len >= p->opts->max_pids)
		return p->main_agg;
	struct proc_slot sl = {.pid = pid, .active = true};
	sl.agg = aggregator_new();
	if (!sl.agg)
		return p->main_agg;
	char path[64];
	struct buf b = BUF_INIT;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (buf_read_file(&b, path, 256) == 0 && b.len)
		snprintf(sl.comm, sizeof(sl.comm), "%.*s", (int)strcspn(b.data, "\n"), b.data);
	else
		snprintf(sl.comm, sizeof(sl.comm), "%s", proc_table_comm(p->pt, pid));
	buf_release(&b);
	container_id_of(pid, sl.container, sizeof(sl.container));
	if (vec_push(&p->slots, sl) < 0 ||
	    hmap_put(&p->slot_of, (uint64_t)pid, p->slots.len - 1) < 0) {
		if (p->slots.len && p->slots.items[p->slots.len - 1].agg == sl.agg)
			p->slots.len--;
		aggregator_free(sl.agg);
		return p->main_agg;
	}
	return sl.agg;
}

/* Appends the marker frame for a walk that stopped early, or folds the root side into
 * "[N frames omitted]" beyond --max-frames, as for CPU samples. */
static size_t end_stack(struct profiler *p, size_t n, enum unwind_status status)
{
	size_t max = p->opts->max_frames;
	if (n > max || status == UNWIND_MAX_FRAMES) {
		char name[64];
		size_t keep = n > max ? max - 1 : n;
		snprintf(name, sizeof(name), "[%zu%s frames omitted]", n - keep,
			 status == UNWIND_MAX_FRAMES ? "+" : "");
		n = keep;
		p->ids[n++] = aggregator_frame_synthetic(p->agg, name);
	} else if (status_frame(status)) {
		p->ids[n++] = aggregator_frame_synthetic(p->agg, status_frame(status));
	}
	return n;
}

/* Interns the unwound user frames uframes[from, nu) into p->ids after the n already there. */
static size_t add_user_frames(struct profiler *p, int pid, size_t from, size_t nu, size_t n)
{
	for (size_t i = from; i < nu; i++) {
		const struct unwind_frame *f = &p->uframes[i];
		p->ids[n++] = f->elf
				  ? aggregator_frame_elf(p->agg, f->elf, f->elf_addr, f->pc, f->map)
				  : aggregator_frame_pc(p->agg, pid, f->pc, f->map);
	}
	return n;
}

static void add_sample(struct profiler *p, const struct perf_record *r)
{
	const struct perf_sample *s = &r->sample;
	size_t n = 0;
	int pid = (int)r->id.pid, tid = (int)r->id.tid;
	enum unwind_status status = UNWIND_OK;

	if (!p->cpu_on)
		return; /* alloc only: the task clock is there for the mapping records */
	if (p->global) {
		if (pid == p->self || pid <= 0)
			return; /* kiln does not profile itself; pid 0 is the idle task */
		p->agg = global_agg(p, pid);
	}
	/* Kernel frames first (leaf side), skipping the PERF_CONTEXT_* markers. */
	for (uint64_t i = 0; i < s->callchain_nr && n < UNWIND_CAP; i++) {
		uint64_t ip = s->callchain[i];
		if (ip >= (uint64_t)PERF_CONTEXT_MAX)
			continue;
		p->ids[n++] = aggregator_frame_kernel(p->agg, ip);
	}
	size_t nu = 0;
	if (s->regs_abi && s->stack) {
		struct unwind_regs regs;
		memset(&regs, 0, sizeof(regs));
		for (int k = 0; k < UNWIND_NREGS; k++)
			regs.r[k] = s->regs[k];
		nu = unwinder_unwind(p->unw, pid, &regs, s->stack, s->stack_size, p->uframes,
				     UNWIND_CAP - n, &status);
	} else if (s->regs_abi) {
		status = UNWIND_TRUNCATED; /* no stack copy (e.g. stack_size 0) */
	} else if (!n) {
		status = UNWIND_FAILURE; /* no user registers: a kernel-only context */
	}
	if (status < 8)
		p->stats.unwind_status[status]++;
	n = add_user_frames(p, pid, 0, nu, n);
	p->stats.frames_total += n;
	n = end_stack(p, n, status);
	struct agg_sample_info info = {
	    .pid = pid,
	    .tid = tid,
	    .thread_name = proc_table_thread_name(p->pt, pid, tid),
	    .timestamp_ns = p->opts->timeline ? (int64_t)r->id.time + p->mono_to_real : 0,
	    .count = 1,
	    .nanos = (int64_t)(s->period ? s->period : p->nominal_period_ns),
	};
	p->ids[n++] = root_frame(p, pid, &info.process_name);
	if (aggregator_add(p->agg, p->ids, n, &info) < 0)
		LOG_WARN("profiler: out of memory: sample dropped");
	p->stats.samples++;
}

/* Adds info's values (pid, tid and process filled in here) under a "[lost]" frame of the
 * target process: what the rings dropped. */
static void add_lost_sample(struct profiler *p, struct agg_sample_info *info)
{
	p->agg = p->main_agg;
	uint32_t ids[2];
	info->pid = info->tid = p->target;
	ids[0] = aggregator_frame_synthetic(p->agg, "[lost]");
	ids[1] = root_frame(p, p->target, &info->process_name);
	aggregator_add(p->agg, ids, 2, info);
}

static void add_lost(struct profiler *p, uint64_t lost, uint64_t time)
{
	if (!lost)
		return;
	p->stats.lost += lost;
	struct agg_sample_info info = {
	    .timestamp_ns = p->opts->timeline && time ? (int64_t)time + p->mono_to_real : 0,
	    .count = (int64_t)lost,
	    .nanos = (int64_t)(lost * p->nominal_period_ns),
	};
	add_lost_sample(p, &info);
}

/* ---- allocation records ------------------------------------------------------------------ */

static void emit_live(struct profiler *p, int only_pid);

/* A frame of the hook itself (the leaf frames of every allocation sample). */
static bool preload_frame(const struct unwind_frame *f)
{
	const char *path = f->elf ? proc_elf_path(f->elf) : f->map ? f->map->path : NULL;
	if (!path)
		return false;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return !strncmp(base, "libkiln_preload.so", 18);
}

static int64_t clamp_value(uint64_t v)
{
	return v > ((uint64_t)1 << 50) ? (int64_t)1 << 50 : (int64_t)v;
}

static void add_alloc(struct profiler *p, const struct alloc_record *rec)
{
	const struct alloc_ring_alloc *a = rec->alloc;
	int pid = (int)rec->pid, tid = (int)rec->tid;
	if (pid <= 0 || tid <= 0 || !a->count) {
		p->alloc_bad++;
		return;
	}
	struct unwind_regs regs;
	for (int k = 0; k < UNWIND_NREGS; k++)
		regs.r[k] = a->regs[k];
	enum unwind_status status = UNWIND_TRUNCATED; /* no stack copied (alternate stack) */
	size_t nu = 0;
	if (a->stack_len)
		nu = unwinder_unwind(p->unw, pid, &regs, rec->stack, a->stack_len, p->uframes,
				     UNWIND_CAP - 1, &status);
	if (status < 8)
		p->stats.unwind_status[status]++;
	size_t skip = 0;
	while (skip < nu && preload_frame(&p->uframes[skip]))
		skip++;
	int64_t weight = clamp_value(a->weight), count = clamp_value(a->count);
	p->alloc_samples++;
	p->agg = p->main_agg;
	if (p->values & AGG_ALLOC) {
		size_t n = end_stack(p, add_user_frames(p, pid, skip, nu, 0), status);
		struct agg_sample_info info = {
		    .pid = pid,
		    .tid = tid,
		    .thread_name = proc_table_thread_name(p->pt, pid, tid),
		    .timestamp_ns = p->opts->timeline ? (int64_t)rec->time + p->mono_to_real : 0,
		    .alloc_count = count,
		    .alloc_bytes = weight,
		};
		p->ids[n++] = root_frame(p, pid, &info.process_name);
		if (aggregator_add(p->agg, p->ids, n, &info) < 0)
			LOG_WARN("profiler: out of memory: allocation sample dropped");
	}
	if (p->live) {
		size_t n = 0;
		for (size_t i = skip; i < nu && n < p->opts->max_frames; i++)
			p->tokens[n++] = p->uframes[i].pc;
		if (status_frame(status))
			p->tokens[n++] = LIVE_TOKEN_STATUS + (uint64_t)status;
		live_heap_add(p->live, pid, a->addr, p->tokens, n, weight, count);
	}
}

/* Counts the time since t0 in a histogram of 100 ns buckets (the last one: 102.4 µs and more). */
static void hist_add_since(uint64_t hist[1025], uint64_t t0)
{
	uint64_t b = (now_ns(CLOCK_MONOTONIC) - t0) / 100;
	hist[b < 1024 ? b : 1024]++;
}

static void process_alloc(struct profiler *p, size_t index)
{
	struct alloc_record rec;
	if (!alloc_source_get(p->alloc, index, &rec))
		return;
	switch (rec.type) {
	case ALLOC_RING_ALLOC: {
		uint64_t t0 = now_ns(CLOCK_MONOTONIC);
		add_alloc(p, &rec);
		hist_add_since(p->alloc_hist, t0);
		break;
	}
	case ALLOC_RING_FREE:
		p->alloc_frees++;
		if (p->live)
			live_heap_remove(p->live, (int)rec.pid, rec.addr);
		break;
	case ALLOC_RING_START:
		/* A process attached (start, exec, fork child): its earlier entries are stale. */
		p->alloc_starts++;
		if (p->live)
			live_heap_forget_pid(p->live, (int)rec.pid);
		break;
	default:
		break;
	}
}

/* Allocation samples the hooks dropped (ring full): a [lost] frame weighted as ddprof does,
 * lost samples x the mean period in bytes. */
static void add_alloc_lost(struct profiler *p)
{
	struct alloc_source_counters c;
	alloc_source_counters(p->alloc, &c);
	if (c.lost <= p->alloc_lost_seen)
		return;
	uint64_t lost = c.lost - p->alloc_lost_seen;
	p->alloc_lost_seen = c.lost;
	if (!(p->values & AGG_ALLOC))
		return;
	struct agg_sample_info info = {
	    .alloc_count = clamp_value(lost),
	    .alloc_bytes = clamp_value(lost * (uint64_t)alloc_source_period(p->alloc)),
	};
	add_lost_sample(p, &info);
}

static void process_record(struct profiler *p, const uint8_t *data, size_t len)
{
	struct perf_record r;
	p->stats.records++;
	if (perf_record_parse(data, len, perf_events_layout(p->ev), &r) < 0) {
		if (!p->stats.bad_records++)
			LOG_WARN("perf: malformed record (type %u, %zu bytes) skipped",
				 len >= 8 ? (unsigned)data[0] | (unsigned)data[1] << 8 : 0, len);
		return;
	}
	switch (r.type) {
	case PERF_REC_SAMPLE: {
		uint64_t t0 = now_ns(CLOCK_MONOTONIC);
		add_sample(p, &r);
		hist_add_since(p->sample_hist, t0);
		break;
	}
	case PERF_REC_MMAP:
	case PERF_REC_MMAP2:
		proc_table_on_mmap(p->pt, (int)r.mmap.pid, r.mmap.addr, r.mmap.len, r.mmap.pgoff,
				   r.type == PERF_REC_MMAP2 ? r.mmap.prot : (PROT_READ | PROT_EXEC),
				   r.mmap.filename, r.mmap.ino, r.mmap.maj, r.mmap.min);
		break;
	case PERF_REC_COMM:
		proc_table_on_comm(p->pt, (int)r.comm.pid, (int)r.comm.tid, r.comm.comm,
				   r.comm.exec);
		break;
	case PERF_REC_FORK:
		if (p->attach && (int)r.task.pid == p->target)
			hmap_put(&p->covered, r.task.tid, 1); /* inherited the event */
		proc_table_on_fork(p->pt, (int)r.task.pid, (int)r.task.ppid, (int)r.task.tid,
				   (int)r.task.ptid);
		break;
	case PERF_REC_EXIT:
		if (p->attach && (int)r.task.pid == p->target)
			hmap_del(&p->covered, r.task.tid, NULL);
		if (p->live && r.task.pid == r.task.tid && !p->global) {
			emit_live(p, (int)r.task.pid);
			live_heap_forget_pid(p->live, (int)r.task.pid);
		}
		proc_table_on_exit(p->pt, (int)r.task.pid, (int)r.task.tid);
		break;
	case PERF_REC_LOST:
	case PERF_REC_LOST_SAMPLES:
		add_lost(p, r.lost.lost, r.id.time);
		break;
	default:
		break;
	}
}

static int cmp_pending(const void *x, const void *y)
{
	const struct pending *a = x, *b = y;
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	if (a->ring != b->ring)
		return a->ring < b->ring ? -1 : 1;
	return a->end < b->end ? -1 : a->end > b->end;
}

/* Processes every record older than watermark (CLOCK_MONOTONIC ns), in time order. */
static void drain(struct profiler *p, uint64_t watermark)
{
	size_t nrings = perf_events_count(p->ev);
	const struct perf_record_layout *layout = perf_events_layout(p->ev);

	vec_clear(&p->pending);
	for (size_t i = 0; i < nrings; i++) {
		struct perf_ring *r = perf_events_ring(p->ev, i);
		uint64_t head = perf_ring_head(r);
		uint64_t pos = perf_ring_tail(r);
		p->consume_to[i] = pos;
		for (;;) {
			uint64_t before = pos;
			size_t len = 0;
			const uint8_t *rec = perf_ring_next(r, &pos, head, &len);
			if (!rec) {
				if (pos != before) { /* garbage: skip to head */
					p->stats.bad_records++;
					p->consume_to[i] = head;
				}
				break;
			}
			uint64_t t = perf_record_time(rec, len, layout);
			if (t > watermark) {
				pos = before;
				break;
			}
			struct pending pe = {t, rec, len, (uint32_t)i, pos};
			if (vec_push(&p->pending, pe) < 0) {
				pos = before;
				break;
			}
		}
	}
	/* Allocation records (copied out of their ring) join the merge by time. */
	if (p->alloc) {
		alloc_source_fill(p->alloc, now_ns(CLOCK_MONOTONIC));
		struct alloc_record ar;
		for (size_t i = 0; alloc_source_get(p->alloc, i, &ar); i++) {
			if (ar.time > watermark)
				continue;
			struct pending pe = {ar.time, NULL, 0, ALLOC_PENDING, i};
			if (vec_push(&p->pending, pe) < 0)
				break;
		}
	}
	/* A record that wrapped lives in its ring's scratch buffer, which the next wrapping
	 * record of the same ring would overwrite; one pass over a ring sees at most one. */
	if (p->pending.len > 1)
		qsort(p->pending.items, p->pending.len, sizeof(struct pending), cmp_pending);
	for (size_t k = 0; k < p->pending.len; k++) {
		const struct pending *pe = &p->pending.items[k];
		if (pe->ring == ALLOC_PENDING) {
			process_alloc(p, (size_t)pe->end);
			continue;
		}
		process_record(p, pe->rec, pe->len);
		if (pe->end > p->consume_to[pe->ring])
			p->consume_to[pe->ring] = pe->end;
	}
	for (size_t i = 0; i < nrings; i++)
		perf_ring_consume(perf_events_ring(p->ev, i), p->consume_to[i]);
	if (p->alloc) {
		alloc_source_consume(p->alloc, watermark);
		add_alloc_lost(p);
	}
}

/* ---- export ------------------------------------------------------------------------------ */

static void sanitize_name(const char *in, char *out, size_t outsz)
{
	size_t j = 0;
	for (size_t i = 0; in[i] && j + 1 < outsz; i++) {
		char c = in[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
		out[j++] = ok ? c : '_';
	}
	out[j] = '\0';
	if (!j)
		snprintf(out, outsz, "kiln");
}

/* Tag values are comma-separated: keep commas out of a process name. */
static void tag_value(const char *in, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", in);
	for (char *c = out; *c; c++)
		if (*c == ',' || *c == ' ')
			*c = '_';
}

/* The allocation ring's counters, as a comment of the profile (its diagnostics). */
static void alloc_comment(struct profiler *p)
{
	struct alloc_source_counters c;
	struct live_stats ls = {0};
	char text[512];
	alloc_source_counters(p->alloc, &c);
	if (p->live)
		live_heap_stats(p->live, &ls);
	snprintf(text, sizeof(text),
		 "kiln alloc: samples=%" PRIu64 " lost=%" PRIu64 " lost_frees=%" PRIu64
		 " untracked=%" PRIu64 " period=%" PRId64 " read=%" PRIu64 " bad=%" PRIu64
		 " skipped_bytes=%" PRIu64 "%s live_entries=%" PRIu64 " live_dropped=%" PRIu64
		 " live_unknown_frees=%" PRIu64,
		 c.samples, c.lost, c.lost_frees, c.untracked, alloc_source_period(p->alloc),
		 c.read, c.bad + p->alloc_bad, c.skipped, c.broken ? " broken" : "", ls.entries,
		 ls.dropped, ls.unknown_frees);
	pprof_builder_comment(p->builder, text);
}

static bool pid_alive(int pid, void *ctx)
{
	(void)ctx;
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d", pid);
	return access(path, F_OK) == 0;
}

/*
 * The whole live heap, as inuse-objects/inuse-space samples of the current aggregator. Frames
 * are resolved against the processes' mappings now (ELF objects do not outlive a period).
 * only_pid: that process only (0: all). A process that exits is emitted at its EXIT record
 * (while its mappings are still known) and forgotten: its last profile shows what it held
 * when it ended.
 */
static void emit_live(struct profiler *p, int only_pid)
{
	int pid;
	const uint64_t *tok;
	size_t n;
	int64_t bytes, count;
	p->agg = p->main_agg;
	for (size_t it = 0; live_heap_next(p->live, &it, &pid, &tok, &n, &bytes, &count);) {
		if ((!bytes && !count) || (only_pid && pid != only_pid))
			continue;
		size_t k = 0;
		for (size_t i = 0; i < n && k < UNWIND_CAP; i++) {
			uint64_t t = tok[i];
			if (t >= LIVE_TOKEN_STATUS) {
				const char *name =
				    status_frame((enum unwind_status)(t - LIVE_TOKEN_STATUS));
				p->ids[k++] =
				    aggregator_frame_synthetic(p->agg, name ? name : "[?]");
				continue;
			}
			const struct proc_map *map = proc_table_find(p->pt, pid, t);
			p->ids[k++] = map && map->elf ? aggregator_frame_elf(p->agg, map->elf,
									     t - map->bias, t, map)
						      : aggregator_frame_pc(p->agg, pid, t, map);
		}
		struct agg_sample_info info = {
		    .pid = pid,
		    .tid = pid,
		    .inuse_count = count,
		    .inuse_bytes = bytes,
		};
		p->ids[k++] = root_frame(p, pid, &info.process_name);
		if (aggregator_add(p->agg, p->ids, k, &info) < 0) {
			LOG_WARN("profiler: out of memory: live heap not reported this period");
			break;
		}
	}
}

/* Builds, encodes and submits one profile of agg (pid: its process_id tag). */
static void export_one(struct profiler *p, struct aggregator *agg, int pid, const char *name,
		       const char *container, int64_t end_real)
{
	struct pprof_profile prof;
	struct buf enc = BUF_INIT;
	int err;

	p->agg = agg;
	pprof_builder_time(p->builder, p->period_start_real, end_real - p->period_start_real);
	if (p->alloc)
		alloc_comment(p);
	struct aggregate_build_opts bo = {
	    .timeline = p->opts->timeline, .symbolizer = p->sym, .values = p->values};
	err = aggregator_build(p->agg, &bo, p->builder);
	if (err) {
		LOG_ERROR("profiler: cannot build the profile: %s", strerror(-err));
	}
	err = pprof_builder_finish(p->builder, &prof);
	if (err) {
		LOG_ERROR("profiler: cannot finish the profile: %s", strerror(-err));
		return;
	}
	err = pprof_encode(&prof, &enc);
	size_t nsamples = prof.samples.len;
	pprof_profile_release(&prof);
	if (err) {
		LOG_ERROR("profiler: cannot encode the profile: %s", strerror(-err));
		goto release_enc;
	}
	char extra[384], prefix[96], comm[64], tname[64];
	p->seq++;
	const char *slash = p->global ? NULL : strrchr(name, '/'); /* a comm is no path */
	tag_value(slash ? slash + 1 : name, tname, sizeof(tname));
	if (p->global)
		snprintf(extra, sizeof(extra), "process_id:%d,process_name:%s,%s%s%sprofile_seq:%u",
			 pid, tname, container && *container ? "container_id:" : "",
			 container && *container ? container : "",
			 container && *container ? "," : "", p->seq);
	else
		snprintf(extra, sizeof(extra), "process_id:%d,profile_seq:%u", pid, p->seq);
	sanitize_name(slash ? slash + 1 : name, comm, sizeof(comm));
	snprintf(prefix, sizeof(prefix), "%s-%d", comm, pid);
	struct export_profile ep = {
	    .start_ns = p->period_start_real,
	    .end_ns = end_real,
	    .pprof = (const uint8_t *)enc.data,
	    .pprof_len = enc.len,
	    .extra_tags = extra,
	    .file_prefix = prefix,
	};
	err = exporter_submit(p->exp, &ep);
	if (err)
		LOG_WARN("export: profile %u dropped: %s", p->seq, strerror(-err));
	p->stats.profiles++;
	LOG_INFO("profiler: profile %u: %" PRId64 " samples (%zu distinct), %" PRIu64
		 " lost so far, %zu bytes",
		 p->seq, aggregator_total_count(p->agg), nsamples, p->stats.lost, enc.len);
release_enc:
	buf_release(&enc);
}

static bool process_alive(int pid)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d", pid);
	return access(path, F_OK) == 0;
}

/* Global mode: one profile per sampled process, then forget the processes that were idle
 * or exited, so thousands of short-lived processes cost nothing after their period. */
static void export_global(struct profiler *p, int64_t end_real)
{
	size_t keep = 0;
	for (size_t i = 0; i < p->slots.len; i++) {
		struct proc_slot *sl = &p->slots.items[i];
		/* The name now (the process may have exec'd since its first sample). */
		const char *name = proc_table_comm(p->pt, sl->pid);
		if (name && *name)
			snprintf(sl->comm, sizeof(sl->comm), "%s", name);
		if (aggregator_total_count(sl->agg))
			export_one(p, sl->agg, sl->pid, sl->comm[0] ? sl->comm : "[exited]",
				   sl->container, end_real);
		aggregator_reset(sl->agg);
		if (!sl->active || !process_alive(sl->pid)) {
			aggregator_free(sl->agg);
			continue;
		}
		sl->active = false;
		p->slots.items[keep++] = *sl;
	}
	p->slots.len = keep;
	hmap_clear(&p->slot_of);
	for (size_t i = 0; i < keep; i++)
		hmap_put(&p->slot_of, (uint64_t)p->slots.items[i].pid, i);
	if (aggregator_total_count(p->main_agg))
		export_one(p, p->main_agg, 0, "[maximum pids]", NULL, end_real);
}

static void export_period(struct profiler *p)
{
	uint64_t end_mono = now_ns(CLOCK_MONOTONIC);
	int64_t end_real = (int64_t)end_mono + p->mono_to_real;

	if (p->live)
		emit_live(p, 0);
	if (p->global)
		export_global(p, end_real);
	else if (aggregator_total_count(p->main_agg))
		export_one(p, p->main_agg, p->target, p->target_name, NULL, end_real);
	if (p->live) {
		live_heap_prune(p->live, pid_alive, NULL);
		live_heap_compact(p->live);
	}
	p->agg = p->main_agg;
	aggregator_reset(p->main_agg);
	proc_table_gc(p->pt);
	symbolizer_gc(p->sym);
	refresh_clock_offset(p);
	p->period_start_mono = now_ns(CLOCK_MONOTONIC);
	p->period_start_real = (int64_t)p->period_start_mono + p->mono_to_real;
}

/* ---- main loop --------------------------------------------------------------------------- */

/*
 * Attach mode: a thread created between the first scan of /proc/PID/task and the opening of
 * its creator's event has no event (it did not inherit one). Threads created later did, and
 * their FORK records mark them covered. A thread is given events of its own when two scans
 * in a row see it uncovered (its FORK record, written at creation, would have been drained
 * in between), so no thread is counted twice.
 */
static void rescan_threads(struct profiler *p)
{
	int *tids = NULL;
	size_t n = 0;
	if (scan_threads(p->target, &tids, &n) < 0)
		return;
	struct hmap now;
	hmap_init(&now, 0);
	for (size_t i = 0; i < n; i++) {
		uint64_t t = (uint64_t)tids[i];
		if (hmap_get(&p->covered, t))
			continue;
		if (!hmap_get(&p->seen_once, t)) {
			hmap_put(&now, t, 1);
			continue;
		}
		int err = perf_events_add_thread(p->ev, tids[i]);
		if (err && err != -ESRCH)
			LOG_WARN("profiler: cannot follow thread %d of process %d: %s", tids[i],
				 p->target, strerror(-err));
		else if (!err)
			LOG_DEBUG("profiler: thread %d of process %d followed by rescan", tids[i],
				  p->target);
		hmap_put(&p->covered, t, 1);
	}
	hmap_release(&p->seen_once);
	p->seen_once = now;
	free(tids);
}

static bool target_gone(struct profiler *p, const struct pollfd *pidpoll)
{
	if (p->global)
		return false;
	if (p->pidfd >= 0)
		return pidpoll && (pidpoll->revents & (POLLIN | POLLHUP | POLLERR));
	/* No pidfd (kernel < 5.3): the target is gone when /proc says so (or it is a zombie). */
	char path[64];
	struct buf b = BUF_INIT;
	snprintf(path, sizeof(path), "/proc/%d/stat", p->target);
	bool gone = true;
	if (buf_read_file(&b, path, 4096) == 0) {
		const char *rp = strrchr(b.data, ')');
		gone = rp && (rp[2] == 'Z' || rp[2] == 'X');
	}
	buf_release(&b);
	return gone;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

int profiler_run(struct profiler *p)
{
	size_t nrings = perf_events_count(p->ev);
	struct pollfd *fds = calloc(nrings + 1, sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

#ifdef SYS_pidfd_open
	if (!p->global)
		p->pidfd = (int)syscall(SYS_pidfd_open, p->target, 0);
#endif
	for (size_t i = 0; i < nrings; i++) {
		fds[i].fd = perf_events_fd(p->ev, i);
		fds[i].events = POLLIN;
	}
	size_t nfds = nrings;
	if (p->pidfd >= 0) {
		fds[nfds].fd = p->pidfd;
		fds[nfds].events = POLLIN;
		nfds++;
	}
	refresh_clock_offset(p);
	p->period_start_mono = now_ns(CLOCK_MONOTONIC);
	p->period_start_real = (int64_t)p->period_start_mono + p->mono_to_real;
	p->last_scan_mono = p->period_start_mono;
	uint64_t period_ns = (uint64_t)p->opts->upload_period_ms * 1000000ULL;

	for (;;) {
		int n = poll(fds, nfds, p->alloc ? ALLOC_POLL_MS : POLL_MS);
		if (n < 0 && errno != EINTR) {
			LOG_ERROR("profiler: poll failed: %s", strerror(errno));
			break;
		}
		bool gone = target_gone(p, p->pidfd >= 0 ? &fds[nrings] : NULL);
		if (gone || stop_requested) {
			drain(p, UINT64_MAX);
			export_period(p);
			break;
		}
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		drain(p, now > WATERMARK_NS ? now - WATERMARK_NS : 0);
		if (now - p->period_start_mono >= period_ns)
			export_period(p);
		if (p->attach && now - p->last_scan_mono >= RESCAN_NS) {
			rescan_threads(p);
			p->last_scan_mono = now;
		}
	}
	free(fds);
	const struct profiler_stats *s = &p->stats;
	uint64_t complete = s->unwind_status[UNWIND_OK];
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double median_us = 0;
	for (uint64_t b = 0, seen = 0; b <= 1024; b++) {
		seen += p->sample_hist[b];
		if (seen * 2 >= s->samples && s->samples) {
			median_us = (double)b / 10.0;
			break;
		}
	}
	double cpu_us = (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
			(double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
	LOG_INFO("profiler: done: %" PRIu64 " samples, %" PRIu64 " complete stacks, %" PRIu64
		 " lost, %" PRIu64
		 " profiles; per sample median %.1f us; profiler cpu %.0f us (%.2f "
		 "us/sample), max rss %ld KiB",
		 s->samples, complete, s->lost, s->profiles, median_us, cpu_us,
		 s->samples ? cpu_us / (double)s->samples : 0.0, ru.ru_maxrss);
	if (p->alloc) {
		struct alloc_source_counters c;
		struct live_stats ls = {0};
		alloc_source_counters(p->alloc, &c);
		if (p->live)
			live_heap_stats(p->live, &ls);
		double amed = 0;
		for (uint64_t b = 0, seen = 0; b <= 1024; b++) {
			seen += p->alloc_hist[b];
			if (seen * 2 >= p->alloc_samples && p->alloc_samples) {
				amed = (double)b / 10.0;
				break;
			}
		}
		LOG_INFO("profiler: allocations: %" PRIu64 " samples processed (ring: %" PRIu64
			 " written, %" PRIu64 " lost, %" PRIu64 " frees lost, %" PRIu64
			 " untracked), %" PRIu64 " frees, %" PRIu64
			 " starts; per sample median %.1f us; live heap %" PRIu64
			 " addresses, %" PRIu64 " dropped",
			 p->alloc_samples, c.samples, c.lost, c.lost_frees, c.untracked,
			 p->alloc_frees, p->alloc_starts, amed, ls.entries, ls.dropped);
		if (c.lost)
			LOG_WARN("alloc: %" PRIu64
				 " allocation samples were lost because the ring was "
				 "full (shown as [lost]); raise the sampling period (-e \"sALLOC "
				 "period=...\") if this repeats",
				 c.lost);
	}
	return 0;
}
