/*
 * aggregate.c: interning of frames, stacks and samples for one period, and their conversion
 * to pprof with batched symbolization.
 *
 * Three flat tables with hash indexes: frames (kind, elf|pid, address), stacks (runs of frame
 * ids in one pool) and samples (stack, pid, tid, names, timestamp). Per sample the cost is one
 * hash probe per frame plus one per stack; nothing is allocated once the tables are warm.
 */
#include "profiler/aggregate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/strtab.h"
#include "base/vec.h"

enum frame_kind { FRAME_ELF = 1, FRAME_PC, FRAME_KERNEL, FRAME_SYNTH };

struct frame {
	uint8_t kind;
	int pid;	      /* FRAME_PC */
	struct proc_elf *elf; /* FRAME_ELF */
	uint64_t addr;	      /* elf_addr, pc, kernel pc, or string id (FRAME_SYNTH) */
	uint64_t pc;	      /* first absolute pc seen, for the pprof location */
	uint64_t map_start, map_end, map_pgoff;
	int64_t map_path; /* string id, 0 when unknown */
};

struct stack {
	uint32_t off, n;
};

struct sample {
	uint32_t stack;
	int32_t pid, tid;
	uint32_t pname, tname; /* string ids */
	int64_t ts;
	int64_t count, nanos;
	int64_t alloc_count, alloc_bytes, inuse_count, inuse_bytes;
};

struct aggregator {
	VEC(struct frame) frames;
	struct hindex frame_ix;
	VEC(uint32_t) pool;
	VEC(struct stack) stacks;
	struct hindex stack_ix;
	VEC(struct sample) samples;
	struct hindex sample_ix;
	struct strtab names;
	int64_t total;
	struct hmap warned_elf; /* hash of paths already reported as lacking symbols */
};

struct aggregator *aggregator_new(void)
{
	struct aggregator *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	if (strtab_init(&a->names) < 0) {
		free(a);
		errno = ENOMEM;
		return NULL;
	}
	return a;
}

void aggregator_free(struct aggregator *a)
{
	if (!a)
		return;
	vec_release(&a->frames);
	hindex_release(&a->frame_ix);
	vec_release(&a->pool);
	vec_release(&a->stacks);
	hindex_release(&a->stack_ix);
	vec_release(&a->samples);
	hindex_release(&a->sample_ix);
	strtab_release(&a->names);
	hmap_release(&a->warned_elf);
	free(a);
}

void aggregator_reset(struct aggregator *a)
{
	vec_clear(&a->frames);
	hindex_clear(&a->frame_ix);
	vec_clear(&a->pool);
	vec_clear(&a->stacks);
	hindex_clear(&a->stack_ix);
	vec_clear(&a->samples);
	hindex_clear(&a->sample_ix);
	/* The name table is small (one entry per thread/process name); it is rebuilt so that
	 * names of dead threads do not accumulate. */
	strtab_release(&a->names);
	if (strtab_init(&a->names) < 0)
		LOG_ERROR("profiler: out of memory resetting the aggregator");
	a->total = 0;
}

static uint64_t frame_hash(uint8_t kind, int pid, const void *elf, uint64_t addr)
{
	uint64_t h = hash_u64(kind);
	h = hash_combine(h, (uint64_t)(uintptr_t)elf);
	h = hash_combine(h, (uint64_t)(uint32_t)pid);
	return hash_combine(h, addr);
}

static uint32_t intern_frame(struct aggregator *a, const struct frame *f)
{
	uint64_t h = frame_hash(f->kind, f->pid, f->elf, f->addr);
	uint32_t id;
	for (size_t it = 0; hindex_probe(&a->frame_ix, h, &it, &id);) {
		const struct frame *o = &a->frames.items[id];
		if (o->kind == f->kind && o->pid == f->pid && o->elf == f->elf &&
		    o->addr == f->addr)
			return id;
	}
	id = (uint32_t)a->frames.len;
	if (vec_push(&a->frames, *f) < 0)
		return AGG_NO_FRAME;
	if (hindex_insert(&a->frame_ix, h, id) < 0) {
		a->frames.len--;
		return AGG_NO_FRAME;
	}
	return id;
}

