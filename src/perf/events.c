/*
 * events.c: perf_event_open and the ring buffers behind kiln's CPU sampling.
 *
 * Design: one task-clock event per CPU on the target PID with inherit, so every thread and
 * child of the target writes into the ring of the CPU it runs on; the profiler then merges
 * the rings by timestamp. Records are read in place; only a record that wraps around the end
 * of a ring is copied (into a scratch buffer of the largest record size), so a 32 KiB stack
 * sample is copied by the kernel once and never by kiln.
 *
 * The ring is sized against the locked-memory allowance (perf_event_mlock_kb per CPU for an
 * unprivileged user): when mmap fails with EPERM/ENOMEM the whole set is retried at half the
 * size, down to two maximal samples.
 */
#include "perf/events.h"

#include <errno.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"

#define RECORD_MAX 65536 /* header.size is a u16 */

struct perf_ring {
	int fd;
	int cpu;
	void *base; /* metadata page followed by the data pages */
	size_t map_len;
	uint8_t *data;
	size_t data_size; /* power of two */
	uint8_t *scratch; /* RECORD_MAX bytes, for records that wrap */
};

struct perf_events {
	struct perf_ring *rings;
	size_t nrings;
	int *extra; /* owned: per-thread events redirected into a ring (attach mode) */
	size_t nextra, extra_cap;
	struct perf_event_attr attr;
	size_t pages;
	struct perf_record_layout layout;
};

static long sys_perf_event_open(struct perf_event_attr *attr, int pid, int cpu, int group,
				unsigned long flags)
{
	return syscall(SYS_perf_event_open, attr, pid, cpu, group, flags);
}

static void fill_attr(const struct perf_event_config *cfg, struct perf_event_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = PERF_TYPE_SOFTWARE;
	a->config = PERF_COUNT_SW_TASK_CLOCK;
	if (cfg->use_freq) {
		a->freq = 1;
		a->sample_freq = cfg->freq_or_period;
	} else {
		a->sample_period = cfg->freq_or_period;
	}
	a->sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_PERIOD |
			 PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
	if (cfg->kernel_callchain && cfg->include_kernel) {
		a->sample_type |= PERF_SAMPLE_CALLCHAIN;
		a->exclude_callchain_user = 1;
	}
	a->sample_regs_user = cfg->regs_mask;
	a->sample_stack_user = cfg->stack_size;
	a->disabled = !cfg->start_enabled;
	a->enable_on_exec = cfg->enable_on_exec;
	a->inherit = cfg->pid >= 0 || cfg->tids; /* per-CPU events on every process: no */
	a->exclude_kernel = !cfg->include_kernel;
	a->exclude_hv = 1;
	a->mmap = 1;
	a->mmap2 = 1;
	a->comm = 1;
	a->comm_exec = 1;
	a->task = 1;
	a->sample_id_all = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	a->watermark = 1;
}

static void unmap_rings(struct perf_events *ev)
{
	for (size_t i = 0; i < ev->nrings; i++) {
		if (ev->rings[i].base) {
			munmap(ev->rings[i].base, ev->rings[i].map_len);
			ev->rings[i].base = NULL;
		}
	}
}

static int map_rings(struct perf_events *ev, size_t pages, long page_size)
{
	for (size_t i = 0; i < ev->nrings; i++) {
		struct perf_ring *r = &ev->rings[i];
		r->map_len = (pages + 1) * (size_t)page_size;
		void *p = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
		if (p == MAP_FAILED) {
			int err = errno;
			unmap_rings(ev);
			return -err;
		}
		r->base = p;
		r->data = (uint8_t *)p + page_size;
		r->data_size = pages * (size_t)page_size;
	}
	return 0;
}

struct perf_events *perf_events_open(const struct perf_event_config *cfg,
				     struct perf_open_failure *fail)
{
	struct perf_event_attr attr;
	long page_size = sysconf(_SC_PAGESIZE);
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	int err = 0;

