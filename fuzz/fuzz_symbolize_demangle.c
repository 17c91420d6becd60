/* fuzz_symbolize_demangle: symbol names from binaries are outside bytes: C++ (libiberty)
 * and Rust legacy and v0 (kiln's own parser) demangling, into small and large buffers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize/symbolize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	char *name = malloc(size + 3);
	if (!name)
		return 0;
	char out[4096], small[16];
	memcpy(name, data, size);
	name[size] = '\0';
	sink += symbolize_demangle(name, out, sizeof(out));
	sink += symbolize_demangle(name, small, sizeof(small));
	/* The same bytes as a v0 name. */
	memmove(name + 2, name, size + 1);
	name[0] = '_';
	name[1] = 'R';
	sink += symbolize_demangle(name, out, sizeof(out));
	sink += symbolize_demangle(name, small, sizeof(small));
	free(name);
	return 0;
}
