/*
 * fuzz_server_intake: a whole upload body through the intake (multipart, event.json or
 * legacy fields, decompression, classification, pprof decoding, measures) into a null
 * store. The answer must be 200, 400, 413 or 503 with a JSON body, never a crash.
 * The first line of the input (up to '\n') is the Content-Type boundary.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/intake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int null_put(struct store *s, const struct store_upload *u, int64_t *id)
{
	/* Touch what a store reads, so ASan sees any dangling pointer. */
	size_t n =
	    strlen(u->service) + strlen(u->env) + strlen(u->event_json) + strlen(u->info_json);
	for (size_t i = 0; i < u->ntags; i++)
		n += strlen(u->tags[i].key) + strlen(u->tags[i].value);
	for (size_t i = 0; i < u->nattachments; i++)
		n += strlen(u->attachments[i].name) + u->attachments[i].len;
	*id = (int64_t)n;
	return 0;
}

static void null_close(struct store *s)
{
}

static const struct store_ops null_ops = {.name = "null", .put = null_put, .close = null_close};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size < 100 ? size : 100);
	if (!nl)
		return 0;
	char ctype[160];
	snprintf(ctype, sizeof(ctype), "multipart/form-data; boundary=%.*s", (int)(nl - data),
		 (const char *)data);
	struct http_kv headers[] = {{"content-type", ctype}, {"dd-evp-origin", "fuzz"}};
	struct arena a;
	arena_init(&a, 0);
	struct http_request req = {
	    .method = "POST",
	    .path = "/profiling/v1/input",
	    .headers = headers,
	    .nheaders = 2,
	    .body = nl + 1,
	    .body_len = size - (size_t)(nl + 1 - data),
	    .remote_addr = "fuzz",
	    .arena = &a,
	};
	struct store st = {.ops = &null_ops};
	struct intake_opts o = {.max_decompressed = 8 << 20};
	struct http_response resp = {0};
	intake_handle(&st, &o, &req, &resp);
	if (resp.status != 200 && resp.status != 400 && resp.status != 413 && resp.status != 503)
		abort();
	if (!resp.body.data || resp.body.data[0] != '{')
		abort();
	buf_release(&resp.body);
	arena_release(&a);
	return 0;
}
