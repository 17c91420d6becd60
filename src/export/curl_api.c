/*
 * curl_api: libcurl through dlopen, so that only a process that uploads pays for loading it
 * (see curl_api.h for the figures and the reason).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/curl_api.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct curl_api api;
static const struct curl_api *loaded;
static char error[512];

/* Where each function of struct curl_api comes from. */
static const struct {
	const char *name;
	size_t offset;
} symbols[] = {
#define SYM(field, name) {name, offsetof(struct curl_api, field)}
    SYM(global_init, "curl_global_init"),   SYM(easy_init, "curl_easy_init"),
    SYM(easy_cleanup, "curl_easy_cleanup"), SYM(easy_reset, "curl_easy_reset"),
    SYM(easy_setopt, "curl_easy_setopt"),   SYM(easy_perform, "curl_easy_perform"),
    SYM(easy_getinfo, "curl_easy_getinfo"), SYM(easy_strerror, "curl_easy_strerror"),
    SYM(slist_append, "curl_slist_append"), SYM(slist_free_all, "curl_slist_free_all"),
#undef SYM
};

static void load(void)
{
	const char *name = getenv("KILN_LIBCURL");
	if (!name || !*name)
		name = "libcurl.so.4";
	void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(error, sizeof(error),
			 "cannot load libcurl (%s): %s; install it (Debian: apt-get install "
			 "libcurl4) or write profiles to files with --output-dir",
			 name, dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		void *f = dlsym(lib, symbols[i].name);
		if (!f) {
			/* The library stays loaded: unloading libcurl is not safe. */
			snprintf(error, sizeof(error), "libcurl (%s) has no '%s': %s", name,
				 symbols[i].name, dlerror());
			return;
		}
		memcpy((char *)&api + symbols[i].offset, &f, sizeof(f));
	}
	CURLcode cc = api.global_init(CURL_GLOBAL_DEFAULT);
	if (cc != CURLE_OK) {
		snprintf(error, sizeof(error), "cannot initialise libcurl: %s",
			 api.easy_strerror(cc));
		return;
	}
	loaded = &api;
}

const struct curl_api *curl_api_get(struct buf *why)
{
	pthread_once(&once, load);
	if (!loaded && why)
		buf_puts(why, error);
	return loaded;
}
