/*
 * intake.c: turns one Datadog profile upload request into a struct store_upload and
 * stores it. It exists so every client generation (dd-trace-js/go/java/py, libdatadog,
 * ddprof, kiln's own exporter) lands in the same record: identity tags, window, attachments
 * as received, decoded pprof, and the measures the search page sorts by.
 *
 * The multipart body is already complete in memory (the HTTP layer bounds it), so parts
 * are slices of the body: nothing is copied except the decompressed pprof bytes, which
 * only live until they are decoded.
 */
#include "server/intake.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/rfc3339.h"
#include "base/log.h"
#include "server/codec.h"
#include "server/jsonp.h"
#include "server/multipart.h"

#define MAX_ATTACHMENTS 64

struct part {
	const char *name;
	const char *filename; /* NULL for a form field */
	const char *content_type;
	const uint8_t *data;
	size_t len;
};

struct collect {
	struct arena *a;
	const uint8_t *body;
	struct multipart_parser *mp;
	struct part *parts;
	size_t nparts, cap;
	struct part cur;
};

static int on_part_begin(void *ctx, const struct multipart_part *p)
{
	struct collect *c = ctx;
	c->cur.name = arena_strdup(c->a, p->name);
	c->cur.filename = p->filename ? arena_strdup(c->a, p->filename) : NULL;
	c->cur.content_type = p->content_type ? arena_strdup(c->a, p->content_type) : NULL;
	if (!c->cur.name || (p->filename && !c->cur.filename) ||
	    (p->content_type && !c->cur.content_type))
		return -ENOMEM;
	return 0;
}

static int on_part_end(void *ctx)
{
	struct collect *c = ctx;
	if (c->nparts == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 8;
		struct part *np = arena_alloc(c->a, ncap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		if (c->nparts)
			memcpy(np, c->parts, c->nparts * sizeof(*np));
		c->parts = np;
		c->cap = ncap;
	}
	c->cur.data = c->body + c->mp->part_start;
	c->cur.len = c->mp->part_end - c->mp->part_start;
	c->parts[c->nparts++] = c->cur;
	return 0;
}

static const struct multipart_callbacks collect_cb = {
    .part_begin = on_part_begin,
    .part_end = on_part_end,
};

/* ---- small helpers ----------------------------------------------------------------------- */

static int push_tag(struct arena *a, struct store_tag **tags, size_t *n, size_t *cap, const char *k,
		    size_t klen, const char *v, size_t vlen)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		struct store_tag *nt = arena_alloc(a, ncap * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		if (*n)
			memcpy(nt, *tags, *n * sizeof(*nt));
		*tags = nt;
		*cap = ncap;
	}
	const char *key = arena_strndup(a, k, klen);
	const char *value = arena_strndup(a, v, vlen);
	if (!key || !value)
		return -ENOMEM;
	(*tags)[*n].key = key;
	(*tags)[*n].value = value;
	(*n)++;
	return 0;
}

int intake_split_tags(struct arena *a, const char *s, const char *seps, struct store_tag **tags,
		      size_t *ntags, size_t *cap)
{
	if (!s)
		return 0;
	while (*s) {
		size_t n = strcspn(s, seps);
		const char *t = s;
		size_t tl = n;
		while (tl > 0 && isspace((unsigned char)*t)) {
			t++;
			tl--;
		}
		while (tl > 0 && isspace((unsigned char)t[tl - 1]))
			tl--;
		if (tl > 0) {
			const char *colon = memchr(t, ':', tl);
			int ret;
			if (colon)
				ret = push_tag(a, tags, ntags, cap, t, (size_t)(colon - t),
					       colon + 1, tl - (size_t)(colon - t) - 1);
			else
				ret = push_tag(a, tags, ntags, cap, t, tl, "", 0);
			if (ret < 0)
				return ret;
		}
		s += n;
		if (*s)
			s++;
	}
	return 0;
}

/* ---- measures ---------------------------------------------------------------------------- */

enum measure { M_CPU, M_ALLOC, M_WALL, M_HEAP, M_COUNT };

/*
 * Which sample type feeds which measure, per runtime family (as sent in event.json
 * "family" or derived from the language). Rows with family NULL apply to every family that
 * has no row of its own for that measure (kiln's profiler, unknown clients). Values are
 * summed over all samples of all attachments; within one attachment the first matching
 * row wins, so a profile with both "cpu" and "cpu-time" is not counted twice.
 */
