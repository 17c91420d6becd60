/*
 * proc.c: the process table. Per pid, a sorted array of the executable mappings (binary
 * search on the sample path), fed by MMAP2/COMM/FORK/EXIT records and back-filled from
 * /proc/PID/maps; and a registry of ELF files shared by all processes.
 *
 * Design: frames handed out by the unwinder point at proc_map structs, so a mapping never
 * moves or dies before the next proc_table_gc(): each proc_map is allocated on its own, the
 * per-process arrays hold pointers, and mappings (or whole processes) that are replaced,
 * unmapped by exec, or exit go to a graveyard emptied by proc_table_gc(). ELF files are
 * opened lazily, on the first lookup that lands in a mapping, through
 * /proc/PID/map_files/START-END (works for deleted or replaced binaries), then
 * /proc/PID/root/PATH (other mount namespaces), then PATH.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "base/hash.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/vec.h"
#include "proc/elf.h"
#include "proc/proc.h"

#define COMM_MAX 64
#define BACKFILL_INTERVAL_NS 1000000000ULL
#define MAPS_FILE_MAX (64u << 20)

/* A proc_map plus what only the table needs. `pub` must stay first. */
struct map_entry {
	struct proc_map pub;
	char *path_owned;
	uint64_t dev, ino;
	bool resolved; /* pub.elf and pub.bias are final */
};

struct thread_name {
	int tid;
	char name[COMM_MAX];
};

struct process {
	int pid;
	char comm[COMM_MAX];
	VEC(struct map_entry *) maps; /* sorted by start, non-overlapping */
	VEC(struct thread_name) threads;
	uint64_t last_backfill_ns;
	bool backfilled_once;
};

struct proc_table {
	struct hmap procs; /* pid -> struct process * */
	struct hmap elfs;  /* key(dev, ino or path) -> struct proc_elf * */
	VEC(struct map_entry *) dead_maps;
	VEC(struct process *) dead_procs;
	struct proc_elf *vdso;
	bool vdso_tried;
	/* The last lookup's answer: consecutive frames are mostly in the same mapping. Reset
	 * by every change to any mapping. */
	int last_pid;
	struct map_entry *last;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void map_free(struct map_entry *m)
{
	if (!m)
		return;
	proc_elf_unref(m->pub.elf);
	free(m->path_owned);
	free(m);
}

static void process_free(struct process *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->maps.len; i++)
		map_free(p->maps.items[i]);
	vec_release(&p->maps);
	vec_release(&p->threads);
	free(p);
}

struct proc_table *proc_table_new(void)
{
	struct proc_table *pt = calloc(1, sizeof(*pt));
	if (!pt)
		return NULL;
	if (hmap_init(&pt->procs, 16) < 0 || hmap_init(&pt->elfs, 64) < 0) {
		hmap_release(&pt->procs);
		free(pt);
		errno = ENOMEM;
		return NULL;
	}
	return pt;
}

static void graveyard_empty(struct proc_table *pt)
{
	for (size_t i = 0; i < pt->dead_maps.len; i++)
		map_free(pt->dead_maps.items[i]);
	vec_clear(&pt->dead_maps);
	for (size_t i = 0; i < pt->dead_procs.len; i++)
		process_free(pt->dead_procs.items[i]);
	vec_clear(&pt->dead_procs);
}

void proc_table_free(struct proc_table *pt)
{
	uint64_t k, v;
	if (!pt)
		return;
	for (size_t it = 0; hmap_next(&pt->procs, &it, &k, &v);)
		process_free((struct process *)(uintptr_t)v);
	graveyard_empty(pt);
	vec_release(&pt->dead_maps);
	vec_release(&pt->dead_procs);
	for (size_t it = 0; hmap_next(&pt->elfs, &it, &k, &v);) {
		struct proc_elf *e = (struct proc_elf *)(uintptr_t)v;
		e->registered = false;
		proc_elf_unref(e);
	}
	if (pt->vdso) {
		pt->vdso->registered = false;
		proc_elf_unref(pt->vdso);
	}
	hmap_release(&pt->procs);
	hmap_release(&pt->elfs);
	free(pt);
}

static struct process *process_get(struct proc_table *pt, int pid)
{
	uint64_t *v = hmap_get(&pt->procs, (uint64_t)(uint32_t)pid);
	return v ? (struct process *)(uintptr_t)*v : NULL;
}

