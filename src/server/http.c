/*
 * http.c: kiln serve's HTTP/1.1 server on libmicrohttpd.
 *
 * Design: one MHD daemon per listening socket (TCP, and optionally a Unix socket passed in
 * already bound), each with an internal epoll thread pool, so a slow client ties up at most
 * its own connection, never a worker. MHD de-chunks request bodies; this layer appends them
 * to a per-request buffer bounded by max_request_size. A body that grows beyond the limit
 * is answered 413: at once when Content-Length announces it, otherwise after the rest of the
 * body has been read and discarded (never stored; a body running on past 8 times the limit
 * is cut off). The bodies of all requests together are
 * bounded too (max_buffered): beyond it an upload is answered 503 so the client retries
 * later, instead of the server growing without limit. Each request gets an arena freed when
 * MHD reports it complete; a counter of requests in progress lets shutdown drain uploads
 * that have been accepted before closing the store.
 */
#include "server/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "base/log.h"

#define DEFAULT_MAX_REQUEST ((size_t)64 << 20)
#define DEFAULT_MAX_BUFFERED ((size_t)256 << 20)
#define MAX_HEADERS 128
#define MAX_QUERY 128

struct http_server {
	struct MHD_Daemon *tcp;
	struct MHD_Daemon *unix_d;
	char *unix_path; /* removed on free */
	size_t max_request;
	size_t max_buffered;
	atomic_size_t buffered; /* body bytes held by all requests */
	http_handler_fn fn;
	void *ctx;
	atomic_int active;
	unsigned port;
};

struct req_ctx {
	struct arena arena;
	struct buf body;
	bool too_large;
	bool busy;	  /* max_buffered reached: answered 503 */
	size_t counted;	  /* bytes of this body counted in buffered */
	size_t discarded; /* bytes read and dropped after too_large/busy */
	bool responded;
};

/* ---- the handler-facing helpers (declared in http.h) -------------------------------------- */

const char *http_query(const struct http_request *req, const char *key)
{
	for (size_t i = 0; i < req->nquery; i++)
		if (!strcmp(req->query[i].key, key))
			return req->query[i].value;
	return NULL;
}

const char *http_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (!strcasecmp(req->headers[i].key, name))
			return req->headers[i].value;
	return NULL;
}

void http_error(struct http_response *resp, int status, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	resp->status = status;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	struct json_w w;
	json_w_init(&w, &resp->body);
	json_obj_begin(&w);
	json_key(&w, "error");
	json_strn(&w, msg.data ? msg.data : "", msg.len);
	json_obj_end(&w);
	buf_release(&msg);
}

/* ---- MHD glue ------------------------------------------------------------------------------ */

__attribute__((format(printf, 2, 0))) static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	/* MHD reports client misbehaviour (resets, bad requests) here: not the server's fault. */
	LOG_DEBUG("http: %s", line);
}

struct kv_collect {
	struct arena *a;
	struct http_kv *kv;
	size_t n, max;
	bool lower;
};

static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	struct kv_collect *c = cls;
	if (c->n >= c->max)
		return MHD_NO;
	char *k = arena_strdup(c->a, key ? key : "");
	const char *v = arena_strdup(c->a, value ? value : "");
	if (!k || !v)
		return MHD_NO;
	if (c->lower)
		for (char *p = k; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	c->kv[c->n].key = k;
	c->kv[c->n].value = v;
	c->n++;
	return MHD_YES;
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct http_response *resp)
{
	size_t len = 0;
	char *body = buf_detach(&resp->body, &len);
	if (!body)
		return MHD_NO;
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type",
				resp->content_type ? resp->content_type : "application/json");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	for (size_t i = 0; i < resp->nheaders && i < 8; i++)
		if (resp->headers[i].key && resp->headers[i].value)
			MHD_add_response_header(r, resp->headers[i].key, resp->headers[i].value);
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, int status, const char *msg)
{
	struct http_response resp = {.status = status};
	buf_init(&resp.body);
	http_error(&resp, status, "%s", msg);
	enum MHD_Result ret = send_response(conn, &resp);
	buf_release(&resp.body);
	return ret;
}

static const char *remote_addr(struct arena *a, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char host[INET6_ADDRSTRLEN + 1] = "unix";
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
				  &((const struct sockaddr_in *)(const void *)sa)->sin_addr, host,
				  sizeof(host));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, host,
				  sizeof(host));
	}
	return arena_strdup(a, host);
}

