/*
 * html_gen: writes report pages from synthetic stacks with report_html_write(), for the browser
 * tests (the .test.js files beside it), which need pages whose content they know exactly.
 *
 *	html_gen basic OUT.html   a small profile: hotA/hotB shares, recursion, hostile names
 *	html_gen big N OUT.html   N distinct stacks (deterministic), for render timing
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/html.h"

#define NFR(a) (sizeof(a) / sizeof((a)[0]))

static const char *s_a[] = {"main", "serve", "handle", "hotA"};
static const char *s_b[] = {"main", "serve", "handle", "hotB"};
static const char *s_c[] = {"main", "serve", "parse", "hotA"};
static const char *s_x[] = {"main", "<img src=x onerror=alert(1)>",
			    "</script><script>alert(2)</script>"};
static const char *s_r[] = {"main", "fib", "fib", "fib", "leaf&co"};
static const char *s_g[] = {"main", "gc"};

static int gen_basic(FILE *out)
{
	/* total 1000: hotA = 500 + 100 = 600 (60 %), hotB = 250 (25 %) */
	const struct report_stack st[] =
	    {
		{s_a, NFR(s_a), 300}, {s_b, NFR(s_b), 250}, {s_c, NFR(s_c), 100},
		{s_x, NFR(s_x), 40},  {s_r, NFR(s_r), 50},  {s_g, NFR(s_g), 60},
		{s_a, NFR(s_a), 200}, /* duplicate stack: merged with the first */
	    };
	const struct report_html_opts o = {
	    .title = "basic <test> & \"profile\"",
	    .sample_type = "cpu",
	    .unit = "nanoseconds",
	    .subtitle = "synthetic stacks",
	};
	return report_html_write(out, &o, st, NFR(st));
}

/* N stacks of depth 8..23 over a few thousand names (nearly all distinct), deterministic. */
static int gen_big(FILE *out, size_t n)
{
	enum { NAMES = 4000, MAXD = 24 };
	static char names[NAMES][32];
	struct report_stack *st = calloc(n, sizeof(*st));
	const char **frames = calloc(n * MAXD, sizeof(*frames));
	uint64_t x = 88172645463325252ULL;
	int err = -ENOMEM;

	if (!st || !frames)
		goto out;
	for (int i = 0; i < NAMES; i++)
		snprintf(names[i], sizeof(names[i]), "mod%d::func_%d", i % 37, i);
	for (size_t i = 0; i < n; i++) {
		const char **f = frames + i * MAXD;
		size_t d = 8 + (i % 16);

		f[0] = "main";
		/* a call tree of fan-out 3 above the last two frames, which spread: stacks share
		 * their prefixes as in real programs and differ near the leaves */
		size_t prev = 0;
		for (size_t k = 1; k < d; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			prev = k + 2 < d ? (prev * 31 + (x % 3) * 7 + k) % NAMES : x % NAMES;
			f[k] = names[prev];
		}
		st[i].frames = f;
		st[i].nframes = d;
		st[i].value = 10000000 * (1 + (int64_t)(x % 20)); /* samples of 10 ms */
	}
	{
		const struct report_html_opts o = {
		    .title = "big synthetic profile",
		    .sample_type = "cpu",
		    .unit = "nanoseconds",
		};
		err = report_html_write(out, &o, st, n);
	}
out:
	free(frames);
	free(st);
	return err;
}

int main(int argc, char **argv)
{
	const char *path;
	FILE *out;
	int err;

	if (argc == 3 && !strcmp(argv[1], "basic")) {
		path = argv[2];
	} else if (argc == 4 && !strcmp(argv[1], "big")) {
		path = argv[3];
	} else {
		fprintf(stderr, "usage: html_gen basic OUT | html_gen big N OUT\n");
		return 2;
	}
	out = fopen(path, "w");
	if (!out) {
		fprintf(stderr, "html_gen: cannot create '%s': %s\n", path, strerror(errno));
		return 1;
	}
	if (argc == 3)
		err = gen_basic(out);
	else
		err = gen_big(out, strtoul(argv[2], NULL, 10));
	if (fclose(out) != 0 && !err)
		err = -errno;
	if (err < 0) {
		fprintf(stderr, "html_gen: cannot write '%s': %s\n", path, strerror(-err));
		return 1;
	}
	return 0;
}