	memset(fail, 0, sizeof(*fail));
	if (ncpu < 1)
		ncpu = 1;
	struct perf_events *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return NULL;
	ev->rings = calloc((size_t)ncpu, sizeof(*ev->rings));
	if (!ev->rings) {
		err = -ENOMEM;
		goto free_ev;
	}
	fill_attr(cfg, &attr);
	size_t pages = cfg->ring_pages ? cfg->ring_pages : 128;
	size_t min_bytes = 2 * ((size_t)cfg->stack_size + 4096);
	size_t min_pages = 1;
	while (min_pages * (size_t)page_size < min_bytes)
		min_pages <<= 1;
	if (pages < min_pages)
		pages = min_pages;
	/* Wake poll() once about one maximal sample is waiting; the loop also polls on a timer. */
	attr.wakeup_watermark = (uint32_t)(min_bytes / 2);
	ev->layout.sample_type = attr.sample_type;
	ev->layout.regs_mask = attr.sample_regs_user;
	ev->layout.sample_id_all = attr.sample_id_all;

	ev->attr = attr;
	for (long cpu = 0; cpu < ncpu; cpu++) {
		int pid = cfg->tids ? (cfg->ntids ? cfg->tids[0] : -2) : cfg->pid;
		long fd = pid == -2
			      ? (errno = ESRCH, -1)
			      : sys_perf_event_open(&attr, pid, (int)cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			if (errno == ENODEV || (errno == EINVAL && cpu > 0))
				continue; /* offline CPU */
			fail->stage = PERF_STAGE_OPEN;
			fail->err = errno;
			fail->cpu = (int)cpu;
			err = -errno;
			goto close_fds;
		}
		struct perf_ring *r = &ev->rings[ev->nrings++];
		r->fd = (int)fd;
		r->cpu = (int)cpu;
		r->scratch = malloc(RECORD_MAX);
		if (!r->scratch) {
			err = -ENOMEM;
			goto close_fds;
		}
	}
	if (!ev->nrings) {
		fail->stage = PERF_STAGE_OPEN;
		fail->err = ENODEV;
		err = -ENODEV;
		goto close_fds;
	}

	for (;;) {
		err = map_rings(ev, pages, page_size);
		if (!err)
			break;
		if ((err != -EPERM && err != -ENOMEM) || pages <= min_pages) {
			fail->stage = PERF_STAGE_MMAP;
			fail->err = -err;
			goto close_fds;
		}
		pages >>= 1;
	}
	ev->pages = pages;
	for (size_t t = 1; cfg->tids && t < cfg->ntids; t++) {
		err = perf_events_add_thread(ev, cfg->tids[t]);
		if (err == -ESRCH)
			continue; /* the thread exited since the scan */
		if (err) {
			fail->stage = PERF_STAGE_OPEN;
			fail->err = -err;
			goto unmap;
		}
	}
	return ev;

unmap:
	unmap_rings(ev);
	for (size_t i = 0; i < ev->nextra; i++)
		close(ev->extra[i]);
	free(ev->extra);
close_fds:
	for (size_t i = 0; i < ev->nrings; i++) {
		close(ev->rings[i].fd);
		free(ev->rings[i].scratch);
	}
	free(ev->rings);
free_ev:
	free(ev);
	errno = -err;
	return NULL;
}

void perf_events_close(struct perf_events *ev)
{
	if (!ev)
		return;
	unmap_rings(ev);
	for (size_t i = 0; i < ev->nrings; i++) {
		close(ev->rings[i].fd);
		free(ev->rings[i].scratch);
	}
	for (size_t i = 0; i < ev->nextra; i++)
		close(ev->extra[i]);
	free(ev->extra);
	free(ev->rings);
	free(ev);
}

