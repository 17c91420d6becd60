/*
 * tree.c: builds a prefix tree of the stacks (root first) and prints it depth first.
 *
 * Tree nodes live in one array; a hash map from (parent, frame) to node finds children, so
 * building costs one lookup per frame of each distinct stack.
 */
#include "report/tree.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"
#include "base/vec.h"

struct tnode {
	uint32_t name;
	uint32_t first_child; /* index+1, 0 = none */
	uint32_t next;	      /* next sibling index+1 */
	int64_t cum;
	int64_t self;
};

struct tree {
	VEC(struct tnode) nodes; /* nodes[0] is the root (no frame) */
	struct hmap children;	 /* (parent << 32 | name) -> child index */
	const struct report_stacks *rs;
	int64_t total;
	int64_t cutoff;
	FILE *out;
};

#define abs64 report_abs

static int child_of(struct tree *t, uint32_t parent, uint32_t name, uint32_t *out)
{
	bool created;
	uint64_t *slot = hmap_upsert(&t->children, (uint64_t)parent << 32 | name, &created);
	if (!slot)
		return -ENOMEM;
	if (!created) {
		*out = (uint32_t)*slot;
		return 0;
	}
	if (t->nodes.len >= UINT32_MAX - 1)
		return -E2BIG;
	struct tnode n = {.name = name, .next = t->nodes.items[parent].first_child};
	if (vec_push(&t->nodes, n) < 0)
		return -ENOMEM;
	*out = (uint32_t)(t->nodes.len - 1);
	t->nodes.items[parent].first_child = *out + 1;
	*slot = *out;
	return 0;
}

static int cmp_child(const void *a, const void *b, void *ctx)
{
	const struct tree *t = ctx;
	const struct tnode *l = &t->nodes.items[*(const uint32_t *)a];
	const struct tnode *r = &t->nodes.items[*(const uint32_t *)b];
	if (abs64(l->cum) != abs64(r->cum))
		return abs64(l->cum) > abs64(r->cum) ? -1 : 1;
	return strcmp(report_stacks_name(t->rs, l->name), report_stacks_name(t->rs, r->name));
}

static double pct(int64_t v, int64_t total)
{
	return total ? 100.0 * (double)v / (double)total : 0.0;
}

static int print_children(struct tree *t, uint32_t parent, int depth)
{
	VEC(uint32_t) kids = VEC_INIT;
	size_t hidden = 0;
	int64_t hidden_cum = 0;
	int rc = 0;

	for (uint32_t c = t->nodes.items[parent].first_child; c; c = t->nodes.items[c - 1].next) {
		if (abs64(t->nodes.items[c - 1].cum) < t->cutoff || !t->nodes.items[c - 1].cum) {
			hidden++;
			hidden_cum = report_add(hidden_cum, t->nodes.items[c - 1].cum);
			continue;
		}
		if (vec_push(&kids, c - 1) < 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (kids.len > 1)
		qsort_r(kids.items, kids.len, sizeof(uint32_t), cmp_child, t);
	int indent = depth > 64 ? 64 : depth;
	for (size_t i = 0; i < kids.len; i++) {
		const struct tnode *n = &t->nodes.items[kids.items[i]];
		fprintf(t->out, "%14" PRId64 " %6.2f%% %14" PRId64 "  %*s%s\n", n->cum,
			pct(n->cum, t->total), n->self, 2 * indent, "",
			report_stacks_name(t->rs, n->name));
		rc = print_children(t, kids.items[i], depth + 1);
		if (rc < 0)
			goto out;
	}
	if (hidden)
		fprintf(t->out, "%14" PRId64 " %6.2f%% %14s  %*s(%zu more below cutoff)\n",
			hidden_cum, pct(hidden_cum, t->total), "", 2 * indent, "", hidden);
out:
	vec_release(&kids);
	return rc;
}

int report_tree_write(FILE *out, const struct report_stacks *rs, int64_t cutoff)
{
	struct tree t = {.rs = rs, .total = rs->total, .cutoff = cutoff, .out = out};
	struct tnode root = {0};
	int rc = -ENOMEM;

	if (hmap_init(&t.children, rs->frames.len / 4) < 0)
		return -ENOMEM;
	if (vec_push(&t.nodes, root) < 0)
		goto out_tree;
	for (size_t si = 0; si < rs->stacks.len; si++) {
		const struct report_stack_rec *s = &rs->stacks.items[si];
		const uint32_t *fr = &rs->frames.items[s->off];
		uint32_t cur = 0;
		if (!s->value)
			continue;
		t.nodes.items[0].cum = report_add(t.nodes.items[0].cum, s->value);
		for (uint32_t i = s->len; i-- > 0;) {
			rc = child_of(&t, cur, fr[i], &cur);
			if (rc < 0)
				goto out_tree;
			t.nodes.items[cur].cum = report_add(t.nodes.items[cur].cum, s->value);
		}
		t.nodes.items[cur].self = report_add(t.nodes.items[cur].self, s->value);
	}
	fprintf(out, "%14s %7s %14s  %s\n", "cum", "cum%", "self", "call tree (root first)");
	rc = print_children(&t, 0, 0);
	if (rc == 0 && ferror(out))
		rc = -EIO;
out_tree:
	vec_release(&t.nodes);
	hmap_release(&t.children);
	return rc;
}
