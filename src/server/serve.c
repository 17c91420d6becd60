/*
 * serve.c: `kiln serve`: command line, routing, and the process lifecycle.
 *
 * It exists to put the pieces together the way a tracer expects an agent to behave on port
 * 8126: profile uploads go to the intake, the other agent endpoints tracers call get
 * harmless answers (so tracers pointed here stay quiet), /api/v1/ goes to the query API and
 * everything else is the embedded UI. Signals are blocked in every thread and taken by the
 * main thread with sigwait, so shutdown runs in ordinary code: stop accepting, drain the
 * uploads in flight, free the HTTP server, then close the store.
 */
#include "server/serve.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assets/assets.h"
#include "base/json.h"
#include "base/log.h"
#include "server/api.h"

#define DEFAULT_LISTEN "127.0.0.1:8126"
/* glibc malloc settings for the server (see keep_heap()). */
#define MMAP_THRESHOLD (32 << 20) /* glibc's largest */
#define TRIM_THRESHOLD (64 << 20)
#define ARENA_MAX 2
#define DEFAULT_STORE "kiln-data"

/* ---- routing ------------------------------------------------------------------------------- */

static bool keys_equal(const char *given, const char *want)
{
	/* Constant time in the length of the expected key. */
	size_t n = strlen(want);
	size_t g = given ? strlen(given) : 0;
	unsigned char diff = (unsigned char)(g != n);
	for (size_t i = 0; i < n; i++)
		diff |=
		    (unsigned char)((i < g ? (unsigned char)given[i] : 0) ^ (unsigned char)want[i]);
	return given && diff == 0;
}

static void set_json(struct http_response *resp, int status, const char *json)
{
	resp->status = status;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	buf_puts(&resp->body, json);
}

static bool is_intake_path(const char *p)
{
	return !strcmp(p, "/profiling/v1/input") || !strcmp(p, "/api/v2/profile") ||
	       !strcmp(p, "/v1/input");
}

static const char *const info_endpoints[] = {
    "/profiling/v1/input", "/v0.4/traces",	 "/v0.5/traces",	"/v0.6/stats",
    "/v0.7/config",	   "/telemetry/proxy/",	 "/dogstatsd/v2/proxy", "/evp_proxy/v2/",
    "/evp_proxy/v4/",	   "/debugger/v1/input",
};

static void info(struct http_response *resp)
{
	struct json_w w;
	resp->status = 200;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	json_w_init(&w, &resp->body);
	json_obj_begin(&w);
	json_key(&w, "version");
	json_str(&w, "kiln-" KILN_VERSION);
	json_key(&w, "endpoints");
	json_arr_begin(&w);
	for (size_t i = 0; i < sizeof(info_endpoints) / sizeof(info_endpoints[0]); i++)
		json_str(&w, info_endpoints[i]);
	json_arr_end(&w);
	json_key(&w, "feature_flags");
	json_arr_begin(&w);
	json_arr_end(&w);
	json_key(&w, "config");
	json_obj_begin(&w);
	json_obj_end(&w);
	json_key(&w, "client_drop_p0s");
	json_bool(&w, true);
	json_obj_end(&w);
}

/* Answers for the agent endpoints tracers call besides profiling; true when handled. */
static bool agent_stub(const struct http_request *req, struct http_response *resp)
{
	const char *p = req->path;
	if (!strcmp(p, "/v0.4/traces") || !strcmp(p, "/v0.5/traces") ||
	    !strcmp(p, "/v0.3/traces")) {
		set_json(resp, 200, "{\"rate_by_service\":{}}");
		return true;
	}
	if (!strcmp(p, "/v0.6/stats") || !strcmp(p, "/v0.7/config") ||
	    !strncmp(p, "/telemetry/proxy/", 17) || !strncmp(p, "/evp_proxy/", 11) ||
	    !strcmp(p, "/debugger/v1/input") || !strcmp(p, "/debugger/v1/diagnostics") ||
	    !strncmp(p, "/dogstatsd/", 11) || !strcmp(p, "/v0.1/pipeline_stats") ||
	    !strcmp(p, "/tracer_flare/v1")) {
		set_json(resp, 200, "{}");
		return true;
	}
	return false;
}