static void release_body(struct http_server *s, struct req_ctx *rc)
{
	atomic_fetch_sub(&s->buffered, rc->counted);
	rc->counted = 0;
	buf_release(&rc->body);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct req_ctx *rc = *con_cls;

	if (!rc) {
		rc = calloc(1, sizeof(*rc));
		if (!rc)
			return MHD_NO;
		arena_init(&rc->arena, 16 * 1024);
		buf_init(&rc->body);
		*con_cls = rc;
		atomic_fetch_add(&s->active, 1);
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end = NULL;
			unsigned long long n = strtoull(cl, &end, 10);
			if (end != cl && n > s->max_request) {
				rc->too_large = true;
				rc->responded = true;
				return send_error(conn, 413,
						  "request body larger than the limit "
						  "(--max-request-size)");
			}
		}
		return MHD_YES;
	}

	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (rc->too_large || rc->busy) {
			/* Discarded, so the client can read the answer after its body; but a
			 * body running on past 8 times the limit is cut off (no answer). */
			rc->discarded += n;
			return rc->discarded / 8 > s->max_request ? MHD_NO : MHD_YES;
		}
		if (rc->body.len + n > s->max_request) {
			rc->too_large = true;
			release_body(s, rc);
			return MHD_YES;
		}
		if (atomic_fetch_add(&s->buffered, n) + n > s->max_buffered) {
			atomic_fetch_sub(&s->buffered, n);
			rc->busy = true;
			release_body(s, rc);
			return MHD_YES;
		}
		rc->counted += n;
		if (buf_append(&rc->body, upload_data, n) < 0)
			return MHD_NO;
		return MHD_YES;
	}
	if (rc->responded)
		return MHD_YES;
	rc->responded = true;
	if (rc->too_large)
		return send_error(conn, 413,
				  "request body larger than the limit (--max-request-size)");
	if (rc->busy) {
		LOG_WARN("http: request bodies in progress exceed %zu bytes: answering 503",
			 s->max_buffered);
		return send_error(conn, 503,
				  "server busy: too many uploads in progress; retry later");
	}

	struct http_kv headers[MAX_HEADERS], query[MAX_QUERY];
	struct kv_collect hc = {.a = &rc->arena, .kv = headers, .max = MAX_HEADERS, .lower = true};
	struct kv_collect qc = {.a = &rc->arena, .kv = query, .max = MAX_QUERY};
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_kv, &hc);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_kv, &qc);
	struct http_request req = {
	    .method = method,
	    .path = url,
	    .query = query,
	    .nquery = qc.n,
	    .headers = headers,
	    .nheaders = hc.n,
	    .body = (const uint8_t *)(rc->body.data ? rc->body.data : ""),
	    .body_len = rc->body.len,
	    .remote_addr = remote_addr(&rc->arena, conn),
	    .arena = &rc->arena,
	};
	struct http_response resp = {.status = 200, .content_type = "application/json"};
	buf_init(&resp.body);
	s->fn(s->ctx, &req, &resp);
	LOG_DEBUG("http: %s %s %s -> %d (%zu bytes in, %zu out)", req.remote_addr, method, url,
		  resp.status, req.body_len, resp.body.len);
	enum MHD_Result ret = send_response(conn, &resp);
	buf_release(&resp.body);
	/* The body is no longer needed once the handler answered. */
	release_body(s, rc);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct req_ctx *rc = *con_cls;
	if (!rc)
		return;
	release_body(s, rc);
	arena_release(&rc->arena);
	free(rc);
	*con_cls = NULL;
	atomic_fetch_sub(&s->active, 1);
}

/* ---- listening ----------------------------------------------------------------------------- */

/* Parses "host:port", "[v6]:port" or ":port" into ss. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen,
			struct buf *err)
{
	char host[256];
	const char *port;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof(host))
			goto bad;
		memcpy(host, spec + 1, (size_t)(close - spec - 1));
		host[close - spec - 1] = '\0';
		port = close + 2;
	} else {
		const char *colon = strrchr(spec, ':');
		if (!colon || (size_t)(colon - spec) >= sizeof(host))
			goto bad;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		port = colon + 1;
	}
	char *end = NULL;
	long p = strtol(port, &end, 10);
	if (!*port || *end || p < 0 || p > 65535)
		goto bad;
	memset(ss, 0, sizeof(*ss));
	if (!host[0]) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons((uint16_t)p);
		*sslen = sizeof(*s6);
		return 0;
	}
	struct addrinfo hints = {.ai_flags = AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0 || !res) {
		buf_printf(err, "http: cannot resolve listen address '%s': %s", spec,
			   gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
bad:
	buf_printf(err, "http: bad listen address '%s' (expected HOST:PORT or [V6]:PORT)", spec);
	return -EINVAL;
}

static int unix_listener(const char *path, struct buf *err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path)) {
		buf_printf(err, "http: unix socket path too long: '%s'", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	struct stat st;
	/* A socket left by a previous run that did not shut down cleanly. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	/* Like the Datadog agent's apm.socket, any local user may connect (as over loopback
	 * TCP); restrict the directory to restrict access. */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 256) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		goto fail;
	}
	return fd;
