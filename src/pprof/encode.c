/*
 * encode.c: struct pprof_profile -> canonical profile.proto bytes (proto3: zero scalars
 * omitted, repeated scalars packed, fields in number order), as go tool pprof and the npm
 * pprof-format package read them. Message sizes are computed first so every length prefix
 * is a minimal varint and each message is written straight into the output buffer.
 */
#include <errno.h>
#include <string.h>

#include "pprof/pprof.h"
#include "pprof/wire.h"

/* Size of a varint field (tag < 16, one byte), 0 when it is omitted (v == 0). */
static size_t vfield_size(uint64_t v)
{
	return v ? 1 + wire_varint_size(v) : 0;
}

static uint8_t *put_vfield(uint8_t *p, uint32_t field, uint64_t v)
{
	if (!v)
		return p;
	p = wire_put_tag(p, field, WIRE_VARINT);
	return wire_put_varint(p, v);
}

/* Size of a length-delimited field whose payload is n bytes. */
static size_t lfield_size(size_t n)
{
	return 1 + wire_varint_size(n) + n;
}

static uint8_t *put_lhead(uint8_t *p, uint32_t field, size_t n)
{
	p = wire_put_tag(p, field, WIRE_LEN);
	return wire_put_varint(p, n);
}

/* Reserves room for a message of n payload bytes; returns where to write it, or NULL. */
static uint8_t *reserve(struct buf *out, size_t n)
{
	if (buf_grow(out, n + 16) < 0)
		return NULL;
	return (uint8_t *)out->data + out->len;
}

static void commit(struct buf *out, uint8_t *end)
{
	out->len = (size_t)((char *)end - out->data);
	out->data[out->len] = '\0';
}

static size_t packed_size(const uint64_t *v, size_t n)
{
	size_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += wire_varint_size(v[i]);
	return s;
}

static uint8_t *put_packed(uint8_t *p, uint32_t field, const uint64_t *v, size_t n, size_t size)
{
	if (!n)
		return p;
	p = put_lhead(p, field, size);
	for (size_t i = 0; i < n; i++)
		p = wire_put_varint(p, v[i]);
	return p;
}

static size_t value_type_size(const struct pprof_value_type *vt)
{
	return vfield_size((uint64_t)vt->type) + vfield_size((uint64_t)vt->unit);
}

static int put_value_type(struct buf *out, uint32_t field, const struct pprof_value_type *vt)
{
	size_t n = value_type_size(vt);
	uint8_t *p = reserve(out, lfield_size(n));
	if (!p)
		return -ENOMEM;
	p = put_lhead(p, field, n);
	p = put_vfield(p, 1, (uint64_t)vt->type);
	p = put_vfield(p, 2, (uint64_t)vt->unit);
	commit(out, p);
	return 0;
}

static size_t label_size(const struct pprof_label *l)
{
	return vfield_size((uint64_t)l->key) + vfield_size((uint64_t)l->str) +
	       vfield_size((uint64_t)l->num) + vfield_size((uint64_t)l->num_unit);
}

/* The payload size of a sample; *locs and *vals get the packed arrays' sizes. */
static size_t sample_size(const struct pprof_sample *s, size_t *locs, size_t *vals)
{
	*locs = packed_size(s->location_ids, s->nlocations);
	*vals = packed_size((const uint64_t *)s->values, s->nvalues);
	size_t n = (s->nlocations ? lfield_size(*locs) : 0) + (s->nvalues ? lfield_size(*vals) : 0);
	for (size_t i = 0; i < s->nlabels; i++)
		n += lfield_size(label_size(&s->labels[i]));
	return n;
}

static int put_sample(struct buf *out, const struct pprof_sample *s)
{
	size_t locs, vals;
	size_t n = sample_size(s, &locs, &vals);
	uint8_t *p = reserve(out, lfield_size(n));
	if (!p)
		return -ENOMEM;
	p = put_lhead(p, 2, n);
	p = put_packed(p, 1, s->location_ids, s->nlocations, locs);
	p = put_packed(p, 2, (const uint64_t *)s->values, s->nvalues, vals);
	for (size_t i = 0; i < s->nlabels; i++) {
		const struct pprof_label *l = &s->labels[i];
		p = put_lhead(p, 3, label_size(l));
		p = put_vfield(p, 1, (uint64_t)l->key);
		p = put_vfield(p, 2, (uint64_t)l->str);
		p = put_vfield(p, 3, (uint64_t)l->num);
		p = put_vfield(p, 4, (uint64_t)l->num_unit);
	}
	commit(out, p);
	return 0;
}

