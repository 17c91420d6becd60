/*
 * report.c: the `kiln report` command line. It decides what to read and what to print; the
 * arithmetic lives in stacks.c/top.c/tree.c/merge.c and the formatting in text.c/html.c.
 * Being a *_main, it is the one place of the module that prints to stderr and picks exit
 * statuses: 0 ok, 1 the output could not be written, 2 bad usage or bad input.
 */
#include "report/report.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/vec.h"
#include "pprof/pprof.h"
#include "report/html.h"
#include "report/merge.h"
#include "report/stacks.h"
#include "report/text.h"
#include "report/top.h"
#include "report/tree.h"

enum output { OUT_TOP, OUT_TREE, OUT_COLLAPSED, OUT_JSON, OUT_HTML, OUT_MERGE, OUT_DIFF };

struct options {
	enum output output;
	int noutputs;
	const char *html_path;
	const char *out_path;
	const char *sample_index;
	const char *focus;
	const char *ignore;
	VEC(const char *) base_files;
	size_t nodecount;
	double nodefraction;
};

static const char usage_text[] =
    "usage: kiln report [options] FILE...\n"
    "\n"
    "Reads pprof profiles (raw, gzip or zstd; from kiln, Go, dd-trace...) and prints them.\n"
    "Several FILEs are merged first; they must have the same sample types.\n"
    "\n"
    "Output (one of; default --top):\n"
    "  --top                 flat and cumulative value per function, like go tool pprof -top\n"
    "  --tree                call tree, root first, one indented line per call path\n"
    "  --collapsed           folded stacks: 'root;...;leaf value', one line per distinct stack\n"
    "  --json                the --top table, totals and sample types as JSON\n"
    "  --html FILE           write a self-contained HTML flame graph to FILE\n"
    "  --merge               merge the FILEs into one pprof file written to -o OUT\n"
    "  --diff BASE           per-function change from BASE to FILEs (repeat to merge bases)\n"
    "\n"
    "Selection:\n"
    "  --sample-index NAME|N value to report: a sample type name (e.g. cpu, alloc_space)\n"
    "                        or its 0-based index; default: the profile's default sample\n"
    "                        type, else the last one (as go tool pprof)\n"
    "  --focus REGEX         keep only samples with a frame matching REGEX\n"
    "  --ignore REGEX        drop samples with a frame matching REGEX\n"
    "                        (POSIX extended regexes, unanchored, matched against function\n"
    "                        names, source file names and mapping file names, as go does)\n"
    "  -n, --nodecount N     show at most N rows of --top/--json/--diff (default 0: all)\n"
    "  --nodefraction F      hide --top/--json rows and --tree paths whose |cum| is below\n"
    "                        F x total (default 0.005, as go tool pprof; 0 shows all)\n"
    "  -o, --output FILE     write to FILE instead of standard output (required by --merge)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Values are printed raw, in the sample type's unit. Exit status: 0 ok, 1 the output could\n"
    "not be written, 2 bad usage or a file that cannot be read (the message names it).\n"
    "Documentation: docs/report.md.\n";

enum {
	OPT_TOP = 256,
	OPT_TREE,
	OPT_COLLAPSED,
	OPT_JSON,
	OPT_HTML,
	OPT_MERGE,
	OPT_DIFF,
	OPT_SAMPLE_INDEX,
	OPT_FOCUS,
	OPT_IGNORE,
	OPT_NODEFRACTION,
};

static const struct option long_options[] = {
    {"top", no_argument, NULL, OPT_TOP},
    {"tree", no_argument, NULL, OPT_TREE},
    {"collapsed", no_argument, NULL, OPT_COLLAPSED},
    {"json", no_argument, NULL, OPT_JSON},
    {"html", required_argument, NULL, OPT_HTML},
    {"merge", no_argument, NULL, OPT_MERGE},
    {"diff", required_argument, NULL, OPT_DIFF},
    {"sample-index", required_argument, NULL, OPT_SAMPLE_INDEX},
    {"focus", required_argument, NULL, OPT_FOCUS},
    {"ignore", required_argument, NULL, OPT_IGNORE},
    {"nodecount", required_argument, NULL, 'n'},
    {"nodefraction", required_argument, NULL, OPT_NODEFRACTION},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "kiln report: %s%s%s%s\n\n%s", what, arg ? " '" : "", arg ? arg : "",
		arg ? "'" : "", usage_text);
	return 2;
}

static void set_output(struct options *o, enum output out)
{
	if (o->noutputs == 0 || o->output != out)
		o->noutputs++;
	o->output = out;
}