static void set_map(struct aggregator *a, struct frame *f, const struct proc_map *map)
{
	if (!map)
		return;
	f->map_start = map->start;
	f->map_end = map->end;
	f->map_pgoff = map->pgoff;
	if (map->path) {
		int64_t id = strtab_intern_str(&a->names, map->path);
		f->map_path = id > 0 ? id : 0;
	}
}

uint32_t aggregator_frame_elf(struct aggregator *a, struct proc_elf *elf, uint64_t elf_addr,
			      uint64_t pc, const struct proc_map *map)
{
	struct frame f = {.kind = FRAME_ELF, .elf = elf, .addr = elf_addr, .pc = pc};
	uint64_t h = frame_hash(f.kind, 0, elf, elf_addr);
	uint32_t id;
	for (size_t it = 0; hindex_probe(&a->frame_ix, h, &it, &id);) {
		const struct frame *o = &a->frames.items[id];
		if (o->kind == FRAME_ELF && o->elf == elf && o->addr == elf_addr)
			return id;
	}
	set_map(a, &f, map);
	return intern_frame(a, &f);
}

uint32_t aggregator_frame_pc(struct aggregator *a, int pid, uint64_t pc, const struct proc_map *map)
{
	struct frame f = {.kind = FRAME_PC, .pid = pid, .addr = pc, .pc = pc};
	set_map(a, &f, map);
	return intern_frame(a, &f);
}

uint32_t aggregator_frame_kernel(struct aggregator *a, uint64_t pc)
{
	struct frame f = {.kind = FRAME_KERNEL, .addr = pc, .pc = pc};
	return intern_frame(a, &f);
}

uint32_t aggregator_frame_synthetic(struct aggregator *a, const char *name)
{
	int64_t id = strtab_intern_str(&a->names, name);
	if (id < 0)
		return AGG_NO_FRAME;
	struct frame f = {.kind = FRAME_SYNTH, .addr = (uint64_t)id};
	return intern_frame(a, &f);
}

static uint32_t intern_stack(struct aggregator *a, const uint32_t *frames, size_t n)
{
	uint64_t h = hash_bytes(frames, n * sizeof(*frames), 0x6b696c6e);
	uint32_t id;
	for (size_t it = 0; hindex_probe(&a->stack_ix, h, &it, &id);) {
		const struct stack *s = &a->stacks.items[id];
		if (s->n == n && !memcmp(a->pool.items + s->off, frames, n * sizeof(*frames)))
			return id;
	}
	if (vec_reserve(&a->pool, a->pool.len + n) < 0)
		return AGG_NO_FRAME;
	struct stack s = {(uint32_t)a->pool.len, (uint32_t)n};
	if (n)
		memcpy(a->pool.items + a->pool.len, frames, n * sizeof(*frames));
	id = (uint32_t)a->stacks.len;
	if (vec_push(&a->stacks, s) < 0)
		return AGG_NO_FRAME;
	if (hindex_insert(&a->stack_ix, h, id) < 0) {
		a->stacks.len--;
		return AGG_NO_FRAME;
	}
	a->pool.len += n;
	return id;
}