static struct process *process_get_or_add(struct proc_table *pt, int pid)
{
	struct process *p = process_get(pt, pid);
	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	if (hmap_put(&pt->procs, (uint64_t)(uint32_t)pid, (uint64_t)(uintptr_t)p) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* Moves every mapping of p to the graveyard. */
static void process_clear_maps(struct proc_table *pt, struct process *p)
{
	pt->last = NULL;
	for (size_t i = 0; i < p->maps.len; i++) {
		if (vec_push(&pt->dead_maps, p->maps.items[i]) < 0)
			map_free(p->maps.items[i]); /* no room to defer: free now */
	}
	vec_clear(&p->maps);
}

static struct map_entry *map_new(uint64_t start, uint64_t end, uint64_t pgoff, uint32_t prot,
				 const char *path, uint64_t dev, uint64_t ino)
{
	struct map_entry *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->path_owned = strdup(path ? path : "");
	if (!m->path_owned) {
		free(m);
		return NULL;
	}
	m->pub.start = start;
	m->pub.end = end;
	m->pub.pgoff = pgoff;
	m->pub.prot = prot;
	m->pub.path = m->path_owned;
	m->dev = dev;
	m->ino = ino;
	return m;
}

/* A copy of m restricted to [start, end), sharing its ELF. */
static struct map_entry *map_piece(const struct map_entry *m, uint64_t start, uint64_t end)
{
	struct map_entry *n = map_new(start, end, m->pub.pgoff + (start - m->pub.start),
				      m->pub.prot, m->pub.path, m->dev, m->ino);
	if (!n)
		return NULL;
	n->resolved = m->resolved;
	n->pub.elf = proc_elf_ref(m->pub.elf);
	n->pub.bias = m->pub.bias;
	return n;
}

/* Index of the first mapping whose end is above addr. */
static size_t maps_lower(const struct process *p, uint64_t addr)
{
	size_t lo = 0, hi = p->maps.len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->maps.items[mid]->pub.end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int process_insert(struct proc_table *pt, struct process *p, struct map_entry *m)
{
	uint64_t s = m->pub.start, e = m->pub.end;
	size_t i = maps_lower(p, s);
	pt->last = NULL;
	/* Cut out [s, e) from overlapping mappings: the kernel replaced them. */
	while (i < p->maps.len && p->maps.items[i]->pub.start < e) {
		struct map_entry *old = p->maps.items[i];
		struct map_entry *left = NULL, *right = NULL;
		if (old->pub.start < s && !(left = map_piece(old, old->pub.start, s)))
			return -ENOMEM;
		if (old->pub.end > e && !(right = map_piece(old, e, old->pub.end))) {
			map_free(left);
			return -ENOMEM;
		}
		if (vec_push(&pt->dead_maps, old) < 0) {
			map_free(left);
			map_free(right);
			return -ENOMEM;
		}
		memmove(&p->maps.items[i], &p->maps.items[i + 1],
			(p->maps.len - i - 1) * sizeof(p->maps.items[0]));
		p->maps.len--;
		struct map_entry *pieces[2] = {left, right};
		for (int k = 0; k < 2; k++) {
			if (!pieces[k])
				continue;
			if (vec_reserve(&p->maps, p->maps.len + 1) < 0) {
				map_free(pieces[k]);
				continue;
			}
			size_t at = maps_lower(p, pieces[k]->pub.start);
			memmove(&p->maps.items[at + 1], &p->maps.items[at],
				(p->maps.len - at) * sizeof(p->maps.items[0]));
			p->maps.items[at] = pieces[k];
			p->maps.len++;
		}
		i = maps_lower(p, s);
		if (left && i < p->maps.len && p->maps.items[i] == left)
			i++;
	}
	if (vec_reserve(&p->maps, p->maps.len + 1) < 0)
		return -ENOMEM;
	i = maps_lower(p, s);
	memmove(&p->maps.items[i + 1], &p->maps.items[i],
		(p->maps.len - i) * sizeof(p->maps.items[0]));
	p->maps.items[i] = m;
	p->maps.len++;
	return 0;
}

static int add_mapping(struct proc_table *pt, struct process *p, uint64_t start, uint64_t end,
		       uint64_t pgoff, uint32_t prot, const char *path, uint64_t dev, uint64_t ino)
{
	if (end <= start)
		return -EINVAL;
	struct map_entry *m = map_new(start, end, pgoff, prot, path, dev, ino);
	if (!m)
		return -ENOMEM;
	int err = process_insert(pt, p, m);
	if (err < 0)
		map_free(m);
	return err;
}

void proc_table_on_mmap(struct proc_table *pt, int pid, uint64_t start, uint64_t len,
			uint64_t pgoff, uint32_t prot, const char *path, uint64_t ino, uint32_t maj,
			uint32_t min)
{
	if (!(prot & PROT_EXEC))
		return; /* only code is ever looked up */
	struct process *p = process_get_or_add(pt, pid);
	if (!p ||
	    add_mapping(pt, p, start, start + len, pgoff, prot, path, makedev(maj, min), ino) < 0)
		LOG_WARN("proc: cannot record a mapping of pid %d: out of memory", pid);
}

int proc_table_add_elf_mapping(struct proc_table *pt, int pid, uint64_t start, uint64_t end,
			       uint64_t pgoff, struct proc_elf *elf)
{
	struct process *p = process_get_or_add(pt, pid);
	if (!p || !elf)
		return p ? -EINVAL : -ENOMEM;
	if (end <= start)
		return -EINVAL;
	struct map_entry *m =
	    map_new(start, end, pgoff, PROT_READ | PROT_EXEC, elf->path, elf->dev, elf->ino);
	if (!m)
		return -ENOMEM;
	m->resolved = true;
	m->pub.elf = proc_elf_ref(elf);
	m->pub.bias = proc_elf_bias(elf, start, pgoff);
	int err = process_insert(pt, p, m);
	if (err < 0)
		map_free(m);
	return err;
}

static void set_name(char *dst, const char *src)
{
	snprintf(dst, COMM_MAX, "%s", src ? src : "");
}

void proc_table_on_comm(struct proc_table *pt, int pid, int tid, const char *comm, bool exec)
{
	struct process *p = process_get_or_add(pt, pid);
	if (!p)
		return;
	if (exec) {
		process_clear_maps(pt, p);
		vec_clear(&p->threads);
		p->backfilled_once = false;
	}
	if (pid == tid || exec) {
		set_name(p->comm, comm);
		if (pid == tid)
			return;
	}
	for (size_t i = 0; i < p->threads.len; i++) {
		if (p->threads.items[i].tid == tid) {
			set_name(p->threads.items[i].name, comm);
			return;
		}
	}
	struct thread_name tn = {.tid = tid};
	set_name(tn.name, comm);
	if (vec_push(&p->threads, tn) < 0)
		LOG_WARN("proc: cannot record the name of thread %d: out of memory", tid);
}

void proc_table_on_fork(struct proc_table *pt, int pid, int ppid, int tid, int ptid)
{
	if (pid == ppid)
		return; /* a new thread shares the mappings */
	struct process *parent = process_get(pt, ppid);
	struct process *child = process_get(pt, pid);
	if (child) {
		process_clear_maps(pt, child);
		vec_clear(&child->threads);
	} else {
		child = process_get_or_add(pt, pid);
	}
	if (!child)
		return;
	if (!parent)
		return;
	memcpy(child->comm, parent->comm, COMM_MAX);
	if (vec_reserve(&child->maps, parent->maps.len) < 0)
		return;
	for (size_t i = 0; i < parent->maps.len; i++) {
		struct map_entry *src = parent->maps.items[i];
		struct map_entry *m = map_piece(src, src->pub.start, src->pub.end);
		if (!m)
			break;
		child->maps.items[child->maps.len++] = m;
	}
}

void proc_table_on_exit(struct proc_table *pt, int pid, int tid)
{
	struct process *p = process_get(pt, pid);
	if (!p)
		return;
	if (pid != tid) {
		for (size_t i = 0; i < p->threads.len; i++) {
			if (p->threads.items[i].tid == tid) {
				p->threads.items[i] = *vec_last(&p->threads);
				p->threads.len--;
				break;
			}
		}
		return;
	}
	hmap_del(&pt->procs, (uint64_t)(uint32_t)pid, NULL);
	pt->last = NULL;
	if (vec_push(&pt->dead_procs, p) < 0)
		process_free(p);
}

/* Parses one /proc/PID/maps line. Returns false for lines to skip. */
static bool parse_maps_line(char *line, uint64_t *start, uint64_t *end, uint32_t *prot,
			    uint64_t *pgoff, uint64_t *dev, uint64_t *ino, const char **path)
{
	char perms[8];
	unsigned int maj, min;
	unsigned long long s, e, off, in;
	int n = 0;
	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &s, &e, perms, &off, &maj, &min, &in,
		   &n) < 7)
		return false;
	*start = s;
	*end = e;
	*pgoff = off;
	*dev = makedev(maj, min);
	*ino = in;
	*prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
		(perms[2] == 'x' ? PROT_EXEC : 0);
	char *p = line + n;
	size_t len = strlen(p);
	while (len && (p[len - 1] == '\n' || p[len - 1] == ' '))
		p[--len] = '\0';
	*path = p;
	return true;
}

static void read_comm(const char *file, char *out)
{
	FILE *f = fopen(file, "re");
	if (!f)
		return;
	char line[COMM_MAX];
	if (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		set_name(out, line);
	}
	fclose(f);
}

int proc_table_load(struct proc_table *pt, int pid)
{
	char file[64];
	int err = 0;
	snprintf(file, sizeof(file), "/proc/%d/maps", pid);
	FILE *f = fopen(file, "re");
	if (!f) {
		err = -errno;
		LOG_DEBUG("proc: cannot open '%s': %s", file, strerror(errno));
		return err;
	}
	struct process *p = process_get_or_add(pt, pid);
	if (!p) {
		err = -ENOMEM;
		goto close_file;
	}
	process_clear_maps(pt, p);
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		uint64_t start, end, pgoff, dev, ino;
		uint32_t prot;
		const char *path;
		if (!parse_maps_line(line, &start, &end, &prot, &pgoff, &dev, &ino, &path))
			continue;
		if (!(prot & PROT_EXEC))
			continue;
		err = add_mapping(pt, p, start, end, pgoff, prot, path, dev, ino);
		if (err < 0)
			break;
	}
	free(line);
	snprintf(file, sizeof(file), "/proc/%d/comm", pid);
	read_comm(file, p->comm);
	p->last_backfill_ns = now_ns();
	p->backfilled_once = true;
close_file:
	fclose(f);
	return err;
}

