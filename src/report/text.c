/*
 * text.c: formatting of kiln report's text and JSON outputs. Kept apart from the arithmetic
 * (top.c) so that tests can check numbers without parsing tables.
 */
#include "report/text.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"

#define abs64 report_abs

static double pct(int64_t v, int64_t total)
{
	return total ? 100.0 * (double)v / (double)total : 0.0;
}

int64_t report_view_cutoff(const struct report_view *v, int64_t total)
{
	return abs64((int64_t)((double)total * v->nodefraction));
}

static const char *type_name(const struct report_view *v)
{
	return pprof_str(v->profile, v->profile->sample_types.items[v->sample_index].type);
}

static const char *unit_name(const struct report_view *v)
{
	return pprof_str(v->profile, v->profile->sample_types.items[v->sample_index].unit);
}

/* Rows kept by nodefraction and nodecount, in order; returns their count. */
static size_t select_rows(const struct report_view *v, const struct report_top *t, size_t *selected,
			  size_t *dropped_cut, int64_t *shown_flat)
{
	int64_t cutoff = report_view_cutoff(v, t->total);
	size_t n = 0;

	*dropped_cut = 0;
	*shown_flat = 0;
	for (size_t i = 0; i < t->rows.len; i++) {
		if (abs64(t->rows.items[i].cum) < cutoff) {
			(*dropped_cut)++;
			continue;
		}
		if (v->nodecount && n >= v->nodecount)
			continue;
		if (selected)
			selected[n] = i;
		*shown_flat = report_add(*shown_flat, t->rows.items[i].flat);
		n++;
	}
	return n;
}

static void write_files_header(FILE *out, const char *label, const char *const *files, size_t n)
{
	fprintf(out, "%s: ", label);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? ", " : "", files[i]);
	fputc('\n', out);
}

int report_write_top(FILE *out, const struct report_view *v, const struct report_stacks *rs,
		     const struct report_top *t)
{
	size_t *sel = malloc((t->rows.len ? t->rows.len : 1) * sizeof(*sel));
	size_t dropped, shown;
	int64_t shown_flat, sum = 0;

	if (!sel)
		return -ENOMEM;
	shown = select_rows(v, t, sel, &dropped, &shown_flat);
	write_files_header(out, "File", v->files, v->nfiles);
	fprintf(out, "Type: %s (%s)\n", type_name(v), unit_name(v));
	if (v->focus || v->ignore)
		fprintf(out, "Filter:%s%s%s%s\n", v->focus ? " focus=" : "",
			v->focus ? v->focus : "", v->ignore ? " ignore=" : "",
			v->ignore ? v->ignore : "");
	fprintf(out, "Showing nodes accounting for %" PRId64 ", %.2f%% of %" PRId64 " total\n",
		shown_flat, pct(shown_flat, t->total), t->total);
	if (dropped)
		fprintf(out, "Dropped %zu nodes (cum < %" PRId64 ")\n", dropped,
			report_view_cutoff(v, t->total));
	if (shown + dropped < t->rows.len)
		fprintf(out, "Showing top %zu nodes out of %zu\n", shown, t->rows.len);
	fprintf(out, "%14s %7s %7s %14s %7s  %s\n", "flat", "flat%", "sum%", "cum", "cum%", "name");
	for (size_t i = 0; i < shown; i++) {
		const struct report_row *r = &t->rows.items[sel[i]];
		sum = report_add(sum, r->flat);
		fprintf(out, "%14" PRId64 " %6.2f%% %6.2f%% %14" PRId64 " %6.2f%%  %s\n", r->flat,
			pct(r->flat, t->total), pct(sum, t->total), r->cum, pct(r->cum, t->total),
			report_stacks_name(rs, r->name));
	}
	free(sel);
	return ferror(out) ? -EIO : 0;
}

int report_write_collapsed(FILE *out, const struct report_stacks *rs)
{
	struct buf b = BUF_INIT;
	int rc = 0;

	for (size_t si = 0; si < rs->stacks.len; si++) {
		const struct report_stack_rec *s = &rs->stacks.items[si];
		const uint32_t *fr = &rs->frames.items[s->off];
		if (!s->value)
			continue;
		for (uint32_t i = s->len; i-- > 0;) {
			size_t len;
			const char *name = strtab_get(&rs->names, fr[i], &len);
			if (buf_append(&b, name, len) < 0 || (i && buf_putc(&b, ';') < 0))
				goto out_nomem;
		}
		if (buf_printf(&b, " %" PRId64 "\n", s->value) < 0)
			goto out_nomem;
		if (b.len >= (1u << 20)) {
			if (fwrite(b.data, 1, b.len, out) != b.len) {
				rc = -EIO;
				goto out_buf;
			}
			buf_reset(&b);
		}
	}
	if (b.len && fwrite(b.data, 1, b.len, out) != b.len)
		rc = -EIO;
out_buf:
	buf_release(&b);
	return rc;
out_nomem:
	rc = -ENOMEM;
	goto out_buf;
}

