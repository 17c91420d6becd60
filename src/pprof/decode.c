/*
 * decode.c: profile.proto bytes -> struct pprof_profile, for profiles from any producer.
 *
 * The input is untrusted (uploads to the server, files handed to kiln report), so every
 * length is checked against the bytes left, every id reference is resolved, and nothing is
 * sized from a count the input claims: vectors are reserved from counts of fields actually
 * present. Two passes over the top-level message. The first loads the string table (so
 * string ids can be checked as messages are decoded, whatever the field order) and counts
 * the repeated messages and, inside each sample, the location ids, values and labels. The
 * second decodes everything else, writing sample arrays straight into one block of the
 * profile's arena sized by those counts: no allocation and no copy per sample. Fresh memory
 * is most of the cost on large profiles, so that block asks for huge pages. The fields,
 * samples and labels producers actually write (one-byte tags, packed ids, varint labels) are
 * decoded inline; anything else, valid or not, goes through the general field reader, which
 * is also the only place that words errors. Memory use is bounded by a multiple of the
 * input size (at most ~50x, for a profile made only of empty samples or locations; real
 * profiles take 3-5x).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>

#include "pprof/internal.h"
#include "pprof/pprof.h"
#include "pprof/wire.h"

struct rd {
	const uint8_t *p;
	const uint8_t *end;
};

struct dec {
	const uint8_t *base; /* start of the profile bytes, for offsets in messages */
	struct pprof_profile *prof;
	struct buf *err;
	int64_t nstrings;
	/* Sample arrays: one block each, sized by pass 1, filled in file order by pass 2. */
	struct slab {
		uint64_t *items;
		size_t cap;
		size_t used;
	} locs, vals;
	struct pprof_label *labels;
	size_t labels_cap, labels_used;
	/* Scratch for a location's lines, reused. */
	VEC(struct pprof_line) lines;
};

struct field {
	uint32_t num;
	enum wire_type wt;
	const uint8_t *at; /* where the tag starts */
	uint64_t v;	   /* the value, for WIRE_VARINT */
	struct rd sub;	   /* the bytes, for WIRE_LEN */
};