static struct proc_elf *vdso_elf(struct proc_table *pt)
{
	if (pt->vdso_tried)
		return pt->vdso;
	pt->vdso_tried = true;
	/* The kernel gives every 64-bit process the same vdso image: parse kiln's own. */
	const uint8_t *base = (const uint8_t *)(uintptr_t)getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return NULL;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	size_t size = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
	if (size < sizeof(*eh) || size > (1u << 20))
		return NULL;
	pt->vdso = proc_elf_from_memory(base, size, "[vdso]");
	if (pt->vdso)
		pt->vdso->registered = true;
	return pt->vdso;
}

static uint64_t elf_key(uint64_t dev, uint64_t ino, const char *path)
{
	if (ino)
		return hash_combine(hash_u64(dev), ino);
	return hash_bytes(path, strlen(path), 0x6b696c6e);
}

static bool path_is_file(const char *path)
{
	return path[0] == '/' && strncmp(path, "//anon", 6) != 0;
}

/* The target's path without the " (deleted)" the kernel appends. */
static void clean_path(const char *path, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", path);
	size_t len = strlen(out);
	static const char deleted[] = " (deleted)";
	if (len > sizeof(deleted) - 1 && !strcmp(out + len - (sizeof(deleted) - 1), deleted))
		out[len - (sizeof(deleted) - 1)] = '\0';
}