int report_write_json(FILE *out, const struct report_view *v, const struct report_stacks *rs,
		      const struct report_top *t)
{
	size_t *sel = malloc((t->rows.len ? t->rows.len : 1) * sizeof(*sel));
	struct buf b = BUF_INIT;
	struct json_w w;
	size_t dropped, shown;
	int64_t shown_flat;
	int rc = 0;

	if (!sel)
		return -ENOMEM;
	shown = select_rows(v, t, sel, &dropped, &shown_flat);
	json_w_init(&w, &b);
	json_obj_begin(&w);
	json_key(&w, "files");
	json_arr_begin(&w);
	for (size_t i = 0; i < v->nfiles; i++)
		json_str(&w, v->files[i]);
	json_arr_end(&w);
	json_key(&w, "sample_types");
	json_arr_begin(&w);
	for (size_t i = 0; i < v->profile->sample_types.len; i++) {
		json_obj_begin(&w);
		json_key(&w, "type");
		json_str(&w, pprof_str(v->profile, v->profile->sample_types.items[i].type));
		json_key(&w, "unit");
		json_str(&w, pprof_str(v->profile, v->profile->sample_types.items[i].unit));
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_key(&w, "sample_index");
	json_uint(&w, v->sample_index);
	json_key(&w, "sample_type");
	json_obj_begin(&w);
	json_key(&w, "type");
	json_str(&w, type_name(v));
	json_key(&w, "unit");
	json_str(&w, unit_name(v));
	json_obj_end(&w);
	json_key(&w, "focus");
	if (v->focus)
		json_str(&w, v->focus);
	else
		json_null(&w);
	json_key(&w, "ignore");
	if (v->ignore)
		json_str(&w, v->ignore);
	else
		json_null(&w);
	json_key(&w, "samples");
	json_uint(&w, rs->nsamples);
	json_key(&w, "samples_kept");
	json_uint(&w, rs->nkept);
	json_key(&w, "total");
	json_int(&w, t->total);
	json_key(&w, "kept_total");
	json_int(&w, t->flat_sum);
	json_key(&w, "shown_total");
	json_int(&w, shown_flat);
	json_key(&w, "functions_total");
	json_uint(&w, t->rows.len);
	json_key(&w, "functions");
	json_arr_begin(&w);
	for (size_t i = 0; i < shown; i++) {
		const struct report_row *r = &t->rows.items[sel[i]];
		json_obj_begin(&w);
		json_key(&w, "name");
		json_str(&w, report_stacks_name(rs, r->name));
		json_key(&w, "flat");
		json_int(&w, r->flat);
		json_key(&w, "flat_pct");
		json_double(&w, pct(r->flat, t->total));
		json_key(&w, "cum");
		json_int(&w, r->cum);
		json_key(&w, "cum_pct");
		json_double(&w, pct(r->cum, t->total));
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_obj_end(&w);
	rc = json_w_error(&w);
	if (!rc && (buf_putc(&b, '\n') < 0))
		rc = -ENOMEM;
	if (!rc && fwrite(b.data, 1, b.len, out) != b.len)
		rc = -EIO;
	buf_release(&b);
	free(sel);
	return rc;
}

int report_write_diff(FILE *out, const struct report_view *v, const char *const *base_files,
		      size_t nbase, const struct report_diff *d)
{
	size_t n = d->rows.len;

	if (v->nodecount && n > v->nodecount)
		n = v->nodecount;
	write_files_header(out, "Base", base_files, nbase);
	write_files_header(out, "New", v->files, v->nfiles);
	fprintf(out, "Type: %s (%s)\n", type_name(v), unit_name(v));
	fprintf(out, "Total: %" PRId64 " -> %" PRId64 " (%+" PRId64 ", %+.2f%%)\n", d->total_base,
		d->total_new, report_sub(d->total_new, d->total_base),
		pct(report_sub(d->total_new, d->total_base), d->total_base));
	if (n < d->rows.len)
		fprintf(out, "Showing top %zu changes out of %zu\n", n, d->rows.len);
	fprintf(out, "%14s %14s %14s %14s %14s %14s  %s\n", "flat base", "flat new", "flat diff",
		"cum base", "cum new", "cum diff", "name");
	for (size_t i = 0; i < n; i++) {
		const struct report_diff_row *r = &d->rows.items[i];
		fprintf(out,
			"%14" PRId64 " %14" PRId64 " %+14" PRId64 " %14" PRId64 " %14" PRId64
			" %+14" PRId64 "  %s\n",
			r->flat_base, r->flat_new, report_sub(r->flat_new, r->flat_base),
			r->cum_base, r->cum_new, report_sub(r->cum_new, r->cum_base), r->name);
	}
	return ferror(out) ? -EIO : 0;
}
