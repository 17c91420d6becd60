/*
 * html: renders a profile as one self-contained HTML file with an interactive flame graph
 * (works offline: the page embeds its JS, CSS and data; no network requests).
 *
 * CONTRACT between kiln report (which extracts and filters stacks) and the renderer. The
 * flame graph component itself lives in web/flamegraph.js and is shared with the server UI;
 * the build embeds web/ files into the binary.
 */
#ifndef KILN_REPORT_HTML_H
#define KILN_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One stack, root first, with its value for the chosen sample type. */
struct report_stack {
	const char *const *frames; /* frames[0] is the root */
	size_t nframes;
	int64_t value;
};

struct report_html_opts {
	const char *title;        /* e.g. the file name */
	const char *sample_type;  /* e.g. "cpu" */
	const char *unit;         /* e.g. "nanoseconds": values are formatted for it */
	const char *subtitle;     /* optional: "1,234 samples, 10.1 s, focus=…" */
};

/* Writes the page. Stacks need not be sorted or unique. 0 or a negative errno. */
int report_html_write(FILE *out, const struct report_html_opts *opts,
		      const struct report_stack *stacks, size_t nstacks);

#endif
