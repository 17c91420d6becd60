/*
 * stacks.c: turns decoded profiles into deduplicated name stacks, the one input every kiln
 * report output (top, tree, collapsed, JSON, HTML, diff) is computed from.
 *
 * Design: per profile, every location is resolved once into its frame ids (after drop_frames
 * pruning) and its filter verdict; samples then only index arrays. Location ids are mapped to
 * array positions through a direct table when ids are dense (the usual case) and through the
 * profile's hash index otherwise. Stacks are interned by a hash of their frame ids.
 */
#include "report/stacks.h"

#include <errno.h>
#include <string.h>

#include "base/hash.h"
#include "base/log.h"

enum { LOC_NONE = 0, LOC_FOCUS = 1, LOC_IGNORE = 2 };

int report_filter_init(struct report_filter *f, const char *focus, const char *ignore,
		       struct buf *err)
{
	char msg[256];
	int rc;

	memset(f, 0, sizeof(*f));
	if (focus) {
		rc = regcomp(&f->focus, focus, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			regerror(rc, &f->focus, msg, sizeof(msg));
			buf_printf(err, "bad --focus regex '%s': %s", focus, msg);
			return -EINVAL;
		}
		f->has_focus = true;
	}
	if (ignore) {
		rc = regcomp(&f->ignore, ignore, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			regerror(rc, &f->ignore, msg, sizeof(msg));
			buf_printf(err, "bad --ignore regex '%s': %s", ignore, msg);
			report_filter_release(f);
			return -EINVAL;
		}
		f->has_ignore = true;
	}
	return 0;
}

void report_filter_release(struct report_filter *f)
{
	if (!f)
		return;
	if (f->has_focus)
		regfree(&f->focus);
	if (f->has_ignore)
		regfree(&f->ignore);
	f->has_focus = f->has_ignore = false;
}

int report_stacks_init(struct report_stacks *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->keep_stacks = true;
	if (strtab_init(&rs->names) < 0)
		return -ENOMEM;
	if (hindex_init(&rs->index, 0) < 0) {
		strtab_release(&rs->names);
		return -ENOMEM;
	}
	return 0;
}

void report_stacks_release(struct report_stacks *rs)
{
	if (!rs)
		return;
	strtab_release(&rs->names);
	vec_release(&rs->frames);
	vec_release(&rs->stacks);
	hindex_release(&rs->index);
	vec_release(&rs->flat);
	vec_release(&rs->cum);
	vec_release(&rs->stamp);
}

/* Totals-only mode: one sample's value into flat (leaf) and cum (once per frame). */
static int add_totals(struct report_stacks *rs, const uint32_t *frames, size_t n, int64_t value)
{
	size_t need = strtab_count(&rs->names);

	if (rs->flat.len < need) {
		size_t grow = need - rs->flat.len;
		if (!vec_grow_zero(&rs->flat, grow) || !vec_grow_zero(&rs->cum, grow) ||
		    !vec_grow_zero(&rs->stamp, grow))
			return -ENOMEM;
	}
	if (!n)
		return 0;
	uint64_t stamp = ++rs->nstamp;
	rs->flat.items[frames[0]] = report_add(rs->flat.items[frames[0]], value);
	for (size_t i = 0; i < n; i++) {
		if (rs->stamp.items[frames[i]] == stamp)
			continue;
		rs->stamp.items[frames[i]] = stamp;
		rs->cum.items[frames[i]] = report_add(rs->cum.items[frames[i]], value);
	}
	return 0;
}