static const struct measure_rule {
	const char *family;
	enum measure measure;
	const char *type;
	const char *unit;
} measure_rules[] = {
    {"node", M_CPU, "cpu", "nanoseconds"},
    {"node", M_WALL, "wall", "nanoseconds"},
    {"node", M_HEAP, "inuse_space", "bytes"},
    {"go", M_CPU, "cpu", "nanoseconds"},
    {"go", M_ALLOC, "alloc_space", "bytes"},
    {"go", M_HEAP, "inuse_space", "bytes"},
    {"java", M_CPU, "cpu", "nanoseconds"},
    {"java", M_WALL, "wall", "nanoseconds"},
    {"java", M_ALLOC, "alloc-size", "bytes"},
    {"java", M_HEAP, "inuse-space", "bytes"},
    {"python", M_CPU, "cpu-time", "nanoseconds"},
    {"python", M_WALL, "wall-time", "nanoseconds"},
    {"python", M_ALLOC, "alloc-space", "bytes"},
    {"python", M_HEAP, "heap-space", "bytes"},
    {"ruby", M_CPU, "cpu-time", "nanoseconds"},
    {"ruby", M_WALL, "wall-time", "nanoseconds"},
    {"ruby", M_ALLOC, "alloc-samples-unscaled", NULL},
    {"ruby", M_HEAP, "heap-live-size", "bytes"},
    {"dotnet", M_CPU, "cpu", "nanoseconds"},
    {"dotnet", M_WALL, "wall", "nanoseconds"},
    {"dotnet", M_ALLOC, "alloc-size", "bytes"},
    {"dotnet", M_HEAP, "inuse-size", "bytes"},
    {"php", M_CPU, "cpu-time", "nanoseconds"},
    {"php", M_WALL, "wall-time", "nanoseconds"},
    {"php", M_ALLOC, "alloc-size", "bytes"},
    {"native", M_CPU, "cpu-time", "nanoseconds"},
    {"native", M_ALLOC, "alloc-space", "bytes"},
    {"native", M_HEAP, "inuse-space", "bytes"},
    {NULL, M_CPU, "cpu", "nanoseconds"},
    {NULL, M_CPU, "cpu-time", "nanoseconds"},
    {NULL, M_WALL, "wall", "nanoseconds"},
    {NULL, M_WALL, "wall-time", "nanoseconds"},
    {NULL, M_ALLOC, "alloc-space", "bytes"},
    {NULL, M_ALLOC, "alloc_space", "bytes"},
    {NULL, M_HEAP, "inuse_space", "bytes"},
    {NULL, M_HEAP, "inuse-space", "bytes"},
};

static bool family_has_rule(const char *family, enum measure m)
{
	for (size_t i = 0; i < sizeof(measure_rules) / sizeof(measure_rules[0]); i++)
		if (measure_rules[i].family && measure_rules[i].measure == m &&
		    !strcmp(measure_rules[i].family, family))
			return true;
	return false;
}

/* Sum of one measure over a profile, or false when no row matches. */
static bool profile_measure(const struct pprof_profile *p, const char *family, enum measure m,
			    double *sum)
{
	bool own = family_has_rule(family, m);
	for (size_t r = 0; r < sizeof(measure_rules) / sizeof(measure_rules[0]); r++) {
		const struct measure_rule *rule = &measure_rules[r];
		if (rule->measure != m)
			continue;
		if (own ? !rule->family || strcmp(rule->family, family) : rule->family != NULL)
			continue;
		for (size_t t = 0; t < p->sample_types.len; t++) {
			const struct pprof_value_type *vt = &p->sample_types.items[t];
			if (strcmp(pprof_str(p, vt->type), rule->type))
				continue;
			if (rule->unit && strcmp(pprof_str(p, vt->unit), rule->unit))
				continue;
			double s = 0;
			for (size_t i = 0; i < p->samples.len; i++)
				if (t < p->samples.items[i].nvalues)
					s += (double)p->samples.items[i].values[t];
			*sum = s;
			return true;
		}
	}
	return false;
}

