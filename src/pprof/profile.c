/*
 * profile.c: the in-memory pprof profile shared by the decoder, the encoder and the builder:
 * its lifetime, the id lookup tables and structural comparison (round-trip tests, fuzzing).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "pprof/internal.h"
#include "pprof/pprof.h"

int pprof_profile_init(struct pprof_profile *p)
{
	memset(p, 0, sizeof(*p));
	arena_init(&p->arena, 64 * 1024);
	if (strtab_init(&p->strings) < 0)
		return -ENOMEM;
	return 0;
}

void pprof_profile_release(struct pprof_profile *p)
{
	if (!p)
		return;
	vec_release(&p->sample_types);
	vec_release(&p->samples);
	vec_release(&p->mappings);
	vec_release(&p->locations);
	vec_release(&p->functions);
	vec_release(&p->comments);
	strtab_release(&p->strings);
	hmap_release(&p->mapping_index);
	hmap_release(&p->location_index);
	hmap_release(&p->function_index);
	arena_release(&p->arena);
	memset(p, 0, sizeof(*p));
}

int pprof_index_ids(struct hmap *m, const void *items, size_t n, size_t stride, size_t *bad)
{
	hmap_clear(m);
	if (m->cap < n + n / 2) {
		hmap_release(m);
		if (hmap_init(m, n) < 0)
			return -ENOMEM;
	}
	const unsigned char *base = items;
	for (size_t i = 0; i < n; i++) {
		uint64_t id;
		memcpy(&id, base + i * stride, sizeof(id));
		if (id == 0) {
			*bad = i;
			return -EINVAL;
		}
		bool created;
		uint64_t *slot = hmap_upsert(m, id, &created);
		if (!slot)
			return -ENOMEM;
		if (!created) {
			*bad = i;
			return -EEXIST;
		}
		*slot = i + 1;
	}
	return 0;
}

int pprof_profile_index(struct pprof_profile *p)
{
	size_t bad;
	int rc = pprof_index_ids(&p->mapping_index, p->mappings.items, p->mappings.len,
				 sizeof(*p->mappings.items), &bad);
	if (rc == 0)
		rc = pprof_index_ids(&p->location_index, p->locations.items, p->locations.len,
				     sizeof(*p->locations.items), &bad);
	if (rc == 0)
		rc = pprof_index_ids(&p->function_index, p->functions.items, p->functions.len,
				     sizeof(*p->functions.items), &bad);
	return rc;
}

/* Producers almost always number records 1..n in file order: try that slot first. */
#define BY_ID(vec, index, id)                                                                      \
	do {                                                                                       \
		if ((id)-1 < (vec).len && (vec).items[(id)-1].id == (id))                          \
			return &(vec).items[(id)-1];                                               \
		if ((index).len == 0)                                                              \
			return NULL;                                                               \
		const uint64_t *slot_ = hmap_get(&(index), (id));                                  \
		return slot_ && *slot_ - 1 < (vec).len ? &(vec).items[*slot_ - 1] : NULL;          \
	} while (0)

const struct pprof_mapping *pprof_mapping_by_id(const struct pprof_profile *p, uint64_t id)
{
	BY_ID(p->mappings, p->mapping_index, id);
}

const struct pprof_location *pprof_location_by_id(const struct pprof_profile *p, uint64_t id)
{
	BY_ID(p->locations, p->location_index, id);
}

const struct pprof_function *pprof_function_by_id(const struct pprof_profile *p, uint64_t id)
{
	BY_ID(p->functions, p->function_index, id);
}

const char *pprof_str(const struct pprof_profile *p, int64_t id)
{
	const char *s = strtab_get(&p->strings, id, NULL);
	return s ? s : "";
}

int pprof_sample_type_index(const struct pprof_profile *p, const char *name)
{
	for (size_t i = 0; i < p->sample_types.len; i++)
		if (!strcmp(pprof_str(p, p->sample_types.items[i].type), name))
			return (int)i;
	return -1;
}

/* ---- comparison -------------------------------------------------------------------------- */

#define DIFF(...)                                                                                  \
	do {                                                                                       \
		if (why)                                                                           \
			buf_printf(why, __VA_ARGS__);                                              \
		return false;                                                                      \
	} while (0)

static bool same_sample(const struct pprof_sample *a, const struct pprof_sample *b)
{
	if (a->nlocations != b->nlocations || a->nvalues != b->nvalues || a->nlabels != b->nlabels)
		return false;
	for (size_t i = 0; i < a->nlocations; i++)
		if (a->location_ids[i] != b->location_ids[i])
			return false;
	for (size_t i = 0; i < a->nvalues; i++)
		if (a->values[i] != b->values[i])
			return false;
	for (size_t i = 0; i < a->nlabels; i++) {
		const struct pprof_label *x = &a->labels[i], *y = &b->labels[i];
		if (x->key != y->key || x->str != y->str || x->num != y->num ||
		    x->num_unit != y->num_unit)
			return false;
	}
	return true;
}

