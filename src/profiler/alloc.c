/*
 * alloc.c: reading the allocation ring for the profiler (see alloc.h). The ring lives in
 * memory the profiled program maps read-write, so every record is copied out before it is
 * looked at, every length is checked against the copy and the reader's own idea of the ring
 * size, and a program that stops the ring (a thread killed inside malloc between reserving
 * and committing) costs a skipped region and a warning, never a stuck profiler.
 */
#include "profiler/alloc.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/vec.h"

#define FILL_BUDGET (8u << 20) /* bytes copied per alloc_source_fill */
#define HOLD_MAX (32u << 20)   /* records held for the watermark */
#define STALL_NS 1000000000ULL /* no progress while head > tail for this long: a hole */
#define MAX_RECOVERIES 8       /* holes skipped in a row without progress: give up */

struct held {
	size_t off; /* in hold */
	uint32_t len;
	uint64_t time;
};

struct alloc_source {
	struct alloc_ring *ring; /* owned; NULL once given up */
	uint8_t *data;		 /* the ring's data area (shared, untrusted) */
	uint64_t size;		 /* our own copy of the data size */
	struct buf hold;	 /* copies of records not processed yet */
	VEC(struct held) held;
	int64_t period;	       /* from START records */
	int64_t header_period; /* from the header at creation */
	uint64_t stall_since;  /* CLOCK_MONOTONIC of the first idle fill with head > tail */
	uint64_t stall_head;
	unsigned recoveries;
	struct alloc_source_counters c;
};

struct alloc_source *alloc_source_new(struct alloc_ring *ring)
{
	struct alloc_source *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	struct alloc_ring_header *h = alloc_ring_header(ring);
	s->ring = ring;
	s->data = (uint8_t *)h + ALLOC_RING_HEADER_SIZE;
	s->size = h->data_size;
	s->header_period = h->period;
	buf_init(&s->hold);
	return s;
}

void alloc_source_free(struct alloc_source *s)
{
	if (!s)
		return;
	alloc_ring_free(s->ring);
	buf_release(&s->hold);
	vec_release(&s->held);
	free(s);
}

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void give_up(struct alloc_source *s, const char *why)
{
	LOG_WARN("alloc: %s; allocation profiling stops for this run (CPU profiling goes on)", why);
	alloc_ring_free(s->ring);
	s->ring = NULL;
	s->c.broken = true;
}

/* Copies one record (n bytes at src, already known to lie inside the ring) to hold. */
static int hold_record(struct alloc_source *s, const void *src, size_t n, uint64_t time)
{
	size_t off = s->hold.len;
	if (n > UINT32_MAX || buf_append(&s->hold, src, n) < 0)
		return -ENOMEM;
	/* Keep records 8-aligned in hold (they are read as structs). */
	while (s->hold.len & 7)
		buf_putc(&s->hold, 0);
	struct held h = {off, (uint32_t)n, time};
	if (vec_push(&s->held, h) < 0) {
		s->hold.len = off;
		return -ENOMEM;
	}
	return 0;
}

/* Copies the record of ev out of the ring; malformed ones are counted and skipped. */
static int copy_event(struct alloc_source *s, const struct alloc_ring_event *ev)
{
	switch (ev->type) {
	case ALLOC_RING_ALLOC: {
		struct alloc_ring_alloc a;
		memcpy(&a, ev->alloc, sizeof(a));
		uint64_t at = (uint64_t)((const uint8_t *)(ev->alloc + 1) - s->data);
		/* stack_len again from our copy: it must still fit the ring after the struct. */
		if (a.stack_len > ALLOC_RING_MAX_STACK || at > s->size ||
		    a.stack_len > s->size - at) {
			s->c.bad++;
			return 0;
		}
		size_t off = s->hold.len;
		if (hold_record(s, &a, sizeof(a), a.time_ns) < 0)
			return -ENOMEM;
		struct held *h = vec_last(&s->held);
		if (buf_append(&s->hold, ev->alloc + 1, a.stack_len) < 0) {
			s->held.len--;
			s->hold.len = off;
			return -ENOMEM;
		}
		while (s->hold.len & 7)
			buf_putc(&s->hold, 0);
		h->len = (uint32_t)(sizeof(a) + a.stack_len);
		return 0;
	}
	case ALLOC_RING_FREE: {
		struct alloc_ring_free f;
		memcpy(&f, ev->free, sizeof(f));
		return hold_record(s, &f, sizeof(f), f.time_ns);
	}
	case ALLOC_RING_START: {
		struct alloc_ring_start st;
		memcpy(&st, ev->start, sizeof(st));
		return hold_record(s, &st, sizeof(st), st.time_ns);
	}
	default:
		return 0;
	}
}

