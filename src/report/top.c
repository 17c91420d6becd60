/*
 * top.c: flat/cum aggregation per function and the base-vs-new comparison (--diff).
 *
 * Cum counts a function once per stack: a stamp per function remembers the last stack that
 * added to it, so recursion costs no extra memory or sorting.
 */
#include "report/top.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define abs64 report_abs

struct sort_row {
	struct report_row row;
	const char *name;
};

static int cmp_rows(const void *a, const void *b)
{
	const struct sort_row *l = a, *r = b;
	int64_t lf = abs64(l->row.flat), rf = abs64(r->row.flat);
	if (lf != rf)
		return lf > rf ? -1 : 1;
	int c = strcmp(l->name, r->name);
	if (c)
		return c;
	int64_t lc = abs64(l->row.cum), rc = abs64(r->row.cum);
	if (lc != rc)
		return lc > rc ? -1 : 1;
	return 0;
}

int report_top_compute(struct report_top *t, const struct report_stacks *rs)
{
	size_t nnames = strtab_count(&rs->names);
	int64_t *flat = calloc(nnames ? nnames : 1, sizeof(*flat));
	int64_t *cum = calloc(nnames ? nnames : 1, sizeof(*cum));
	uint64_t *stamp = calloc(nnames ? nnames : 1, sizeof(*stamp));
	struct sort_row *sorted = NULL;
	size_t nrows = 0;
	int rc = -ENOMEM;

	memset(t, 0, sizeof(*t));
	t->total = rs->total;
	if (!flat || !cum || !stamp)
		goto out_arrays;

	if (!rs->keep_stacks && rs->flat.len) {
		memcpy(flat, rs->flat.items, rs->flat.len * sizeof(*flat));
		memcpy(cum, rs->cum.items, rs->cum.len * sizeof(*cum));
	}
	for (size_t si = 0; si < rs->stacks.len; si++) {
		const struct report_stack_rec *s = &rs->stacks.items[si];
		const uint32_t *fr = &rs->frames.items[s->off];
		if (!s->value || !s->len)
			continue;
		flat[fr[0]] = report_add(flat[fr[0]], s->value);
		for (uint32_t i = 0; i < s->len; i++) {
			if (stamp[fr[i]] == si + 1)
				continue;
			stamp[fr[i]] = si + 1;
			cum[fr[i]] = report_add(cum[fr[i]], s->value);
		}
	}

	for (size_t n = 0; n < nnames; n++)
		if (flat[n] || cum[n])
			nrows++;
	sorted = malloc((nrows ? nrows : 1) * sizeof(*sorted));
	if (!sorted || vec_reserve(&t->rows, nrows) < 0)
		goto out_arrays;
	nrows = 0;
	for (size_t n = 0; n < nnames; n++) {
		if (!flat[n] && !cum[n])
			continue;
		sorted[nrows].row =
		    (struct report_row){.name = (uint32_t)n, .flat = flat[n], .cum = cum[n]};
		sorted[nrows].name = report_stacks_name(rs, (uint32_t)n);
		t->flat_sum = report_add(t->flat_sum, flat[n]);
		nrows++;
	}
	if (nrows > 1)
		qsort(sorted, nrows, sizeof(*sorted), cmp_rows);
	for (size_t i = 0; i < nrows; i++)
		t->rows.items[i] = sorted[i].row;
	t->rows.len = nrows;
	rc = 0;
out_arrays:
	free(sorted);
	free(flat);
	free(cum);
	free(stamp);
	if (rc < 0)
		report_top_release(t);
	return rc;
}

void report_top_release(struct report_top *t)
{
	if (!t)
		return;
	vec_release(&t->rows);
}

long report_top_find(const struct report_top *t, const struct report_stacks *rs, const char *name)
{
	for (size_t i = 0; i < t->rows.len; i++)
		if (!strcmp(report_stacks_name(rs, t->rows.items[i].name), name))
			return (long)i;
	return -1;
}

static int cmp_diff(const void *a, const void *b)
{
	const struct report_diff_row *l = a, *r = b;
	int64_t lf = abs64(report_sub(l->flat_new, l->flat_base)),
		rf = abs64(report_sub(r->flat_new, r->flat_base));
	if (lf != rf)
		return lf > rf ? -1 : 1;
	int64_t lc = abs64(report_sub(l->cum_new, l->cum_base)),
		rc = abs64(report_sub(r->cum_new, r->cum_base));
	if (lc != rc)
		return lc > rc ? -1 : 1;
	return strcmp(l->name, r->name);
}

int report_diff_compute(struct report_diff *d, const struct report_stacks *base_rs,
			const struct report_stacks *new_rs)
{
	struct report_top base, cur;
	struct strtab join;
	int rc;

	memset(d, 0, sizeof(*d));
	d->total_base = base_rs->total;
	d->total_new = new_rs->total;
	rc = report_top_compute(&base, base_rs);
	if (rc < 0)
		return rc;
	rc = report_top_compute(&cur, new_rs);
	if (rc < 0)
		goto out_base;
	rc = -ENOMEM;
	if (strtab_init(&join) < 0)
		goto out_cur;

	/* Row i of d is the function with join id i+1. */
	for (int pass = 0; pass < 2; pass++) {
		const struct report_top *t = pass ? &cur : &base;
		const struct report_stacks *rs = pass ? new_rs : base_rs;
		for (size_t i = 0; i < t->rows.len; i++) {
			const struct report_row *r = &t->rows.items[i];
			size_t len;
			const char *name = strtab_get(&rs->names, r->name, &len);
			int64_t id = strtab_intern(&join, name, len);
			if (id < 0)
				goto out_join;
			if ((size_t)id > d->rows.len) {
				struct report_diff_row *row = vec_grow_zero(&d->rows, 1);
				if (!row)
					goto out_join;
				row->name = name;
			}
			struct report_diff_row *row = &d->rows.items[id - 1];
			if (pass) {
				row->flat_new = r->flat;
				row->cum_new = r->cum;
			} else {
				row->flat_base = r->flat;
				row->cum_base = r->cum;
			}
		}
	}
	size_t kept = 0;
	for (size_t i = 0; i < d->rows.len; i++) {
		const struct report_diff_row *r = &d->rows.items[i];
		if (r->flat_new != r->flat_base || r->cum_new != r->cum_base)
			d->rows.items[kept++] = *r;
	}
	d->rows.len = kept;
	if (d->rows.len > 1)
		qsort(d->rows.items, d->rows.len, sizeof(*d->rows.items), cmp_diff);
	rc = 0;
out_join:
	strtab_release(&join);
out_cur:
	report_top_release(&cur);
out_base:
	report_top_release(&base);
	if (rc < 0)
		report_diff_release(d);
	return rc;
}

void report_diff_release(struct report_diff *d)
{
	if (!d)
		return;
	vec_release(&d->rows);
}
