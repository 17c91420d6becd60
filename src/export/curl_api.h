/*
 * curl_api: libcurl, loaded with dlopen the first time an exporter needs to upload.
 *
 * Why not link it: libcurl and what it pulls in (OpenSSL, GnuTLS, Kerberos, LDAP, ssh2…) cost
 * every process that maps them ~25 ms of CPU in the dynamic loader and their constructors.
 * In `kiln run`'s wrapper mode the process that loads kiln is the one that becomes the
 * profiled program, so that cost would land on the program at every start; only the profiler
 * process, which uploads, should pay it, and only when it uploads.
 */
#ifndef KILN_EXPORT_CURL_API_H
#define KILN_EXPORT_CURL_API_H

#include <curl/curl.h>

#include "base/buf.h"

struct curl_api {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *c);
	void (*easy_reset)(CURL *c);
	CURLcode (*easy_setopt)(CURL *c, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
};

/*
 * Loads libcurl.so.4 (KILN_LIBCURL overrides the name), resolves the functions above and runs
 * curl_global_init, once per process (thread-safe). Returns the table, or NULL with the
 * reason and what to do appended to why.
 */
const struct curl_api *curl_api_get(struct buf *why);

#endif