/* Interns a stack given as frame ids (leaf first) and adds value to it. */
static int add_stack(struct report_stacks *rs, const uint32_t *frames, size_t n, int64_t value)
{
	uint64_t h = hash_bytes(frames, n * sizeof(*frames), 0x6b696c6e);
	uint32_t id;

	for (size_t it = 0; hindex_probe(&rs->index, h, &it, &id);) {
		struct report_stack_rec *s = &rs->stacks.items[id];
		if (s->len == n &&
		    !memcmp(&rs->frames.items[s->off], frames, n * sizeof(*frames))) {
			s->value = report_add(s->value, value);
			return 0;
		}
	}
	if (rs->stacks.len >= UINT32_MAX || n > UINT32_MAX)
		return -E2BIG;
	if (vec_reserve(&rs->frames, rs->frames.len + n) < 0)
		return -ENOMEM;
	struct report_stack_rec rec = {.off = rs->frames.len, .len = (uint32_t)n, .value = value};
	if (n)
		memcpy(&rs->frames.items[rs->frames.len], frames, n * sizeof(*frames));
	rs->frames.len += n;
	if (vec_push(&rs->stacks, rec) < 0)
		return -ENOMEM;
	if (hindex_insert(&rs->index, h, (uint32_t)(rs->stacks.len - 1)) < 0)
		return -ENOMEM;
	return 0;
}

int report_stacks_add_names(struct report_stacks *rs, const char *const *names, size_t n,
			    int64_t value)
{
	VEC(uint32_t) ids = VEC_INIT;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		int64_t id = strtab_intern_str(&rs->names, names[i]);
		if (id < 0 || vec_push(&ids, (uint32_t)id) < 0) {
			rc = -ENOMEM;
			goto out_ids;
		}
	}
	rs->nsamples++;
	rs->nkept++;
	rs->total = report_add(rs->total, report_abs(value));
	rc = rs->keep_stacks ? add_stack(rs, ids.items, n, value)
			     : add_totals(rs, ids.items, n, value);
out_ids:
	vec_release(&ids);
	return rc;
}

/* ---- per-profile location table ---------------------------------------------------------- */

struct loc_info {
	uint64_t off;	 /* first frame id in loc_table.nodes (innermost line first) */
	uint32_t n;	 /* frames after pruning */
	uint8_t prune;	 /* drop_frames matched the outermost line: drop the location */
	uint8_t beneath; /* drop_frames matched: drop everything leafward of it */
	uint8_t verdict; /* LOC_NONE / LOC_FOCUS / LOC_IGNORE */
};

struct loc_table {
	struct loc_info *locs;
	VEC(uint32_t) nodes;
	uint32_t *direct; /* location id -> index+1 when ids are dense, else NULL */
	uint64_t ndirect;
};

/* go's simplifyFunc: drops a leading '.' and an argument list, keeping reserved names. */
static void simplify_func(const char *name, const char **start, size_t *len)
{
	static const char *const reserved[] = {"(anonymous namespace)", "operator()"};
	const char *s = name[0] == '.' ? name + 1 : name;
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		bool skipped = false;
		for (size_t r = 0; r < 2; r++) {
			size_t rl = strlen(reserved[r]);
			if (!strncmp(s + i, reserved[r], rl)) {
				i += rl - 1;
				skipped = true;
				break;
			}
		}
		if (!skipped && s[i] == '(') {
			n = i;
			break;
		}
	}
	*start = s;
	*len = n;
}

static bool rx_full_match(const regex_t *rx, const char *s, size_t n)
{
	char tmp[1024];
	char *heap = NULL;
	const char *z = tmp;
	bool m;

	if (n < sizeof(tmp)) {
		memcpy(tmp, s, n);
		tmp[n] = '\0';
	} else {
		heap = malloc(n + 1);
		if (!heap)
			return false;
		memcpy(heap, s, n);
		heap[n] = '\0';
		z = heap;
	}
	m = regexec(rx, z, 0, NULL, 0) == 0;
	free(heap);
	return m;
}

static bool loc_matches(const struct pprof_profile *p, const struct pprof_location *loc,
			uint32_t first_line, const regex_t *rx)
{
	for (size_t i = first_line; i < loc->nlines; i++) {
		const struct pprof_function *fn =
		    pprof_function_by_id(p, loc->lines[i].function_id);
		if (!fn)
			continue;
		if (!regexec(rx, pprof_str(p, fn->name), 0, NULL, 0) ||
		    !regexec(rx, pprof_str(p, fn->filename), 0, NULL, 0))
			return true;
	}
	const struct pprof_mapping *m = pprof_mapping_by_id(p, loc->mapping_id);
	return m && !regexec(rx, pprof_str(p, m->filename), 0, NULL, 0);
}