static const char *content_type_of(const char *path)
{
	static const char *const types[][2] = {
	    {".html", "text/html; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".mjs", "text/javascript; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".json", "application/json"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".ico", "image/x-icon"},
	    {".txt", "text/plain; charset=utf-8"},
	    {".woff2", "font/woff2"},
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcasecmp(dot, types[i][0]))
			return types[i][1];
	return "application/octet-stream";
}

static const char placeholder_page[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>kiln</title></head>\n<body>\n<h1>kiln serve</h1>\n"
    "<p>The profile intake is running: point Datadog tracers or <code>kiln run</code> at "
    "this address (<code>POST /profiling/v1/input</code>).</p>\n"
    "<p>The web UI comes later. Meanwhile the query API answers under "
    "<a href=\"/api/v1/\">/api/v1/</a> (see docs/api.md); "
    "<a href=\"/healthz\">/healthz</a> reports the server's health.</p>\n</body></html>\n";

/* GET of a UI file from the embedded assets; true when handled. */
static bool static_file(const struct http_request *req, struct http_response *resp)
{
	if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD"))
		return false;
	const char *p = req->path;
	if (!strcmp(p, "/") || !strcmp(p, "/index.html"))
		p = "index.html";
	else if (!strncmp(p, "/static/", 8))
		p += 8;
	else if (p[0] == '/')
		p++;
	if (strstr(p, ".."))
		return false;
	const struct asset *a = assets_find(p);
	if (!a && !strcmp(p, "index.html")) {
		resp->status = 200;
		resp->content_type = "text/html; charset=utf-8";
		buf_reset(&resp->body);
		buf_append(&resp->body, placeholder_page, sizeof(placeholder_page) - 1);
		return true;
	}
	if (!a)
		return false;
	resp->status = 200;
	resp->content_type = content_type_of(a->path);
	buf_reset(&resp->body);
	buf_append(&resp->body, a->data, a->len);
	resp->headers[resp->nheaders].key = "Cache-Control";
	resp->headers[resp->nheaders++].value = "no-cache";
	return true;
}

/* The UI key from a header, an Authorization bearer token or the kiln_key cookie. */
static const char *ui_key_of(const struct http_request *req)
{
	const char *k = http_header(req, "dd-api-key");
	if (k)
		return k;
	const char *auth = http_header(req, "authorization");
	if (auth && !strncasecmp(auth, "Bearer ", 7))
		return auth + 7;
	const char *cookie = http_header(req, "cookie");
	const char *c = cookie ? strstr(cookie, "kiln_key=") : NULL;
	if (c) {
		c += 9;
		size_t n = strcspn(c, "; ");
		return arena_strndup(req->arena, c, n);
	}
	return http_query(req, "key");
}

void serve_route(void *vctx, const struct http_request *req, struct http_response *resp)
{
	struct serve_ctx *ctx = vctx;
	const char *p = req->path;
	bool post = !strcmp(req->method, "POST") || !strcmp(req->method, "PUT");

	if (is_intake_path(p)) {
		if (!post) {
			http_error(resp, 405, "use POST to upload profiles");
			return;
		}
		if (ctx->api_key && !keys_equal(http_header(req, "dd-api-key"), ctx->api_key)) {
			http_error(resp, 401, "missing or wrong DD-API-KEY header");
			return;
		}
		intake_handle(ctx->store, &ctx->intake, req, resp);
		return;
	}
	if (!strcmp(p, "/healthz")) {
		set_json(resp, ctx->store ? 200 : 503,
			 ctx->store ? "{\"status\":\"ok\"}" : "{\"status\":\"no storage\"}");
		return;
	}
	if (!strcmp(p, "/info")) {
		info(resp);
		return;
	}
	if (agent_stub(req, resp))
		return;
	/* Everything below is the UI and its API. */
	if (ctx->ui_api_key) {
		const char *k = ui_key_of(req);
		if (!keys_equal(k, ctx->ui_api_key)) {
			http_error(resp, 401,
				   "this kiln server requires a key: send it as "
				   "'Authorization: Bearer KEY', or open /?key=KEY once");
			return;
		}
		if (http_query(req, "key") && resp->nheaders < 8) {
			/* Remember the key given in the URL so the page's own requests carry it. */
			struct buf c = BUF_INIT;
			buf_printf(&c, "kiln_key=%s; Path=/; HttpOnly; SameSite=Strict",
				   ctx->ui_api_key);
			resp->headers[resp->nheaders].key = "Set-Cookie";
			resp->headers[resp->nheaders++].value =
			    arena_strdup(req->arena, c.data ? c.data : "");
			buf_release(&c);
		}
	}
	if (!strncmp(p, "/api/v1/", 8) || !strcmp(p, "/api/v1")) {
		if (!ctx->api) {
			http_error(resp, 503, "the query API is not available");
			return;
		}
		api_handle(ctx->api, req, resp);
		return;
	}
	if (static_file(req, resp))
		return;
	http_error(resp, 404, "no such endpoint");
}

/* ---- command line -------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: kiln serve [options]\n\n"
	       "Receives profiles from Datadog tracing libraries and kiln run (the Datadog agent\n"
	       "intake protocol, POST /profiling/v1/input), stores them and serves the web UI.\n\n"
	       "options:\n"
	       "  --listen ADDR:PORT        TCP address (default " DEFAULT_LISTEN
	       "; [::1]:8126 for IPv6,\n"
	       "                            :8126 for every interface); 'none' disables TCP\n"
	       "  --unix-socket PATH        also listen on a Unix socket (e.g.\n"
	       "                            /var/run/datadog/apm.socket)\n"
	       "  --store SPEC              where profiles go: a directory or sqlite:DIR (default\n"
	       "                            '" DEFAULT_STORE
	       "'), or postgresql://… (aliases --data, --storage)\n"
	       "  --max-request-size N      largest upload body, bytes; K, M, G suffixes\n"
	       "                            (default 64M); larger requests get 413\n"
	       "  --max-buffered N          request bodies held at once, all connections\n"
	       "                            together (default 4 x max-request-size, at least\n"
	       "                            256M); beyond it uploads get 503 and clients retry\n"
	       "  --threads N               HTTP worker threads (default 4)\n"
	       "  --timeout SECONDS         idle connection timeout (default 45)\n"
	       "  --max-connections N       concurrent connections (default 1000)\n"
	       "  --api-key-file FILE       require this key as DD-API-KEY on uploads\n"
	       "  --ui-api-key-file FILE    require this key for the UI and /api/v1/\n"
	       "  --retention DURATION      delete profiles older than this (e.g. 14d, 12h;\n"
	       "                            default off: keep everything)\n"
	       "  --shutdown-timeout SECS   how long to let uploads in flight finish (default 30)\n"
	       "  --log_level LEVEL         debug, info, notice, warn, error (default info)\n"
	       "  --log_mode MODE           stderr, stdout, syslog, disabled or a file path\n"
	       "  -h, --help                this text\n\n"
	       "Stop with SIGINT or SIGTERM: kiln stops accepting connections, finishes the\n"
	       "uploads in flight, then closes the store. See docs/server.md.\n");
}

static int parse_size(const char *s, size_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	unsigned long long mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1ULL << 10;
	else if (*end == 'm' || *end == 'M')
		mul = 1ULL << 20;
	else if (*end == 'g' || *end == 'G')
		mul = 1ULL << 30;
	else if (*end)
		return -EINVAL;
	if (mul > 1 && end[1] && strcasecmp(end + 1, "b") && strcasecmp(end + 1, "ib"))
		return -EINVAL;
	if (v == 0 || v > (1ULL << 40) / mul)
		return -EINVAL;
	*out = (size_t)(v * mul);
	return 0;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || (unsigned long)v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* Reads a key file: its first line, without surrounding whitespace. */
static char *read_key(const char *path)
{
	struct buf b = BUF_INIT;
	int ret = buf_read_file(&b, path, 4096);
	if (ret < 0) {
		fprintf(stderr, "kiln serve: cannot read key file '%s': %s\n", path,
			strerror(-ret));
		buf_release(&b);
		return NULL;
	}
	char *s = b.data ? b.data : "";
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	size_t n = strcspn(s, "\r\n");
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	char *key = n ? strndup(s, n) : NULL;
	if (!n)
		fprintf(stderr, "kiln serve: key file '%s' is empty\n", path);
	buf_release(&b);
	return key;
}

enum {
	OPT_LISTEN = 256,
	OPT_UNIX,
	OPT_STORE,
	OPT_MAX_REQ,
	OPT_THREADS,
	OPT_TIMEOUT,
	OPT_MAXCONN,
	OPT_API_KEY,
	OPT_UI_KEY,
	OPT_SHUTDOWN,
	OPT_LOG_LEVEL,
	OPT_LOG_MODE,
	OPT_RETENTION,
	OPT_MAX_BUFFERED,
};

/*
 * An upload allocates and frees about 1 MiB (the body, the inflated attachments, the decoded
 * profiles, the store's hash maps) on a worker thread, and an aggregate query tens of MiB
 * (its tree and hash maps). With glibc's defaults the blocks above 128 KiB are mmap'ed and
 * each worker arena is trimmed back to the kernel once that much is free, so every request
 * faulted its memory in afresh: on a VM that was 3/4 of the intake's CPU time, and most of a
 * repeated query's. Keeping up to TRIM_THRESHOLD free per arena and serving blocks below
 * MMAP_THRESHOLD from the heap makes the next request reuse the same pages. What stays
 * resident is bounded by the peak of the requests in flight (at most TRIM_THRESHOLD more per
 * malloc arena), not by the number of requests; bench/RESULTS.md has the measured RSS.
 * ARENA_MAX arenas instead of one per worker: a query's memory is then reused by the next
 * query whichever worker runs it, and fewer arenas hold free memory.
 */
static void keep_heap(void)
{
#if defined(M_TRIM_THRESHOLD) && defined(M_MMAP_THRESHOLD)
	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
#endif
#ifdef M_ARENA_MAX
	mallopt(M_ARENA_MAX, ARENA_MAX);
#endif
}

static const struct option long_opts[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"unix-socket", required_argument, NULL, OPT_UNIX},
    {"store", required_argument, NULL, OPT_STORE},
    {"data-dir", required_argument, NULL, OPT_STORE},
    {"data", required_argument, NULL, OPT_STORE},
    {"storage", required_argument, NULL, OPT_STORE},
    {"max-request-size", required_argument, NULL, OPT_MAX_REQ},
    {"max-buffered", required_argument, NULL, OPT_MAX_BUFFERED},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"max-connections", required_argument, NULL, OPT_MAXCONN},
    {"api-key-file", required_argument, NULL, OPT_API_KEY},
    {"ui-api-key-file", required_argument, NULL, OPT_UI_KEY},
    {"shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN},
    {"retention", required_argument, NULL, OPT_RETENTION},
    {"log_level", required_argument, NULL, OPT_LOG_LEVEL},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"log_mode", required_argument, NULL, OPT_LOG_MODE},
    {"log-mode", required_argument, NULL, OPT_LOG_MODE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int serve_main(int argc, char **argv)
{
	struct http_server_opts hopts = {.listen = DEFAULT_LISTEN};
	struct serve_ctx ctx = {0};
	const char *store_spec = DEFAULT_STORE;
	const char *api_key_file = NULL, *ui_key_file = NULL;
	unsigned shutdown_s = 30;
	int64_t retention_ns = 0;
	struct store_retention *retention = NULL;
	char *api_key = NULL, *ui_key = NULL;
	struct http_server *srv = NULL;
	struct buf err = BUF_INIT;
	int status = 2;
	int c;

	log_set_level(LOG_LEVEL_INFO);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			hopts.listen = strcmp(optarg, "none") ? optarg : NULL;
			break;
		case OPT_UNIX:
			hopts.unix_socket = optarg;
			break;
		case OPT_STORE:
			store_spec = optarg;
			break;
		case OPT_MAX_REQ:
			if (parse_size(optarg, &hopts.max_request_size) < 0) {
				fprintf(stderr, "kiln serve: bad --max-request-size '%s'\n",
					optarg);
				return 2;
			}
			break;
		case OPT_MAX_BUFFERED:
			if (parse_size(optarg, &hopts.max_buffered) < 0) {
				fprintf(stderr, "kiln serve: bad --max-buffered '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_THREADS:
			if (parse_uint(optarg, 256, &hopts.threads) < 0) {
				fprintf(stderr, "kiln serve: bad --threads '%s' (1-256)\n", optarg);
				return 2;
			}
			break;
		case OPT_TIMEOUT:
			if (parse_uint(optarg, 86400, &hopts.timeout_s) < 0) {
				fprintf(stderr, "kiln serve: bad --timeout '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_MAXCONN:
			if (parse_uint(optarg, 1000000, &hopts.max_connections) < 0) {
				fprintf(stderr, "kiln serve: bad --max-connections '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_API_KEY:
			api_key_file = optarg;
			break;
		case OPT_UI_KEY:
			ui_key_file = optarg;
			break;
		case OPT_SHUTDOWN:
			if (parse_uint(optarg, 86400, &shutdown_s) < 0) {
				fprintf(stderr, "kiln serve: bad --shutdown-timeout '%s'\n",
					optarg);
				return 2;
			}
			break;
		case OPT_LOG_LEVEL: {
			enum log_level lvl;
			if (log_level_parse(optarg, &lvl) < 0) {
				fprintf(stderr, "kiln serve: bad --log_level '%s'\n", optarg);
				return 2;
			}
			log_set_level(lvl);
			break;
		}
		case OPT_RETENTION:
			if (strcmp(optarg, "off") &&
			    (store_parse_duration(optarg, &retention_ns) < 0 ||
			     retention_ns <= 0)) {
				fprintf(stderr,
					"kiln serve: bad --retention '%s' (e.g. 14d, 12h, off)\n",
					optarg);
				return 2;
			}
			break;
		case OPT_LOG_MODE:
			if (log_set_mode(optarg) < 0) {
				fprintf(stderr, "kiln serve: cannot log to '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kiln serve: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (api_key_file && !(api_key = read_key(api_key_file)))
		goto out;
	if (ui_key_file && !(ui_key = read_key(ui_key_file)))
		goto out;
	ctx.api_key = api_key;
	ctx.ui_api_key = ui_key;

	/* Block the signals before any thread starts, so only sigwait below sees them. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	keep_heap();

	ctx.store = store_open(store_spec, &err);
	if (!ctx.store) {
		fprintf(stderr, "kiln serve: cannot open the store '%s': %s\n", store_spec,
			err.len ? err.data : strerror(errno));
		status = 1;
		goto out;
	}
	if (retention_ns > 0) {
		retention = store_retention_start(ctx.store, retention_ns, 600);
		if (!retention)
			LOG_WARN("serve: cannot start retention: %s", strerror(errno));
	}
	ctx.api = api_new(ctx.store);
	if (!ctx.api)
		LOG_WARN("serve: the query API could not start: %s", strerror(errno));

	srv = http_server_start(&hopts, serve_route, &ctx, &err);
	if (!srv) {
		fprintf(stderr, "kiln serve: %s\n", err.len ? err.data : strerror(errno));
		if (hopts.listen && errno == EADDRINUSE)
			fprintf(stderr, "kiln serve: is a Datadog agent or another kiln already "
					"listening there? Choose another port with --listen.\n");
		status = 1;
		goto out;
	}
	if (hopts.listen)
		LOG_INFO("serve: listening on %s (port %u), store '%s'", hopts.listen,
			 http_server_port(srv), store_spec);
	if (hopts.unix_socket)
		LOG_INFO("serve: listening on unix socket %s", hopts.unix_socket);

	int sig = 0;
	while (sigwait(&sigs, &sig) != 0)
		;
	LOG_INFO("serve: %s received: finishing the uploads in flight",
		 sig == SIGINT ? "SIGINT" : "SIGTERM");
	http_server_quiesce(srv);
	if (http_server_drain(srv, shutdown_s * 1000) < 0)
		LOG_WARN("serve: uploads still in flight after %u s; closing anyway", shutdown_s);
	status = 0;
out:
	http_server_free(srv);
	store_retention_stop(retention);
	api_free(ctx.api);
	if (ctx.store)
		store_close(ctx.store);
	free(api_key);
	free(ui_key);
	buf_release(&err);
	if (status == 0)
		LOG_INFO("serve: stopped");
	return status;
}
