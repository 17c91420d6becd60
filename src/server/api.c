/*
 * api: kiln serve's JSON query API (/api/v1/…), documented for users in docs/api.md. Each
 * handler turns query parameters into a store query, asks the store, and writes JSON with
 * base/json.h (which escapes everything from outside). Merges happen in tree.c.
 */
#include "server/api.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/hmap.h"
#include "base/json.h"
#include "base/log.h"
#include "base/strtab.h"
#include "pprof/pprof.h"
#include "server/jsonp.h"
#include "server/query.h"
#include "server/tree.h"

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 1000
#define DEFAULT_MAX_NODES 2000
#define MAX_MAX_NODES 100000
#define TIMESERIES_MAX_PROFILES 100000
#define MAX_DOWNLOAD ((size_t)256 << 20)

struct api {
	struct store *store;
};

struct api *api_new(struct store *store)
{
	struct api *api = calloc(1, sizeof(*api));
	if (!api)
		return NULL;
	api->store = store;
	return api;
}

void api_free(struct api *api)
{
	free(api);
}

/* ---- helpers ----------------------------------------------------------------------------- */

static const char *default_facets[] = {"env", "service", "version", "host", "runtime", "language"};

static bool param_u64(const struct http_request *req, const char *key, uint64_t def, uint64_t max,
		      uint64_t *out, struct http_response *resp)
{
	const char *v = http_query(req, key);
	if (!v || !*v) {
		*out = def;
		return true;
	}
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (*end || errno || v[0] == '-') {
		http_error(resp, 400, "parameter '%s' must be a non-negative integer", key);
		return false;
	}
	*out = n > max ? max : n;
	return true;
}

/* Builds a store query from q, from, to (each key with the suffix sfx: "" or "_b"). */
static bool parse_query(const struct http_request *req, const char *sfx, struct store_query *q,
			struct http_response *resp)
{
	char key[32];
	struct buf err = BUF_INIT;
	memset(q, 0, sizeof(*q));
	snprintf(key, sizeof(key), "q%s", sfx);
	if (query_parse(http_query(req, key), req->arena, q, &err) < 0) {
		http_error(resp, 400, "%s", err.data ? err.data : "bad query");
		buf_release(&err);
		return false;
	}
	buf_release(&err);
	static const char *const names[2] = {"from", "to"};
	int64_t *dst[2] = {&q->from_ns, &q->to_ns};
	for (int i = 0; i < 2; i++) {
		snprintf(key, sizeof(key), "%s%s", names[i], sfx);
		const char *v = http_query(req, key);
		if (v && *v && query_parse_time(v, dst[i]) < 0) {
			http_error(
			    resp, 400,
			    "parameter '%s': expected epoch milliseconds, RFC 3339 or now-1h", key);
			return false;
		}
	}
	return true;
}

static void store_failed(struct http_response *resp, int rc)
{
	if (rc == -ENOENT)
		http_error(resp, 404, "no such profile");
	else
		http_error(resp, 500, "storage error: %s (see the server log)", strerror(-rc));
}

static void json_num_or_null(struct json_w *w, double v)
{
	if (isnan(v) || v < 0)
		json_null(w);
	else
		json_double(w, v);
}

static void write_meta(struct json_w *w, const struct store_meta *m)
{
	json_key(w, "id");
	json_int(w, m->id);
#define S(k, v)                                                                                    \
	do {                                                                                       \
		json_key(w, k);                                                                    \
		json_str(w, v);                                                                    \
	} while (0)
	S("service", m->service);
	S("env", m->env);
	S("version", m->version);
	S("host", m->host);
	S("runtime", m->runtime);
	S("language", m->language);
	S("family", m->family);
	S("runtime_id", m->runtime_id);
	S("origin", m->origin);
	S("origin_version", m->origin_version);
	S("container_id", m->container_id);
	S("entity_id", m->entity_id);
#undef S
	json_key(w, "start_ns");
	json_int(w, m->start_ns);
	json_key(w, "end_ns");
	json_int(w, m->end_ns);
	json_key(w, "received_ns");
	json_int(w, m->received_ns);
	json_key(w, "size");
	json_int(w, m->raw_len);
	json_key(w, "measures");
	json_obj_begin(w);
	json_key(w, "cpu_cores");
	json_num_or_null(w, m->cpu_cores);
	json_key(w, "alloc_bytes_per_s");
	json_num_or_null(w, m->alloc_bytes_per_s);
	json_key(w, "wall_seconds");
	json_num_or_null(w, m->wall_seconds);
	json_key(w, "heap_live_bytes");
	json_num_or_null(w, m->heap_live_bytes);
	json_obj_end(w);
}

