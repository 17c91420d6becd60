/*
 * html.c: `kiln report --html`, one self-contained page with an interactive flame graph.
 *
 * A profile can hold 100k distinct stacks; sending them to the browser as strings would make
 * a page of tens of megabytes and a slow start. So the stacks are merged here into a call
 * tree (one node per distinct call path, keyed by parent node and interned frame name) and
 * emitted in pre-order as parallel JSON arrays over a deduplicated name table, the compact
 * form web/flamegraph.js documents. Children are ordered hottest first, ties by name, so the
 * output is deterministic.
 *
 * The page is web/report.html with its double-brace slots filled: text slots HTML-escaped,
 * the component's JS and CSS inlined from the embedded assets, the data as JSON whose < > &
 * are escaped (base/json.h), so nothing from a profile can end the <script> it sits in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assets/assets.h"
#include "base/buf.h"
#include "base/hmap.h"
#include "base/json.h"
#include "base/log.h"
#include "base/strtab.h"
#include "report/html.h"

#define ROOT_NAME "all"
#define UNKNOWN_NAME "[unknown]"
#define NO_NODE UINT32_MAX

struct tnode {
	uint32_t name;	       /* strtab id */
	uint32_t first_child;  /* NO_NODE if a leaf */
	uint32_t next_sibling; /* NO_NODE if last */
	uint32_t depth;
	int64_t total;
};

/* The merged call tree; node 0 is the root. */
struct tree {
	struct tnode *nodes; /* owned */
	size_t len, cap;
	struct strtab names;
	struct hmap edges;  /* (parent << 32 | name) -> child node */
	struct hmap by_ptr; /* frame string address -> name id: callers repeat their strings */
	int64_t scale;	    /* gcd of the stack values (0: none yet); the data is divided by it */
	size_t stacks;	    /* stacks merged (value > 0) */
	size_t skipped;	    /* stacks with a value <= 0 */
};