int aggregator_add(struct aggregator *a, const uint32_t *frames, size_t n,
		   const struct agg_sample_info *info)
{
	for (size_t i = 0; i < n; i++)
		if (frames[i] == AGG_NO_FRAME)
			return -ENOMEM;
	uint32_t stack = intern_stack(a, frames, n);
	if (stack == AGG_NO_FRAME)
		return -ENOMEM;
	int64_t pname = strtab_intern_str(&a->names, info->process_name ? info->process_name : "");
	int64_t tname = strtab_intern_str(&a->names, info->thread_name ? info->thread_name : "");
	if (pname < 0 || tname < 0)
		return -ENOMEM;
	struct sample s = {
	    .stack = stack,
	    .pid = info->pid,
	    .tid = info->tid,
	    .pname = (uint32_t)pname,
	    .tname = (uint32_t)tname,
	    .ts = info->timestamp_ns,
	    .count = info->count,
	    .nanos = info->nanos,
	    .alloc_count = info->alloc_count,
	    .alloc_bytes = info->alloc_bytes,
	    .inuse_count = info->inuse_count,
	    .inuse_bytes = info->inuse_bytes,
	};
	a->total += info->count + info->alloc_count + info->inuse_count;
	uint64_t h = 0;
	if (!s.ts) {
		h = hash_combine(hash_u64(stack),
				 ((uint64_t)(uint32_t)s.pid << 32) | (uint32_t)s.tid);
		h = hash_combine(h, ((uint64_t)s.pname << 32) | s.tname);
		uint32_t id;
		for (size_t it = 0; hindex_probe(&a->sample_ix, h, &it, &id);) {
			struct sample *o = &a->samples.items[id];
			if (o->stack == s.stack && o->pid == s.pid && o->tid == s.tid &&
			    o->pname == s.pname && o->tname == s.tname) {
				o->count += s.count;
				o->nanos += s.nanos;
				o->alloc_count += s.alloc_count;
				o->alloc_bytes += s.alloc_bytes;
				o->inuse_count += s.inuse_count;
				o->inuse_bytes += s.inuse_bytes;
				return 0;
			}
		}
	}
	uint32_t id = (uint32_t)a->samples.len;
	if (vec_push(&a->samples, s) < 0)
		return -ENOMEM;
	if (!s.ts && hindex_insert(&a->sample_ix, h, id) < 0) {
		a->samples.len--;
		return -ENOMEM;
	}
	return 0;
}

size_t aggregator_sample_count(const struct aggregator *a)
{
	return a->samples.len;
}

int64_t aggregator_total_count(const struct aggregator *a)
{
	return a->total;
}

size_t aggregator_frame_count(const struct aggregator *a)
{
	return a->frames.len;
}

/* ---- pprof building ---------------------------------------------------------------------- */

static const char *name_of(const struct aggregator *a, int64_t id)
{
	const char *s = strtab_get(&a->names, id, NULL);
	return s ? s : "";
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash && slash[1] ? slash + 1 : path;
}

static uint64_t mapping_of(struct aggregator *a, const struct frame *f, struct pprof_builder *b)
{
	if (!f->map_end)
		return 0;
	const char *path = f->elf ? proc_elf_path(f->elf) : name_of(a, f->map_path);
	const char *build_id = f->elf ? proc_elf_build_id(f->elf) : "";
	return pprof_builder_mapping(b, f->map_start, f->map_end, f->map_pgoff, path ? path : "",
				     build_id ? build_id : "", f->elf != NULL);
}

static uint64_t simple_location(struct pprof_builder *b, uint64_t mapping, uint64_t address,
				const char *name, const char *system_name, const char *file,
				int64_t line)
{
	uint64_t fn = pprof_builder_function(b, name, system_name, file ? file : "", 0);
	if (!fn)
		return 0;
	struct pprof_line l = {.function_id = fn, .line = line};
	return pprof_builder_location(b, mapping, address, &l, 1);
}