void intake_compute_measures(struct store_upload *u)
{
	double sum[M_COUNT] = {0};
	bool found[M_COUNT] = {false};
	/* Times come from the upload: their difference may not fit (1700 to 2200 does not). */
	int64_t duration;
	if (__builtin_sub_overflow(u->end_ns, u->start_ns, &duration))
		duration = 0;
	const char *family = u->family ? u->family : "";
	for (size_t i = 0; i < u->nattachments; i++) {
		const struct pprof_profile *p = u->attachments[i].pprof;
		if (!p)
			continue;
		if (duration <= 0 && p->duration_nanos > duration)
			duration = p->duration_nanos;
		for (int m = 0; m < M_COUNT; m++) {
			double s;
			if (profile_measure(p, family, (enum measure)m, &s)) {
				sum[m] += s;
				found[m] = true;
			}
		}
	}
	double secs = duration > 0 ? (double)duration / 1e9 : NAN;
	u->cpu_cores = found[M_CPU] && duration > 0 ? sum[M_CPU] / 1e9 / secs : NAN;
	u->alloc_bytes_per_s = found[M_ALLOC] && duration > 0 ? sum[M_ALLOC] / secs : NAN;
	u->wall_seconds = found[M_WALL] ? sum[M_WALL] / 1e9 : NAN;
	u->heap_live_bytes = found[M_HEAP] ? sum[M_HEAP] : NAN;
}

/* ---- parsing ----------------------------------------------------------------------------- */

static const char *language_of_family(const char *family)
{
	static const char *const map[][2] = {
	    {"node", "javascript"}, {"nodejs", "javascript"}, {"go", "go"},
	    {"java", "jvm"},	    {"jvm", "jvm"},	      {"python", "python"},
	    {"ruby", "ruby"},	    {"dotnet", "dotnet"},     {"php", "php"},
	    {"native", "native"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcasecmp(family, map[i][0]))
			return map[i][1];
	return family;
}

static const char *tag_value(const struct store_tag *tags, size_t n, const char *key)
{
	const char *v = NULL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(tags[i].key, key))
			v = tags[i].value; /* the last one wins, as DD_TAGS overrides do */
	return v;
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

static enum store_attachment_kind classify(const uint8_t *d, size_t len)
{
	if (len >= 4 && !memcmp(d, "FLR\0", 4))
		return STORE_ATTACH_JFR;
	size_t i = 0;
	while (i < len && (d[i] == ' ' || d[i] == '\n' || d[i] == '\r' || d[i] == '\t'))
		i++;
	if (i < len && (d[i] == '{' || d[i] == '['))
		return STORE_ATTACH_JSON;
	if (len >= 5 && !memcmp(d, "go 1.", 5))
		return STORE_ATTACH_OTHER;
	return STORE_ATTACH_PPROF; /* tentatively: decoding decides */
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* Decompresses, classifies and decodes one attachment. */
static int load_attachment(struct intake_upload *out, const struct intake_opts *opts,
			   struct store_attachment *att, struct buf *err)
{
	size_t max = opts && opts->max_decompressed ? opts->max_decompressed
						    : PPROF_DEFAULT_MAX_DECOMPRESSED;
	enum codec c = codec_sniff(att->data, att->len);
	struct buf raw = BUF_INIT;
	struct buf why = BUF_INIT;
	int ret;
	att->compression = codec_name(c);
	att->pprof = NULL;
	ret = codec_decompress(c, att->data, att->len, max, &raw, &why);
	if (ret < 0) {
		buf_printf(err, "attachment '%s': cannot decompress %s data: %s", att->name,
			   att->compression, why.len ? why.data : strerror(-ret));
		goto out_bufs;
	}
	att->kind = classify((const uint8_t *)raw.data, raw.len);
	if (att->kind != STORE_ATTACH_PPROF)
		goto out_bufs;
	struct pprof_profile *p = &out->profiles[out->nprofiles];
	buf_reset(&why);
	ret = pprof_decode((const uint8_t *)raw.data, raw.len, NULL, p, &why);
	if (ret == 0) {
		out->nprofiles++;
		att->pprof = p;
	} else if (ret == -ENOMEM) {
		buf_printf(err, "attachment '%s': out of memory", att->name);
	} else if (ends_with(att->name, ".pprof") || !strcmp(att->name, "pprof-data") ||
		   c != CODEC_NONE) {
		/* Named or compressed like a profile but not one: the client sent garbage. */
		buf_printf(err, "attachment '%s' is not a valid pprof profile: %s", att->name,
			   why.len ? why.data : "decoding failed");
		ret = -EINVAL;
	} else {
		att->kind = STORE_ATTACH_OTHER;
		ret = 0;
	}
out_bufs:
	buf_release(&raw);
	buf_release(&why);
	return ret;
}

/* A form field's value as a string (from the arena). */
static const char *field_str(struct arena *a, const struct part *p)
{
	return arena_strndup(a, (const char *)p->data, p->len);
}

static const struct part *find_part(const struct collect *c, const char *name)
{
	for (size_t i = 0; i < c->nparts; i++)
		if (!strcmp(c->parts[i].name, name))
			return &c->parts[i];
	return NULL;
}

static bool is_event_part(const struct part *p)
{
	return !strcmp(p->name, "event") || (p->filename && !strcmp(p->filename, "event.json"));
}

/* For legacy data[X] parts: the attachment name X ("cpu.pprof"), "N.pprof" for v1's
 * numbered parts. */
static const char *legacy_attachment_name(struct arena *a, const struct part *p)
{
	const char *n = p->name;
	if (strncmp(n, "data[", 5) || !ends_with(n, "]"))
		return p->filename ? p->filename : n;
	size_t len = strlen(n) - 6;
	const char *inner = n + 5;
	bool numeric = len > 0;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)inner[i]))
			numeric = false;
	if (!numeric)
		return arena_strndup(a, inner, len);
	struct buf b = BUF_INIT;
	buf_printf(&b, "profile-%.*s.pprof", (int)len, inner);
	const char *s = arena_strdup(a, b.data ? b.data : "profile.pprof");
	buf_release(&b);
	return s;
}

