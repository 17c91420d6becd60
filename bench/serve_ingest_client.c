/*
 * serve_ingest_client: a load generator for kiln serve's intake. It keeps `concurrency`
 * uploads in flight with libcurl's multi interface (one thread, keep-alive connections) and
 * reports uploads per second and the statuses seen. Built by bench/serve_ingest.sh.
 *
 *	serve_ingest_client URL BODY_FILE CONTENT_TYPE CONCURRENCY TOTAL
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	return size * n;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static CURL *make(const char *url, const char *body, long len, struct curl_slist *hdrs)
{
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
	return e;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s URL BODY_FILE CONTENT_TYPE CONCURRENCY TOTAL\n",
			argv[0]);
		return 2;
	}
	const char *url = argv[1];
	FILE *f = fopen(argv[2], "rb");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	static char body[1 << 22];
	long len = (long)fread(body, 1, sizeof(body), f);
	fclose(f);
	char ct[512];
	snprintf(ct, sizeof(ct), "Content-Type: %s", argv[3]);
	long conc = strtol(argv[4], NULL, 10), total = strtol(argv[5], NULL, 10);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct curl_slist *hdrs = curl_slist_append(NULL, ct);
	hdrs = curl_slist_append(hdrs, "Expect:");
	hdrs = curl_slist_append(hdrs, "DD-EVP-ORIGIN: kiln-bench");
	CURLM *m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, conc);
	long started = 0, done = 0, ok = 0, other = 0;
	double t0 = now();
	for (; started < conc && started < total; started++)
		curl_multi_add_handle(m, make(url, body, len, hdrs));
	while (done < total) {
		int running = 0, q = 0;
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(m, &q))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			long code = 0;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
			if (msg->data.result == CURLE_OK && code == 200)
				ok++;
			else
				other++;
			done++;
			curl_multi_remove_handle(m, msg->easy_handle);
			curl_easy_cleanup(msg->easy_handle);
			if (started < total) {
				curl_multi_add_handle(m, make(url, body, len, hdrs));
				started++;
			}
		}
		curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	double dt = now() - t0;
	printf("uploads %ld ok %ld failed %ld seconds %.3f uploads_per_s %.1f body_bytes %ld\n",
	       total, ok, other, dt, (double)total / dt, len);
	curl_multi_cleanup(m);
	curl_slist_free_all(hdrs);
	curl_global_cleanup();
	return other ? 1 : 0;
}
