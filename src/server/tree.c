/*
 * tree: the server-side merge behind aggregate, compare and a single profile's flame graph.
 * Stored profiles arrive as (stack id, value) pairs; they are summed per stack id in a hash
 * map, then every distinct stack is resolved once (through the store's stack cache) and
 * walked into a tree whose children are found by an exact (parent, function) key.
 */
#include "server/tree.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/hmap.h"
#include "base/vec.h"

#define ROOT_NAME 0
#define OTHER_NAME 1

struct stack_sum {
	uint64_t id;
	int64_t v[2];
};

struct node {
	uint32_t fn; /* function index, UINT32_MAX for the root */
	uint32_t parent;
	int64_t total[2], self[2];
};

struct fn {
	uint64_t id;
	const char *name, *file;
	int64_t self[2], total[2];
	uint64_t mark;
};

struct ftree {
	struct hmap stack_index; /* stack id -> index in sums */
	VEC(struct stack_sum) sums;
	VEC(struct node) nodes;
	struct hmap children; /* parent << 32 | fn -> node index */
	VEC(struct fn) fns;
	struct hmap fn_index; /* function id -> index in fns */
	struct arena arena;
	int64_t totals[2];
	bool two_sided;
	uint64_t seq;
	int err;
};

struct ftree *ftree_new(void)
{
	struct ftree *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	hmap_init(&t->stack_index, 0);
	hmap_init(&t->children, 0);
	hmap_init(&t->fn_index, 0);
	arena_init(&t->arena, 64 << 10);
	struct node root = {.fn = UINT32_MAX, .parent = UINT32_MAX};
	if (vec_push(&t->nodes, root) < 0) {
		ftree_free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void ftree_free(struct ftree *t)
{
	if (!t)
		return;
	hmap_release(&t->stack_index);
	hmap_release(&t->children);
	hmap_release(&t->fn_index);
	vec_release(&t->sums);
	vec_release(&t->nodes);
	vec_release(&t->fns);
	arena_release(&t->arena);
	free(t);
}

struct load_ctx {
	struct ftree *t;
	int side;
};

static void on_sample(void *ctx, int64_t profile_id, uint64_t stack_id, int64_t value)
{
	struct load_ctx *l = ctx;
	struct ftree *t = l->t;
	bool created;
	uint64_t *slot = hmap_upsert(&t->stack_index, stack_id, &created);
	if (!slot) {
		t->err = -ENOMEM;
		return;
	}
	if (created) {
		*slot = t->sums.len;
		if (vec_push(&t->sums, ((struct stack_sum){stack_id, {0, 0}})) < 0) {
			t->err = -ENOMEM;
			return;
		}
	}
	t->sums.items[*slot].v[l->side] += value;
	t->totals[l->side] += value;
}

int ftree_load(struct ftree *t, struct store *s, const struct store_query *q, const char *type,
	       const char *attachment, int side, int64_t *nprofiles)
{
	struct load_ctx l = {t, side ? 1 : 0};
	if (side)
		t->two_sided = true;
	int rc = s->ops->samples(s, q, type, attachment, on_sample, &l, nprofiles);
	return rc < 0 ? rc : t->err;
}

static uint32_t fn_local(struct ftree *t, uint64_t id)
{
	bool created;
	uint64_t *slot = hmap_upsert(&t->fn_index, id, &created);
	if (!slot) {
		t->err = -ENOMEM;
		return 0;
	}
	if (created) {
		*slot = t->fns.len;
		struct fn f = {.id = id, .name = "", .file = ""};
		if (vec_push(&t->fns, f) < 0)
			t->err = -ENOMEM;
	}
	return (uint32_t)*slot;
}

static void on_stack(void *ctx, uint64_t stack_id, const uint64_t *fns, size_t n)
{
	struct ftree *t = ctx;
	uint64_t *si = hmap_get(&t->stack_index, stack_id);
	if (!si || t->err)
		return;
	const int64_t *v = t->sums.items[*si].v;
	uint32_t node = 0;
	t->seq++;
	t->nodes.items[0].total[0] += v[0];
	t->nodes.items[0].total[1] += v[1];
	for (size_t i = 0; i < n; i++) {
		/* Children are keyed by (parent, function id) directly, so a known node costs one
		 * hash lookup; the function's local index is resolved only for new nodes. Ids
		 * from 2^31 up (never seen in practice) go through their local index instead,
		 * with the top bit set so both key spaces stay apart. */
		uint64_t fid = fns[i];
		uint64_t key;
		if (fid < (1ULL << 31)) {
			key = ((uint64_t)node << 32) | fid;
		} else {
			uint32_t f = fn_local(t, fid);
			if (t->err)
				return;
			key = ((uint64_t)node << 32) | f | (1ULL << 31);
		}
		bool created;
		uint64_t *child = hmap_upsert(&t->children, key, &created);
		if (!child) {
			t->err = -ENOMEM;
			return;
		}
		if (created) {
			*child = t->nodes.len;
			uint32_t f = fn_local(t, fid);
			struct node nd = {.fn = f, .parent = node};
			if (t->err || vec_push(&t->nodes, nd) < 0) {
				t->err = -ENOMEM;
				return;
			}
		}
		node = (uint32_t)*child;
		struct node *nd = &t->nodes.items[node];
		nd->total[0] += v[0];
		nd->total[1] += v[1];
		struct fn *fp = &t->fns.items[nd->fn];
		if (fp->mark != t->seq) { /* recursion counts once per stack */
			fp->mark = t->seq;
			fp->total[0] += v[0];
			fp->total[1] += v[1];
		}
		if (i + 1 == n) {
			nd->self[0] += v[0];
			nd->self[1] += v[1];
			fp->self[0] += v[0];
			fp->self[1] += v[1];
		}
	}
	if (n == 0) {
		t->nodes.items[0].self[0] += v[0];
		t->nodes.items[0].self[1] += v[1];
	}
}

static void on_function(void *ctx, uint64_t id, const char *name, const char *file)
{
	struct ftree *t = ctx;
	uint64_t *slot = hmap_get(&t->fn_index, id);
	if (!slot)
		return;
	struct fn *f = &t->fns.items[*slot];
	f->name = arena_strdup(&t->arena, name);
	f->file = arena_strdup(&t->arena, file);
	if (!f->name || !f->file) {
		f->name = f->file = "";
		t->err = -ENOMEM;
	}
}

int ftree_build(struct ftree *t, struct store *s)
{
	if (t->err)
		return t->err;
	uint64_t *ids = malloc((t->sums.len + 1) * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < t->sums.len; i++)
		ids[i] = t->sums.items[i].id;
	/* Room for a typical tree up front: growing a large node array and its index step by
	 * step costs more (copies, page faults) than the merge itself. */
	size_t guess = t->sums.len * 16 + 64;
	hmap_release(&t->children);
	if (vec_reserve(&t->nodes, guess) < 0 || hmap_init(&t->children, guess) < 0) {
		free(ids);
		return -ENOMEM;
	}
	int rc = s->ops->stacks(s, ids, t->sums.len, on_stack, t);
	free(ids);
	if (rc == 0)
		rc = t->err;
	if (rc < 0)
		return rc;
	ids = malloc((t->fns.len + 1) * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < t->fns.len; i++)
		ids[i] = t->fns.items[i].id;
	rc = s->ops->functions(s, ids, t->fns.len, on_function, t);
	free(ids);
	return rc < 0 ? rc : t->err;
}

int64_t ftree_total(const struct ftree *t, int side)
{
	return t->totals[side ? 1 : 0];
}

size_t ftree_node_count(const struct ftree *t)
{
	return t->nodes.len;
}

int ftree_function(const struct ftree *t, const char *name, int64_t self[2], int64_t total[2])
{
	bool found = false;
	self[0] = self[1] = total[0] = total[1] = 0;
	for (size_t i = 0; i < t->fns.len; i++) {
		const struct fn *f = &t->fns.items[i];
		if (strcmp(f->name, name))
			continue;
		found = true;
		for (int k = 0; k < 2; k++) {
			self[k] += f->self[k];
			total[k] += f->total[k];
		}
	}
	return found ? 0 : -ENOENT;
}

/* ---- JSON -------------------------------------------------------------------------------- */

static int64_t weight(const struct ftree *t, uint32_t n)
{
	const struct node *nd = &t->nodes.items[n];
	return nd->total[0] + nd->total[1];
}

static __thread const struct ftree *sort_tree; /* qsort has no context argument */

static int cmp_weight_desc(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int64_t wx = weight(sort_tree, x), wy = weight(sort_tree, y);
	if (wx != wy)
		return wx > wy ? -1 : 1;
	return x < y ? -1 : x > y;
}

struct out_node {
	uint32_t name;
	int32_t parent;
	int64_t total[2], self[2];
};

struct work {
	uint32_t node;	/* node index, or the parent's node index for an "other" entry */
	int32_t parent; /* output index of the parent */
	bool other;
};

/* The k-th largest (0-based) of w[0..n), reordering w (quickselect, Hoare partition). */
static int64_t kth_largest(int64_t *w, size_t n, size_t k)
{
	int64_t lo = 0, hi = (int64_t)n - 1, kk = (int64_t)k;
	while (lo < hi) {
		int64_t pivot = w[lo + (hi - lo) / 2];
		int64_t i = lo, j = hi;
		while (i <= j) {
			while (w[i] > pivot)
				i++;
			while (w[j] < pivot)
				j--;
			if (i <= j) {
				int64_t tmp = w[i];
				w[i++] = w[j];
				w[j--] = tmp;
			}
		}
		if (kk <= j)
			hi = j;
		else if (kk >= i)
			lo = i;
		else
			return w[kk];
	}
	return w[kk];
}

void ftree_write_tree(const struct ftree *t, struct json_w *w, size_t max_nodes)
{
	size_t n = t->nodes.len;
	int64_t *weights = malloc(n * sizeof(*weights));
	uint32_t *child_start = calloc(n + 1, sizeof(*child_start));
	uint32_t *child_list = malloc(n * sizeof(*child_list));
	uint8_t *kept = calloc(n, 1);
	VEC(struct out_node) out = VEC_INIT;
	VEC(struct work) stack = VEC_INIT;
	bool truncated = false;

	if (!weights || !child_start || !child_list || !kept) {
		w->err = -ENOMEM;
		goto out;
	}
	/* Children lists by parent (nodes are created after their parent); each list is sorted
	 * by weight only when its parent is written, so a truncated tree sorts little. */
	for (uint32_t i = 1; i < n; i++)
		child_start[t->nodes.items[i].parent + 1]++;
	for (size_t i = 0; i < n; i++)
		child_start[i + 1] += child_start[i];
	{
		uint32_t *fill = calloc(n + 1, sizeof(*fill));
		if (!fill) {
			w->err = -ENOMEM;
			goto out;
		}
		for (uint32_t i = 1; i < n; i++) {
			uint32_t p = t->nodes.items[i].parent;
			child_list[child_start[p] + fill[p]++] = i;
		}
		free(fill);
	}
	/* Keep the max_nodes heaviest nodes (a node never outweighs its parent, so the set is
	 * closed under ancestors up to ties; the walk below only visits kept children of kept
	 * nodes anyway). */
	size_t limit = max_nodes && max_nodes < n ? max_nodes : n;
	truncated = limit < n;
	if (truncated) {
		for (size_t i = 0; i < n; i++)
			weights[i] = weight(t, (uint32_t)i);
		int64_t cut = kth_largest(weights, n, limit - 1);
		size_t count = 0;
		for (uint32_t i = 0; i < n; i++)
			if (weight(t, i) > cut) {
				kept[i] = 1;
				count++;
			}
		for (uint32_t i = 0; i < n && count < limit; i++)
			if (!kept[i] && weight(t, i) == cut) {
				kept[i] = 1;
				count++;
			}
	} else {
		memset(kept, 1, n);
	}
	kept[0] = 1;
	sort_tree = t;

	if (vec_push(&stack, ((struct work){0, -1, false})) < 0) {
		w->err = -ENOMEM;
		goto out;
	}
	while (stack.len) {
		struct work wk = stack.items[--stack.len];
		struct out_node on = {.parent = wk.parent};
		if (wk.other) {
			on.name = OTHER_NAME;
			for (uint32_t c = child_start[wk.node]; c < child_start[wk.node + 1]; c++) {
				const struct node *nd = &t->nodes.items[child_list[c]];
				if (kept[child_list[c]])
					continue;
				for (int s = 0; s < 2; s++) {
					on.total[s] += nd->total[s];
					on.self[s] += nd->total[s];
				}
			}
			if (vec_push(&out, on) < 0)
				w->err = -ENOMEM;
			continue;
		}
		const struct node *nd = &t->nodes.items[wk.node];
		on.name = wk.node == 0 ? ROOT_NAME : nd->fn + 2;
		memcpy(on.total, nd->total, sizeof(on.total));
		memcpy(on.self, nd->self, sizeof(on.self));
		int32_t me = (int32_t)out.len;
		if (vec_push(&out, on) < 0) {
			w->err = -ENOMEM;
			break;
		}
		bool has_other = false;
		for (uint32_t c = child_start[wk.node]; c < child_start[wk.node + 1]; c++)
			if (!kept[child_list[c]])
				has_other = true;
		if (has_other && vec_push(&stack, ((struct work){wk.node, me, true})) < 0) {
			w->err = -ENOMEM;
			break;
		}
		qsort(&child_list[child_start[wk.node]],
		      child_start[wk.node + 1] - child_start[wk.node], sizeof(uint32_t),
		      cmp_weight_desc);
		for (uint32_t c = child_start[wk.node + 1]; c-- > child_start[wk.node];) {
			uint32_t ch = child_list[c];
			if (kept[ch] && vec_push(&stack, ((struct work){ch, me, false})) < 0) {
				w->err = -ENOMEM;
				break;
			}
		}
	}

	json_obj_begin(w);
	json_key(w, "names");
	json_arr_begin(w);
	json_str(w, "root");
	json_str(w, "other");
	for (size_t i = 0; i < t->fns.len; i++)
		json_str(w, t->fns.items[i].name);
	json_arr_end(w);
	json_key(w, "files");
	json_arr_begin(w);
	json_str(w, "");
	json_str(w, "");
	for (size_t i = 0; i < t->fns.len; i++)
		json_str(w, t->fns.items[i].file);
	json_arr_end(w);
	json_key(w, "truncated");
	json_bool(w, truncated);
	json_key(w, "count");
	json_uint(w, out.len);
#define ARRAY(key, expr)                                                                           \
	do {                                                                                       \
		json_key(w, key);                                                                  \
		json_arr_begin(w);                                                                 \
		for (size_t i = 0; i < out.len; i++) {                                             \
			const struct out_node *o = &out.items[i];                                  \
			json_int(w, (expr));                                                       \
		}                                                                                  \
		json_arr_end(w);                                                                   \
	} while (0)
	ARRAY("name", o->name);
	ARRAY("parent", o->parent);
	ARRAY("total", o->total[0]);
	ARRAY("self", o->self[0]);
	if (t->two_sided) {
		ARRAY("total_b", o->total[1]);
		ARRAY("self_b", o->self[1]);
	}
#undef ARRAY
	json_obj_end(w);
out:
	free(weights);
	free(child_start);
	free(child_list);
	free(kept);
	vec_release(&out);
	vec_release(&stack);
}

static double share(int64_t v, int64_t total)
{
	return total ? (double)v / (double)total : 0.0;
}

static __thread const struct ftree *top_tree;

static int cmp_top(const void *a, const void *b)
{
	const struct ftree *t = top_tree;
	const struct fn *x = &t->fns.items[*(const uint32_t *)a];
	const struct fn *y = &t->fns.items[*(const uint32_t *)b];
	if (t->two_sided) {
		double dx = fabs(share(x->self[1], t->totals[1]) - share(x->self[0], t->totals[0]));
		double dy = fabs(share(y->self[1], t->totals[1]) - share(y->self[0], t->totals[0]));
		if (dx != dy)
			return dx > dy ? -1 : 1;
	}
	if (x->self[0] != y->self[0])
		return x->self[0] > y->self[0] ? -1 : 1;
	if (x->total[0] != y->total[0])
		return x->total[0] > y->total[0] ? -1 : 1;
	return strcmp(x->name, y->name);
}

void ftree_write_top(const struct ftree *t, struct json_w *w, size_t limit)
{
	size_t n = t->fns.len;
	uint32_t *idx = malloc((n + 1) * sizeof(*idx));
	if (!idx) {
		w->err = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		idx[i] = i;
	top_tree = t;
	qsort(idx, n, sizeof(*idx), cmp_top);
	if (limit && limit < n)
		n = limit;
	json_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		const struct fn *f = &t->fns.items[idx[i]];
		json_obj_begin(w);
		json_key(w, "name");
		json_str(w, f->name);
		json_key(w, "file");
		json_str(w, f->file);
		json_key(w, "self");
		json_int(w, f->self[0]);
		json_key(w, "total");
		json_int(w, f->total[0]);
		json_key(w, "self_share");
		json_double(w, share(f->self[0], t->totals[0]));
		json_key(w, "total_share");
		json_double(w, share(f->total[0], t->totals[0]));
		if (t->two_sided) {
			json_key(w, "self_b");
			json_int(w, f->self[1]);
			json_key(w, "total_b");
			json_int(w, f->total[1]);
			json_key(w, "self_share_b");
			json_double(w, share(f->self[1], t->totals[1]));
			json_key(w, "total_share_b");
			json_double(w, share(f->total[1], t->totals[1]));
			json_key(w, "self_share_diff");
			json_double(w, share(f->self[1], t->totals[1]) -
					   share(f->self[0], t->totals[0]));
		}
		json_obj_end(w);
	}
	json_arr_end(w);
	free(idx);
}
