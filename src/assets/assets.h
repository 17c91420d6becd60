/*
 * assets: the files of web/ embedded in the binary at build time (cmake/embed.cmake), so
 * kiln report --html and kiln serve need nothing installed beside the binary.
 */
#ifndef KILN_ASSETS_ASSETS_H
#define KILN_ASSETS_ASSETS_H

#include <stddef.h>

struct asset {
	const char *path; /* relative to web/, e.g. "flamegraph.js" */
	const unsigned char *data; /* NUL-terminated for convenience; len excludes the NUL */
	size_t len;
};

/* Terminated by an entry with path == NULL. */
extern const struct asset kiln_assets[];

/* The asset at path, or NULL. */
const struct asset *assets_find(const char *path);

#endif