static int cmp_by_elf(const void *x, const void *y, void *ctx)
{
	const struct frame *frames = ctx;
	const struct frame *a = &frames[*(const uint32_t *)x], *b = &frames[*(const uint32_t *)y];
	if (a->elf != b->elf)
		return (uintptr_t)a->elf < (uintptr_t)b->elf ? -1 : 1;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* The symbolizer's name for an address it knows nothing about: "file+0x1234". */
static bool is_fallback_name(const char *name, const char *base)
{
	size_t n = strlen(base);
	return name && n && !strncmp(name, base, n) && !strncmp(name + n, "+0x", 3);
}

/* Says once per run, per binary, that most of its frames have no names, and what to do. */
static void warn_unsymbolized(struct aggregator *a, const char *path, size_t unnamed, size_t n)
{
	if (!path || !*path || unnamed * 2 < n || !unnamed)
		return;
	bool created = false;
	uint64_t *slot = hmap_upsert(&a->warned_elf, hash_bytes(path, strlen(path), 0), &created);
	if (!slot || !created)
		return;
	LOG_WARN("symbolize: '%s' has no symbols for %zu of its %zu sampled addresses (stripped?): "
		 "its frames read 'name+0xoffset'; install its debug package or keep .symtab "
		 "(see docs/troubleshooting.md)",
		 path, unnamed, n);
}

/* Locations for every ELF frame of one ELF, symbolized in one batch. */
static int build_elf_group(struct aggregator *a, const struct aggregate_build_opts *opts,
			   struct pprof_builder *b, const uint32_t *ids, size_t n, uint64_t *locs)
{
	struct proc_elf *elf = a->frames.items[ids[0]].elf;
	size_t max_frames = n * 8 + 16;
	uint64_t *addrs = malloc(n * sizeof(*addrs));
	uint32_t *start = calloc(n, sizeof(*start));
	uint32_t *count = calloc(n, sizeof(*count));
	struct sym_frame *out = calloc(max_frames, sizeof(*out));
	struct pprof_line *lines = NULL;
	size_t unnamed = 0;
	int ret = -ENOMEM;
	if (!addrs || !start || !count || !out)
		goto free_all;
	for (size_t i = 0; i < n; i++)
		addrs[i] = a->frames.items[ids[i]].addr;
	int used = -ENOSYS;
	if (opts->symbolizer)
		used = symbolizer_symbolize(opts->symbolizer, elf, addrs, n, out, max_frames, start,
					    count);
	const char *path = proc_elf_path(elf);
	const char *base = basename_of(path ? path : "");
	lines = calloc(max_frames, sizeof(*lines));
	if (!lines)
		goto free_all;
	for (size_t i = 0; i < n; i++) {
		const struct frame *f = &a->frames.items[ids[i]];
		uint64_t mapping = mapping_of(a, f, b);
		size_t nl = 0;
		if (used >= 0 && count[i] && (size_t)start[i] + count[i] <= max_frames) {
			for (uint32_t k = 0; k < count[i]; k++) {
				const struct sym_frame *sf = &out[start[i] + k];
				uint64_t fn =
				    pprof_builder_function(b, sf->name ? sf->name : "",
							   sf->system_name ? sf->system_name : "",
							   sf->file ? sf->file : "", 0);
				if (!fn)
					goto free_all;
				lines[nl].function_id = fn;
				lines[nl].line = sf->line;
				nl++;
			}
		}
		if (!nl) {
			char name[256];
			snprintf(name, sizeof(name), "%s+0x%" PRIx64, base, f->addr);
			uint64_t fn = pprof_builder_function(b, name, name, path ? path : "", 0);
			if (!fn)
				goto free_all;
			lines[0].function_id = fn;
			lines[0].line = 0;
			nl = 1;
		}
		locs[ids[i]] = pprof_builder_location(b, mapping, f->pc, lines, nl);
		if (!locs[ids[i]])
			goto free_all;
		if (used >= 0 && count[i] && is_fallback_name(out[start[i]].name, base))
			unnamed++;
	}
	warn_unsymbolized(a, path, unnamed, n);
	ret = 0;
free_all:
	free(lines);
	free(addrs);
	free(start);
	free(count);
	free(out);
	return ret;
}

static uint64_t build_other(struct aggregator *a, const struct aggregate_build_opts *opts,
			    struct pprof_builder *b, const struct frame *f)
{
	char name[320];
	struct sym_frame sf = {0};
	switch (f->kind) {
	case FRAME_SYNTH:
		return simple_location(b, 0, 0, name_of(a, (int64_t)f->addr),
				       name_of(a, (int64_t)f->addr), "", 0);
	case FRAME_KERNEL:
		if (opts->symbolizer && symbolizer_kernel(opts->symbolizer, f->pc, &sf) && sf.name)
			return simple_location(b, 0, f->pc, sf.name,
					       sf.system_name ? sf.system_name : sf.name,
					       "[kernel.kallsyms]", 0);
		snprintf(name, sizeof(name), "[kernel] 0x%" PRIx64, f->pc);
		return simple_location(b, 0, f->pc, name, name, "[kernel.kallsyms]", 0);
	default: {
		uint64_t mapping = mapping_of(a, f, b);
		if (opts->symbolizer && symbolizer_perf_map(opts->symbolizer, f->pid, f->pc, &sf) &&
		    sf.name)
			return simple_location(b, mapping, f->pc, sf.name,
					       sf.system_name ? sf.system_name : sf.name,
					       sf.file ? sf.file : "", sf.line);
		const char *path = f->map_path ? name_of(a, f->map_path) : "";
		if (*path)
			snprintf(name, sizeof(name), "%s+0x%" PRIx64, basename_of(path),
				 f->pc - f->map_start);
		else
			snprintf(name, sizeof(name), "[unknown] 0x%" PRIx64, f->pc);
		return simple_location(b, mapping, f->pc, name, name, path, 0);
	}
	}
}

int aggregator_build(struct aggregator *a, const struct aggregate_build_opts *opts,
		     struct pprof_builder *b)
{
	size_t nf = a->frames.len;
	uint64_t *locs = calloc(nf ? nf : 1, sizeof(*locs));
	uint32_t *order = calloc(nf ? nf : 1, sizeof(*order));
	uint64_t *ids = NULL;
	int ret = -ENOMEM;
	if (!locs || !order)
		goto free_all;

	size_t nelf = 0;
	for (size_t i = 0; i < nf; i++) {
		if (a->frames.items[i].kind == FRAME_ELF) {
			order[nelf++] = (uint32_t)i;
		} else {
			locs[i] = build_other(a, opts, b, &a->frames.items[i]);
			if (!locs[i])
				goto free_all;
		}
	}
	qsort_r(order, nelf, sizeof(*order), cmp_by_elf, a->frames.items);
	for (size_t i = 0; i < nelf;) {
		size_t j = i + 1;
		while (j < nelf && a->frames.items[order[j]].elf == a->frames.items[order[i]].elf)
			j++;
		ret = build_elf_group(a, opts, b, order + i, j - i, locs);
		if (ret)
			goto free_all;
		i = j;
	}

	size_t maxn = 1;
	for (size_t i = 0; i < a->stacks.len; i++)
		if (a->stacks.items[i].n > maxn)
			maxn = a->stacks.items[i].n;
	ids = malloc(maxn * sizeof(*ids));
	ret = -ENOMEM;
	if (!ids)
		goto free_all;
	unsigned which = opts->values ? opts->values : AGG_CPU;
	for (size_t i = 0; i < a->samples.len; i++) {
		const struct sample *s = &a->samples.items[i];
		const struct stack *st = &a->stacks.items[s->stack];
		int64_t values[6];
		size_t nv = 0;
		bool any = false;
		if (which & AGG_CPU) {
			values[nv++] = s->count;
			values[nv++] = s->nanos;
		}
		if (which & AGG_ALLOC) {
			values[nv++] = s->alloc_count;
			values[nv++] = s->alloc_bytes;
		}
		if (which & AGG_INUSE) {
			values[nv++] = s->inuse_count;
			values[nv++] = s->inuse_bytes;
		}
		for (size_t k = 0; k < nv; k++)
			any |= values[k] != 0;
		if (!any)
			continue;
		for (uint32_t k = 0; k < st->n; k++)
			ids[k] = locs[a->pool.items[st->off + k]];
		struct pprof_label labels[5];
		size_t nl = 0;
		labels[nl++] = pprof_builder_label_num(b, "process_id", s->pid, NULL);
		labels[nl++] = pprof_builder_label_num(b, "thread id", s->tid, NULL);
		const char *tn = name_of(a, s->tname), *pn = name_of(a, s->pname);
		if (*tn)
			labels[nl++] = pprof_builder_label_str(b, "thread_name", tn);
		if (*pn)
			labels[nl++] = pprof_builder_label_str(b, "process_name", pn);
		if (opts->timeline && s->ts)
			labels[nl++] = pprof_builder_label_num(b, "end_timestamp_ns", s->ts, NULL);
		ret = pprof_builder_add_sample(b, ids, st->n, values, labels, nl);
		if (ret)
			goto free_all;
	}
	ret = 0;
free_all:
	free(ids);
	free(order);
	free(locs);
	return ret;
}