static void resolve(struct proc_table *pt, int pid, struct map_entry *m)
{
	m->resolved = true;
	const char *path = m->pub.path;
	if (!strcmp(path, "[vdso]")) {
		struct proc_elf *v = vdso_elf(pt);
		if (v) {
			m->pub.elf = proc_elf_ref(v);
			m->pub.bias = proc_elf_bias(v, m->pub.start, m->pub.pgoff);
		}
		return;
	}
	if (!path_is_file(path))
		return;
	char clean[4096], open_path[4200];
	clean_path(path, clean, sizeof(clean));
	uint64_t key = elf_key(m->dev, m->ino, clean);
	uint64_t *slot = hmap_get(&pt->elfs, key);
	struct proc_elf *e = slot ? (struct proc_elf *)(uintptr_t)*slot : NULL;
	if (e && m->ino && (e->dev != m->dev || e->ino != m->ino))
		e = NULL; /* hash collision: open privately */
	if (!e) {
		snprintf(open_path, sizeof(open_path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
			 pid, m->pub.start, m->pub.end);
		e = proc_elf_open(open_path, clean);
		if (!e) {
			snprintf(open_path, sizeof(open_path), "/proc/%d/root%s", pid, clean);
			e = proc_elf_open(open_path, clean);
		}
		if (!e)
			e = proc_elf_open(clean, clean);
		if (!e) {
			LOG_DEBUG("proc: cannot open '%s' of pid %d: %s", clean, pid,
				  strerror(errno));
			return;
		}
		if (m->ino && (e->dev != m->dev || e->ino != m->ino)) {
			/* Another file now lives at that path: the mapping's own file is gone. */
			LOG_DEBUG("proc: '%s' of pid %d was replaced on disk", clean, pid);
		}
		if (!slot || !*slot) {
			if (hmap_put(&pt->elfs, key, (uint64_t)(uintptr_t)e) == 0) {
				e->registered = true;
				m->pub.elf = proc_elf_ref(e);
			} else {
				m->pub.elf = e; /* the mapping holds the only reference */
			}
		} else {
			m->pub.elf = e;
		}
	} else {
		m->pub.elf = proc_elf_ref(e);
	}
	m->pub.bias = proc_elf_bias(m->pub.elf, m->pub.start, m->pub.pgoff);
}

static struct map_entry *lookup(struct process *p, uint64_t addr)
{
	size_t i = maps_lower(p, addr);
	if (i < p->maps.len && p->maps.items[i]->pub.start <= addr)
		return p->maps.items[i];
	return NULL;
}

const struct proc_map *proc_table_find(struct proc_table *pt, int pid, uint64_t addr)
{
	struct map_entry *last = pt->last;
	if (last && pt->last_pid == pid && addr >= last->pub.start && addr < last->pub.end &&
	    last->resolved)
		return &last->pub;
	struct process *p = process_get(pt, pid);
	struct map_entry *m = p ? lookup(p, addr) : NULL;
	if (!m) {
		uint64_t now = now_ns();
		if (p && p->backfilled_once && now - p->last_backfill_ns < BACKFILL_INTERVAL_NS)
			return NULL;
		if (proc_table_load(pt, pid) < 0) {
			/* Remember the failure too (the process may be gone), so that every
			 * frame of its samples does not retry /proc. */
			p = process_get_or_add(pt, pid);
			if (p) {
				p->last_backfill_ns = now;
				p->backfilled_once = true;
			}
			return NULL;
		}
		p = process_get(pt, pid);
		m = p ? lookup(p, addr) : NULL;
		if (!m)
			return NULL;
	}
	if (!m->resolved)
		resolve(pt, pid, m);
	pt->last = m;
	pt->last_pid = pid;
	return &m->pub;
}

const char *proc_table_comm(struct proc_table *pt, int pid)
{
	struct process *p = process_get(pt, pid);
	return p ? p->comm : "";
}

const char *proc_table_thread_name(struct proc_table *pt, int pid, int tid)
{
	struct process *p = process_get(pt, pid);
	if (!p)
		return "";
	if (pid == tid)
		return p->comm;
	for (size_t i = 0; i < p->threads.len; i++)
		if (p->threads.items[i].tid == tid)
			return p->threads.items[i].name;
	return "";
}

void proc_table_gc(struct proc_table *pt)
{
	graveyard_empty(pt);
	uint64_t k, v;
	/* Collect ELF files only the registry still holds. Deleting while iterating is not
	 * allowed, so gather the keys first. */
	VEC(uint64_t) drop = VEC_INIT;
	for (size_t it = 0; hmap_next(&pt->elfs, &it, &k, &v);) {
		struct proc_elf *e = (struct proc_elf *)(uintptr_t)v;
		if (e->refs == 1 && vec_push(&drop, k) < 0)
			break;
	}
	for (size_t i = 0; i < drop.len; i++) {
		uint64_t val;
		if (hmap_del(&pt->elfs, drop.items[i], &val)) {
			struct proc_elf *e = (struct proc_elf *)(uintptr_t)val;
			e->registered = false;
			proc_elf_unref(e);
		}
	}
	vec_release(&drop);
}