static int64_t frame_name_id(struct report_stacks *rs, const struct pprof_profile *p,
			     const struct pprof_location *loc, const struct pprof_function *fn)
{
	if (fn && fn->name > 0) {
		size_t len;
		const char *s = strtab_get(&p->strings, fn->name, &len);
		if (s && len)
			return strtab_intern(&rs->names, s, len);
	}
	const struct pprof_mapping *m = pprof_mapping_by_id(p, loc->mapping_id);
	const char *file = m ? pprof_str(p, m->filename) : "";
	if (!file[0])
		return strtab_intern_str(&rs->names, "<unknown>");
	const char *base = strrchr(file, '/');
	base = base && base[1] ? base + 1 : file;
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "[%s]", base);
	return strtab_intern_str(&rs->names, tmp);
}

static void loc_table_release(struct loc_table *t)
{
	free(t->locs);
	free(t->direct);
	vec_release(&t->nodes);
}

static int loc_table_build(struct loc_table *t, struct report_stacks *rs,
			   const struct pprof_profile *p, const struct report_filter *f)
{
	size_t nloc = p->locations.len;
	regex_t drop, keep;
	bool has_drop = false, has_keep = false;
	uint64_t maxid = 0;
	int rc = -ENOMEM;

	memset(t, 0, sizeof(*t));
	t->locs = calloc(nloc ? nloc : 1, sizeof(*t->locs));
	if (!t->locs)
		return -ENOMEM;

	/* drop_frames / keep_frames, anchored as go anchors them. */
	const char *dropstr = pprof_str(p, p->drop_frames);
	if (dropstr[0]) {
		struct buf rx = BUF_INIT;
		if (buf_printf(&rx, "^(%s)$", dropstr) == 0 &&
		    regcomp(&drop, rx.data, REG_EXTENDED | REG_NOSUB) == 0)
			has_drop = true;
		else
			LOG_WARN("report: ignoring drop_frames '%s': not a valid regex", dropstr);
		buf_reset(&rx);
		const char *keepstr = pprof_str(p, p->keep_frames);
		if (has_drop && keepstr[0]) {
			if (buf_printf(&rx, "^(%s)$", keepstr) == 0 &&
			    regcomp(&keep, rx.data, REG_EXTENDED | REG_NOSUB) == 0)
				has_keep = true;
			else
				LOG_WARN("report: ignoring keep_frames '%s': not a valid regex",
					 keepstr);
		}
		buf_release(&rx);
	}

	for (size_t li = 0; li < nloc; li++) {
		const struct pprof_location *loc = &p->locations.items[li];
		struct loc_info *info = &t->locs[li];
		uint32_t first = 0; /* lines[first..] survive pruning */

		if (loc->id > maxid)
			maxid = loc->id;
		if (has_drop) {
			for (size_t i = loc->nlines; i-- > 0;) {
				const struct pprof_function *fn =
				    pprof_function_by_id(p, loc->lines[i].function_id);
				const char *name = fn ? pprof_str(p, fn->name) : "";
				const char *s;
				size_t n;
				if (!name[0])
					continue;
				simplify_func(name, &s, &n);
				if (rx_full_match(&drop, s, n) &&
				    !(has_keep && rx_full_match(&keep, s, n))) {
					info->beneath = 1;
					if (i == loc->nlines - 1)
						info->prune = 1;
					else
						first = (uint32_t)(i + 1);
					break;
				}
			}
		}

		info->off = t->nodes.len;
		if (loc->nlines == 0) {
			int64_t id = frame_name_id(rs, p, loc, NULL);
			if (id < 0 || vec_push(&t->nodes, (uint32_t)id) < 0)
				goto out_rx;
		}
		for (size_t i = first; i < loc->nlines; i++) {
			const struct pprof_function *fn =
			    pprof_function_by_id(p, loc->lines[i].function_id);
			int64_t id = frame_name_id(rs, p, loc, fn);
			if (id < 0 || vec_push(&t->nodes, (uint32_t)id) < 0)
				goto out_rx;
		}
		info->n = (uint32_t)(t->nodes.len - info->off);

		if (f && (f->has_focus || f->has_ignore)) {
			if (f->has_ignore && loc_matches(p, loc, first, &f->ignore))
				info->verdict = LOC_IGNORE;
			else if (!f->has_focus || loc_matches(p, loc, first, &f->focus))
				info->verdict = LOC_FOCUS;
		}
	}

	if (maxid < 4 * (uint64_t)nloc + 1024) {
		t->ndirect = maxid + 1;
		t->direct = calloc(t->ndirect, sizeof(*t->direct));
		if (!t->direct)
			goto out_rx;
		for (size_t li = 0; li < nloc; li++)
			t->direct[p->locations.items[li].id] = (uint32_t)(li + 1);
	}
	rc = 0;
out_rx:
	if (has_drop)
		regfree(&drop);
	if (has_keep)
		regfree(&keep);
	return rc;
}