/* Parses argv into o; returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
	int c;

	o->nodefraction = 0.005;
	optind = 0; /* GNU: full re-initialisation, so report_main can run more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hn:o:", long_options, NULL)) != -1) {
		char *end;
		switch (c) {
		case OPT_TOP:
			set_output(o, OUT_TOP);
			break;
		case OPT_TREE:
			set_output(o, OUT_TREE);
			break;
		case OPT_COLLAPSED:
			set_output(o, OUT_COLLAPSED);
			break;
		case OPT_JSON:
			set_output(o, OUT_JSON);
			break;
		case OPT_HTML:
			set_output(o, OUT_HTML);
			o->html_path = optarg;
			break;
		case OPT_MERGE:
			set_output(o, OUT_MERGE);
			break;
		case OPT_DIFF:
			set_output(o, OUT_DIFF);
			if (vec_push(&o->base_files, optarg) < 0)
				return 1;
			break;
		case OPT_SAMPLE_INDEX:
			o->sample_index = optarg;
			break;
		case OPT_FOCUS:
			o->focus = optarg;
			break;
		case OPT_IGNORE:
			o->ignore = optarg;
			break;
		case 'n': {
			errno = 0;
			long long n = strtoll(optarg, &end, 10);
			if (errno || *end || end == optarg || n < 0)
				return usage_error("--nodecount needs a number >= 0, not", optarg);
			o->nodecount = (size_t)n;
			break;
		}
		case OPT_NODEFRACTION:
			errno = 0;
			o->nodefraction = strtod(optarg, &end);
			if (errno || *end || end == optarg || o->nodefraction < 0 ||
			    o->nodefraction > 1)
				return usage_error("--nodefraction needs a number in [0, 1], not",
						   optarg);
			break;
		case 'o':
			o->out_path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			if (optopt && optopt < 256 && strchr("no", optopt))
				return usage_error("this option needs an argument:",
						   argv[optind - 1]);
			if (optopt >= 256)
				return usage_error("this option needs an argument:",
						   argv[optind - 1]);
			return usage_error("unknown option", argv[optind - 1]);
		}
	}
	if (o->noutputs > 1)
		return usage_error("choose only one of --top, --tree, --collapsed, --json, --html, "
				   "--merge, --diff",
				   NULL);
	if (optind >= argc)
		return usage_error("no profile FILE given", NULL);
	if (o->output == OUT_MERGE && !o->out_path)
		return usage_error("--merge needs -o OUT.pprof", NULL);
	return -1;
}

/* Like go's SampleIndexByName. Returns the index or -1 with a message printed. */
static long resolve_sample_index(const struct pprof_profile *p, const char *want, const char *file)
{
	struct buf types = BUF_INIT;
	long idx = -1;

	if (!p->sample_types.len) {
		fprintf(stderr, "kiln report: '%s': the profile has no sample types\n", file);
		return -1;
	}
	if (!want) {
		const char *def = pprof_str(p, p->default_sample_type);
		if (def[0] && (idx = pprof_sample_type_index(p, def)) >= 0)
			return idx;
		return (long)p->sample_types.len - 1;
	}
	char *end;
	errno = 0;
	long n = strtol(want, &end, 10);
	if (!errno && end != want && !*end) {
		if (n >= 0 && (size_t)n < p->sample_types.len)
			return n;
		fprintf(stderr, "kiln report: --sample-index %s is outside the range [0..%zu]\n",
			want, p->sample_types.len - 1);
		return -1;
	}
	const char *noinuse = !strncmp(want, "inuse_", 6) ? want + 6 : want;
	for (size_t i = 0; i < p->sample_types.len && idx < 0; i++) {
		const char *t = pprof_str(p, p->sample_types.items[i].type);
		if (!strcmp(t, want) || !strcmp(t, noinuse))
			idx = (long)i;
	}
	if (idx < 0) {
		report_types_str(p, &types);
		fprintf(stderr,
			"kiln report: --sample-index '%s' is not a sample type of '%s' (%s)\n",
			want, file, types.data ? types.data : "");
	}
	buf_release(&types);
	return idx;
}

static int load(const char *path, struct pprof_profile *p)
{
	struct buf err = BUF_INIT;
	int rc = pprof_read_file(path, NULL, p, &err);
	if (rc < 0) {
		const char *msg = err.len ? err.data : strerror(-rc);
		if (strstr(msg, path))
			fprintf(stderr, "kiln report: %s\n", msg);
		else
			fprintf(stderr, "kiln report: '%s': %s\n", path, msg);
	}
	buf_release(&err);
	return rc;
}

static bool check_types(const struct pprof_profile *first, const char *first_path,
			const struct pprof_profile *p, const char *path)
{
	struct buf a = BUF_INIT, b = BUF_INIT;

	if (report_same_types(first, p))
		return true;
	report_types_str(first, &a);
	report_types_str(p, &b);
	fprintf(stderr,
		"kiln report: cannot merge '%s' with '%s': sample types differ (%s vs %s)\n", path,
		first_path, b.data ? b.data : "", a.data ? a.data : "");
	buf_release(&a);
	buf_release(&b);
	return false;
}