static int put_mapping(struct buf *out, const struct pprof_mapping *m)
{
	size_t n = vfield_size(m->id) + vfield_size(m->memory_start) +
		   vfield_size(m->memory_limit) + vfield_size(m->file_offset) +
		   vfield_size((uint64_t)m->filename) + vfield_size((uint64_t)m->build_id) +
		   vfield_size(m->has_functions) + vfield_size(m->has_filenames) +
		   vfield_size(m->has_line_numbers) + vfield_size(m->has_inline_frames);
	uint8_t *p = reserve(out, lfield_size(n));
	if (!p)
		return -ENOMEM;
	p = put_lhead(p, 3, n);
	p = put_vfield(p, 1, m->id);
	p = put_vfield(p, 2, m->memory_start);
	p = put_vfield(p, 3, m->memory_limit);
	p = put_vfield(p, 4, m->file_offset);
	p = put_vfield(p, 5, (uint64_t)m->filename);
	p = put_vfield(p, 6, (uint64_t)m->build_id);
	p = put_vfield(p, 7, m->has_functions);
	p = put_vfield(p, 8, m->has_filenames);
	p = put_vfield(p, 9, m->has_line_numbers);
	p = put_vfield(p, 10, m->has_inline_frames);
	commit(out, p);
	return 0;
}

static size_t line_size(const struct pprof_line *l)
{
	return vfield_size(l->function_id) + vfield_size((uint64_t)l->line) +
	       vfield_size((uint64_t)l->column);
}

static int put_location(struct buf *out, const struct pprof_location *l)
{
	size_t n = vfield_size(l->id) + vfield_size(l->mapping_id) + vfield_size(l->address) +
		   vfield_size(l->is_folded);
	for (size_t i = 0; i < l->nlines; i++)
		n += lfield_size(line_size(&l->lines[i]));
	uint8_t *p = reserve(out, lfield_size(n));
	if (!p)
		return -ENOMEM;
	p = put_lhead(p, 4, n);
	p = put_vfield(p, 1, l->id);
	p = put_vfield(p, 2, l->mapping_id);
	p = put_vfield(p, 3, l->address);
	for (size_t i = 0; i < l->nlines; i++) {
		const struct pprof_line *ln = &l->lines[i];
		p = put_lhead(p, 4, line_size(ln));
		p = put_vfield(p, 1, ln->function_id);
		p = put_vfield(p, 2, (uint64_t)ln->line);
		p = put_vfield(p, 3, (uint64_t)ln->column);
	}
	p = put_vfield(p, 5, l->is_folded);
	commit(out, p);
	return 0;
}

static int put_function(struct buf *out, const struct pprof_function *f)
{
	size_t n = vfield_size(f->id) + vfield_size((uint64_t)f->name) +
		   vfield_size((uint64_t)f->system_name) + vfield_size((uint64_t)f->filename) +
		   vfield_size((uint64_t)f->start_line);
	uint8_t *p = reserve(out, lfield_size(n));
	if (!p)
		return -ENOMEM;
	p = put_lhead(p, 5, n);
	p = put_vfield(p, 1, f->id);
	p = put_vfield(p, 2, (uint64_t)f->name);
	p = put_vfield(p, 3, (uint64_t)f->system_name);
	p = put_vfield(p, 4, (uint64_t)f->filename);
	p = put_vfield(p, 5, (uint64_t)f->start_line);
	commit(out, p);
	return 0;
}