/*
 * The reader is stopped at a zero word while writers have reserved beyond it, and nothing
 * moved for STALL_NS: a writer died between reserve and commit. Turn the hole (and what was
 * reserved after it before the stall began, up to the end of the data area) into a PAD
 * record, so the reader skips it; records still being written there are lost (counted).
 */
static void recover(struct alloc_source *s, uint64_t head, uint64_t tail)
{
	uint64_t off = tail & (s->size - 1);
	uint64_t len = s->stall_head - tail;
	if (len > s->size - off)
		len = s->size - off;
	if (s->stall_head <= tail || len < 8 || (len & 7) || len > UINT32_MAX) {
		give_up(s, "the allocation ring is stuck and its cursors make no sense");
		return;
	}
	uint64_t *word = (uint64_t *)(s->data + off);
	if (load(word)) /* committed meanwhile: no hole after all */
		return;
	if (++s->recoveries > MAX_RECOVERIES) {
		give_up(s, "the allocation ring keeps getting stuck");
		return;
	}
	alloc_ring_commit(word, (uint32_t)len, ALLOC_RING_PAD);
	s->c.skipped += len;
	LOG_WARN("alloc: the allocation ring was stuck for 1 s behind a record that was never "
		 "committed (a thread killed inside malloc?); skipped %" PRIu64
		 " bytes of records (head %" PRIu64 ", tail %" PRIu64 ")",
		 len, head, tail);
}

int alloc_source_fill(struct alloc_source *s, uint64_t now_mono)
{
	if (!s->ring)
		return 0;
	int n = 0;
	size_t budget = 0;
	struct alloc_ring_event ev;
	while (budget < FILL_BUDGET && s->hold.len < HOLD_MAX) {
		int r = alloc_ring_read(s->ring, &ev);
		if (r == 0)
			break;
		if (r < 0) {
			alloc_ring_release(s->ring);
			give_up(s,
				"the allocation ring holds a malformed record (the program wrote "
				"over it?)");
			return n;
		}
		size_t before = s->hold.len;
		if (copy_event(s, &ev) < 0) {
			LOG_WARN("alloc: out of memory: allocation records dropped");
			alloc_ring_release(s->ring);
			break;
		}
		budget += s->hold.len - before + 64;
		s->c.read++;
		/* A time far in the future (a scribbled record) would be held forever. */
		if (s->held.len && vec_last(&s->held)->time > now_mono + STALL_NS)
			vec_last(&s->held)->time = now_mono;
		n++;
		/* Give the space back at once: the copy is ours. */
		alloc_ring_release(s->ring);
	}
	struct alloc_ring_header *h = alloc_ring_header(s->ring);
	uint64_t head = load(&h->head), tail = load(&h->tail);
	if (n || head == tail) {
		s->stall_since = 0;
		if (n)
			s->recoveries = 0;
	} else if (!s->stall_since) {
		s->stall_since = now_mono;
		s->stall_head = head;
	} else if (now_mono - s->stall_since >= STALL_NS) {
		recover(s, head, tail);
		s->stall_since = 0;
	}
	return n;
}

bool alloc_source_get(const struct alloc_source *s, size_t i, struct alloc_record *out)
{
	if (i >= s->held.len)
		return false;
	const struct held *h = &s->held.items[i];
	const uint8_t *rec = (const uint8_t *)s->hold.data + h->off;
	memset(out, 0, sizeof(*out));
	uint64_t word;
	memcpy(&word, rec, sizeof(word));
	out->type = (enum alloc_ring_type)((word >> 32) & 0xffff);
	out->time = h->time;
	switch (out->type) {
	case ALLOC_RING_ALLOC: {
		const struct alloc_ring_alloc *a = (const struct alloc_ring_alloc *)rec;
		out->alloc = a;
		out->stack = (const uint8_t *)(a + 1);
		out->pid = a->pid;
		out->tid = a->tid;
		out->addr = a->addr;
		break;
	}
	case ALLOC_RING_FREE: {
		const struct alloc_ring_free *f = (const struct alloc_ring_free *)rec;
		out->pid = f->pid;
		out->tid = f->tid;
		out->addr = f->addr;
		break;
	}
	case ALLOC_RING_START: {
		const struct alloc_ring_start *st = (const struct alloc_ring_start *)rec;
		out->pid = st->pid;
		out->tid = st->tid;
		out->period = st->period;
		out->flags = st->flags;
		break;
	}
	default:
		break;
	}
	return true;
}

