/*
 * live.c: the profiler's live-heap table (see live.h). Exists because allocation samples are
 * summed per period, but what a program still holds must be carried from period to period
 * and re-emitted whole: per process an address map (hmap addr -> entry), a pool of entries
 * with a free list, and interned (pid, stack) records that keep the sums, so an export costs
 * one pass over the distinct stacks, not over the addresses.
 */
#include "profiler/live.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/hmap.h"
#include "base/vec.h"

#define NO_INDEX UINT32_MAX

struct live_entry {
	uint32_t stack; /* NO_INDEX: on the free list */
	uint32_t next_free;
	int64_t bytes, count;
};

struct live_stack {
	uint64_t hash;
	int pid;
	uint32_t off, n; /* tokens in pool */
	uint32_t refs;	 /* live entries */
	int64_t bytes, count;
};

struct live_proc {
	int pid;
	struct hmap addrs; /* addr -> entry index */
};

struct live_heap {
	size_t max_entries, max_tokens;
	VEC(struct live_entry) entries;
	uint32_t free_head;
	size_t nlive;
	VEC(struct live_stack) stacks;
	VEC(uint64_t) pool;
	struct hindex stack_ix;
	size_t dead_stacks;
	struct hmap procs; /* pid -> struct live_proc * (owned) */
	struct live_stats stats;
};

struct live_heap *live_heap_new(size_t max_entries, size_t max_tokens)
{
	struct live_heap *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->max_entries = max_entries < NO_INDEX ? max_entries : NO_INDEX - 1;
	h->max_tokens = max_tokens;
	h->free_head = NO_INDEX;
	hmap_init(&h->procs, 0);
	return h;
}

static void proc_free(struct live_proc *pr)
{
	if (!pr)
		return;
	hmap_release(&pr->addrs);
	free(pr);
}

void live_heap_free(struct live_heap *h)
{
	if (!h)
		return;
	uint64_t k, v;
	for (size_t it = 0; hmap_next(&h->procs, &it, &k, &v);)
		proc_free((struct live_proc *)(uintptr_t)v);
	hmap_release(&h->procs);
	vec_release(&h->entries);
	vec_release(&h->stacks);
	vec_release(&h->pool);
	hindex_release(&h->stack_ix);
	free(h);
}

static uint64_t stack_hash(int pid, const uint64_t *tokens, size_t n)
{
	return hash_combine(hash_bytes(tokens, n * sizeof(*tokens), 0x6c697665),
			    (uint64_t)(uint32_t)pid);
}

/* The stack's index, interned; NO_INDEX when out of room. */
static uint32_t intern_stack(struct live_heap *h, int pid, const uint64_t *tokens, size_t n)
{
	uint64_t hs = stack_hash(pid, tokens, n);
	uint32_t id;
	for (size_t it = 0; hindex_probe(&h->stack_ix, hs, &it, &id);) {
		const struct live_stack *s = &h->stacks.items[id];
		if (s->hash == hs && s->pid == pid && s->n == n &&
		    !memcmp(h->pool.items + s->off, tokens, n * sizeof(*tokens)))
			return id;
	}
	if (h->pool.len + n > h->max_tokens || h->stacks.len >= NO_INDEX - 1 ||
	    vec_reserve(&h->pool, h->pool.len + n) < 0)
		return NO_INDEX;
	struct live_stack s = {
	    .hash = hs, .pid = pid, .off = (uint32_t)h->pool.len, .n = (uint32_t)n};
	id = (uint32_t)h->stacks.len;
	if (vec_push(&h->stacks, s) < 0)
		return NO_INDEX;
	if (hindex_insert(&h->stack_ix, hs, id) < 0) {
		h->stacks.len--;
		return NO_INDEX;
	}
	if (n)
		memcpy(h->pool.items + h->pool.len, tokens, n * sizeof(*tokens));
	h->pool.len += n;
	h->dead_stacks++; /* refs 0 until the caller takes it */
	return id;
}

static void stack_take(struct live_heap *h, uint32_t id, int64_t bytes, int64_t count)
{
	struct live_stack *s = &h->stacks.items[id];
	if (!s->refs++)
		h->dead_stacks--;
	s->bytes += bytes;
	s->count += count;
}

static void stack_drop(struct live_heap *h, uint32_t id, int64_t bytes, int64_t count)
{
	struct live_stack *s = &h->stacks.items[id];
	s->bytes -= bytes;
	s->count -= count;
	if (!--s->refs) {
		s->bytes = s->count = 0;
		h->dead_stacks++;
	}
}

static void entry_release(struct live_heap *h, uint32_t e)
{
	struct live_entry *en = &h->entries.items[e];
	stack_drop(h, en->stack, en->bytes, en->count);
	en->stack = NO_INDEX;
	en->next_free = h->free_head;
	h->free_head = e;
	h->nlive--;
}

static struct live_proc *proc_of(struct live_heap *h, int pid, bool create)
{
	uint64_t *v = hmap_get(&h->procs, (uint64_t)(uint32_t)pid);
	if (v)
		return (struct live_proc *)(uintptr_t)*v;
	if (!create)
		return NULL;
	struct live_proc *pr = calloc(1, sizeof(*pr));
	if (!pr)
		return NULL;
	pr->pid = pid;
	hmap_init(&pr->addrs, 0);
	if (hmap_put(&h->procs, (uint64_t)(uint32_t)pid, (uint64_t)(uintptr_t)pr) < 0) {
		proc_free(pr);
		return NULL;
	}
	return pr;
}

