/* test_html: report_html_write merges stacks into the tree the page embeds, escapes names and
 * links nothing external. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report/html.h"
#include "test.h"

#define NFR(a) (sizeof(a) / sizeof((a)[0]))

/* Renders stacks into a heap string (caller frees); NULL on failure, *rc says why. */
static char *render(const struct report_html_opts *o, const struct report_stack *st, size_t n,
		    int *rc)
{
	char *page = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&page, &len);

	if (!f)
		return NULL;
	*rc = report_html_write(f, o, st, n);
	fclose(f);
	if (*rc < 0) {
		free(page);
		return NULL;
	}
	return page;
}

/* The text of JSON key `key` (an array) in the embedded data, in a static buffer. */
static const char *data_array(const char *page, const char *key)
{
	static char out[4096];
	char pat[64];
	const char *data = strstr(page, "id=\"kiln-data\">"), *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":[", key);
	if (!data || !(p = strstr(data, pat)) || !(e = strchr(p, ']')))
		return "(missing)";
	p += strlen(pat) - 1;
	snprintf(out, sizeof(out), "%.*s", (int)(e - p + 1), p);
	return out;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static const char *s_a[] = {"main", "serve", "hotA"};
static const char *s_b[] = {"main", "serve", "hotB"};
static const char *s_c[] = {"main", "parse", "hotA"};
static const char *s_x[] = {"main", "<img src=x onerror=alert(1)>", "</script><b>"};

static void test_merge(void)
{
	/* total 100; serve 80 (hotA 50 = 30 + 20 duplicate, hotB 30), parse 15, xss 5 */
	const struct report_stack st[] = {
	    {s_a, 3, 30}, {s_b, 3, 30}, {s_c, 3, 15},
	    {s_a, 3, 20}, {s_x, 3, 5},	{s_b, 3, 0}, /* no value: skipped */
	    {s_b, 3, -7},			     /* negative (a diff): skipped */
	};
	const struct report_html_opts o = {"t", "cpu", "nanoseconds", NULL};
	int rc = 0;
	char *page = render(&o, st, NFR(st), &rc);

	CHECK_INT_EQ(rc, 0);
	if (!page)
		return;
	/* used names only, most frequent first (hotA: 2 nodes), then in tree order */
	CHECK_STR_EQ(data_array(page, "names"),
		     "[\"hotA\",\"all\",\"main\",\"serve\",\"hotB\",\"parse\","
		     "\"\\u003cimg src=x onerror=alert(1)\\u003e\",\"\\u003c/script\\u003e"
		     "\\u003cb\\u003e\"]");
	/* pre-order, hottest child first: all main serve hotA hotB parse hotA xss </script> */
	CHECK_STR_EQ(data_array(page, "name"), "[1,2,3,0,4,5,0,6,7]");
	/* values divided by their gcd, 5 */
	CHECK_STR_EQ(data_array(page, "value"), "[20,20,16,10,6,3,3,1,1]");
	CHECK(strstr(page, "\"scale\":5,") != NULL);
	CHECK_STR_EQ(data_array(page, "depth"), "[0,1,2,3,3,2,3,2,3]");
	CHECK(strstr(page, "\"stacks\":5") != NULL);
	CHECK(strstr(page, "\"unit\":\"nanoseconds\"") != NULL);
	free(page);
}

static void test_escaping_and_offline(void)
{
	const struct report_stack st[] = {{s_x, 3, 5}, {s_a, 3, 1}};
	const struct report_html_opts o = {
	    .title = "<script>alert(1)</script>&\"'",
	    .sample_type = "<b>cpu</b>",
	    .unit = "nanoseconds",
	    .subtitle = "x < y",
	};
	int rc = 0;
	char *page = render(&o, st, NFR(st), &rc);

	CHECK_INT_EQ(rc, 0);
	if (!page)
		return;
	CHECK(strstr(page, "<img") == NULL);
	CHECK(strstr(page, "<b>") == NULL);
	CHECK(strstr(page, "alert(1)</script>") == NULL);
	CHECK(strstr(page, "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;") != NULL);
	CHECK(strstr(page, "&lt;b&gt;cpu&lt;/b&gt;") != NULL);
	CHECK(strstr(page, "x &lt; y") != NULL);
	/* every <script> is closed exactly once: nothing from the profile closes one early */
	CHECK_INT_EQ(count(page, "<script"), 3);
	CHECK_INT_EQ(count(page, "</script>"), 3);
	CHECK_INT_EQ(count(page, "</style>"), 1);
	/* self-contained: the component is inlined and nothing is fetched */
	CHECK(strstr(page, "window.KilnFlame") != NULL || strstr(page, "global.KilnFlame") != NULL);
	CHECK(strstr(page, ".kf-root") != NULL);
	CHECK(strstr(page, "http://") == NULL);
	CHECK(strstr(page, "https://") == NULL);
	CHECK(strstr(page, "src=\"") == NULL);
	CHECK(strstr(page, "<link") == NULL);
	CHECK(strstr(page, "{{") == NULL);
	free(page);
}

static void test_edges(void)
{
	enum { DEEP = 5000 };
	const char **deep = calloc(DEEP, sizeof(*deep));
	const char *with_null[] = {"main", NULL};
	int rc = 0;
	char *page;

	/* no stacks: a valid page with an empty root */
	page = render(NULL, NULL, 0, &rc);
	CHECK_INT_EQ(rc, 0);
	if (page) {
		CHECK_STR_EQ(data_array(page, "value"), "[0]");
		CHECK(strstr(page, "<title>profile") != NULL);
		free(page);
	}
	/* a missing frame name is shown, not dropped */
	const struct report_stack nul[] = {{with_null, 2, 3}, {NULL, 0, 4}};
	page = render(NULL, nul, NFR(nul), &rc);
	CHECK_INT_EQ(rc, 0);
	if (page) {
		CHECK(strstr(page, "\"[unknown]\"") != NULL);
		CHECK_STR_EQ(data_array(page, "value"), "[7,3,3]");
		free(page);
	}
	/* very deep stacks are fine (no recursion) */
	if (deep) {
		for (int i = 0; i < DEEP; i++)
			deep[i] = i % 2 ? "even" : "odd";
		const struct report_stack d[] = {{deep, DEEP, 1}};
		page = render(NULL, d, 1, &rc);
		CHECK_INT_EQ(rc, 0);
		if (page) {
			CHECK(strstr(page, ",4999,5000]") != NULL);
			free(page);
		}
	}
	free(deep);
	/* misuse */
	CHECK_INT_EQ(report_html_write(NULL, NULL, NULL, 0), -EINVAL);
	CHECK_INT_EQ(report_html_write(stdout, NULL, NULL, 3), -EINVAL);
	const struct report_stack bad[] = {{NULL, 2, 1}};
	page = render(NULL, bad, 1, &rc);
	CHECK(page == NULL);
	CHECK_INT_EQ(rc, -EINVAL);
}

int main(void)
{
	RUN(test_merge);
	RUN(test_escaping_and_offline);
	RUN(test_edges);
	return test_done();
}