void alloc_source_consume(struct alloc_source *s, uint64_t watermark)
{
	size_t keep = 0, used = 0;
	for (size_t i = 0; i < s->held.len; i++) {
		struct held h = s->held.items[i];
		if (h.time <= watermark) {
			if (h.time && s->held.items[i].len >= sizeof(struct alloc_ring_start)) {
				uint64_t word;
				memcpy(&word, s->hold.data + h.off, sizeof(word));
				if (((word >> 32) & 0xffff) == ALLOC_RING_START) {
					struct alloc_ring_start st;
					memcpy(&st, s->hold.data + h.off, sizeof(st));
					s->period = st.period;
				}
			}
			continue;
		}
		size_t span = ((size_t)h.len + 7) & ~(size_t)7;
		if (h.off != used)
			memmove(s->hold.data + used, s->hold.data + h.off, span);
		h.off = used;
		used += span;
		s->held.items[keep++] = h;
	}
	s->held.len = keep;
	s->hold.len = used;
}

void alloc_source_counters(const struct alloc_source *s, struct alloc_source_counters *out)
{
	*out = s->c;
	if (!s->ring)
		return;
	struct alloc_ring_header *h = alloc_ring_header(s->ring);
	out->samples = alloc_ring_samples(s->ring);
	out->lost = alloc_ring_lost(s->ring);
	out->lost_frees = alloc_ring_lost_frees(s->ring);
	out->untracked = __atomic_load_n(&h->untracked, __ATOMIC_RELAXED);
}

int64_t alloc_source_period(const struct alloc_source *s)
{
	int64_t p = s->period ? s->period : s->header_period;
	if (p < 0)
		p = -p;
	return p ? p : ALLOC_RING_DEFAULT_PERIOD;
}

