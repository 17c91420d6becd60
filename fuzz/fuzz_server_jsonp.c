/*
 * fuzz_server_jsonp: the JSON parser on arbitrary bytes. Whatever parses must have
 * consistent counts and raw slices inside the input; failures must say why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/jsonp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct jsonp_value *v, const char *base, size_t size, int depth)
{
	if (depth > JSONP_MAX_DEPTH + 1 || v->raw < base || v->raw + v->raw_len > base + size)
		abort();
	size_t n = 0;
	for (const struct jsonp_value *c = v->first; c; c = c->next) {
		if ((v->type == JSONP_OBJECT) != (c->key != NULL))
			abort();
		walk(c, base, size, depth + 1);
		n++;
	}
	if (n != v->count)
		abort();
	if (v->type == JSONP_STRING && v->str[v->len] != '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct buf err = BUF_INIT;
	arena_init(&a, 0);
	const struct jsonp_value *v = jsonp_parse(&a, (const char *)data, size, &err);
	if (v) {
		walk(v, (const char *)data, size, 0);
		jsonp_get_str(v, "start");
	} else if (!err.len) {
		abort();
	}
	buf_release(&err);
	arena_release(&a);
	return 0;
}