static int put_scalars(struct buf *out, const struct pprof_profile *prof)
{
	uint8_t *p = reserve(out, 64);
	if (!p)
		return -ENOMEM;
	p = put_vfield(p, 7, (uint64_t)prof->drop_frames);
	p = put_vfield(p, 8, (uint64_t)prof->keep_frames);
	p = put_vfield(p, 9, (uint64_t)prof->time_nanos);
	p = put_vfield(p, 10, (uint64_t)prof->duration_nanos);
	commit(out, p);
	if (prof->period_type.type || prof->period_type.unit) {
		int rc = put_value_type(out, 11, &prof->period_type);
		if (rc < 0)
			return rc;
	}
	const uint64_t *comments = (const uint64_t *)prof->comments.items;
	size_t csize = packed_size(comments, prof->comments.len);
	p = reserve(out, 32 + lfield_size(csize));
	if (!p)
		return -ENOMEM;
	p = put_vfield(p, 12, (uint64_t)prof->period);
	p = put_packed(p, 13, comments, prof->comments.len, csize);
	p = put_vfield(p, 14, (uint64_t)prof->default_sample_type);
	commit(out, p);
	return 0;
}

/* An upper bound of the encoded size, exact for samples (most of a large profile), so the
 * output grows once instead of doubling through copies of a 100 MB buffer. */
static size_t encoded_size_bound(const struct pprof_profile *prof)
{
	size_t n = 256 + prof->sample_types.len * 24 + prof->mappings.len * 96 +
		   prof->functions.len * 64 + prof->comments.len * 10;
	for (size_t i = 0; i < prof->samples.len; i++) {
		size_t locs, vals;
		n += lfield_size(sample_size(&prof->samples.items[i], &locs, &vals));
	}
	for (size_t i = 0; i < prof->locations.len; i++)
		n += 48 + prof->locations.items[i].nlines * 36;
	for (size_t i = 0; i < strtab_count(&prof->strings); i++) {
		size_t len = 0;
		strtab_get(&prof->strings, (int64_t)i, &len);
		n += lfield_size(len);
	}
	return n;
}

int pprof_encode(const struct pprof_profile *prof, struct buf *out)
{
	size_t start = out->len;
	int rc = buf_grow(out, encoded_size_bound(prof));
	if (rc < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < prof->sample_types.len; i++)
		rc = put_value_type(out, 1, &prof->sample_types.items[i]);
	for (size_t i = 0; rc == 0 && i < prof->samples.len; i++)
		rc = put_sample(out, &prof->samples.items[i]);
	for (size_t i = 0; rc == 0 && i < prof->mappings.len; i++)
		rc = put_mapping(out, &prof->mappings.items[i]);
	for (size_t i = 0; rc == 0 && i < prof->locations.len; i++)
		rc = put_location(out, &prof->locations.items[i]);
	for (size_t i = 0; rc == 0 && i < prof->functions.len; i++)
		rc = put_function(out, &prof->functions.items[i]);
	/* The whole table, "" first: readers require string_table[0] == "". */
	size_t nstr = strtab_count(&prof->strings);
	for (size_t i = 0; rc == 0 && i < (nstr ? nstr : 1); i++) {
		size_t len = 0;
		const char *s = nstr ? strtab_get(&prof->strings, (int64_t)i, &len) : "";
		uint8_t *p = reserve(out, lfield_size(len));
		if (!p) {
			rc = -ENOMEM;
			break;
		}
		p = put_lhead(p, 6, len);
		if (len)
			memcpy(p, s, len);
		commit(out, p + len);
	}
	if (rc == 0)
		rc = put_scalars(out, prof);
	if (rc < 0)
		buf_truncate(out, start);
	return rc;
}

int pprof_write_file(const struct pprof_profile *p, const char *path, struct buf *err)
{
	struct buf raw = BUF_INIT;
	struct buf gz = BUF_INIT;
	int rc = pprof_encode(p, &raw);
	if (rc < 0) {
		if (err)
			buf_printf(err, "pprof: cannot encode '%s': %s", path, strerror(-rc));
		goto out;
	}
	rc = pprof_compress(PPROF_COMPRESSION_GZIP, 0, (const uint8_t *)raw.data, raw.len, &gz);
	if (rc < 0) {
		if (err)
			buf_printf(err, "pprof: cannot compress '%s': %s", path, strerror(-rc));
		goto out;
	}
	rc = buf_write_file(&gz, path);
	if (rc < 0 && err)
		buf_printf(err, "pprof: cannot write '%s': %s", path, strerror(-rc));
out:
	buf_release(&gz);
	buf_release(&raw);
	return rc;
}
