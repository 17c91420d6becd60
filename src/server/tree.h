/*
 * tree: merges stored profiles into one call tree (flame graph) and a per-function top
 * table, server-side, for the query API. Two sides (0 and 1) can be loaded into the same
 * tree so a comparison shares node identities.
 *
 * Cost is O(samples) for loading (one hash update per stored (stack, value) pair), then
 * O(distinct stacks x depth) for building, independent of how many profiles were merged.
 *
 *	struct ftree *t = ftree_new();
 *	ftree_load(t, store, &query, "wall/nanoseconds", NULL, 0, &nprofiles);
 *	ftree_build(t, store);
 *	ftree_write_tree(t, &json, 2000);
 *	ftree_free(t);
 *
 * Tree JSON (documented for users in docs/api.md): nodes in preorder, root first, children
 * sorted by value descending; parallel arrays "name" (index into "names"), "parent" (-1 for
 * the root), "total", "self" (and "total_b", "self_b" when two sides were loaded).
 */
#ifndef KILN_SERVER_TREE_H
#define KILN_SERVER_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "base/json.h"
#include "server/store.h"

struct ftree;

struct ftree *ftree_new(void);
void ftree_free(struct ftree *t);

/* Adds the samples of `type` of every profile matching q to side 0 or 1. */
int ftree_load(struct ftree *t, struct store *s, const struct store_query *q, const char *type,
	       const char *attachment, int side, int64_t *nprofiles);
/* Resolves stacks and function names and builds the nodes; call once after the loads. */
int ftree_build(struct ftree *t, struct store *s);

int64_t ftree_total(const struct ftree *t, int side);
size_t ftree_node_count(const struct ftree *t);
/* Self and total values of the function called `name` (summed over files). -ENOENT if absent. */
int ftree_function(const struct ftree *t, const char *name, int64_t self[2], int64_t total[2]);

/* Writes the tree as one JSON object value, at most max_nodes nodes (0 = no limit): the
 * smallest nodes are folded into one "other" child per parent. */
void ftree_write_tree(const struct ftree *t, struct json_w *w, size_t max_nodes);
/* Writes the top table as a JSON array value: functions by self value (or, when two sides
 * were loaded, by the largest change of share), at most limit rows (0 = all). */
void ftree_write_top(const struct ftree *t, struct json_w *w, size_t limit);

#endif
