/*
 * Fuzz target: the query API's search language, time and sort parsers (query.c), which read
 * strings straight from request URLs.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "server/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct buf err = BUF_INIT;
	struct store_query q = {0};
	int64_t ns;

	if (size > 4096)
		return 0;
	arena_init(&a, 0);
	char *s = arena_strndup(&a, (const char *)data, size);
	if (s) {
		if (query_parse(s, &a, &q, &err) == 0)
			for (size_t i = 0; i < q.nterms; i++)
				if (!q.terms[i].key[0])
					__builtin_trap(); /* keys are never empty */
		(void)query_parse_time(s, &ns);
		/* sort=FIELD, order=ORDER: the field up to a newline, the order after it */
		struct store_sort so;
		char *nl = strchr(s, '\n');
		if (nl)
			*nl = 0;
		buf_reset(&err);
		if (query_parse_sort(s, nl ? nl + 1 : NULL, &so, &err) == 0 &&
		    so.by == STORE_SORT_TAG && (!so.tag || !so.tag[0]))
			__builtin_trap(); /* a tag sort always names its key */
	}
	buf_release(&err);
	arena_release(&a);
	return 0;
}
