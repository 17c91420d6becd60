/*
 * builder.c: interning profile builder for producers (the profiler's aggregator, kiln report
 * --merge, the server's merges).
 *
 * The builder keeps the profile it is building and one hindex per record kind; records
 * live in the profile's vectors and their ids are index+1, so a reference is checked with
 * one comparison. add_sample is the hot path (millions of calls per period): it hashes the
 * location ids and labels, probes the sample index and either adds the values in place or
 * copies the new key into the profile's arena. Nothing is malloc'ed per sample except when
 * a vector, the index or an arena chunk grows.
 */
#include <errno.h>
#include <string.h>

#include "base/hash.h"
#include "pprof/builder.h"

struct pprof_builder {
	struct pprof_profile p; /* what pprof_builder_finish hands out */
	struct hindex mappings;
	struct hindex functions;
	struct hindex locations;
	struct hindex samples;
	uint64_t seed;
};

struct pprof_builder *pprof_builder_new(void)
{
	struct pprof_builder *b = calloc(1, sizeof(*b));
	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	if (pprof_profile_init(&b->p) < 0) {
		free(b);
		errno = ENOMEM;
		return NULL;
	}
	b->seed = hash_u64((uint64_t)(uintptr_t)b ^ 0x6275696c646572ULL);
	return b;
}

void pprof_builder_free(struct pprof_builder *b)
{
	if (!b)
		return;
	pprof_profile_release(&b->p);
	hindex_release(&b->mappings);
	hindex_release(&b->functions);
	hindex_release(&b->locations);
	hindex_release(&b->samples);
	free(b);
}

static int64_t str(struct pprof_builder *b, const char *s)
{
	return strtab_intern_str(&b->p.strings, s ? s : "");
}

int64_t pprof_builder_str(struct pprof_builder *b, const char *s)
{
	return str(b, s);
}

int64_t pprof_builder_strn(struct pprof_builder *b, const char *s, size_t len)
{
	return strtab_intern(&b->p.strings, s, len);
}

static int value_type(struct pprof_builder *b, const char *type, const char *unit,
		      struct pprof_value_type *vt)
{
	int64_t t = str(b, type), u = str(b, unit);
	if (t < 0 || u < 0)
		return -ENOMEM;
	vt->type = t;
	vt->unit = u;
	return 0;
}

int pprof_builder_sample_type(struct pprof_builder *b, const char *type, const char *unit)
{
	if (b->p.samples.len)
		return -EBUSY;
	struct pprof_value_type vt;
	if (value_type(b, type, unit, &vt) < 0 || vec_push(&b->p.sample_types, vt) < 0)
		return -ENOMEM;
	return (int)(b->p.sample_types.len - 1);
}

int pprof_builder_period(struct pprof_builder *b, const char *type, const char *unit,
			 int64_t period)
{
	if (value_type(b, type, unit, &b->p.period_type) < 0)
		return -ENOMEM;
	b->p.period = period;
	return 0;
}

void pprof_builder_time(struct pprof_builder *b, int64_t time_nanos, int64_t duration_nanos)
{
	b->p.time_nanos = time_nanos;
	b->p.duration_nanos = duration_nanos;
}

int pprof_builder_comment(struct pprof_builder *b, const char *comment)
{
	int64_t id = str(b, comment);
	if (id < 0 || vec_push(&b->p.comments, id) < 0)
		return -ENOMEM;
	return 0;
}

int pprof_builder_default_sample_type(struct pprof_builder *b, const char *type)
{
	int64_t id = str(b, type);
	if (id < 0)
		return -ENOMEM;
	b->p.default_sample_type = id;
	return 0;
}

/* Finds or adds a record compared by its bytes after the id (the record has no padding). */
#define INTERN(b, vec, ix, rec)                                                                    \
	do {                                                                                       \
		uint64_t h_ = hash_bytes((const char *)&(rec) + sizeof(uint64_t),                  \
					 sizeof(rec) - sizeof(uint64_t), (b)->seed);               \
		uint32_t id_;                                                                      \
		for (size_t it_ = 0; hindex_probe(&(ix), h_, &it_, &id_);)                         \
			if (!memcmp((const char *)&(vec).items[id_] + sizeof(uint64_t),            \
				    (const char *)&(rec) + sizeof(uint64_t),                       \
				    sizeof(rec) - sizeof(uint64_t)))                               \
				return (uint64_t)id_ + 1;                                          \
		if ((vec).len >= UINT32_MAX) {                                                     \
			errno = E2BIG;                                                             \
			return 0;                                                                  \
		}                                                                                  \
		(rec).id = (vec).len + 1;                                                          \
		if (vec_push(&(vec), (rec)) < 0) {                                                 \
			errno = ENOMEM;                                                            \
			return 0;                                                                  \
		}                                                                                  \
		if (hindex_insert(&(ix), h_, (uint32_t)((vec).len - 1)) < 0) {                     \
			(vec).len--;                                                               \
			errno = ENOMEM;                                                            \
			return 0;                                                                  \
		}                                                                                  \
		return (rec).id;                                                                   \
	} while (0)