static int tree_add_node(struct tree *t, uint32_t name, uint32_t depth)
{
	if (t->len >= NO_NODE - 1)
		return -E2BIG;
	if (t->len == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct tnode *n = realloc(t->nodes, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->nodes = n;
		t->cap = cap;
	}
	t->nodes[t->len++] = (struct tnode){name, NO_NODE, NO_NODE, depth, 0};
	return 0;
}

static void tree_release(struct tree *t)
{
	hmap_release(&t->by_ptr);
	free(t->nodes);
	strtab_release(&t->names);
	hmap_release(&t->edges);
}

/* hint: about how many nodes to expect (pre-sizes the edge map) */
static int tree_init(struct tree *t, size_t hint)
{
	int64_t root;
	int err;

	memset(t, 0, sizeof(*t));
	err = strtab_init(&t->names);
	if (err < 0)
		return err;
	err = hmap_init(&t->edges, hint);
	if (err < 0)
		goto undo_names;
	err = hmap_init(&t->by_ptr, 0);
	if (err < 0)
		goto undo_maps;
	root = strtab_intern_str(&t->names, ROOT_NAME);
	if (root < 0) {
		err = (int)root;
		goto undo_maps;
	}
	err = tree_add_node(t, (uint32_t)root, 0);
	if (err < 0)
		goto undo_maps;
	return 0;

undo_maps:
	hmap_release(&t->by_ptr);
	hmap_release(&t->edges);
undo_names:
	strtab_release(&t->names);
	return err;
}

static int64_t gcd64(int64_t a, int64_t b)
{
	while (b) {
		int64_t r = a % b;

		a = b;
		b = r;
	}
	return a;
}

static int tree_add_stack(struct tree *t, const struct report_stack *s)
{
	uint32_t node = 0;

	if (s->value <= 0) {
		t->skipped++;
		return 0;
	}
	if (s->nframes && !s->frames)
		return -EINVAL;
	/* the sum stays below 2^63 as long as the profile's total does; saturate otherwise */
	t->nodes[0].total =
	    s->value > INT64_MAX - t->nodes[0].total ? INT64_MAX : t->nodes[0].total + s->value;
	for (size_t f = 0; f < s->nframes; f++) {
		const char *frame = s->frames[f] ? s->frames[f] : UNKNOWN_NAME;
		uint64_t *known = hmap_get(&t->by_ptr, (uint64_t)(uintptr_t)frame);
		int64_t name;
		bool created;
		uint64_t *slot;
		uint32_t child;

		if (known) {
			name = (int64_t)*known;
		} else {
			int err;

			name = strtab_intern_str(&t->names, frame);
			if (name < 0)
				return (int)name;
			err = hmap_put(&t->by_ptr, (uint64_t)(uintptr_t)frame, (uint64_t)name);
			if (err < 0)
				return err;
		}
		slot = hmap_upsert(&t->edges, (uint64_t)node << 32 | (uint64_t)name, &created);
		if (!slot)
			return -ENOMEM;
		if (created) {
			int err;

			child = (uint32_t)t->len;
			*slot = child; /* before tree_add_node: it does not touch the map */
			err = tree_add_node(t, (uint32_t)name, t->nodes[node].depth + 1);
			if (err < 0) {
				hmap_del(&t->edges, (uint64_t)node << 32 | (uint64_t)name, NULL);
				return err;
			}
			t->nodes[child].next_sibling = t->nodes[node].first_child;
			t->nodes[node].first_child = child;
		} else {
			child = (uint32_t)*slot;
		}
		node = child;
		t->nodes[node].total = s->value > INT64_MAX - t->nodes[node].total
					   ? INT64_MAX
					   : t->nodes[node].total + s->value;
	}
	t->scale = gcd64(t->scale, s->value);
	t->stacks++;
	return 0;
}

/* Values are sampled in multiples of a period; dividing by it keeps the page small. */
static int64_t tree_scale(const struct tree *t)
{
	return t->scale > 0 ? t->scale : 1;
}

static int cmp_hottest(const void *a, const void *b, void *ctx)
{
	const struct tree *t = ctx;
	const struct tnode *x = &t->nodes[*(const uint32_t *)a];
	const struct tnode *y = &t->nodes[*(const uint32_t *)b];

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(strtab_get(&t->names, x->name, NULL), strtab_get(&t->names, y->name, NULL));
}

/* A name's place in the page's name table: most used first, so most ids are short. */
struct name_rank {
	uint32_t id; /* strtab id */
	uint32_t count;
	uint32_t first; /* pre-order position of its first node: ties keep tree order */
};

static int cmp_rank(const void *a, const void *b)
{
	const struct name_rank *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* Writes "names" (used names, most frequent first) and the tree in pre-order as the
 * parallel arrays "name", "value", "depth". */
static int write_names(const struct tree *t, const uint32_t *order, size_t n, uint32_t *remap,
		       struct json_w *w)
{
	size_t k = strtab_count(&t->names);
	struct name_rank *rank = malloc((k ? k : 1) * sizeof(*rank));

	if (!rank)
		return -ENOMEM;
	for (size_t i = 0; i < k; i++)
		rank[i] = (struct name_rank){(uint32_t)i, 0, UINT32_MAX};
	for (size_t i = 0; i < n; i++) {
		struct name_rank *r = &rank[t->nodes[order[i]].name];

		if (!r->count++)
			r->first = (uint32_t)i;
	}
	qsort(rank, k, sizeof(*rank), cmp_rank);
	json_key(w, "names");
	json_arr_begin(w);
	for (size_t i = 0; i < k && rank[i].count; i++) {
		size_t len;
		const char *s = strtab_get(&t->names, rank[i].id, &len);

		remap[rank[i].id] = (uint32_t)i;
		json_strn(w, s, len);
	}
	json_arr_end(w);
	free(rank);
	return json_w_error(w);
}

/* Iterative: stacks may be thousands of frames deep. */
static int tree_write_json(const struct tree *t, struct json_w *w)
{
	uint32_t *order = malloc(t->len * sizeof(*order)); /* pre-order node ids */
	uint32_t *stack = malloc(t->len * sizeof(*stack));
	uint32_t *kids = malloc(t->len * sizeof(*kids));
	uint32_t *remap = malloc((strtab_count(&t->names) + 1) * sizeof(*remap));
	size_t n = 0, sp = 0;
	int err = 0;

	if (!order || !stack || !kids || !remap) {
		err = -ENOMEM;
		goto out;
	}
	stack[sp++] = 0;
	while (sp) {
		uint32_t i = stack[--sp];
		size_t k = 0;

		order[n++] = i;
		for (uint32_t c = t->nodes[i].first_child; c != NO_NODE;
		     c = t->nodes[c].next_sibling)
			kids[k++] = c;
		qsort_r(kids, k, sizeof(*kids), cmp_hottest, (void *)t);
		while (k)
			stack[sp++] = kids[--k]; /* hottest popped first */
	}

	err = write_names(t, order, n, remap, w);
	if (err < 0)
		goto out;
	json_key(w, "name");
	json_arr_begin(w);
	for (size_t i = 0; i < n; i++)
		json_uint(w, remap[t->nodes[order[i]].name]);
	json_arr_end(w);
	json_key(w, "value");
	json_arr_begin(w);
	for (size_t i = 0; i < n; i++)
		json_int(w, t->nodes[order[i]].total / tree_scale(t));
	json_arr_end(w);
	json_key(w, "depth");
	json_arr_begin(w);
	for (size_t i = 0; i < n; i++)
		json_uint(w, t->nodes[order[i]].depth);
	json_arr_end(w);
	err = json_w_error(w);
out:
	free(remap);
	free(kids);
	free(stack);
	free(order);
	return err;
}

static int write_data(struct buf *out, const struct report_html_opts *opts, const struct tree *t)
{
	struct json_w w;
	int err;

	json_w_init(&w, out);
	json_obj_begin(&w);
	json_key(&w, "version");
	json_int(&w, 1);
	json_key(&w, "title");
	json_str(&w, opts->title ? opts->title : "");
	json_key(&w, "sampleType");
	json_str(&w, opts->sample_type ? opts->sample_type : "");
	json_key(&w, "unit");
	json_str(&w, opts->unit ? opts->unit : "");
	json_key(&w, "scale");
	json_int(&w, tree_scale(t));
	json_key(&w, "stacks");
	json_uint(&w, t->stacks);
	err = tree_write_json(t, &w);
	if (err < 0)
		return err;
	json_obj_end(&w);
	return json_w_error(&w);
}

static int put_escaped(struct buf *b, const char *s)
{
	int err = 0;

	for (; s && *s && !err; s++) {
		switch (*s) {
		case '&':
			err = buf_puts(b, "&amp;");
			break;
		case '<':
			err = buf_puts(b, "&lt;");
			break;
		case '>':
			err = buf_puts(b, "&gt;");
			break;
		case '"':
			err = buf_puts(b, "&quot;");
			break;
		case '\'':
			err = buf_puts(b, "&#39;");
			break;
		default:
			err = buf_putc(b, *s);
		}
	}
	return err;
}

static bool contains_ci(const unsigned char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (!strncasecmp((const char *)hay + i, needle, n))
			return true;
	return false;
}

/* An embedded asset to inline inside `tag`: it must not be able to close it early. */
static int put_asset(struct buf *b, const char *path, const char *closing)
{
	const struct asset *a = assets_find(path);

	if (!a) {
		LOG_ERROR("html: asset '%s' is not embedded in this kiln binary", path);
		return -ENOENT;
	}
	if (contains_ci(a->data, a->len, closing)) {
		LOG_ERROR("html: asset '%s' contains '%s' and cannot be inlined", path, closing);
		return -EINVAL;
	}
	return buf_append(b, a->data, a->len);
}

static int fill_slot(struct buf *page, const char *key, size_t klen,
		     const struct report_html_opts *opts, const struct tree *t)
{
#define IS(k) (klen == sizeof(k) - 1 && !memcmp(key, k, klen))
	if (IS("title"))
		return put_escaped(page, opts->title && *opts->title ? opts->title : "profile");
	if (IS("subtitle"))
		return put_escaped(page, opts->subtitle);
	if (IS("sample_type"))
		return put_escaped(page, opts->sample_type);
	if (IS("css"))
		return put_asset(page, "flamegraph.css", "</style");
	if (IS("js"))
		return put_asset(page, "flamegraph.js", "</script");
	if (IS("data"))
		return write_data(page, opts, t);
#undef IS
	LOG_ERROR("html: unknown slot '{{%.*s}}' in report.html", (int)klen, key);
	return -EINVAL;
}

static int render_page(struct buf *page, const struct report_html_opts *opts, const struct tree *t)
{
	const struct asset *tpl = assets_find("report.html");
	const char *p, *end;
	int err;

	if (!tpl) {
		LOG_ERROR("html: asset 'report.html' is not embedded in this kiln binary");
		return -ENOENT;
	}
	p = (const char *)tpl->data;
	end = p + tpl->len;
	while (p < end) {
		const char *open = memmem(p, (size_t)(end - p), "{{", 2), *close;

		if (!open)
			return buf_append(page, p, (size_t)(end - p));
		close = memmem(open + 2, (size_t)(end - open - 2), "}}", 2);
		if (!close) {
			LOG_ERROR("html: unterminated slot in report.html");
			return -EINVAL;
		}
		err = buf_append(page, p, (size_t)(open - p));
		if (!err)
			err = fill_slot(page, open + 2, (size_t)(close - open - 2), opts, t);
		if (err < 0)
			return err;
		p = close + 2;
	}
	return 0;
}

int report_html_write(FILE *out, const struct report_html_opts *opts,
		      const struct report_stack *stacks, size_t nstacks)
{
	static const struct report_html_opts no_opts;
	struct buf page = BUF_INIT;
	struct tree t;
	int err;

	if (!out || (nstacks && !stacks))
		return -EINVAL;
	if (!opts)
		opts = &no_opts;
	size_t frames = 0;

	for (size_t i = 0; i < nstacks; i++)
		frames += stacks[i].nframes;
	/* distinct call paths are usually a fraction of all frames; cap the guess */
	err = tree_init(&t, frames / 4 < (1u << 20) ? frames / 4 : (1u << 20));
	if (err < 0)
		return err;
	for (size_t i = 0; i < nstacks; i++) {
		err = tree_add_stack(&t, &stacks[i]);
		if (err < 0)
			goto undo_tree;
	}
	if (t.skipped)
		LOG_DEBUG("html: skipped %zu stacks with a value <= 0", t.skipped);
	err = render_page(&page, opts, &t);
	if (err < 0)
		goto undo_page;
	if (fwrite(page.data, 1, page.len, out) != page.len || fflush(out) != 0) {
		err = errno ? -errno : -EIO;
		LOG_ERROR("html: cannot write the page: %s", strerror(-err));
	}

undo_page:
	buf_release(&page);
undo_tree:
	tree_release(&t);
	return err;
}