int intake_parse(const struct http_request *req, const struct intake_opts *opts,
		 struct intake_upload *out, struct buf *err)
{
	struct arena *a = req->arena;
	struct store_upload *u = &out->up;
	struct multipart_parser mp;
	struct collect c = {.a = a, .body = req->body, .mp = &mp};
	struct store_tag *tags = NULL;
	size_t ntags = 0, tcap = 0;
	char boundary[MULTIPART_MAX_BOUNDARY + 1];
	const char *start = NULL, *end = NULL, *family = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	u->cpu_cores = u->alloc_bytes_per_s = u->wall_seconds = u->heap_live_bytes = NAN;
	u->event_json = "";
	u->info_json = "{}";

	const char *ctype = http_header(req, "content-type");
	if (multipart_boundary(ctype, boundary, sizeof(boundary)) < 0) {
		buf_printf(
		    err, "Content-Type must be multipart/form-data with a boundary (got '%.100s')",
		    ctype ? ctype : "");
		return -EINVAL;
	}
	if (multipart_init(&mp, boundary, &collect_cb, &c) < 0) {
		buf_printf(err, "unusable multipart boundary");
		return -EINVAL;
	}
	ret = multipart_feed(&mp, req->body, req->body_len);
	if (ret == 0)
		ret = multipart_finish(&mp);
	if (ret < 0) {
		if (ret == -ENOMEM)
			buf_printf(err, "out of memory");
		else
			buf_printf(err, "%s", multipart_error(&mp));
		multipart_release(&mp);
		return ret;
	}
	multipart_release(&mp);

	const struct part *event = NULL;
	bool legacy = false;
	for (size_t i = 0; i < c.nparts; i++) {
		if (is_event_part(&c.parts[i]) && !event)
			event = &c.parts[i];
		if (!c.parts[i].filename && (!strcmp(c.parts[i].name, "tags[]") ||
					     !strcmp(c.parts[i].name, "recording-start")))
			legacy = true;
	}

	/* The attachments: every file part except the event, at most MAX_ATTACHMENTS. */
	size_t natt = 0;
	for (size_t i = 0; i < c.nparts; i++)
		if (&c.parts[i] != event &&
		    (c.parts[i].filename || !strncmp(c.parts[i].name, "data[", 5)))
			natt++;
	if (natt > MAX_ATTACHMENTS) {
		buf_printf(err, "too many attachments (%zu, at most %d)", natt, MAX_ATTACHMENTS);
		return -EINVAL;
	}
	struct store_attachment *atts = arena_zalloc(a, (natt ? natt : 1) * sizeof(*atts));
	out->profiles = calloc(natt ? natt : 1, sizeof(*out->profiles));
	if (!atts || !out->profiles) {
		buf_printf(err, "out of memory");
		return -ENOMEM;
	}

