/*
 * run_pprof_dump.c: prints the samples of pprof files for kiln run's integration tests,
 * one line per sample: VALUE <tab> process_id <tab> thread id <tab> thread_name <tab>
 * root;...;leaf (inlined frames expanded). Tests aggregate the lines with awk.
 *
 *	run-pprof-dump [-t SAMPLE_TYPE] FILE...      (default type cpu-samples)
 *	run-pprof-dump -m FILE...                    mapping file names and build ids
 */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "pprof/pprof.h"

static int64_t label_num(const struct pprof_profile *p, const struct pprof_sample *s,
			 const char *key)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (!strcmp(pprof_str(p, s->labels[i].key), key))
			return s->labels[i].num;
	return -1;
}

static const char *label_str(const struct pprof_profile *p, const struct pprof_sample *s,
			     const char *key)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (!strcmp(pprof_str(p, s->labels[i].key), key))
			return pprof_str(p, s->labels[i].str);
	return "";
}

int main(int argc, char **argv)
{
	const char *type = "cpu-samples";
	int i = 1, maps = 0;
	if (i + 1 < argc && !strcmp(argv[i], "-t")) {
		type = argv[i + 1];
		i += 2;
	} else if (i < argc && !strcmp(argv[i], "-m")) {
		maps = 1;
		i++;
	}
	int status = 0;
	struct buf line = BUF_INIT;
	for (; i < argc; i++) {
		struct pprof_profile p;
		struct buf err = BUF_INIT;
		if (pprof_read_file(argv[i], NULL, &p, &err) < 0) {
			fprintf(stderr, "run-pprof-dump: %s\n", err.data ? err.data : argv[i]);
			buf_release(&err);
			status = 1;
			continue;
		}
		buf_release(&err);
		if (maps) {
			for (size_t m = 0; m < p.mappings.len; m++)
				printf("%s\t%s\n", pprof_str(&p, p.mappings.items[m].filename),
				       pprof_str(&p, p.mappings.items[m].build_id));
			pprof_profile_release(&p);
			continue;
		}
		int vi = pprof_sample_type_index(&p, type);
		if (vi < 0) {
			fprintf(stderr, "run-pprof-dump: %s: no sample type %s\n", argv[i], type);
			status = 1;
			pprof_profile_release(&p);
			continue;
		}
		for (size_t k = 0; k < p.samples.len; k++) {
			const struct pprof_sample *s = &p.samples.items[k];
			buf_reset(&line);
			for (size_t l = s->nlocations; l-- > 0;) {
				const struct pprof_location *loc =
				    pprof_location_by_id(&p, s->location_ids[l]);
				for (size_t f = loc ? loc->nlines : 0; f-- > 0;) {
					const struct pprof_function *fn =
					    pprof_function_by_id(&p, loc->lines[f].function_id);
					if (line.len)
						buf_putc(&line, ';');
					buf_puts(&line, fn ? pprof_str(&p, fn->name) : "?");
				}
			}
			printf("%lld\t%lld\t%lld\t%s\t%s\n", (long long)s->values[vi],
			       (long long)label_num(&p, s, "process_id"),
			       (long long)label_num(&p, s, "thread id"),
			       label_str(&p, s, "thread_name"), line.data ? line.data : "");
		}
		pprof_profile_release(&p);
	}
	buf_release(&line);
	return status;
}
