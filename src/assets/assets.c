/* assets.c: lookup over the table cmake/embed.cmake generates from web/. */
#include <string.h>

#include "assets/assets.h"

const struct asset *assets_find(const char *path)
{
	for (const struct asset *a = kiln_assets; a->path; a++)
		if (!strcmp(a->path, path))
			return a;
	return NULL;
}