static bool same_mapping(const struct pprof_mapping *a, const struct pprof_mapping *b)
{
	return a->memory_start == b->memory_start && a->memory_limit == b->memory_limit &&
	       a->file_offset == b->file_offset && a->filename == b->filename &&
	       a->build_id == b->build_id && a->has_functions == b->has_functions;
}

uint64_t pprof_builder_mapping(struct pprof_builder *b, uint64_t start, uint64_t limit,
			       uint64_t offset, const char *filename, const char *build_id,
			       bool has_functions)
{
	struct pprof_profile *p = &b->p;
	struct pprof_mapping m = {
	    .memory_start = start,
	    .memory_limit = limit,
	    .file_offset = offset,
	    .filename = str(b, filename),
	    .build_id = str(b, build_id),
	    .has_functions = has_functions,
	};
	if (m.filename < 0 || m.build_id < 0) {
		errno = ENOMEM;
		return 0;
	}
	uint64_t key[6] = {start,	 limit, offset, (uint64_t)m.filename, (uint64_t)m.build_id,
			   has_functions};
	uint64_t h = hash_bytes(key, sizeof(key), b->seed);
	uint32_t id;
	for (size_t it = 0; hindex_probe(&b->mappings, h, &it, &id);)
		if (same_mapping(&p->mappings.items[id], &m))
			return (uint64_t)id + 1;
	if (p->mappings.len >= UINT32_MAX) {
		errno = E2BIG;
		return 0;
	}
	m.id = p->mappings.len + 1;
	if (vec_push(&p->mappings, m) < 0 ||
	    hindex_insert(&b->mappings, h, (uint32_t)(p->mappings.len - 1)) < 0) {
		errno = ENOMEM;
		return 0;
	}
	return m.id;
}

uint64_t pprof_builder_function(struct pprof_builder *b, const char *name, const char *system_name,
				const char *filename, int64_t start_line)
{
	_Static_assert(sizeof(struct pprof_function) == 5 * sizeof(uint64_t), "padding");
	struct pprof_function f = {0};
	f.name = str(b, name);
	f.system_name = str(b, system_name);
	f.filename = str(b, filename);
	f.start_line = start_line;
	if (f.name < 0 || f.system_name < 0 || f.filename < 0) {
		errno = ENOMEM;
		return 0;
	}
	INTERN(b, b->p.functions, b->functions, f);
}

static bool same_location(const struct pprof_location *l, uint64_t mapping_id, uint64_t address,
			  const struct pprof_line *lines, size_t nlines)
{
	return l->mapping_id == mapping_id && l->address == address && l->nlines == nlines &&
	       (nlines == 0 || !memcmp(l->lines, lines, nlines * sizeof(*lines)));
}

uint64_t pprof_builder_location(struct pprof_builder *b, uint64_t mapping_id, uint64_t address,
				const struct pprof_line *lines, size_t nlines)
{
	struct pprof_profile *p = &b->p;
	if (mapping_id > p->mappings.len || (nlines && !lines)) {
		errno = EINVAL;
		return 0;
	}
	for (size_t i = 0; i < nlines; i++)
		if (lines[i].function_id == 0 || lines[i].function_id > p->functions.len) {
			errno = EINVAL;
			return 0;
		}
	uint64_t h = hash_combine(hash_combine(b->seed, mapping_id), address);
	if (nlines)
		h = hash_bytes(lines, nlines * sizeof(*lines), h);
	uint32_t id;
	for (size_t it = 0; hindex_probe(&b->locations, h, &it, &id);)
		if (same_location(&p->locations.items[id], mapping_id, address, lines, nlines))
			return (uint64_t)id + 1;
	if (p->locations.len >= UINT32_MAX) {
		errno = E2BIG;
		return 0;
	}
	struct pprof_location l = {
	    .id = p->locations.len + 1,
	    .mapping_id = mapping_id,
	    .address = address,
	    .nlines = nlines,
	};
	if (nlines) {
		l.lines = arena_memdup(&p->arena, lines, nlines * sizeof(*lines));
		if (!l.lines) {
			errno = ENOMEM;
			return 0;
		}
	}
	if (vec_push(&p->locations, l) < 0 ||
	    hindex_insert(&b->locations, h, (uint32_t)(p->locations.len - 1)) < 0) {
		errno = ENOMEM;
		return 0;
	}
	return l.id;
}

struct pprof_label pprof_builder_label_str(struct pprof_builder *b, const char *key,
					   const char *value)
{
	struct pprof_label l = {0};
	int64_t k = str(b, key), v = str(b, value);
	if (k < 0 || v < 0) {
		errno = ENOMEM;
		return l;
	}
	l.key = k;
	l.str = v;
	return l;
}

struct pprof_label pprof_builder_label_num(struct pprof_builder *b, const char *key, int64_t num,
					   const char *unit)
{
	struct pprof_label l = {0};
	int64_t k = str(b, key), u = unit ? str(b, unit) : 0;
	if (k < 0 || u < 0) {
		errno = ENOMEM;
		return l;
	}
	l.key = k;
	l.num = num;
	l.num_unit = u;
	return l;
}