int live_heap_add(struct live_heap *h, int pid, uint64_t addr, const uint64_t *tokens, size_t n,
		  int64_t bytes, int64_t count)
{
	struct live_proc *pr = proc_of(h, pid, true);
	if (!pr)
		return -ENOMEM;
	uint64_t *slot = hmap_get(&pr->addrs, addr);
	if (slot) { /* allocated again without a FREE we saw (a lost free): replace */
		h->stats.replaced++;
		uint32_t e = (uint32_t)*slot;
		hmap_del(&pr->addrs, addr, NULL);
		entry_release(h, e);
	}
	if (h->nlive >= h->max_entries) {
		h->stats.dropped++;
		return -ENOSPC;
	}
	uint32_t st = intern_stack(h, pid, tokens, n);
	if (st == NO_INDEX) {
		h->stats.dropped++;
		return -ENOSPC;
	}
	uint32_t e;
	if (h->free_head != NO_INDEX) {
		e = h->free_head;
		h->free_head = h->entries.items[e].next_free;
	} else {
		struct live_entry blank = {.stack = NO_INDEX, .next_free = NO_INDEX};
		if (vec_push(&h->entries, blank) < 0)
			return -ENOMEM;
		e = (uint32_t)(h->entries.len - 1);
	}
	if (hmap_put(&pr->addrs, addr, e) < 0) {
		h->entries.items[e].next_free = h->free_head;
		h->free_head = e;
		return -ENOMEM;
	}
	struct live_entry *en = &h->entries.items[e];
	en->stack = st;
	en->bytes = bytes;
	en->count = count;
	stack_take(h, st, bytes, count);
	h->nlive++;
	return 0;
}

bool live_heap_remove(struct live_heap *h, int pid, uint64_t addr)
{
	struct live_proc *pr = proc_of(h, pid, false);
	uint64_t e;
	if (!pr || !hmap_del(&pr->addrs, addr, &e)) {
		h->stats.unknown_frees++;
		return false;
	}
	entry_release(h, (uint32_t)e);
	return true;
}

void live_heap_forget_pid(struct live_heap *h, int pid)
{
	uint64_t v;
	if (!hmap_del(&h->procs, (uint64_t)(uint32_t)pid, &v))
		return;
	struct live_proc *pr = (struct live_proc *)(uintptr_t)v;
	uint64_t k, e;
	for (size_t it = 0; hmap_next(&pr->addrs, &it, &k, &e);)
		entry_release(h, (uint32_t)e);
	proc_free(pr);
}

void live_heap_prune(struct live_heap *h, bool (*alive)(int pid, void *ctx), void *ctx)
{
	VEC(int) gone = VEC_INIT;
	uint64_t k, v;
	for (size_t it = 0; hmap_next(&h->procs, &it, &k, &v);)
		if (!alive((int)k, ctx) && vec_push(&gone, (int)k) < 0)
			break;
	for (size_t i = 0; i < gone.len; i++)
		live_heap_forget_pid(h, gone.items[i]);
	vec_release(&gone);
}

bool live_heap_next(const struct live_heap *h, size_t *it, int *pid, const uint64_t **tokens,
		    size_t *n, int64_t *bytes, int64_t *count)
{
	while (*it < h->stacks.len) {
		const struct live_stack *s = &h->stacks.items[(*it)++];
		if (!s->refs)
			continue;
		*pid = s->pid;
		*tokens = h->pool.items + s->off;
		*n = s->n;
		*bytes = s->bytes;
		*count = s->count;
		return true;
	}
	return false;
}

void live_heap_compact(struct live_heap *h)
{
	if (!h->dead_stacks)
		return;
	size_t nst = h->stacks.len;
	uint32_t *remap = malloc((nst ? nst : 1) * sizeof(*remap));
	uint64_t *pool = malloc((h->pool.len ? h->pool.len : 1) * sizeof(*pool));
	if (!remap || !pool)
		goto free_tmp;
	size_t keep = 0, used = 0;
	hindex_clear(&h->stack_ix);
	for (size_t i = 0; i < nst; i++) {
		struct live_stack s = h->stacks.items[i];
		if (!s.refs) {
			remap[i] = NO_INDEX;
			continue;
		}
		memcpy(pool + used, h->pool.items + s.off, s.n * sizeof(*pool));
		s.off = (uint32_t)used;
		used += s.n;
		remap[i] = (uint32_t)keep;
		h->stacks.items[keep] = s;
		/* The index had room for all of them: re-inserting fewer cannot fail. */
		hindex_insert(&h->stack_ix, s.hash, (uint32_t)keep);
		keep++;
	}
	h->stacks.len = keep;
	memcpy(h->pool.items, pool, used * sizeof(*pool));
	h->pool.len = used;
	for (size_t i = 0; i < h->entries.len; i++) {
		struct live_entry *en = &h->entries.items[i];
		if (en->stack != NO_INDEX)
			en->stack = remap[en->stack];
	}
	h->dead_stacks = 0;
free_tmp:
	free(remap);
	free(pool);
}

void live_heap_stats(const struct live_heap *h, struct live_stats *out)
{
	*out = h->stats;
	out->entries = h->nlive;
	out->stacks = h->stacks.len - h->dead_stacks;
}
