/*
 * merge.c: re-interns every mapping, function and location of several profiles through the
 * pprof builder, which deduplicates them and sums equal samples. Per profile, id -> new id
 * maps make each object cost one builder call however many samples use it.
 */
#include "report/merge.h"

#include <errno.h>
#include <string.h>

#include "base/hmap.h"
#include "base/log.h"
#include "pprof/builder.h"

bool report_same_types(const struct pprof_profile *a, const struct pprof_profile *b)
{
	if (a->sample_types.len != b->sample_types.len)
		return false;
	for (size_t i = 0; i < a->sample_types.len; i++) {
		const struct pprof_value_type *x = &a->sample_types.items[i];
		const struct pprof_value_type *y = &b->sample_types.items[i];
		if (strcmp(pprof_str(a, x->type), pprof_str(b, y->type)) ||
		    strcmp(pprof_str(a, x->unit), pprof_str(b, y->unit)))
			return false;
	}
	return true;
}

void report_types_str(const struct pprof_profile *p, struct buf *out)
{
	for (size_t i = 0; i < p->sample_types.len; i++)
		buf_printf(out, "%s%s/%s", i ? ", " : "",
			   pprof_str(p, p->sample_types.items[i].type),
			   pprof_str(p, p->sample_types.items[i].unit));
	if (!p->sample_types.len)
		buf_puts(out, "(none)");
}

struct idmaps {
	struct hmap mapping;
	struct hmap function;
	struct hmap location;
};

static uint64_t map_mapping(struct pprof_builder *b, struct idmaps *m,
			    const struct pprof_profile *p, uint64_t id)
{
	if (!id)
		return 0;
	uint64_t *v = hmap_get(&m->mapping, id);
	if (v)
		return *v;
	const struct pprof_mapping *mp = pprof_mapping_by_id(p, id);
	if (!mp)
		return 0;
	uint64_t nid = pprof_builder_mapping(b, mp->memory_start, mp->memory_limit, mp->file_offset,
					     pprof_str(p, mp->filename), pprof_str(p, mp->build_id),
					     mp->has_functions);
	if (nid && hmap_put(&m->mapping, id, nid) < 0)
		return 0;
	return nid;
}

static uint64_t map_function(struct pprof_builder *b, struct idmaps *m,
			     const struct pprof_profile *p, uint64_t id)
{
	uint64_t *v = hmap_get(&m->function, id);
	if (v)
		return *v;
	const struct pprof_function *fn = pprof_function_by_id(p, id);
	if (!fn)
		return 0;
	uint64_t nid =
	    pprof_builder_function(b, pprof_str(p, fn->name), pprof_str(p, fn->system_name),
				   pprof_str(p, fn->filename), fn->start_line);
	if (nid && hmap_put(&m->function, id, nid) < 0)
		return 0;
	return nid;
}

static uint64_t map_location(struct pprof_builder *b, struct idmaps *m,
			     const struct pprof_profile *p, uint64_t id)
{
	uint64_t *v = hmap_get(&m->location, id);
	if (v)
		return *v;
	const struct pprof_location *loc = pprof_location_by_id(p, id);
	if (!loc)
		return 0;
	struct pprof_line small[16];
	struct pprof_line *lines = small;
	if (loc->nlines > 16) {
		lines = calloc(loc->nlines, sizeof(*lines));
		if (!lines)
			return 0;
	}
	uint64_t nid = 0;
	for (size_t i = 0; i < loc->nlines; i++) {
		lines[i] = loc->lines[i];
		if (loc->lines[i].function_id) {
			lines[i].function_id = map_function(b, m, p, loc->lines[i].function_id);
			if (!lines[i].function_id)
				goto out_lines;
		}
	}
	uint64_t mapping = map_mapping(b, m, p, loc->mapping_id);
	if (loc->mapping_id && !mapping)
		goto out_lines;
	nid = pprof_builder_location(b, mapping, loc->address, lines, loc->nlines);
	if (nid && hmap_put(&m->location, id, nid) < 0)
		nid = 0;
out_lines:
	if (lines != small)
		free(lines);
	return nid;
}

static int add_profile(struct pprof_builder *b, const struct pprof_profile *p)
{
	struct idmaps m;
	VEC(uint64_t) locs = VEC_INIT;
	VEC(struct pprof_label) labels = VEC_INIT;
	int rc = -ENOMEM;

	hmap_init(&m.mapping, 0);
	hmap_init(&m.function, 0);
	hmap_init(&m.location, p->locations.len);
	for (size_t i = 0; i < p->comments.len; i++)
		pprof_builder_comment(b, pprof_str(p, p->comments.items[i]));

	for (size_t si = 0; si < p->samples.len; si++) {
		const struct pprof_sample *s = &p->samples.items[si];
		vec_clear(&locs);
		vec_clear(&labels);
		if (vec_reserve(&locs, s->nlocations) < 0 || vec_reserve(&labels, s->nlabels) < 0)
			goto out;
		for (size_t i = 0; i < s->nlocations; i++) {
			uint64_t nid = map_location(b, &m, p, s->location_ids[i]);
			if (!nid) {
				rc = errno ? -errno : -EINVAL;
				goto out;
			}
			locs.items[locs.len++] = nid;
		}
		for (size_t i = 0; i < s->nlabels; i++) {
			const struct pprof_label *l = &s->labels[i];
			const char *key = pprof_str(p, l->key);
			if (l->str)
				labels.items[labels.len++] =
				    pprof_builder_label_str(b, key, pprof_str(p, l->str));
			else
				labels.items[labels.len++] = pprof_builder_label_num(
				    b, key, l->num, l->num_unit ? pprof_str(p, l->num_unit) : NULL);
		}
		rc = pprof_builder_add_sample(b, locs.items, locs.len, s->values, labels.items,
					      labels.len);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	vec_release(&locs);
	vec_release(&labels);
	hmap_release(&m.mapping);
	hmap_release(&m.function);
	hmap_release(&m.location);
	return rc;
}

int report_merge(const struct pprof_profile *const *profiles, size_t n, struct pprof_profile *out)
{
	struct pprof_builder *b;
	const struct pprof_profile *first = profiles[0];
	int64_t start = 0, end = 0;
	int rc;

	b = pprof_builder_new();
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < first->sample_types.len; i++) {
		rc = pprof_builder_sample_type(b,
					       pprof_str(first, first->sample_types.items[i].type),
					       pprof_str(first, first->sample_types.items[i].unit));
		if (rc < 0)
			goto out_builder;
	}
	if (first->period_type.type || first->period) {
		rc = pprof_builder_period(b, pprof_str(first, first->period_type.type),
					  pprof_str(first, first->period_type.unit), first->period);
		if (rc < 0)
			goto out_builder;
	}
	if (first->default_sample_type) {
		rc = pprof_builder_default_sample_type(
		    b, pprof_str(first, first->default_sample_type));
		if (rc < 0)
			goto out_builder;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pprof_profile *p = profiles[i];
		if (p->time_nanos) {
			if (!start || p->time_nanos < start)
				start = p->time_nanos;
			if (p->time_nanos + p->duration_nanos > end)
				end = p->time_nanos + p->duration_nanos;
		}
		rc = add_profile(b, p);
		if (rc < 0) {
			LOG_ERROR("report: cannot merge profile %zu: %s", i + 1, strerror(-rc));
			goto out_builder;
		}
	}
	pprof_builder_time(b, start, start ? end - start : 0);
	rc = pprof_builder_finish(b, out);
out_builder:
	pprof_builder_free(b);
	return rc;
}