fail:
	buf_printf(err, "http: cannot listen on unix socket '%s': %s", path, strerror(errno));
	return -1;
}

static struct MHD_Daemon *start_daemon(struct http_server *s, const struct http_server_opts *o,
				       unsigned flags, const struct sockaddr *sa, int listen_fd)
{
	unsigned threads = o->threads ? o->threads : 4;
	unsigned timeout = o->timeout_s ? o->timeout_s : 45;
	unsigned maxconn = o->max_connections ? o->max_connections : 1000;
	flags |= MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (sa)
		return MHD_start_daemon(
		    flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, s,
		    MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_THREAD_POOL_SIZE, threads,
		    MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_CONNECTION_LIMIT, maxconn,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
				mhd_logger, s, MHD_OPTION_LISTEN_SOCKET, listen_fd,
				MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
				timeout, MHD_OPTION_CONNECTION_LIMIT, maxconn,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
}

struct http_server *http_server_start(const struct http_server_opts *opts, http_handler_fn fn,
				      void *ctx, struct buf *err)
{
	struct http_server *s = calloc(1, sizeof(*s));
	int e = EINVAL;
	if (!s) {
		buf_printf(err, "http: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->fn = fn;
	s->ctx = ctx;
	s->max_request = opts->max_request_size ? opts->max_request_size : DEFAULT_MAX_REQUEST;
	s->max_buffered = opts->max_buffered;
	if (!s->max_buffered) {
		s->max_buffered = 4 * s->max_request;
		if (s->max_buffered < DEFAULT_MAX_BUFFERED)
			s->max_buffered = DEFAULT_MAX_BUFFERED;
	}
	atomic_init(&s->buffered, 0);
	atomic_init(&s->active, 0);
	if (!opts->listen && !opts->unix_socket) {
		buf_printf(err, "http: nothing to listen on");
		goto fail;
	}
	if (opts->listen) {
		struct sockaddr_storage ss;
		socklen_t sslen;
		if (parse_listen(opts->listen, &ss, &sslen, err) < 0)
			goto fail;
		unsigned flags = 0;
		if (ss.ss_family == AF_INET6) {
			flags |= MHD_USE_IPv6;
			if (IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr))
				flags |= MHD_USE_DUAL_STACK;
		}
		s->tcp = start_daemon(s, opts, flags, (struct sockaddr *)&ss, -1);
		if (!s->tcp) {
			e = errno ? errno : EADDRINUSE;
			buf_printf(err, "http: cannot listen on %s: %s", opts->listen, strerror(e));
			goto fail;
		}
		const union MHD_DaemonInfo *di =
		    MHD_get_daemon_info(s->tcp, MHD_DAEMON_INFO_BIND_PORT);
		s->port = di ? di->port : 0;
	}
	if (opts->unix_socket) {
		int fd = unix_listener(opts->unix_socket, err);
		if (fd < 0) {
			e = errno;
			goto fail;
		}
		s->unix_path = strdup(opts->unix_socket);
		s->unix_d = start_daemon(s, opts, 0, NULL, fd);
		if (!s->unix_d) {
			e = errno ? errno : EINVAL;
			close(fd);
			buf_printf(err, "http: cannot serve unix socket '%s': %s",
				   opts->unix_socket, strerror(e));
			goto fail;
		}
	}
	return s;
fail:
	http_server_free(s);
	errno = e;
	return NULL;
}

void http_server_quiesce(struct http_server *s)
{
	if (!s)
		return;
	/* MHD hands back the listening socket; closing it stops new connections. */
	if (s->tcp) {
		MHD_socket fd = MHD_quiesce_daemon(s->tcp);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	if (s->unix_d) {
		MHD_socket fd = MHD_quiesce_daemon(s->unix_d);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
}

int http_server_drain(struct http_server *s, unsigned timeout_ms)
{
	struct timespec step = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
	for (unsigned waited = 0; atomic_load(&s->active) > 0; waited += 10) {
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&step, NULL);
	}
	return 0;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	if (s->tcp)
		MHD_stop_daemon(s->tcp);
	if (s->unix_d)
		MHD_stop_daemon(s->unix_d);
	if (s->unix_path) {
		unlink(s->unix_path);
		free(s->unix_path);
	}
	free(s);
}

unsigned http_server_port(const struct http_server *s)
{
	return s ? s->port : 0;
}