static bool same_key(const struct pprof_sample *s, const uint64_t *locations, size_t n,
		     const struct pprof_label *labels, size_t nlabels)
{
	return s->nlocations == n && s->nlabels == nlabels &&
	       (n == 0 || !memcmp(s->location_ids, locations, n * sizeof(*locations))) &&
	       (nlabels == 0 || !memcmp(s->labels, labels, nlabels * sizeof(*labels)));
}

int pprof_builder_add_sample(struct pprof_builder *b, const uint64_t *locations, size_t n,
			     const int64_t *values, const struct pprof_label *labels,
			     size_t nlabels)
{
	struct pprof_profile *p = &b->p;
	size_t nvalues = p->sample_types.len;
	if ((n && !locations) || (nlabels && !labels) || (nvalues && !values))
		return -EINVAL;
	uint64_t h = b->seed;
	if (n)
		h = hash_bytes(locations, n * sizeof(*locations), h);
	if (nlabels)
		h = hash_bytes(labels, nlabels * sizeof(*labels), h);
	uint32_t id;
	for (size_t it = 0; hindex_probe(&b->samples, h, &it, &id);) {
		struct pprof_sample *s = &p->samples.items[id];
		if (!same_key(s, locations, n, labels, nlabels))
			continue;
		/* The values array was allocated by the builder: writable. */
		int64_t *sum = (int64_t *)(uintptr_t)s->values;
		for (size_t i = 0; i < nvalues; i++)
			sum[i] = (int64_t)((uint64_t)sum[i] + (uint64_t)values[i]);
		return 0;
	}
	/* A new key: check it once, then copy it into the arena. */
	for (size_t i = 0; i < n; i++)
		if (locations[i] == 0 || locations[i] > p->locations.len)
			return -EINVAL;
	int64_t nstr = (int64_t)strtab_count(&p->strings);
	for (size_t i = 0; i < nlabels; i++) {
		const struct pprof_label *l = &labels[i];
		if (l->key < 0 || l->key >= nstr || l->str < 0 || l->str >= nstr ||
		    l->num_unit < 0 || l->num_unit >= nstr)
			return -EINVAL;
	}
	if (p->samples.len >= UINT32_MAX)
		return -E2BIG;
	struct pprof_sample s = {.nlocations = n, .nvalues = nvalues, .nlabels = nlabels};
	if (n && !(s.location_ids = arena_memdup(&p->arena, locations, n * sizeof(*locations))))
		return -ENOMEM;
	if (nvalues && !(s.values = arena_memdup(&p->arena, values, nvalues * sizeof(*values))))
		return -ENOMEM;
	if (nlabels && !(s.labels = arena_memdup(&p->arena, labels, nlabels * sizeof(*labels))))
		return -ENOMEM;
	if (vec_push(&p->samples, s) < 0)
		return -ENOMEM;
	if (hindex_insert(&b->samples, h, (uint32_t)(p->samples.len - 1)) < 0) {
		p->samples.len--;
		return -ENOMEM;
	}
	return 0;
}

/* Re-interns a value type of `from` into `to`'s string table. */
static int carry_value_type(const struct pprof_profile *from, struct pprof_profile *to,
			    const struct pprof_value_type *in, struct pprof_value_type *out)
{
	int64_t t = strtab_intern_str(&to->strings, pprof_str(from, in->type));
	int64_t u = strtab_intern_str(&to->strings, pprof_str(from, in->unit));
	if (t < 0 || u < 0)
		return -ENOMEM;
	out->type = t;
	out->unit = u;
	return 0;
}

int pprof_builder_finish(struct pprof_builder *b, struct pprof_profile *out)
{
	struct pprof_profile next;
	int rc = pprof_profile_init(&next);
	if (rc < 0)
		goto out_next;
	/* The next period keeps the sample types, the period and the default type. */
	const struct pprof_profile *cur = &b->p;
	for (size_t i = 0; i < cur->sample_types.len; i++) {
		struct pprof_value_type vt;
		rc = carry_value_type(cur, &next, &cur->sample_types.items[i], &vt);
		if (rc == 0 && vec_push(&next.sample_types, vt) < 0)
			rc = -ENOMEM;
		if (rc < 0)
			goto out_next;
	}
	rc = carry_value_type(cur, &next, &cur->period_type, &next.period_type);
	if (rc < 0)
		goto out_next;
	next.period = cur->period;
	if (cur->default_sample_type) {
		int64_t id =
		    strtab_intern_str(&next.strings, pprof_str(cur, cur->default_sample_type));
		if (id < 0) {
			rc = -ENOMEM;
			goto out_next;
		}
		next.default_sample_type = id;
	}
	*out = b->p;
	b->p = next;
	hindex_clear(&b->mappings);
	hindex_clear(&b->functions);
	hindex_clear(&b->locations);
	hindex_clear(&b->samples);
	return pprof_profile_index(out);
out_next:
	pprof_profile_release(&next);
	return rc;
}