static int do_merge(const struct options *o, char **files, size_t nfiles)
{
	struct pprof_profile *profiles = calloc(nfiles, sizeof(*profiles));
	const struct pprof_profile **ptrs = calloc(nfiles, sizeof(*ptrs));
	struct pprof_profile merged;
	struct buf err = BUF_INIT;
	size_t loaded = 0;
	int status = 2;

	if (!profiles || !ptrs) {
		status = 1;
		goto out_profiles;
	}
	for (; loaded < nfiles; loaded++) {
		if (load(files[loaded], &profiles[loaded]) < 0)
			goto out_profiles;
		ptrs[loaded] = &profiles[loaded];
		if (loaded &&
		    !check_types(&profiles[0], files[0], &profiles[loaded], files[loaded])) {
			loaded++;
			goto out_profiles;
		}
	}
	int rc = report_merge(ptrs, nfiles, &merged);
	if (rc < 0) {
		fprintf(stderr, "kiln report: cannot merge the profiles: %s\n", strerror(-rc));
		status = 1;
		goto out_profiles;
	}
	rc = pprof_write_file(&merged, o->out_path, &err);
	if (rc < 0) {
		fprintf(stderr, "kiln report: cannot write '%s': %s\n", o->out_path,
			err.len ? err.data : strerror(-rc));
		status = 1;
	} else {
		status = 0;
	}
	pprof_profile_release(&merged);
out_profiles:
	for (size_t i = 0; i < loaded; i++)
		pprof_profile_release(&profiles[i]);
	free(profiles);
	free(ptrs);
	buf_release(&err);
	return status;
}

/*
 * Adds the files to rs one at a time; only *first (sample types, headers) stays loaded. When
 * first_is_files0, files[0] is *first, already loaded. Returns -1 on success, else the exit
 * status (message printed).
 */
static int add_files(struct report_stacks *rs, char **files, size_t nfiles,
		     struct pprof_profile *first, const char *first_path, bool first_is_files0,
		     size_t sample_index, int sign, const struct report_filter *f)
{
	for (size_t i = 0; i < nfiles; i++) {
		struct pprof_profile p;
		struct pprof_profile *cur = &p;
		if (i == 0 && first_is_files0)
			cur = first;
		else if (load(files[i], &p) < 0)
			return 2;
		if (cur != first && !check_types(first, first_path, cur, files[i])) {
			pprof_profile_release(&p);
			return 2;
		}
		int rc = report_stacks_add_profile(rs, cur, sample_index, sign, f);
		if (cur != first)
			pprof_profile_release(&p);
		if (rc < 0) {
			fprintf(stderr, "kiln report: '%s': %s\n", files[i], strerror(-rc));
			return 1;
		}
	}
	return -1;
}

static int write_html(const struct options *o, const struct report_view *v,
		      const struct report_stacks *rs)
{
	struct report_stack *stacks = calloc(rs->stacks.len ? rs->stacks.len : 1, sizeof(*stacks));
	const char **pool = calloc(rs->frames.len ? rs->frames.len : 1, sizeof(*pool));
	struct buf title = BUF_INIT, sub = BUF_INIT;
	size_t n = 0, used = 0;
	int status = 1;
	FILE *out = NULL;

	if (!stacks || !pool)
		goto out_mem;
	for (size_t si = 0; si < rs->stacks.len; si++) {
		const struct report_stack_rec *s = &rs->stacks.items[si];
		if (!s->value)
			continue;
		for (uint32_t i = 0; i < s->len; i++)
			pool[used + i] =
			    report_stacks_name(rs, rs->frames.items[s->off + s->len - 1 - i]);
		stacks[n++] = (struct report_stack){
		    .frames = &pool[used], .nframes = s->len, .value = s->value};
		used += s->len;
	}
	for (size_t i = 0; i < v->nfiles; i++)
		buf_printf(&title, "%s%s", i ? ", " : "", v->files[i]);
	buf_printf(&sub, "%" PRIu64 " samples, total %" PRId64 " %s", rs->nkept, rs->total,
		   pprof_str(v->profile, v->profile->sample_types.items[v->sample_index].unit));
	if (o->focus)
		buf_printf(&sub, ", focus=%s", o->focus);
	if (o->ignore)
		buf_printf(&sub, ", ignore=%s", o->ignore);
	struct report_html_opts hopts = {
	    .title = title.data ? title.data : "",
	    .sample_type =
		pprof_str(v->profile, v->profile->sample_types.items[v->sample_index].type),
	    .unit = pprof_str(v->profile, v->profile->sample_types.items[v->sample_index].unit),
	    .subtitle = sub.data,
	};
	out = fopen(o->html_path, "w");
	if (!out) {
		fprintf(stderr, "kiln report: cannot create '%s': %s\n", o->html_path,
			strerror(errno));
		goto out_mem;
	}
	int rc = report_html_write(out, &hopts, stacks, n);
	if (fclose(out) != 0 && rc == 0)
		rc = -EIO;
	if (rc < 0)
		fprintf(stderr, "kiln report: cannot write '%s': %s\n", o->html_path,
			strerror(-rc));
	else
		status = 0;
out_mem:
	buf_release(&title);
	buf_release(&sub);
	free(stacks);
	free(pool);
	return status;
}