static bool same_location(const struct pprof_location *a, const struct pprof_location *b)
{
	if (a->id != b->id || a->mapping_id != b->mapping_id || a->address != b->address ||
	    a->nlines != b->nlines || a->is_folded != b->is_folded)
		return false;
	for (size_t i = 0; i < a->nlines; i++)
		if (a->lines[i].function_id != b->lines[i].function_id ||
		    a->lines[i].line != b->lines[i].line ||
		    a->lines[i].column != b->lines[i].column)
			return false;
	return true;
}

bool pprof_profile_equal(const struct pprof_profile *a, const struct pprof_profile *b,
			 struct buf *why)
{
	if (strtab_count(&a->strings) != strtab_count(&b->strings))
		DIFF("string tables differ in size (%zu vs %zu)", strtab_count(&a->strings),
		     strtab_count(&b->strings));
	for (size_t i = 0; i < strtab_count(&a->strings); i++) {
		size_t la, lb;
		const char *sa = strtab_get(&a->strings, (int64_t)i, &la);
		const char *sb = strtab_get(&b->strings, (int64_t)i, &lb);
		if (la != lb || memcmp(sa, sb, la))
			DIFF("string %zu differs", i);
	}
	if (a->sample_types.len != b->sample_types.len)
		DIFF("sample type counts differ (%zu vs %zu)", a->sample_types.len,
		     b->sample_types.len);
	for (size_t i = 0; i < a->sample_types.len; i++)
		if (a->sample_types.items[i].type != b->sample_types.items[i].type ||
		    a->sample_types.items[i].unit != b->sample_types.items[i].unit)
			DIFF("sample type %zu differs", i);
	if (a->samples.len != b->samples.len)
		DIFF("sample counts differ (%zu vs %zu)", a->samples.len, b->samples.len);
	for (size_t i = 0; i < a->samples.len; i++)
		if (!same_sample(&a->samples.items[i], &b->samples.items[i]))
			DIFF("sample %zu differs", i);
	if (a->mappings.len != b->mappings.len)
		DIFF("mapping counts differ (%zu vs %zu)", a->mappings.len, b->mappings.len);
	for (size_t i = 0; i < a->mappings.len; i++) {
		const struct pprof_mapping *x = &a->mappings.items[i], *y = &b->mappings.items[i];
		if (x->id != y->id || x->memory_start != y->memory_start ||
		    x->memory_limit != y->memory_limit || x->file_offset != y->file_offset ||
		    x->filename != y->filename || x->build_id != y->build_id ||
		    x->has_functions != y->has_functions || x->has_filenames != y->has_filenames ||
		    x->has_line_numbers != y->has_line_numbers ||
		    x->has_inline_frames != y->has_inline_frames)
			DIFF("mapping %zu differs", i);
	}
	if (a->locations.len != b->locations.len)
		DIFF("location counts differ (%zu vs %zu)", a->locations.len, b->locations.len);
	for (size_t i = 0; i < a->locations.len; i++)
		if (!same_location(&a->locations.items[i], &b->locations.items[i]))
			DIFF("location %zu differs", i);
	if (a->functions.len != b->functions.len)
		DIFF("function counts differ (%zu vs %zu)", a->functions.len, b->functions.len);
	for (size_t i = 0; i < a->functions.len; i++) {
		const struct pprof_function *x = &a->functions.items[i],
					    *y = &b->functions.items[i];
		if (x->id != y->id || x->name != y->name || x->system_name != y->system_name ||
		    x->filename != y->filename || x->start_line != y->start_line)
			DIFF("function %zu differs", i);
	}
	if (a->comments.len != b->comments.len)
		DIFF("comment counts differ (%zu vs %zu)", a->comments.len, b->comments.len);
	for (size_t i = 0; i < a->comments.len; i++)
		if (a->comments.items[i] != b->comments.items[i])
			DIFF("comment %zu differs", i);
	if (a->drop_frames != b->drop_frames || a->keep_frames != b->keep_frames)
		DIFF("drop_frames/keep_frames differ");
	if (a->time_nanos != b->time_nanos || a->duration_nanos != b->duration_nanos)
		DIFF("time_nanos/duration_nanos differ");
	if (a->period_type.type != b->period_type.type ||
	    a->period_type.unit != b->period_type.unit || a->period != b->period)
		DIFF("period differs");
	if (a->default_sample_type != b->default_sample_type)
		DIFF("default_sample_type differs");
	return true;
}