static void finish(struct json_w *w, struct http_response *resp)
{
	if (json_w_error(w)) {
		http_error(resp, 500, "cannot build the response (out of memory)");
		return;
	}
	resp->status = 200;
	resp->content_type = "application/json";
}

/* ---- /api/v1/search ---------------------------------------------------------------------- */

static void write_facet(struct json_w *w, const struct store_facet_list *fl)
{
	json_arr_begin(w);
	for (size_t i = 0; i < fl->len; i++) {
		json_obj_begin(w);
		json_key(w, "value");
		json_str(w, fl->items[i].value);
		json_key(w, "count");
		json_int(w, fl->items[i].count);
		json_obj_end(w);
	}
	json_arr_end(w);
}

static void api_search(struct api *api, const struct http_request *req, struct http_response *resp)
{
	struct store *s = api->store;
	struct store_query q;
	uint64_t limit, offset;
	struct store_meta_list list;

	if (!parse_query(req, "", &q, resp) ||
	    !param_u64(req, "limit", DEFAULT_LIMIT, MAX_LIMIT, &limit, resp) ||
	    !param_u64(req, "offset", 0, INT64_MAX, &offset, resp))
		return;
	struct store_sort sort;
	struct buf err = BUF_INIT;
	if (query_parse_sort(http_query(req, "sort"), http_query(req, "order"), &sort, &err) < 0) {
		http_error(resp, 400, "%s", err.data ? err.data : "bad sort");
		buf_release(&err);
		return;
	}
	buf_release(&err);
	const char *cursor = http_query(req, "cursor");
	if (cursor && *cursor)
		offset = strtoull(cursor, NULL, 10);
	int rc = s->ops->search(s, &q, &sort, limit, offset, NULL, req->arena, &list);
	if (rc < 0)
		return store_failed(resp, rc);

	struct json_w w;
	json_w_init(&w, &resp->body);
	json_obj_begin(&w);
	json_key(&w, "total");
	json_int(&w, list.total);
	json_key(&w, "offset");
	json_uint(&w, offset);
	const char *sort_field = http_query(req, "sort");
	json_key(&w, "sort");
	json_str(&w, sort_field && *sort_field ? sort_field : "time");
	json_key(&w, "order");
	json_str(&w, sort.asc ? "asc" : "desc");
	json_key(&w, "next_cursor");
	if ((int64_t)(offset + list.len) < list.total) {
		char tmp[32];
		snprintf(tmp, sizeof(tmp), "%" PRIu64, offset + list.len);
		json_str(&w, tmp);
	} else {
		json_null(&w);
	}
	json_key(&w, "profiles");
	json_arr_begin(&w);
	for (size_t i = 0; i < list.len; i++) {
		json_obj_begin(&w);
		write_meta(&w, &list.items[i]);
		json_obj_end(&w);
	}
	json_arr_end(&w);

	json_key(&w, "facets");
	json_obj_begin(&w);
	const char *fp = http_query(req, "facets");
	bool no_facets = fp && !strcmp(fp, "none");
	for (size_t i = 0; !no_facets && i < sizeof(default_facets) / sizeof(default_facets[0]);
	     i++) {
		struct store_facet_list fl;
		rc = s->ops->facet(s, &q, default_facets[i], 50, req->arena, &fl);
		if (rc < 0)
			return store_failed(resp, rc);
		json_key(&w, default_facets[i]);
		write_facet(&w, &fl);
	}
	/* Extra facets: facets=team,region (tag keys). */
	if (fp && !no_facets) {
		char *list_copy = arena_strdup(req->arena, fp), *save = NULL;
		int nextra = 0;
		for (char *k = list_copy ? strtok_r(list_copy, ",", &save) : NULL; k && nextra < 16;
		     k = strtok_r(NULL, ",", &save), nextra++) {
			bool dup = false;
			for (size_t i = 0; i < sizeof(default_facets) / sizeof(default_facets[0]);
			     i++)
				dup |= !strcmp(k, default_facets[i]);
			if (dup || !*k)
				continue;
			struct store_facet_list fl;
			rc = s->ops->facet(s, &q, k, 50, req->arena, &fl);
			if (rc < 0)
				return store_failed(resp, rc);
			json_key(&w, k);
			write_facet(&w, &fl);
		}
	}
	json_obj_end(&w);
	json_obj_end(&w);
	finish(&w, resp);
}