/* Array index of a location id, or -1. */
static int64_t loc_index(const struct loc_table *t, const struct pprof_profile *p, uint64_t id)
{
	if (t->direct) {
		if (id < t->ndirect && t->direct[id])
			return (int64_t)t->direct[id] - 1;
		return -1;
	}
	const struct pprof_location *loc = pprof_location_by_id(p, id);
	return loc ? loc - p->locations.items : -1;
}

int report_stacks_add_profile(struct report_stacks *rs, const struct pprof_profile *p,
			      size_t sample_index, int sign, const struct report_filter *f)
{
	struct loc_table t;
	VEC(int64_t) idx = VEC_INIT;
	VEC(uint32_t) frames = VEC_INIT;
	bool filtering = f && (f->has_focus || f->has_ignore);
	int rc;

	if (sample_index >= p->sample_types.len)
		return -EINVAL;
	rc = loc_table_build(&t, rs, p, f);
	if (rc < 0)
		return rc;

	for (size_t si = 0; si < p->samples.len; si++) {
		const struct pprof_sample *s = &p->samples.items[si];
		int64_t v = sample_index < s->nvalues ? s->values[sample_index] : 0;
		size_t lo = 0; /* first location kept (leaf side) */

		if (sign < 0)
			v = report_sub(0, v);
		rs->nsamples++;
		rs->total = report_add(rs->total, report_abs(v));

		vec_clear(&idx);
		if (vec_reserve(&idx, s->nlocations) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < s->nlocations; i++)
			idx.items[idx.len++] = loc_index(&t, p, s->location_ids[i]);

		/* drop_frames: from the root, after the first frame that is not pruned. */
		bool found_user = false;
		for (size_t i = idx.len; i-- > 0;) {
			if (idx.items[i] < 0)
				continue;
			const struct loc_info *li = &t.locs[idx.items[i]];
			if (!li->prune && !li->beneath) {
				found_user = true;
				continue;
			}
			if (!found_user)
				continue;
			lo = li->prune ? i + 1 : i;
			break;
		}

		if (filtering) {
			bool focused = false, ignored = false;
			for (size_t i = lo; i < idx.len && !ignored; i++) {
				if (idx.items[i] < 0)
					continue;
				uint8_t verdict = t.locs[idx.items[i]].verdict;
				if (verdict == LOC_IGNORE)
					ignored = true;
				else if (verdict == LOC_FOCUS)
					focused = true;
			}
			if (ignored || !focused)
				continue;
		}
		rs->nkept++;
		if (v == 0)
			continue;

		vec_clear(&frames);
		for (size_t i = lo; i < idx.len; i++) {
			if (idx.items[i] < 0)
				continue;
			const struct loc_info *li = &t.locs[idx.items[i]];
			if (vec_reserve(&frames, frames.len + li->n) < 0) {
				rc = -ENOMEM;
				goto out;
			}
			if (li->n)
				memcpy(&frames.items[frames.len], &t.nodes.items[li->off],
				       li->n * sizeof(uint32_t));
			frames.len += li->n;
		}
		rc = rs->keep_stacks ? add_stack(rs, frames.items, frames.len, v)
				     : add_totals(rs, frames.items, frames.len, v);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	vec_release(&idx);
	vec_release(&frames);
	loc_table_release(&t);
	return rc;
}