	if (event && !legacy) {
		out->format = "v4";
		struct buf why = BUF_INIT;
		const char *text = arena_strndup(a, (const char *)event->data, event->len);
		const struct jsonp_value *ev = text ? jsonp_parse(a, text, event->len, &why) : NULL;
		if (!ev || ev->type != JSONP_OBJECT) {
			buf_printf(err, "event.json is not a JSON object: %s",
				   why.len ? why.data : "out of memory");
			buf_release(&why);
			return -EINVAL;
		}
		buf_release(&why);
		u->event_json = text;
		start = jsonp_get_str(ev, "start");
		end = jsonp_get_str(ev, "end");
		family = jsonp_get_str(ev, "family");
		const struct jsonp_value *info = jsonp_get(ev, "info");
		if (info && info->type == JSONP_OBJECT)
			u->info_json = arena_strndup(a, info->raw, info->raw_len);
		ret = intake_split_tags(a, jsonp_get_str(ev, "tags_profiler"), ",", &tags, &ntags,
					&tcap);
		if (ret < 0)
			goto nomem;
		const struct jsonp_value *list = jsonp_get(ev, "attachments");
		if (list && list->type != JSONP_ARRAY) {
			buf_printf(err, "event.json: \"attachments\" must be an array of names");
			return -EINVAL;
		}
		for (const struct jsonp_value *v = list ? list->first : NULL; v; v = v->next) {
			if (v->type != JSONP_STRING) {
				buf_printf(err,
					   "event.json: \"attachments\" must be an array of names");
				return -EINVAL;
			}
			bool present = false;
			for (size_t i = 0; i < c.nparts && !present; i++)
				present = &c.parts[i] != event &&
					  ((c.parts[i].filename &&
					    !strcmp(c.parts[i].filename, v->str)) ||
					   !strcmp(c.parts[i].name, v->str));
			if (!present) {
				buf_printf(err,
					   "event.json lists attachment '%.100s' but the body has "
					   "no such part",
					   v->str);
				return -EINVAL;
			}
		}
	} else if (legacy || find_part(&c, "version") || find_part(&c, "start") ||
		   find_part(&c, "recording-start")) {
		const struct part *ver = find_part(&c, "version");
		const char *vs = ver ? field_str(a, ver) : NULL;
		out->format = vs && !strcmp(vs, "3") ? "v3" : "v1";
		for (size_t i = 0; i < c.nparts; i++) {
			const struct part *p = &c.parts[i];
			if (p->filename || strcmp(p->name, "tags[]"))
				continue;
			const char *t = field_str(a, p);
			if (!t || intake_split_tags(a, t, ",", &tags, &ntags, &tcap) < 0)
				goto nomem;
		}
		const struct part *f;
		if ((f = find_part(&c, "recording-start")) || (f = find_part(&c, "start")))
			start = field_str(a, f);
		if ((f = find_part(&c, "recording-end")) || (f = find_part(&c, "end")))
			end = field_str(a, f);
		if ((f = find_part(&c, "family")) || (f = find_part(&c, "runtime")))
			family = field_str(a, f);
	} else {
		buf_printf(err, "missing the 'event' part (event.json) and no legacy form fields: "
				"not a profile upload");
		return -EINVAL;
	}

	if (!start || !end) {
		buf_printf(err, "the upload has no %s time", !start ? "start" : "end");
		return -EINVAL;
	}
	if (rfc3339_parse(start, &u->start_ns) < 0 || rfc3339_parse(end, &u->end_ns) < 0) {
		buf_printf(err, "bad start/end time ('%.40s', '%.40s'): RFC 3339 expected", start,
			   end);
		return -EINVAL;
	}

	/* Attachments. */
	for (size_t i = 0; i < c.nparts; i++) {
		const struct part *p = &c.parts[i];
		if (p == event || !(p->filename || !strncmp(p->name, "data[", 5)))
			continue;
		struct store_attachment *att = &atts[u->nattachments];
		if (!strncmp(p->name, "data[", 5))
			att->name = legacy_attachment_name(a, p);
		else
			att->name = p->filename && *p->filename ? p->filename : p->name;
		if (!att->name)
			goto nomem;
		att->content_type = p->content_type;
		att->data = p->data;
		att->len = p->len;
		ret = load_attachment(out, opts, att, err);
		if (ret < 0)
			return ret;
		u->nattachments++;
	}
	u->attachments = atts;