struct alloc_ring *alloc_source_open_fd(int fd, struct buf *why)
{
	struct stat st;
	struct alloc_ring_header hd;
	if (fstat(fd, &st) < 0) {
		buf_printf(why,
			   "alloc: --alloc-ring %d: not an open descriptor (%s): it must be the "
			   "ring's descriptor inherited from the process that created it",
			   fd, strerror(errno));
		errno = EBADF;
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || pread(fd, &hd, sizeof(hd), 0) != (ssize_t)sizeof(hd) ||
	    hd.magic != ALLOC_RING_MAGIC || hd.version != ALLOC_RING_VERSION ||
	    hd.data_size < 4096 || (hd.data_size & (hd.data_size - 1)) ||
	    hd.data_size > ((uint64_t)1 << 31) ||
	    (uint64_t)st.st_size < ALLOC_RING_HEADER_SIZE + hd.data_size) {
		buf_printf(why,
			   "alloc: --alloc-ring %d is not a kiln allocation ring (version %d; "
			   "created by alloc_ring_create in libkiln)",
			   fd, ALLOC_RING_VERSION);
		errno = EINVAL;
		return NULL;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct alloc_ring *r = alloc_ring_open_file(path);
	if (!r) {
		buf_printf(why, "alloc: --alloc-ring %d: cannot map the ring: %s", fd,
			   strerror(errno));
		return NULL;
	}
	close(fd);
	return r;
}

static int try_lib(const char *path, struct buf *out, struct buf *why)
{
	char real[PATH_MAX];
	if (access(path, R_OK) < 0 || !realpath(path, real)) {
		buf_printf(why, "%s%s", why->len ? ", " : "", path);
		return -ENOENT;
	}
	if (strpbrk(real, " :")) { /* LD_PRELOAD separators */
		buf_printf(why, "%s%s (a space or ':' in the path)", why->len ? ", " : "", real);
		return -ENOENT;
	}
	buf_reset(out);
	buf_puts(out, real);
	return 0;
}

int alloc_source_find_preload_lib(const char *kiln_exe, struct buf *out, struct buf *why)
{
	struct buf tried = BUF_INIT;
	const char *env = getenv("KILN_PRELOAD_LIB");
	int ret = -ENOENT;
	if (env && *env) {
		ret = try_lib(env, out, &tried);
		if (ret)
			buf_printf(why,
				   "alloc: KILN_PRELOAD_LIB='%s' is not a readable file; point it "
				   "at libkiln_preload.so",
				   env);
		goto done;
	}
	char dir[PATH_MAX], path[PATH_MAX + 64];
	snprintf(dir, sizeof(dir), "%s", kiln_exe ? kiln_exe : "");
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	snprintf(path, sizeof(path), "%s/../lib/libkiln_preload.so", dir);
	if (!(ret = try_lib(path, out, &tried)))
		goto done;
	snprintf(path, sizeof(path), "%s/preload/libkiln_preload.so", dir);
	if (!(ret = try_lib(path, out, &tried)))
		goto done;
	buf_printf(why,
		   "alloc: cannot find libkiln_preload.so (looked at %s); install it next to "
		   "kiln (<prefix>/lib) or set KILN_PRELOAD_LIB=/path/to/libkiln_preload.so",
		   tried.data ? tried.data : "");
done:
	buf_release(&tried);
	return ret;
}

/* The file execvp would run for command, into out; false when not found. */
static bool resolve_command(const char *command, char *out, size_t len)
{
	if (strchr(command, '/')) {
		snprintf(out, len, "%s", command);
		return true;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(out, len, "%.*s/%s", (int)n, n ? path : ".", command);
		if (access(out, X_OK) == 0)
			return true;
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

/* The file offset of virtual address vaddr, through the PT_LOAD headers. */
static bool vaddr_offset(const Elf64_Phdr *ph, unsigned n, uint64_t vaddr, uint64_t *off)
{
	for (unsigned i = 0; i < n; i++) {
		if (ph[i].p_type == PT_LOAD && vaddr >= ph[i].p_vaddr &&
		    vaddr - ph[i].p_vaddr < ph[i].p_filesz) {
			*off = vaddr - ph[i].p_vaddr + ph[i].p_offset;
			return true;
		}
	}
	return false;
}

/* A sanitizer runtime among the DT_NEEDED of the program (it must come first in the library
 * list and aborts when a preloaded library precedes it). Copied into what. */
static bool needs_sanitizer(int fd, const Elf64_Phdr *ph, unsigned n, char *what, size_t len)
{
	const Elf64_Phdr *dyn = NULL;
	for (unsigned i = 0; i < n; i++)
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = &ph[i];
	if (!dyn || dyn->p_filesz > (1u << 20))
		return false;
	size_t count = dyn->p_filesz / sizeof(Elf64_Dyn);
	Elf64_Dyn *d = malloc(count * sizeof(*d) + 1);
	bool found = false;
	if (!d ||
	    pread(fd, d, count * sizeof(*d), (off_t)dyn->p_offset) != (ssize_t)(count * sizeof(*d)))
		goto free_dyn;
	uint64_t strtab = 0, stroff;
	for (size_t i = 0; i < count && d[i].d_tag != DT_NULL; i++)
		if (d[i].d_tag == DT_STRTAB)
			strtab = d[i].d_un.d_ptr;
	if (!strtab || !vaddr_offset(ph, n, strtab, &stroff))
		goto free_dyn;
	for (size_t i = 0; i < count && d[i].d_tag != DT_NULL && !found; i++) {
		char name[128];
		if (d[i].d_tag != DT_NEEDED)
			continue;
		ssize_t got = pread(fd, name, sizeof(name) - 1, (off_t)(stroff + d[i].d_un.d_val));
		if (got <= 0)
			continue;
		name[got] = '\0';
		if (!strncmp(name, "libasan.so", 10) || !strncmp(name, "libtsan.so", 10) ||
		    !strncmp(name, "libhwasan.so", 12) || !strncmp(name, "libmsan", 7) ||
		    !strncmp(name, "libclang_rt.", 12)) {
			snprintf(what, len, "%s", name);
			found = true;
		}
	}
free_dyn:
	free(d);
	return found;
}

bool alloc_source_preload_blocked(const char *command, struct buf *why)
{
	char file[PATH_MAX], what[128];
	if (!command || !resolve_command(command, file, sizeof(file)))
		return false;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool blocked = false;
	Elf64_Phdr ph[256];
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 256)
		goto close_fd; /* not ELF (a script: its interpreter is what runs), or odd */
	size_t size = eh.e_phnum * sizeof(Elf64_Phdr);
	if (pread(fd, ph, size, (off_t)eh.e_phoff) != (ssize_t)size)
		goto close_fd;
	bool interp = false;
	for (unsigned i = 0; i < eh.e_phnum; i++)
		interp |= ph[i].p_type == PT_INTERP;
	if (!interp) {
		buf_printf(why,
			   "alloc: '%s' is statically linked: the allocation hook "
			   "(libkiln_preload.so) can only be preloaded into dynamically linked "
			   "programs",
			   command);
		blocked = true;
	} else if (needs_sanitizer(fd, ph, eh.e_phnum, what, sizeof(what))) {
		buf_printf(why,
			   "alloc: '%s' is built with a sanitizer (%s), whose runtime must come "
			   "before any preloaded library: the allocation hook is not preloaded",
			   command, what);
		blocked = true;
	}
close_fd:
	close(fd);
	return blocked;
}