static int run_report(const struct options *o, char **files, size_t nfiles)
{
	struct pprof_profile first;
	struct report_stacks rs, base_rs;
	struct report_filter filter;
	struct buf err = BUF_INIT;
	FILE *out = stdout;
	int status, rc;

	if (load(files[0], &first) < 0)
		return 2;
	long si = resolve_sample_index(&first, o->sample_index, files[0]);
	if (si < 0) {
		status = 2;
		goto out_first;
	}
	if (report_filter_init(&filter, o->focus, o->ignore, &err) < 0) {
		fprintf(stderr, "kiln report: %s\n", err.data);
		status = 2;
		goto out_first;
	}
	if (report_stacks_init(&rs) < 0) {
		status = 1;
		goto out_filter;
	}
	if (report_stacks_init(&base_rs) < 0) {
		report_stacks_release(&rs);
		status = 1;
		goto out_filter;
	}
	/* --top, --json and --diff need per-function totals only, not the stacks. */
	rs.keep_stacks = base_rs.keep_stacks =
	    o->output == OUT_TREE || o->output == OUT_COLLAPSED || o->output == OUT_HTML;
	status = add_files(&rs, files, nfiles, &first, files[0], true, (size_t)si, 1, &filter);
	if (status >= 0)
		goto out_stacks;
	if (o->output == OUT_DIFF) {
		status = add_files(&base_rs, (char **)o->base_files.items, o->base_files.len,
				   &first, files[0], false, (size_t)si, 1, &filter);
		if (status >= 0)
			goto out_stacks;
	}

	struct report_view v = {
	    .files = (const char *const *)files,
	    .nfiles = nfiles,
	    .profile = &first,
	    .sample_index = (size_t)si,
	    .nodecount = o->nodecount,
	    .nodefraction = o->nodefraction,
	    .focus = o->focus,
	    .ignore = o->ignore,
	};
	if (o->output == OUT_HTML) {
		status = write_html(o, &v, &rs);
		goto out_stacks;
	}
	if (o->out_path) {
		out = fopen(o->out_path, "w");
		if (!out) {
			fprintf(stderr, "kiln report: cannot create '%s': %s\n", o->out_path,
				strerror(errno));
			status = 1;
			goto out_stacks;
		}
	}

	struct report_top top = {0};
	struct report_diff diff = {0};
	switch (o->output) {
	case OUT_TREE:
		rc = report_tree_write(out, &rs, report_view_cutoff(&v, rs.total));
		break;
	case OUT_COLLAPSED:
		rc = report_write_collapsed(out, &rs);
		break;
	case OUT_DIFF:
		rc = report_diff_compute(&diff, &base_rs, &rs);
		if (rc == 0)
			rc = report_write_diff(out, &v, o->base_files.items, o->base_files.len,
					       &diff);
		report_diff_release(&diff);
		break;
	default:
		rc = report_top_compute(&top, &rs);
		if (rc == 0 && o->output == OUT_JSON)
			rc = report_write_json(out, &v, &rs, &top);
		else if (rc == 0)
			rc = report_write_top(out, &v, &rs, &top);
		report_top_release(&top);
		break;
	}
	if (fflush(out) != 0 && rc == 0)
		rc = -EIO;
	if (out != stdout && fclose(out) != 0 && rc == 0)
		rc = -EIO;
	if (rc < 0) {
		fprintf(stderr, "kiln report: cannot write the report to '%s': %s\n",
			o->out_path ? o->out_path : "standard output", strerror(-rc));
		status = 1;
	} else {
		status = 0;
	}
out_stacks:
	report_stacks_release(&rs);
	report_stacks_release(&base_rs);
out_filter:
	report_filter_release(&filter);
out_first:
	pprof_profile_release(&first);
	buf_release(&err);
	return status;
}

int report_main(int argc, char **argv)
{
	struct options o = {0};
	int status = parse_args(argc, argv, &o);

	if (status < 0) {
		if (o.output == OUT_MERGE)
			status = do_merge(&o, argv + optind, (size_t)(argc - optind));
		else
			status = run_report(&o, argv + optind, (size_t)(argc - optind));
	}
	vec_release(&o.base_files);
	return status;
}