__attribute__((format(printf, 3, 4))) static int fail(struct dec *d, int rc, const char *fmt, ...)
{
	if (d->err) {
		va_list ap;
		va_start(ap, fmt);
		buf_vprintf(d->err, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static size_t off(const struct dec *d, const uint8_t *at)
{
	return (size_t)(at - d->base);
}

static int skip_group(struct dec *d, struct rd *r, uint32_t num, int depth);

/* The general case of next_field, and every error message about a field's framing. */
static __attribute__((noinline)) int next_field_slow(struct dec *d, struct rd *r, struct field *f,
						     const char *msg)
{
	f->at = r->p;
	uint64_t tag;
	int rc = wire_get_varint(&r->p, r->end, &tag);
	if (rc < 0)
		return fail(d, -EINVAL, "%s varint in %s tag at offset %zu",
			    rc == -1 ? "truncated" : "overlong", msg, off(d, f->at));
	f->num = (uint32_t)(tag >> 3);
	f->wt = (enum wire_type)(tag & 7);
	if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
		return fail(d, -EINVAL, "invalid field number %" PRIu64 " in %s at offset %zu",
			    tag >> 3, msg, off(d, f->at));
	switch (f->wt) {
	case WIRE_VARINT: {
		const uint8_t *vat = r->p;
		rc = wire_get_varint(&r->p, r->end, &f->v);
		if (rc < 0)
			return fail(d, -EINVAL, "%s varint in %s field %u at offset %zu",
				    rc == -1 ? "truncated" : "overlong", msg, f->num, off(d, vat));
		return 1;
	}
	case WIRE_LEN: {
		uint64_t len;
		const uint8_t *vat = r->p;
		rc = wire_get_varint(&r->p, r->end, &len);
		if (rc < 0)
			return fail(d, -EINVAL, "%s length in %s field %u at offset %zu",
				    rc == -1 ? "truncated" : "overlong", msg, f->num, off(d, vat));
		if (len > (uint64_t)(r->end - r->p))
			return fail(d, -EINVAL,
				    "%s field %u at offset %zu claims %" PRIu64
				    " bytes but only %zu remain",
				    msg, f->num, off(d, f->at), len, (size_t)(r->end - r->p));
		f->sub.p = r->p;
		f->sub.end = r->p + len;
		r->p += len;
		return 1;
	}
	case WIRE_I64:
	case WIRE_I32: {
		size_t n = f->wt == WIRE_I64 ? 8 : 4;
		if ((size_t)(r->end - r->p) < n)
			return fail(d, -EINVAL, "truncated fixed-size %s field %u at offset %zu",
				    msg, f->num, off(d, f->at));
		r->p += n;
		return 1;
	}
	case WIRE_SGROUP:
		rc = skip_group(d, r, f->num, 0);
		return rc < 0 ? rc : 1;
	case WIRE_EGROUP:
		return fail(d, -EINVAL, "unexpected end-group in %s at offset %zu", msg,
			    off(d, f->at));
	default:
		return fail(d, -EINVAL, "invalid wire type %d in %s at offset %zu", (int)f->wt, msg,
			    off(d, f->at));
	}
}

/*
 * Reads the next field of the message in r into f: 1 if one was read, 0 at the end of the
 * message, or a negative errno. Fixed-size and group fields are consumed here (they are
 * never part of a known pprof field); the caller checks the wire type of known fields.
 *
 * Nearly every field of a real profile has a one-byte tag and a short varint or length;
 * that case is decoded inline (it is most of the decoder's work: a sample label alone is
 * three or four fields). Anything else, including every malformed field, takes the slow
 * path from the same position, so errors are reported in one place.
 */
static inline __attribute__((always_inline)) int next_field(struct dec *d, struct rd *r,
							    struct field *f, const char *msg)
{
	const uint8_t *p = r->p, *end = r->end;
	if (p >= end)
		return 0;
	uint8_t tag = p[0];
	if (tag >= 8 && tag < 0x80 && end - p >= 2) {
		const uint8_t *q = p + 1;
		uint64_t v;
		if ((tag & 7) == WIRE_VARINT) {
			if (*q < 0x80)
				v = *q++;
			else if (wire_get_varint(&q, end, &v) < 0)
				goto slow;
			f->at = p;
			f->num = tag >> 3;
			f->wt = WIRE_VARINT;
			f->v = v;
			r->p = q;
			return 1;
		}
		if ((tag & 7) == WIRE_LEN) {
			if (*q < 0x80)
				v = *q++;
			else if (wire_get_varint(&q, end, &v) < 0)
				goto slow;
			if (v > (uint64_t)(end - q))
				goto slow;
			f->at = p;
			f->num = tag >> 3;
			f->wt = WIRE_LEN;
			f->sub.p = q;
			f->sub.end = q + v;
			r->p = q + v;
			return 1;
		}
	}
slow:
	return next_field_slow(d, r, f, msg);
}

/* Skips a (deprecated) group up to its end-group tag. */
static int skip_group(struct dec *d, struct rd *r, uint32_t num, int depth)
{
	if (depth > 64)
		return fail(d, -EINVAL, "groups nested too deeply at offset %zu", off(d, r->p));
	const uint8_t *start = r->p;
	for (;;) {
		if (r->p >= r->end)
			return fail(d, -EINVAL, "unterminated group starting at offset %zu",
				    off(d, start));
		const uint8_t *at = r->p;
		uint64_t tag;
		if (wire_get_varint(&r->p, r->end, &tag) < 0)
			return fail(d, -EINVAL, "bad tag in group at offset %zu", off(d, at));
		uint32_t n = (uint32_t)(tag >> 3);
		uint64_t v;
		int rc = 0;
		switch (tag & 7) {
		case WIRE_VARINT:
			rc = wire_get_varint(&r->p, r->end, &v);
			break;
		case WIRE_LEN:
			rc = wire_get_varint(&r->p, r->end, &v);
			if (rc == 0 && v > (uint64_t)(r->end - r->p))
				rc = -1;
			if (rc == 0)
				r->p += v;
			break;
		case WIRE_I64:
		case WIRE_I32:
			v = (tag & 7) == WIRE_I64 ? 8 : 4;
			if ((uint64_t)(r->end - r->p) < v)
				rc = -1;
			else
				r->p += v;
			break;
		case WIRE_SGROUP:
			rc = skip_group(d, r, n, depth + 1);
			if (rc < 0)
				return rc;
			break;
		case WIRE_EGROUP:
			if (n != num)
				return fail(d, -EINVAL, "mismatched end-group at offset %zu",
					    off(d, at));
			return 0;
		default:
			rc = -1;
		}
		if (rc < 0)
			return fail(d, -EINVAL, "malformed field in group at offset %zu",
				    off(d, at));
	}
}

static int want_wt(struct dec *d, const struct field *f, enum wire_type want, const char *msg)
{
	if (f->wt == want)
		return 0;
	return fail(d, -EINVAL, "%s field %u at offset %zu has wire type %d, expected %d", msg,
		    f->num, off(d, f->at), (int)f->wt, (int)want);
}

static int check_str(struct dec *d, const struct field *f, int64_t id, const char *what)
{
	if (id >= 0 && id < d->nstrings)
		return 0;
	return fail(d, -EINVAL,
		    "%s at offset %zu refers to string %" PRId64 " but the table has %" PRId64
		    " strings",
		    what, off(d, f->at), id, d->nstrings);
}

/* A varint field holding a string id. */
static int str_field(struct dec *d, const struct field *f, int64_t *out, const char *what)
{
	int rc = want_wt(d, f, WIRE_VARINT, what);
	if (rc < 0)
		return rc;
	rc = check_str(d, f, (int64_t)f->v, what);
	if (rc < 0)
		return rc;
	*out = (int64_t)f->v;
	return 0;
}

/* A repeated scalar, packed (WIRE_LEN) or not (WIRE_VARINT), appended to v. */
#define REPEATED(d, f, v, what)                                                                    \
	repeated_((d), (f), (void **)&(v)->items, &(v)->len, &(v)->cap, (what))

static int repeated_(struct dec *d, const struct field *f, void **items, size_t *len, size_t *cap,
		     const char *what)
{
	if (f->wt == WIRE_VARINT) {
		if (vec_reserve_(items, cap, *len + 1, sizeof(uint64_t)) < 0)
			return -ENOMEM;
		((uint64_t *)*items)[(*len)++] = f->v;
		return 0;
	}
	if (f->wt != WIRE_LEN)
		return fail(d, -EINVAL,
			    "%s at offset %zu has wire type %d, expected varint or packed", what,
			    off(d, f->at), (int)f->wt);
	/* Every varint takes at least one byte: the packed length bounds the count. */
	size_t most = (size_t)(f->sub.end - f->sub.p);
	if (vec_reserve_(items, cap, *len + most, sizeof(uint64_t)) < 0)
		return -ENOMEM;
	uint64_t *out = *items;
	const uint8_t *p = f->sub.p;
	while (p < f->sub.end) {
		const uint8_t *at = p;
		if (wire_get_varint(&p, f->sub.end, &out[*len]) < 0)
			return fail(d, -EINVAL, "truncated varint in packed %s at offset %zu", what,
				    off(d, at));
		(*len)++;
	}
	return 0;
}

/* A repeated scalar, packed or not, appended to a slab sized by pass 1. */
static int slab_repeated(struct dec *d, const struct field *f, struct slab *sl, const char *what)
{
	if (f->wt == WIRE_VARINT) {
		if (sl->used >= sl->cap)
			goto overflow;
		sl->items[sl->used++] = f->v;
		return 0;
	}
	if (f->wt != WIRE_LEN)
		return fail(d, -EINVAL,
			    "%s at offset %zu has wire type %d, expected varint or packed", what,
			    off(d, f->at), (int)f->wt);
	const uint8_t *p = f->sub.p;
	uint64_t *out = sl->items;
	size_t used = sl->used, cap = sl->cap;
	while (p < f->sub.end) {
		const uint8_t *at = p;
		uint64_t v;
		if (*p < 0x80)
			v = *p++;
		else if (wire_get_varint(&p, f->sub.end, &v) < 0)
			return fail(d, -EINVAL, "truncated varint in packed %s at offset %zu", what,
				    off(d, at));
		if (used >= cap)
			goto overflow;
		out[used++] = v;
	}
	sl->used = used;
	return 0;
overflow:
	/* Pass 1 counted these exactly; reaching this is a decoder bug, not bad input. */
	return fail(d, -EINVAL, "%s at offset %zu: more values than counted", what, off(d, f->at));
}

static int dec_value_type(struct dec *d, struct rd r, struct pprof_value_type *vt)
{
	struct field f;
	int rc;
	while ((rc = next_field(d, &r, &f, "ValueType")) > 0) {
		if (f.num == 1)
			rc = str_field(d, &f, &vt->type, "ValueType.type");
		else if (f.num == 2)
			rc = str_field(d, &f, &vt->unit, "ValueType.unit");
		if (rc < 0)
			return rc;
	}
	return rc;
}

static int dec_label(struct dec *d, struct rd r, struct pprof_label *l)
{
	struct field f;
	int rc;
	while ((rc = next_field(d, &r, &f, "Label")) > 0) {
		switch (f.num) {
		case 1:
			rc = str_field(d, &f, &l->key, "Label.key");
			break;
		case 2:
			rc = str_field(d, &f, &l->str, "Label.str");
			break;
		case 3:
			rc = want_wt(d, &f, WIRE_VARINT, "Label");
			l->num = (int64_t)f.v;
			break;
		case 4:
			rc = str_field(d, &f, &l->num_unit, "Label.num_unit");
			break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

static void *dup_scratch(struct dec *d, const void *items, size_t n, size_t elem)
{
	if (n == 0)
		return NULL;
	return arena_memdup(&d->prof->arena, items, n * elem);
}

/* A varint, inline for the one-byte case. false if truncated or overlong. */
static inline bool get_uv(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	if (p < end && *p < 0x80) {
		*v = *p;
		*pp = p + 1;
		return true;
	}
	return wire_get_varint(pp, end, v) == 0;
}

/*
 * A Label in its usual shape (fields 1-4, one-byte tags, varints), decoded without the
 * general field machinery: a profile can hold several per sample. false, with l untouched,
 * for anything else, including a bad string id; dec_label then decodes the same bytes and
 * says what is wrong. As there, a repeated field's last value wins.
 */
static inline bool label_fast(const struct dec *d, const uint8_t *p, const uint8_t *end,
			      struct pprof_label *l)
{
	uint64_t v[5] = {0};
	while (p < end) {
		uint8_t tag = *p++;
		if ((tag & 7) != WIRE_VARINT || tag < 0x08 || tag > 0x20)
			return false;
		if (!get_uv(&p, end, &v[tag >> 3]))
			return false;
	}
	uint64_t n = (uint64_t)d->nstrings; /* a negative id is a huge uint64 */
	if (v[1] >= n || v[2] >= n || v[4] >= n)
		return false;
	l->key = (int64_t)v[1];
	l->str = (int64_t)v[2];
	l->num = (int64_t)v[3];
	l->num_unit = (int64_t)v[4];
	return true;
}

/* Appends the packed varints [p, end) to sl; false if one is malformed or sl is full. */
static inline bool packed_fast(struct slab *sl, const uint8_t *p, const uint8_t *end)
{
	uint64_t *out = sl->items;
	size_t used = sl->used, cap = sl->cap;
	while (p < end) {
		if (used >= cap || !get_uv(&p, end, &out[used]))
			return false;
		used++;
	}
	sl->used = used;
	return true;
}

static int dec_sample_general(struct dec *d, struct rd r, size_t locs0, size_t vals0,
			      size_t labels0);

/*
 * A Sample as producers write it (packed location ids, packed values, labels; one-byte tags
 * and lengths) decoded in one tight loop. Anything else starts the sample over on the
 * general path, which also produces every error message.
 */
static int dec_sample(struct dec *d, struct rd r)
{
	size_t locs0 = d->locs.used, vals0 = d->vals.used, labels0 = d->labels_used;
	const uint8_t *p = r.p, *end = r.end;
	while (p < end) {
		uint8_t tag = *p;
		const uint8_t *q = p + 1;
		uint64_t len;
		if ((tag != 0x0a && tag != 0x12 && tag != 0x1a) || !get_uv(&q, end, &len) ||
		    len > (uint64_t)(end - q))
			goto general;
		p = q + len;
		if (tag == 0x1a) {
			if (d->labels_used >= d->labels_cap ||
			    !label_fast(d, q, p, &d->labels[d->labels_used]))
				goto general;
			d->labels_used++;
		} else if (!packed_fast(tag == 0x0a ? &d->locs : &d->vals, q, p)) {
			goto general;
		}
	}
	return dec_sample_general(d, (struct rd){NULL, NULL}, locs0, vals0, labels0);
general:
	d->locs.used = locs0;
	d->vals.used = vals0;
	d->labels_used = labels0;
	return dec_sample_general(d, r, locs0, vals0, labels0);
}

/* Decodes the fields in r (none when the fast path did them) and appends the sample whose
 * arrays start at the given slab positions. */
static int dec_sample_general(struct dec *d, struct rd r, size_t locs0, size_t vals0,
			      size_t labels0)
{
	struct field f;
	int rc;
	while ((rc = next_field(d, &r, &f, "Sample")) > 0) {
		switch (f.num) {
		case 1:
			rc = slab_repeated(d, &f, &d->locs, "Sample.location_id");
			break;
		case 2:
			rc = slab_repeated(d, &f, &d->vals, "Sample.value");
			break;
		case 3: {
			rc = want_wt(d, &f, WIRE_LEN, "Sample");
			if (rc < 0)
				break;
			if (d->labels_used >= d->labels_cap)
				return fail(d, -EINVAL,
					    "Sample.label at offset %zu: more than counted",
					    off(d, f.at));
			struct pprof_label *l = &d->labels[d->labels_used++];
			memset(l, 0, sizeof(*l));
			rc = dec_label(d, f.sub, l);
			break;
		}
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	struct pprof_sample s = {
	    .nlocations = d->locs.used - locs0,
	    .nvalues = d->vals.used - vals0,
	    .nlabels = d->labels_used - labels0,
	};
	if (s.nlocations)
		s.location_ids = d->locs.items + locs0;
	if (s.nvalues)
		s.values = (const int64_t *)(d->vals.items + vals0);
	if (s.nlabels)
		s.labels = d->labels + labels0;
	return vec_push(&d->prof->samples, s);
}

/* The number of varints in packed bytes: one ends at each byte below 0x80. */
static size_t count_varints(const uint8_t *p, const uint8_t *end)
{
	size_t n = 0;
	for (; end - p >= 8; p += 8) {
		uint64_t w;
		memcpy(&w, p, sizeof(w));
		/* one bit per byte below 0x80, summed by the multiply into the top byte */
		uint64_t ends = (~w & 0x8080808080808080ULL) >> 7;
		n += (size_t)((ends * 0x0101010101010101ULL) >> 56);
	}
	for (; p < end; p++)
		n += *p < 0x80;
	return n;
}

static int count_sample_general(struct dec *d, struct rd r, size_t *nlocs, size_t *nvals,
				size_t *nlabels);

/* Pass 1 for a sample: how many location ids, values and labels it holds. The usual field
 * shapes are counted inline; anything else counts the sample again on the general path. */
static int count_sample(struct dec *d, struct rd r, size_t *nlocs, size_t *nvals, size_t *nlabels)
{
	size_t nl = 0, nv = 0, nlab = 0;
	const uint8_t *p = r.p, *end = r.end;
	while (p < end) {
		uint8_t tag = *p;
		const uint8_t *q = p + 1;
		uint64_t v;
		if (!get_uv(&q, end, &v))
			goto general;
		switch (tag) {
		case 0x08: /* one unpacked location id or value */
			nl++;
			break;
		case 0x10:
			nv++;
			break;
		case 0x0a:
		case 0x12:
		case 0x1a:
			if (v > (uint64_t)(end - q))
				goto general;
			if (tag == 0x1a)
				nlab++;
			else
				*(tag == 0x0a ? &nl : &nv) += count_varints(q, q + v);
			q += v;
			break;
		default:
			goto general;
		}
		p = q;
	}
	*nlocs += nl;
	*nvals += nv;
	*nlabels += nlab;
	return 0;
general:
	return count_sample_general(d, r, nlocs, nvals, nlabels);
}

static int count_sample_general(struct dec *d, struct rd r, size_t *nlocs, size_t *nvals,
				size_t *nlabels)
{
	struct field f;
	int rc;
	while ((rc = next_field(d, &r, &f, "Sample")) > 0) {
		if (f.num == 3) {
			(*nlabels)++;
			continue;
		}
		if (f.num != 1 && f.num != 2)
			continue;
		size_t n = 0;
		if (f.wt == WIRE_VARINT) {
			n = 1;
		} else if (f.wt == WIRE_LEN) {
			n = count_varints(f.sub.p, f.sub.end);
		}
		*(f.num == 1 ? nlocs : nvals) += n;
	}
	return rc;
}

static int dec_mapping(struct dec *d, struct rd r)
{
	struct pprof_mapping m = {0};
	struct field f;
	int rc;
	while ((rc = next_field(d, &r, &f, "Mapping")) > 0) {
		if (f.num >= 1 && f.num <= 10 && f.num != 5 && f.num != 6) {
			rc = want_wt(d, &f, WIRE_VARINT, "Mapping");
			if (rc < 0)
				return rc;
		}
		switch (f.num) {
		case 1:
			m.id = f.v;
			break;
		case 2:
			m.memory_start = f.v;
			break;
		case 3:
			m.memory_limit = f.v;
			break;
		case 4:
			m.file_offset = f.v;
			break;
		case 5:
			rc = str_field(d, &f, &m.filename, "Mapping.filename");
			break;
		case 6:
			rc = str_field(d, &f, &m.build_id, "Mapping.build_id");
			break;
		case 7:
			m.has_functions = f.v != 0;
			break;
		case 8:
			m.has_filenames = f.v != 0;
			break;
		case 9:
			m.has_line_numbers = f.v != 0;
			break;
		case 10:
			m.has_inline_frames = f.v != 0;
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	return vec_push(&d->prof->mappings, m);
}

static int dec_line(struct dec *d, struct rd r, struct pprof_line *l)
{
	struct field f;
	int rc;
	while ((rc = next_field(d, &r, &f, "Line")) > 0) {
		if (f.num < 1 || f.num > 3)
			continue;
		rc = want_wt(d, &f, WIRE_VARINT, "Line");
		if (rc < 0)
			return rc;
		if (f.num == 1)
			l->function_id = f.v;
		else if (f.num == 2)
			l->line = (int64_t)f.v;
		else
			l->column = (int64_t)f.v;
	}
	return rc;
}

static int dec_location(struct dec *d, struct rd r)
{
	struct pprof_location loc = {0};
	struct field f;
	int rc;
	d->lines.len = 0;
	while ((rc = next_field(d, &r, &f, "Location")) > 0) {
		if (f.num == 4) {
			rc = want_wt(d, &f, WIRE_LEN, "Location");
			if (rc < 0)
				return rc;
			struct pprof_line l = {0};
			rc = dec_line(d, f.sub, &l);
			if (rc < 0)
				return rc;
			if (vec_push(&d->lines, l) < 0)
				return -ENOMEM;
			continue;
		}
		if (f.num < 1 || f.num > 5)
			continue;
		rc = want_wt(d, &f, WIRE_VARINT, "Location");
		if (rc < 0)
			return rc;
		if (f.num == 1)
			loc.id = f.v;
		else if (f.num == 2)
			loc.mapping_id = f.v;
		else if (f.num == 3)
			loc.address = f.v;
		else
			loc.is_folded = f.v != 0;
	}
	if (rc < 0)
		return rc;
	loc.nlines = d->lines.len;
	loc.lines = dup_scratch(d, d->lines.items, d->lines.len, sizeof(struct pprof_line));
	if (loc.nlines && !loc.lines)
		return -ENOMEM;
	return vec_push(&d->prof->locations, loc);
}

static int dec_function(struct dec *d, struct rd r)
{
	struct pprof_function fn = {0};
	struct field f;
	int rc;
	while ((rc = next_field(d, &r, &f, "Function")) > 0) {
		switch (f.num) {
		case 1:
			rc = want_wt(d, &f, WIRE_VARINT, "Function");
			fn.id = f.v;
			break;
		case 2:
			rc = str_field(d, &f, &fn.name, "Function.name");
			break;
		case 3:
			rc = str_field(d, &f, &fn.system_name, "Function.system_name");
			break;
		case 4:
			rc = str_field(d, &f, &fn.filename, "Function.filename");
			break;
		case 5:
			rc = want_wt(d, &f, WIRE_VARINT, "Function");
			fn.start_line = (int64_t)f.v;
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	return vec_push(&d->prof->functions, fn);
}

/* Pass 1: counts repeated messages and loads the string table. */
static int pass_strings(struct dec *d, struct rd r, size_t counts[6], size_t sizes[3])
{
	struct field f;
	int rc;
	size_t nstr = 0;
	while ((rc = next_field(d, &r, &f, "Profile")) > 0) {
		if (f.num >= 1 && f.num <= 6) {
			rc = want_wt(d, &f, WIRE_LEN, "Profile");
			if (rc < 0)
				return rc;
			counts[f.num - 1]++;
		}
		if (f.num == 2) {
			rc = count_sample(d, f.sub, &sizes[0], &sizes[1], &sizes[2]);
			if (rc < 0)
				return rc;
		}
		if (f.num != 6)
			continue;
		size_t len = (size_t)(f.sub.end - f.sub.p);
		if (nstr++ == 0) {
			/* Entry 0 must be "": the table we fill already holds it. */
			if (len != 0)
				return fail(d, -EINVAL,
					    "string_table[0] at offset %zu is not the empty string",
					    off(d, f.at));
			continue;
		}
		/* strtab_add keeps duplicates (ids must match the file) without slowing down. */
		int64_t id = strtab_add(&d->prof->strings, (const char *)f.sub.p, len);
		if (id < 0)
			return (int)id;
	}
	return rc;
}

static int pass_messages(struct dec *d, struct rd r)
{
	struct pprof_profile *p = d->prof;
	struct field f;
	int rc;
	while ((rc = next_field(d, &r, &f, "Profile")) > 0) {
		switch (f.num) {
		case 1: {
			struct pprof_value_type vt = {0};
			rc = dec_value_type(d, f.sub, &vt);
			if (rc == 0 && vec_push(&p->sample_types, vt) < 0)
				rc = -ENOMEM;
			break;
		}
		case 2:
			rc = dec_sample(d, f.sub);
			break;
		case 3:
			rc = dec_mapping(d, f.sub);
			break;
		case 4:
			rc = dec_location(d, f.sub);
			break;
		case 5:
			rc = dec_function(d, f.sub);
			break;
		case 7:
			rc = str_field(d, &f, &p->drop_frames, "Profile.drop_frames");
			break;
		case 8:
			rc = str_field(d, &f, &p->keep_frames, "Profile.keep_frames");
			break;
		case 9:
			rc = want_wt(d, &f, WIRE_VARINT, "Profile");
			p->time_nanos = (int64_t)f.v;
			break;
		case 10:
			rc = want_wt(d, &f, WIRE_VARINT, "Profile");
			p->duration_nanos = (int64_t)f.v;
			break;
		case 11:
			rc = want_wt(d, &f, WIRE_LEN, "Profile");
			if (rc == 0)
				rc = dec_value_type(d, f.sub, &p->period_type);
			break;
		case 12:
			rc = want_wt(d, &f, WIRE_VARINT, "Profile");
			p->period = (int64_t)f.v;
			break;
		case 13: {
			size_t first = p->comments.len;
			rc = REPEATED(d, &f, &p->comments, "Profile.comment");
			for (size_t i = first; rc == 0 && i < p->comments.len; i++)
				rc = check_str(d, &f, p->comments.items[i], "Profile.comment");
			break;
		}
		case 14:
			rc = str_field(d, &f, &p->default_sample_type,
				       "Profile.default_sample_type");
			break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

static const char *index_error(int rc)
{
	return rc == -EEXIST ? "duplicate id" : "reserved id 0";
}

/* True when the records' ids are 1..n in order. */
static bool dense_ids(const void *items, size_t n, size_t stride)
{
	const unsigned char *base = items;
	for (size_t i = 0; i < n; i++) {
		uint64_t id;
		memcpy(&id, base + i * stride, sizeof(id));
		if (id != i + 1)
			return false;
	}
	return true;
}

/* After decoding: ids unique and non-zero, every reference resolves, values fit types. */
static int check_refs(struct dec *d)
{
	struct pprof_profile *p = d->prof;
	size_t bad;
	int rc = pprof_index_ids(&p->mapping_index, p->mappings.items, p->mappings.len,
				 sizeof(*p->mappings.items), &bad);
	if (rc < 0)
		return rc == -ENOMEM ? rc
				     : fail(d, -EINVAL, "mapping %zu has a %s (%" PRIu64 ")", bad,
					    index_error(rc), p->mappings.items[bad].id);
	rc = pprof_index_ids(&p->location_index, p->locations.items, p->locations.len,
			     sizeof(*p->locations.items), &bad);
	if (rc < 0)
		return rc == -ENOMEM ? rc
				     : fail(d, -EINVAL, "location %zu has a %s (%" PRIu64 ")", bad,
					    index_error(rc), p->locations.items[bad].id);
	rc = pprof_index_ids(&p->function_index, p->functions.items, p->functions.len,
			     sizeof(*p->functions.items), &bad);
	if (rc < 0)
		return rc == -ENOMEM ? rc
				     : fail(d, -EINVAL, "function %zu has a %s (%" PRIu64 ")", bad,
					    index_error(rc), p->functions.items[bad].id);

	/* Producers number records 1..n; then a reference is valid when it is in range. */
	bool dense_maps = dense_ids(p->mappings.items, p->mappings.len, sizeof(*p->mappings.items));
	bool dense_funcs =
	    dense_ids(p->functions.items, p->functions.len, sizeof(*p->functions.items));
	bool dense_locs =
	    dense_ids(p->locations.items, p->locations.len, sizeof(*p->locations.items));
	for (size_t i = 0; i < p->locations.len; i++) {
		const struct pprof_location *l = &p->locations.items[i];
		if (l->mapping_id && !(dense_maps ? l->mapping_id <= p->mappings.len
						  : pprof_mapping_by_id(p, l->mapping_id) != NULL))
			return fail(d, -EINVAL,
				    "location %" PRIu64 " references mapping %" PRIu64
				    " which does not exist",
				    l->id, l->mapping_id);
		for (size_t j = 0; j < l->nlines; j++) {
			uint64_t fid = l->lines[j].function_id;
			if (!(dense_funcs ? fid - 1 < p->functions.len
					  : pprof_function_by_id(p, fid) != NULL))
				return fail(d, -EINVAL,
					    "location %" PRIu64
					    " line %zu references function %" PRIu64
					    " which does not exist",
					    l->id, j, fid);
		}
	}
	size_t ntypes = p->sample_types.len;
	uint64_t nlocs = p->locations.len;
	for (size_t i = 0; i < p->samples.len; i++) {
		const struct pprof_sample *s = &p->samples.items[i];
		if (s->nvalues != ntypes)
			return fail(d, -EINVAL, "sample %zu has %zu values for %zu sample types", i,
				    s->nvalues, ntypes);
		for (size_t j = 0; j < s->nlocations; j++) {
			uint64_t id = s->location_ids[j];
			if (!(dense_locs ? id - 1 < nlocs : pprof_location_by_id(p, id) != NULL))
				return fail(d, -EINVAL,
					    "sample %zu references location %" PRIu64
					    " which does not exist",
					    i, id);
		}
	}
	return 0;
}

/*
 * Asks for transparent huge pages on the 2 MiB-aligned part of a large block: filling a
 * fresh 100 MiB block page by page costs more in page faults than the decoding itself.
 */
static void advise_huge(void *mem, size_t len)
{
	const uintptr_t huge = 2u << 20;
	if (!mem || len < 4 * huge)
		return;
	uintptr_t start = ((uintptr_t)mem + huge - 1) & ~(huge - 1);
	uintptr_t end = ((uintptr_t)mem + len) & ~(huge - 1);
	if (end > start)
		madvise((void *)start, end - start, MADV_HUGEPAGE);
}

static int decode_raw(struct dec *d, const uint8_t *data, size_t len)
{
	struct pprof_profile *p = d->prof;
	struct rd r = {data, data + len};
	size_t counts[6] = {0}, sizes[3] = {0};
	int rc = pass_strings(d, r, counts, sizes);
	if (rc < 0)
		return rc;
	d->nstrings = (int64_t)strtab_count(&p->strings);
	/* Counts of things present, so bounded by the input: safe to reserve. */
	if (vec_reserve(&p->sample_types, counts[0]) < 0 ||
	    vec_reserve(&p->samples, counts[1]) < 0 || vec_reserve(&p->mappings, counts[2]) < 0 ||
	    vec_reserve(&p->locations, counts[3]) < 0 || vec_reserve(&p->functions, counts[4]) < 0)
		return -ENOMEM;
	advise_huge(p->samples.items, counts[1] * sizeof(*p->samples.items));
	d->locs.cap = sizes[0];
	d->vals.cap = sizes[1];
	d->labels_cap = sizes[2];
	size_t bytes = (sizes[0] + sizes[1]) * sizeof(uint64_t) + sizes[2] * sizeof(*d->labels);
	if (bytes) {
		uint8_t *mem = arena_alloc(&p->arena, bytes);
		if (!mem)
			return -ENOMEM;
		advise_huge(mem, bytes);
		d->labels = (struct pprof_label *)mem;
		d->locs.items = (uint64_t *)(mem + sizes[2] * sizeof(*d->labels));
		d->vals.items = d->locs.items + sizes[0];
	}
	rc = pass_messages(d, r);
	if (rc < 0)
		return rc;
	return check_refs(d);
}

int pprof_decode(const uint8_t *data, size_t len, const struct pprof_decode_opts *opts,
		 struct pprof_profile *p, struct buf *err)
{
	size_t max = opts && opts->max_decompressed ? opts->max_decompressed
						    : PPROF_DEFAULT_MAX_DECOMPRESSED;
	struct buf raw = BUF_INIT;
	struct dec d = {.prof = p, .err = err};
	int rc = pprof_profile_init(p);
	if (rc < 0)
		goto out_nomem;
	if (pprof_sniff(data, len) != PPROF_COMPRESSION_NONE) {
		rc = pprof_decompress(data, len, max, &raw, err);
		if (rc < 0)
			goto out_release;
		data = (const uint8_t *)raw.data;
		len = raw.len;
	} else if (len > max) {
		rc = fail(&d, -EFBIG, "profile of %zu bytes is larger than the %zu byte cap", len,
			  max);
		goto out_release;
	}
	/* Size arena chunks to the profile so a large one needs few mallocs. */
	arena_init(&p->arena, len / 8 < 64 * 1024 ? 64 * 1024
			      : len / 8 > 8 << 20 ? 8 << 20
						  : len / 8);
	d.base = data ? data : (const uint8_t *)"";
	rc = decode_raw(&d, d.base, len);
	if (rc == 0)
		goto out_scratch;
out_nomem:
	if (rc == -ENOMEM)
		fail(&d, rc, "out of memory decoding profile");
out_release:
	pprof_profile_release(p);
out_scratch:
	vec_release(&d.lines);
	buf_release(&raw);
	return rc;
}

int pprof_read_file(const char *path, const struct pprof_decode_opts *opts, struct pprof_profile *p,
		    struct buf *err)
{
	size_t max = opts && opts->max_decompressed ? opts->max_decompressed
						    : PPROF_DEFAULT_MAX_DECOMPRESSED;
	struct buf data = BUF_INIT;
	struct buf why = BUF_INIT;
	int rc = buf_read_file(&data, path, max);
	if (rc < 0) {
		if (err)
			buf_printf(err, "pprof: cannot read '%s': %s", path, strerror(-rc));
		memset(p, 0, sizeof(*p));
		goto out;
	}
	rc = pprof_decode((const uint8_t *)data.data, data.len, opts, p, &why);
	if (rc < 0 && err)
		buf_printf(err, "pprof: cannot decode '%s': %s", path, why.data ? why.data : "");
out:
	buf_release(&why);
	buf_release(&data);
	return rc;
}