	/* A Datadog agent relaying uploads here adds its own tags (host, default_env, agent
	 * version, container tags); the upload's own tags win over them. */
	static const char *const relay_headers[] = {"x-datadog-additional-tags",
						    "x-datadog-container-tags"};
	for (size_t h = 0; h < 2; h++) {
		struct store_tag *extra = NULL;
		size_t nextra = 0, ecap = 0;
		if (intake_split_tags(a, http_header(req, relay_headers[h]), ",", &extra, &nextra,
				      &ecap) < 0)
			goto nomem;
		for (size_t i = 0; i < nextra; i++) {
			const char *key =
			    !strcmp(extra[i].key, "default_env") ? "env" : extra[i].key;
			if (tag_value(tags, ntags, key))
				continue;
			if (push_tag(a, &tags, &ntags, &tcap, key, strlen(key), extra[i].value,
				     strlen(extra[i].value)) < 0)
				goto nomem;
		}
	}

	/* Identity, from the tags (the last occurrence wins) and the headers. */
	u->tags = tags;
	u->ntags = ntags;
	u->service = str_or_empty(tag_value(tags, ntags, "service"));
	u->env = str_or_empty(tag_value(tags, ntags, "env"));
	u->version = str_or_empty(tag_value(tags, ntags, "version"));
	u->host = str_or_empty(tag_value(tags, ntags, "host"));
	u->runtime_id = str_or_empty(tag_value(tags, ntags, "runtime-id"));
	if (!family || !*family)
		family = tag_value(tags, ntags, "family");
	u->family = str_or_empty(family);
	const char *language = tag_value(tags, ntags, "language");
	if (!language || !*language)
		language = family ? language_of_family(family) : NULL;
	u->language = str_or_empty(language);
	const char *runtime = tag_value(tags, ntags, "runtime");
	u->runtime = str_or_empty(runtime ? runtime : family);
	u->origin = str_or_empty(http_header(req, "dd-evp-origin"));
	u->origin_version = str_or_empty(http_header(req, "dd-evp-origin-version"));
	u->container_id = str_or_empty(http_header(req, "datadog-container-id"));
	u->entity_id = str_or_empty(http_header(req, "datadog-entity-id"));
	u->raw_body = req->body;
	u->raw_len = req->body_len;
	u->raw_content_type = ctype;
	intake_compute_measures(u);
	return 0;
nomem:
	buf_printf(err, "out of memory");
	return -ENOMEM;
}

void intake_upload_release(struct intake_upload *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nprofiles; i++)
		pprof_profile_release(&u->profiles[i]);
	free(u->profiles);
	u->profiles = NULL;
	u->nprofiles = 0;
}

void intake_handle(struct store *store, const struct intake_opts *opts,
		   const struct http_request *req, struct http_response *resp)
{
	struct intake_upload up;
	struct buf err = BUF_INIT;
	int ret = intake_parse(req, opts, &up, &err);
	if (ret < 0) {
		int status = ret == -EFBIG ? 413 : ret == -ENOMEM ? 503 : 400;
		LOG_WARN("intake: rejected upload from %s (%d): %s",
			 req->remote_addr ? req->remote_addr : "?", status,
			 err.data ? err.data : "");
		http_error(resp, status, "%s", err.data ? err.data : "bad upload");
		goto out;
	}
	if (!store) {
		http_error(resp, 503, "storage is not available");
		goto out;
	}
	int64_t id = 0;
	ret = store_put(store, &up.up, &id);
	if (ret < 0) {
		LOG_ERROR("intake: cannot store upload of service '%s': %s", up.up.service,
			  strerror(-ret));
		http_error(resp, 503, "storage unavailable: %s", strerror(-ret));
		goto out;
	}
	LOG_DEBUG("intake: stored upload %lld (service '%s', %s, %zu attachments)", (long long)id,
		  up.up.service, up.format, up.up.nattachments);
	resp->status = 200;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	buf_puts(&resp->body, "{}");
out:
	intake_upload_release(&up);
	buf_release(&err);
}