static void api_types(struct api *api, const struct http_request *req, struct http_response *resp)
{
	struct store_query q;
	struct store_facet_list fl;
	if (!parse_query(req, "", &q, resp))
		return;
	int rc = api->store->ops->types(api->store, &q, req->arena, &fl);
	if (rc < 0)
		return store_failed(resp, rc);
	struct json_w w;
	json_w_init(&w, &resp->body);
	json_obj_begin(&w);
	json_key(&w, "types");
	json_arr_begin(&w);
	for (size_t i = 0; i < fl.len; i++) {
		json_obj_begin(&w);
		json_key(&w, "type");
		json_str(&w, fl.items[i].value);
		json_key(&w, "profiles");
		json_int(&w, fl.items[i].count);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_obj_end(&w);
	finish(&w, resp);
}

/* ---- merged trees ------------------------------------------------------------------------ */

/* The type to merge: ?type=, else the most common type among the matching profiles. */
static const char *pick_type(struct api *api, const struct http_request *req,
			     const struct store_query *q)
{
	const char *t = http_query(req, "type");
	if (t && *t)
		return t;
	struct store_facet_list fl;
	if (api->store->ops->types(api->store, q, req->arena, &fl) < 0 || fl.len == 0)
		return NULL;
	/* Prefer a CPU or wall type when present: what users open first. */
	for (size_t i = 0; i < fl.len; i++)
		if (!strncmp(fl.items[i].value, "cpu/", 4))
			return fl.items[i].value;
	for (size_t i = 0; i < fl.len; i++)
		if (!strncmp(fl.items[i].value, "wall/", 5))
			return fl.items[i].value;
	return fl.items[0].value;
}

enum tree_parts { PART_TREE = 1, PART_TOP = 2 };

static void merged(struct api *api, const struct http_request *req, struct http_response *resp,
		   const struct store_query *qa, const struct store_query *qb, int parts)
{
	uint64_t max_nodes, limit;
	int64_t np[2] = {0, 0};
	if (!param_u64(req, "max_nodes", DEFAULT_MAX_NODES, MAX_MAX_NODES, &max_nodes, resp) ||
	    !param_u64(req, "limit", 100, 100000, &limit, resp))
		return;
	const char *type = pick_type(api, req, qa);
	const char *attachment = http_query(req, "attachment");
	if (!type) {
		/* Nothing matches: an empty, well-formed answer. */
		type = "";
	}
	struct ftree *t = ftree_new();
	if (!t)
		return http_error(resp, 500, "out of memory");
	int rc = ftree_load(t, api->store, qa, type, attachment, 0, &np[0]);
	if (rc == 0 && qb)
		rc = ftree_load(t, api->store, qb, type, attachment, 1, &np[1]);
	if (rc == 0)
		rc = ftree_build(t, api->store);
	if (rc < 0) {
		ftree_free(t);
		return store_failed(resp, rc);
	}
	struct json_w w;
	json_w_init(&w, &resp->body);
	json_obj_begin(&w);
	json_key(&w, "type");
	json_str(&w, type);
	const char *slash = strchr(type, '/');
	json_key(&w, "unit");
	json_str(&w, slash ? slash + 1 : "");
	json_key(&w, "profiles");
	json_int(&w, np[0]);
	json_key(&w, "total");
	json_int(&w, ftree_total(t, 0));
	if (qb) {
		json_key(&w, "profiles_b");
		json_int(&w, np[1]);
		json_key(&w, "total_b");
		json_int(&w, ftree_total(t, 1));
	}
	if (parts & PART_TREE) {
		json_key(&w, "tree");
		ftree_write_tree(t, &w, max_nodes);
	}
	if (parts & PART_TOP) {
		json_key(&w, qb ? "functions" : "top");
		ftree_write_top(t, &w, limit);
	}
	json_obj_end(&w);
	ftree_free(t);
	finish(&w, resp);
}

static void api_aggregate(struct api *api, const struct http_request *req,
			  struct http_response *resp)
{
	struct store_query q;
	if (parse_query(req, "", &q, resp))
		merged(api, req, resp, &q, NULL, PART_TREE | PART_TOP);
}

static void api_compare(struct api *api, const struct http_request *req, struct http_response *resp)
{
	struct store_query a, b;
	if (!parse_query(req, "", &a, resp) || !parse_query(req, "_b", &b, resp))
		return;
	/* Only a time range given for B: same filter as A. */
	if (!http_query(req, "q_b")) {
		b.terms = a.terms;
		b.nterms = a.nterms;
	}
	merged(api, req, resp, &a, &b, PART_TREE | PART_TOP);
}

/* ---- /api/v1/timeseries ------------------------------------------------------------------ */

static double measure_of(const struct store_meta *m, const char *measure)
{
	if (!strcmp(measure, "cpu_cores"))
		return m->cpu_cores;
	if (!strcmp(measure, "alloc_bytes_per_s"))
		return m->alloc_bytes_per_s;
	if (!strcmp(measure, "wall_seconds"))
		return m->wall_seconds;
	if (!strcmp(measure, "heap_live_bytes"))
		return m->heap_live_bytes;
	if (!strcmp(measure, "profiles"))
		return 1;
	return NAN;
}

struct series_point {
	double sum;
	int64_t n;
};

static void api_timeseries(struct api *api, const struct http_request *req,
			   struct http_response *resp)
{
	struct store_query q;
	struct store_meta_list list;
	uint64_t step_ms;
	if (!parse_query(req, "", &q, resp) ||
	    !param_u64(req, "step", 60000, 365ULL * 86400 * 1000, &step_ms, resp))
		return;
	if (step_ms == 0)
		step_ms = 60000;
	const char *measure = http_query(req, "measure");
	if (!measure || !*measure)
		measure = "cpu_cores";
	if (strcmp(measure, "cpu_cores") && strcmp(measure, "alloc_bytes_per_s") &&
	    strcmp(measure, "wall_seconds") && strcmp(measure, "heap_live_bytes") &&
	    strcmp(measure, "profiles"))
		return http_error(resp, 400,
				  "unknown measure '%s' (cpu_cores, alloc_bytes_per_s, "
				  "wall_seconds, heap_live_bytes, profiles)",
				  measure);
	const char *group = http_query(req, "group_by");
	int rc = api->store->ops->search(api->store, &q, NULL, TIMESERIES_MAX_PROFILES, 0, group,
					 req->arena, &list);
	if (rc < 0)
		return store_failed(resp, rc);

	/* Groups by name, buckets by start time: group index * nbuckets + bucket. */
	int64_t step = (int64_t)step_ms * 1000000;
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	for (size_t i = 0; i < list.len; i++) {
		lo = list.items[i].start_ns < lo ? list.items[i].start_ns : lo;
		hi = list.items[i].start_ns > hi ? list.items[i].start_ns : hi;
	}
	/* Buckets start at the earliest profile (which may start before `from`: profiles
	 * overlapping the range match). */
	lo = list.len ? lo - (lo % step + step) % step : 0;
	int64_t nb = list.len ? (hi - lo) / step + 1 : 0;
	if (nb > 100000)
		return http_error(resp, 400, "too many points: choose a larger step");

	struct strtab groups;
	strtab_init(&groups);
	VEC(struct series_point) pts = VEC_INIT;
	for (size_t i = 0; i < list.len; i++) {
		const struct store_meta *m = &list.items[i];
		double v = measure_of(m, measure);
		if (isnan(v) || v < 0)
			continue;
		int64_t g = strtab_intern_str(&groups, group ? m->group : "");
		if (g < 0)
			break;
		size_t need = (size_t)(g + 1) * (size_t)nb;
		if (pts.len < need && !vec_grow_zero(&pts, need - pts.len))
			break;
		struct series_point *p = &pts.items[(size_t)g * nb + (m->start_ns - lo) / step];
		p->sum += v;
		p->n++;
	}
	struct json_w w;
	json_w_init(&w, &resp->body);
	json_obj_begin(&w);
	json_key(&w, "measure");
	json_str(&w, measure);
	json_key(&w, "step_ms");
	json_uint(&w, step_ms);
	json_key(&w, "group_by");
	if (group)
		json_str(&w, group);
	else
		json_null(&w);
	json_key(&w, "series");
	json_arr_begin(&w);
	/* Group id 0 is "" (profiles without the group key, or no grouping). */
	for (size_t g = 0; g < strtab_count(&groups); g++) {
		bool any = false;
		for (int64_t b = 0; b < nb && (size_t)g * nb + b < pts.len; b++)
			any |= pts.items[g * nb + b].n > 0;
		if (!any)
			continue;
		json_obj_begin(&w);
		json_key(&w, "group");
		json_str(&w, strtab_get(&groups, (int64_t)g, NULL));
		json_key(&w, "points");
		json_arr_begin(&w);
		for (int64_t b = 0; b < nb && (size_t)g * nb + b < pts.len; b++) {
			const struct series_point *p = &pts.items[g * nb + b];
			if (!p->n)
				continue;
			json_arr_begin(&w);
			json_int(&w, (lo + b * step) / 1000000);
			/* profiles: a count; measures: the mean over the bucket's profiles */
			json_double(&w,
				    !strcmp(measure, "profiles") ? p->sum : p->sum / (double)p->n);
			json_int(&w, p->n);
			json_arr_end(&w);
		}
		json_arr_end(&w);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_obj_end(&w);
	strtab_release(&groups);
	vec_release(&pts);
	finish(&w, resp);
}

/* Re-emits a parsed document through the writer, so its strings get the writer's escaping
 * (< > & included) whatever the stored text held. */
static void write_jsonp(struct json_w *w, const struct jsonp_value *v)
{
	switch (v->type) {
	case JSONP_NULL:
		json_null(w);
		break;
	case JSONP_BOOL:
		json_bool(w, v->boolean);
		break;
	case JSONP_NUMBER:
		json_raw(w, v->raw, v->raw_len);
		break;
	case JSONP_STRING:
		json_strn(w, v->str, v->len);
		break;
	case JSONP_ARRAY:
		json_arr_begin(w);
		for (const struct jsonp_value *e = v->first; e; e = e->next)
			write_jsonp(w, e);
		json_arr_end(w);
		break;
	case JSONP_OBJECT:
		json_obj_begin(w);
		for (const struct jsonp_value *e = v->first; e; e = e->next) {
			json_key(w, e->key);
			write_jsonp(w, e);
		}
		json_obj_end(w);
		break;
	}
}

/* ---- one profile ------------------------------------------------------------------------- */

static void api_profile(struct api *api, int64_t id, const struct http_request *req,
			struct http_response *resp)
{
	struct store_detail d;
	int rc = api->store->ops->get(api->store, id, req->arena, &d);
	if (rc < 0)
		return store_failed(resp, rc);
	struct json_w w;
	json_w_init(&w, &resp->body);
	json_obj_begin(&w);
	write_meta(&w, &d.meta);
	json_key(&w, "tags");
	json_arr_begin(&w);
	for (size_t i = 0; i < d.ntags; i++) {
		json_arr_begin(&w);
		json_str(&w, d.tags[i].key);
		json_str(&w, d.tags[i].value);
		json_arr_end(&w);
	}
	json_arr_end(&w);
	/* info is JSON from outside: embedded only if it parses, else sent as a string. */
	json_key(&w, "info");
	const struct jsonp_value *info =
	    jsonp_parse(req->arena, d.info_json, strlen(d.info_json), NULL);
	if (info)
		write_jsonp(&w, info);
	else
		json_str(&w, d.info_json);
	json_key(&w, "event");
	json_str(&w, d.event_json);
	json_key(&w, "attachments");
	json_arr_begin(&w);
	static const char *const kinds[] = {"pprof", "jfr", "json", "other"};
	for (size_t i = 0; i < d.nattachments; i++) {
		const struct store_attachment_info *a = &d.attachments[i];
		json_obj_begin(&w);
		json_key(&w, "name");
		json_str(&w, a->name);
		json_key(&w, "kind");
		json_str(&w, (unsigned)a->kind < 4 ? kinds[a->kind] : "other");
		json_key(&w, "content_type");
		json_str(&w, a->content_type);
		json_key(&w, "compression");
		json_str(&w, a->compression);
		json_key(&w, "size");
		json_int(&w, a->len);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_key(&w, "types");
	json_arr_begin(&w);
	for (size_t i = 0; i < d.ntypes; i++) {
		json_obj_begin(&w);
		json_key(&w, "attachment");
		json_str(&w, d.types[i].attachment);
		json_key(&w, "type");
		json_str(&w, d.types[i].type);
		json_key(&w, "total");
		json_int(&w, d.types[i].total);
		json_key(&w, "stacks");
		json_int(&w, d.types[i].nstacks);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_obj_end(&w);
	finish(&w, resp);
}

/* A file name safe inside a quoted Content-Disposition value. */
static const char *safe_filename(struct arena *a, const char *name)
{
	char *s = arena_strdup(a, name && *name ? name : "download");
	if (!s)
		return "download";
	for (char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
			*p = '_';
	return s;
}

static void add_header(struct http_response *resp, const char *k, const char *v)
{
	if (resp->nheaders < sizeof(resp->headers) / sizeof(resp->headers[0])) {
		resp->headers[resp->nheaders].key = k;
		resp->headers[resp->nheaders++].value = v;
	}
}

static void api_download(struct api *api, int64_t id, const char *attachment,
			 const struct http_request *req, struct http_response *resp)
{
	const char *ctype = NULL, *comp = NULL;
	struct buf data = BUF_INIT;
	int rc =
	    api->store->ops->blob(api->store, id, attachment, &data, req->arena, &ctype, &comp);
	if (rc < 0) {
		buf_release(&data);
		if (rc == -ENOENT)
			return http_error(resp, 404, "no such profile or attachment");
		return store_failed(resp, rc);
	}
	struct buf fname = BUF_INIT;
	buf_reset(&resp->body);
	if (attachment && comp && (!strcmp(comp, "gzip") || !strcmp(comp, "zstd")) &&
	    pprof_sniff((const uint8_t *)data.data, data.len) != PPROF_COMPRESSION_NONE) {
		struct buf err = BUF_INIT;
		rc = pprof_decompress((const uint8_t *)data.data, data.len, MAX_DOWNLOAD,
				      &resp->body, &err);
		buf_release(&err);
		if (rc < 0)
			buf_reset(&resp->body);
	} else {
		rc = -1;
	}
	if (rc < 0) {
		buf_release(&resp->body);
		resp->body = data;
		buf_init(&data);
	}
	buf_release(&data);
	resp->status = 200;
	if (attachment) {
		resp->content_type = "application/octet-stream";
		buf_printf(&fname, "attachment; filename=\"%s\"",
			   safe_filename(req->arena, attachment));
	} else {
		resp->content_type = ctype && *ctype ? ctype : "application/octet-stream";
		buf_printf(&fname, "attachment; filename=\"profile-%" PRId64 ".multipart\"", id);
	}
	add_header(resp, "Content-Disposition",
		   arena_strdup(req->arena, fname.data ? fname.data : "attachment"));
	buf_release(&fname);
}

/* ---- timeline ---------------------------------------------------------------------------- */

static const struct pprof_label *label(const struct pprof_profile *p, const struct pprof_sample *s,
				       const char *key)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (!strcmp(pprof_str(p, s->labels[i].key), key))
			return &s->labels[i];
	return NULL;
}

struct lane {
	int64_t tid_str;  /* interned thread id string */
	int64_t name_str; /* interned thread name */
	VEC(int64_t) end, value, stack;
};

static void api_timeline(struct api *api, int64_t id, const struct http_request *req,
			 struct http_response *resp)
{
	struct store_detail d;
	struct buf data = BUF_INIT, err = BUF_INIT;
	struct pprof_profile p;
	bool have_p = false;
	struct strtab names;
	struct hmap stack_index, lane_index;
	VEC(struct lane) lanes = VEC_INIT;
	VEC(int64_t) stacks = VEC_INIT; /* per stack: n, then name ids root first */
	VEC(size_t) stack_off = VEC_INIT;
	VEC(int64_t) tmp = VEC_INIT;
	int64_t untimed = 0;

	strtab_init(&names);
	hmap_init(&stack_index, 0);
	hmap_init(&lane_index, 0);
	int rc = api->store->ops->get(api->store, id, req->arena, &d);
	if (rc < 0) {
		store_failed(resp, rc);
		goto out;
	}
	/* The attachment: ?attachment=, else the first pprof with end_timestamp_ns labels
	 * (wall.pprof for dd-trace-js), else the first pprof. */
	const char *att = http_query(req, "attachment");
	for (size_t i = 0; !att && i < d.nattachments; i++)
		if (d.attachments[i].kind == STORE_ATTACH_PPROF &&
		    strstr(d.attachments[i].name, "wall"))
			att = d.attachments[i].name;
	for (size_t i = 0; !att && i < d.nattachments; i++)
		if (d.attachments[i].kind == STORE_ATTACH_PPROF)
			att = d.attachments[i].name;
	if (!att) {
		http_error(resp, 404, "this profile has no pprof attachment");
		goto out;
	}
	rc = api->store->ops->blob(api->store, id, att, &data, req->arena, NULL, NULL);
	if (rc < 0) {
		if (rc == -ENOENT)
			http_error(resp, 404, "no attachment '%s'", att);
		else
			store_failed(resp, rc);
		goto out;
	}
	rc = pprof_decode((const uint8_t *)data.data, data.len, NULL, &p, &err);
	if (rc < 0) {
		http_error(resp, 422, "attachment '%s' does not decode: %s", att,
			   err.data ? err.data : "");
		goto out;
	}
	have_p = true;
	const char *type = http_query(req, "type");
	int vi = -1;
	for (size_t t = 0; t < p.sample_types.len; t++) {
		char tn[256];
		snprintf(tn, sizeof(tn), "%s/%s", pprof_str(&p, p.sample_types.items[t].type),
			 pprof_str(&p, p.sample_types.items[t].unit));
		if ((type && !strcmp(tn, type)) || (!type && vi < 0 && !strncmp(tn, "wall/", 5)))
			vi = (int)t;
	}
	if (vi < 0 && type) {
		http_error(resp, 400, "attachment '%s' has no sample type '%s'", att, type);
		goto out;
	}
	if (vi < 0)
		vi = p.sample_types.len ? (int)p.sample_types.len - 1 : 0;
	if (!p.sample_types.len)
		vi = -1;

	for (size_t i = 0; i < p.samples.len && vi >= 0; i++) {
		const struct pprof_sample *s = &p.samples.items[i];
		const struct pprof_label *ts = label(&p, s, "end_timestamp_ns");
		if (!ts || (size_t)vi >= s->nvalues) {
			untimed++;
			continue;
		}
		const struct pprof_label *tid = label(&p, s, "thread id");
		const struct pprof_label *tname = label(&p, s, "thread name");
		if (!tname)
			tname = label(&p, s, "thread_name");
		char tidbuf[32];
		const char *tids = "";
		if (tid && tid->str)
			tids = pprof_str(&p, tid->str);
		else if (tid) {
			snprintf(tidbuf, sizeof(tidbuf), "%" PRId64, tid->num);
			tids = tidbuf;
		}
		int64_t tid_id = strtab_intern_str(&names, tids);
		int64_t tname_id =
		    strtab_intern_str(&names, tname ? pprof_str(&p, tname->str) : "");
		if (tid_id < 0 || tname_id < 0)
			break;
		uint64_t lkey = hash_combine((uint64_t)tid_id, (uint64_t)tname_id);
		bool created;
		uint64_t *li = hmap_upsert(&lane_index, lkey, &created);
		if (!li)
			break;
		if (created) {
			*li = lanes.len;
			struct lane l = {.tid_str = tid_id, .name_str = tname_id};
			if (vec_push(&lanes, l) < 0)
				break;
		}
		/* The stack, root first, as name ids. */
		vec_clear(&tmp);
		for (size_t k = s->nlocations; k-- > 0;) {
			const struct pprof_location *loc =
			    pprof_location_by_id(&p, s->location_ids[k]);
			for (size_t li2 = loc ? loc->nlines : 0; li2-- > 0;) {
				const struct pprof_function *f =
				    pprof_function_by_id(&p, loc->lines[li2].function_id);
				int64_t nid =
				    strtab_intern_str(&names, f ? pprof_str(&p, f->name) : "?");
				if (nid >= 0)
					(void)vec_push(&tmp, nid);
			}
		}
		uint64_t h = hash_bytes(tmp.items, tmp.len * sizeof(int64_t), 7);
		uint64_t *si = hmap_upsert(&stack_index, h, &created);
		if (!si)
			break;
		if (created) {
			*si = stack_off.len;
			(void)vec_push(&stack_off, stacks.len);
			(void)vec_push(&stacks, (int64_t)tmp.len);
			for (size_t k = 0; k < tmp.len; k++)
				(void)vec_push(&stacks, tmp.items[k]);
		}
		struct lane *l = &lanes.items[*li];
		(void)vec_push(&l->end, ts->num);
		(void)vec_push(&l->value, s->values[vi]);
		(void)vec_push(&l->stack, (int64_t)*si);
	}

	struct json_w w;
	json_w_init(&w, &resp->body);
	json_obj_begin(&w);
	json_key(&w, "profile_id");
	json_int(&w, id);
	json_key(&w, "attachment");
	json_str(&w, att);
	json_key(&w, "type");
	if (vi >= 0) {
		char tn[256];
		snprintf(tn, sizeof(tn), "%s/%s", pprof_str(&p, p.sample_types.items[vi].type),
			 pprof_str(&p, p.sample_types.items[vi].unit));
		json_str(&w, tn);
	} else {
		json_null(&w);
	}
	json_key(&w, "start_ns");
	json_int(&w, d.meta.start_ns);
	json_key(&w, "end_ns");
	json_int(&w, d.meta.end_ns);
	json_key(&w, "untimed_samples");
	json_int(&w, untimed);
	json_key(&w, "names");
	json_arr_begin(&w);
	for (size_t i = 0; i < strtab_count(&names); i++) {
		size_t len;
		const char *s = strtab_get(&names, (int64_t)i, &len);
		json_strn(&w, s, len);
	}
	json_arr_end(&w);
	json_key(&w, "stacks");
	json_arr_begin(&w);
	for (size_t i = 0; i < stack_off.len; i++) {
		size_t o = stack_off.items[i];
		json_arr_begin(&w);
		for (int64_t k = 0; k < stacks.items[o]; k++)
			json_int(&w, stacks.items[o + 1 + k]);
		json_arr_end(&w);
	}
	json_arr_end(&w);
	json_key(&w, "threads");
	json_arr_begin(&w);
	for (size_t i = 0; i < lanes.len; i++) {
		const struct lane *l = &lanes.items[i];
		json_obj_begin(&w);
		json_key(&w, "thread_id");
		json_str(&w, strtab_get(&names, l->tid_str, NULL));
		json_key(&w, "thread_name");
		json_str(&w, strtab_get(&names, l->name_str, NULL));
		json_key(&w, "end_ns");
		json_arr_begin(&w);
		for (size_t k = 0; k < l->end.len; k++)
			json_int(&w, l->end.items[k]);
		json_arr_end(&w);
		json_key(&w, "value");
		json_arr_begin(&w);
		for (size_t k = 0; k < l->value.len; k++)
			json_int(&w, l->value.items[k]);
		json_arr_end(&w);
		json_key(&w, "stack");
		json_arr_begin(&w);
		for (size_t k = 0; k < l->stack.len; k++)
			json_int(&w, l->stack.items[k]);
		json_arr_end(&w);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_obj_end(&w);
	finish(&w, resp);
out:
	for (size_t i = 0; i < lanes.len; i++) {
		vec_release(&lanes.items[i].end);
		vec_release(&lanes.items[i].value);
		vec_release(&lanes.items[i].stack);
	}
	vec_release(&lanes);
	vec_release(&stacks);
	vec_release(&stack_off);
	vec_release(&tmp);
	hmap_release(&stack_index);
	hmap_release(&lane_index);
	strtab_release(&names);
	if (have_p)
		pprof_profile_release(&p);
	buf_release(&data);
	buf_release(&err);
}

/* ---- routing ----------------------------------------------------------------------------- */

/* Parses "/profiles/ID[/rest]"; returns rest ("" if none) or NULL. */
static const char *profile_path(const char *p, int64_t *id)
{
	if (strncmp(p, "profiles/", 9))
		return NULL;
	p += 9;
	if (!isdigit((unsigned char)*p))
		return NULL;
	char *end;
	errno = 0;
	long long v = strtoll(p, &end, 10);
	if (errno || v <= 0 || (*end && *end != '/'))
		return NULL;
	*id = v;
	return *end ? end + 1 : end;
}

void api_handle(struct api *api, const struct http_request *req, struct http_response *resp)
{
	const char *path = req->path;
	int64_t id;
	const char *rest;

	resp->status = 200;
	resp->content_type = "application/json";
	if (strncmp(path, "/api/v1/", 8)) {
		http_error(resp, 404, "no such endpoint");
		return;
	}
	path += 8;
	if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
		http_error(resp, 405, "the query API only answers GET");
		return;
	}
	if (!strcmp(path, "search"))
		api_search(api, req, resp);
	else if (!strcmp(path, "types"))
		api_types(api, req, resp);
	else if (!strcmp(path, "aggregate"))
		api_aggregate(api, req, resp);
	else if (!strcmp(path, "compare"))
		api_compare(api, req, resp);
	else if (!strcmp(path, "timeseries"))
		api_timeseries(api, req, resp);
	else if ((rest = profile_path(path, &id))) {
		if (!*rest) {
			api_profile(api, id, req, resp);
		} else if (!strcmp(rest, "flamegraph") || !strcmp(rest, "top")) {
			struct store_query q = {.profile_id = id};
			merged(api, req, resp, &q, NULL,
			       !strcmp(rest, "top") ? PART_TOP : PART_TREE);
		} else if (!strcmp(rest, "download")) {
			api_download(api, id, NULL, req, resp);
		} else if (!strncmp(rest, "attachments/", 12) && rest[12]) {
			api_download(api, id, rest + 12, req, resp);
		} else if (!strcmp(rest, "timeline")) {
			api_timeline(api, id, req, resp);
		} else {
			http_error(resp, 404, "no such endpoint");
		}
	} else {
		http_error(resp, 404, "no such endpoint");
	}
}