int perf_events_add_thread(struct perf_events *ev, int tid)
{
	int err = 0;
	size_t opened = 0;
	if (ev->nextra + ev->nrings > ev->extra_cap) {
		size_t cap = ev->extra_cap ? ev->extra_cap * 2 : 64;
		while (cap < ev->nextra + ev->nrings)
			cap *= 2;
		int *n = realloc(ev->extra, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		ev->extra = n;
		ev->extra_cap = cap;
	}
	for (size_t i = 0; i < ev->nrings; i++) {
		struct perf_ring *r = &ev->rings[i];
		long fd = sys_perf_event_open(&ev->attr, tid, r->cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			goto close_opened;
		}
		if (ioctl((int)fd, PERF_EVENT_IOC_SET_OUTPUT, r->fd) < 0) {
			err = -errno;
			close((int)fd);
			goto close_opened;
		}
		ev->extra[ev->nextra + opened++] = (int)fd;
	}
	ev->nextra += opened;
	return 0;

close_opened:
	for (size_t i = 0; i < opened; i++)
		close(ev->extra[ev->nextra + i]);
	return err;
}

size_t perf_events_nfds(const struct perf_events *ev)
{
	return ev->nrings + ev->nextra;
}

size_t perf_events_count(const struct perf_events *ev)
{
	return ev->nrings;
}

int perf_events_fd(const struct perf_events *ev, size_t i)
{
	return ev->rings[i].fd;
}

struct perf_ring *perf_events_ring(struct perf_events *ev, size_t i)
{
	return &ev->rings[i];
}

size_t perf_events_ring_pages(const struct perf_events *ev)
{
	return ev->pages;
}

const struct perf_record_layout *perf_events_layout(const struct perf_events *ev)
{
	return &ev->layout;
}

int perf_events_enable(struct perf_events *ev)
{
	for (size_t i = 0; i < ev->nrings; i++)
		if (ioctl(ev->rings[i].fd, PERF_EVENT_IOC_ENABLE, 0) < 0)
			return -errno;
	for (size_t i = 0; i < ev->nextra; i++)
		if (ioctl(ev->extra[i], PERF_EVENT_IOC_ENABLE, 0) < 0)
			return -errno;
	return 0;
}

uint64_t perf_ring_head(struct perf_ring *r)
{
	struct perf_event_mmap_page *mp = r->base;
	return __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
}

uint64_t perf_ring_tail(const struct perf_ring *r)
{
	const struct perf_event_mmap_page *mp = r->base;
	return __atomic_load_n(&mp->data_tail, __ATOMIC_RELAXED);
}

void perf_ring_consume(struct perf_ring *r, uint64_t pos)
{
	struct perf_event_mmap_page *mp = r->base;
	__atomic_store_n(&mp->data_tail, pos, __ATOMIC_RELEASE);
}

const uint8_t *perf_ring_next(struct perf_ring *r, uint64_t *pos, uint64_t head, size_t *len)
{
	if (*pos >= head)
		return NULL;
	uint64_t avail = head - *pos;
	size_t mask = r->data_size - 1;
	size_t off = (size_t)(*pos & mask);
	struct perf_event_header h;

	if (avail < sizeof(h) || avail > r->data_size)
		goto garbage;
	if (off + sizeof(h) <= r->data_size) {
		memcpy(&h, r->data + off, sizeof(h));
	} else {
		size_t first = r->data_size - off;
		memcpy(&h, r->data + off, first);
		memcpy((uint8_t *)&h + first, r->data, sizeof(h) - first);
	}
	if (h.size < sizeof(h) || h.size > avail)
		goto garbage;
	*len = h.size;
	*pos += h.size;
	if (off + h.size <= r->data_size)
		return r->data + off;
	size_t first = r->data_size - off;
	memcpy(r->scratch, r->data + off, first);
	memcpy(r->scratch + first, r->data, h.size - first);
	return r->scratch;

garbage:
	*pos = head;
	return NULL;
}

static long read_long_file(const char *path, long fallback)
{
	struct buf b = BUF_INIT;
	long v = fallback;
	if (buf_read_file(&b, path, 64) == 0 && b.len) {
		char *end;
		errno = 0;
		long x = strtol(b.data, &end, 10);
		if (!errno && end != b.data)
			v = x;
	}
	buf_release(&b);
	return v;
}

int perf_paranoid_level(void)
{
	long v = read_long_file("/proc/sys/kernel/perf_event_paranoid", (long)INT32_MIN);
	return (int)v;
}

long perf_mlock_kb(void)
{
	return read_long_file("/proc/sys/kernel/perf_event_mlock_kb", -1);
}
