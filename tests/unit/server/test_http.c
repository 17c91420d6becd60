/* Unit tests for kiln serve's HTTP layer (server/http.c) over real sockets: the dd-trace-js
 * request replayed byte for byte (chunked), keep-alive, size limits, Unix socket, IPv6,
 * a slow client not blocking others, and quiescing. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "server/http.h"
#include "test.h"

#define FX "dd-trace-js/node22-gzip-periodic/"

static uint64_t fnv(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

/* Echoes what it received as JSON. */
static void echo(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct json_w w;
	const char *x = http_header(req, "X-Test");
	const char *q = http_query(req, "q");
	json_w_init(&w, &resp->body);
	json_obj_begin(&w);
	json_key(&w, "method");
	json_str(&w, req->method);
	json_key(&w, "path");
	json_str(&w, req->path);
	json_key(&w, "len");
	json_uint(&w, req->body_len);
	json_key(&w, "hash");
	json_uint(&w, fnv(req->body, req->body_len));
	json_key(&w, "x");
	json_str(&w, x ? x : "");
	json_key(&w, "q");
	json_str(&w, q ? q : "");
	json_obj_end(&w);
	resp->status = !strcmp(req->path, "/teapot") ? 418 : 200;
	resp->headers[resp->nheaders].key = "X-Echo";
	resp->headers[resp->nheaders++].value = "yes";
}

static int connect_tcp(int family, unsigned port)
{
	int fd = socket(family, SOCK_STREAM, 0);
	if (family == AF_INET) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			goto fail;
	} else {
		struct sockaddr_in6 a = {.sin6_family = AF_INET6,
					 .sin6_port = htons((uint16_t)port)};
		a.sin6_addr = in6addr_loopback;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int connect_unix(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

/* Reads one response (Content-Length framed). Returns the status or -1; body into out. */
static int read_response(int fd, struct buf *out)
{
	struct buf in = BUF_INIT;
	int status = -1;
	buf_reset(out);
	for (;;) {
		char *hdr_end = in.data ? strstr(in.data, "\r\n\r\n") : NULL;
		if (hdr_end) {
			const char *cl = strcasestr(in.data, "\r\ncontent-length:");
			size_t hlen = (size_t)(hdr_end - in.data) + 4;
			size_t blen = cl && cl < hdr_end ? strtoul(cl + 17, NULL, 10) : 0;
			if (in.len >= hlen + blen) {
				status = (int)strtol(in.data + 9, NULL, 10);
				buf_append(out, in.data + hlen, blen);
				break;
			}
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 10000) <= 0)
			break;
		char tmp[4096];
		ssize_t r = recv(fd, tmp, sizeof(tmp), 0);
		if (r <= 0)
			break;
		buf_append(&in, tmp, (size_t)r);
	}
	buf_release(&in);
	return status;
}

static int request(int family, unsigned port, const char *text, struct buf *out)
{
	int fd = connect_tcp(family, port);
	if (fd < 0)
		return -1;
	int st = write_all(fd, text, strlen(text)) ? read_response(fd, out) : -1;
	close(fd);
	return st;
}

static void test_fixture_replay_and_keepalive(void)
{
	struct buf err = BUF_INIT, hdr = BUF_INIT, wire = BUF_INIT, body = BUF_INIT, out = BUF_INIT;
	struct http_server_opts o = {.listen = "127.0.0.1:0", .threads = 2};
	struct http_server *s = http_server_start(&o, echo, NULL, &err);
	CHECK(s != NULL);
	if (!s) {
		fprintf(stderr, "%s\n", err.data);
		return;
	}
	unsigned port = http_server_port(s);
	CHECK(port > 0);
	CHECK(buf_read_file(&hdr, test_fixture(FX "request-headers.txt"), 0) == 0);
	CHECK(buf_read_file(&wire, test_fixture(FX "request.wire"), 0) == 0);
	CHECK(buf_read_file(&body, test_fixture(FX "request.body"), 0) == 0);
	int fd = connect_tcp(AF_INET, port);
	CHECK(fd >= 0);
	/* Twice on the same connection (dd-trace-js keeps the socket alive). */
	for (int round = 0; round < 2 && fd >= 0; round++) {
		CHECK(write_all(fd, hdr.data, hdr.len));
		/* Send the chunked body in uneven pieces, as a network would split it. */
		for (size_t off = 0; off < wire.len; off += 997)
			CHECK(write_all(fd, wire.data + off,
					wire.len - off < 997 ? wire.len - off : 997));
		CHECK_INT_EQ(read_response(fd, &out), 200);
		char want[128];
		snprintf(want, sizeof(want), "\"len\":24170,\"hash\":%llu",
			 (unsigned long long)fnv(body.data, body.len));
		CHECK(out.data && strstr(out.data, want) != NULL);
		CHECK(out.data && strstr(out.data, "\"path\":\"/profiling/v1/input\"") != NULL);
	}
	if (fd >= 0)
		close(fd);

	/* Query string, headers any case, status and extra headers. */
	CHECK_INT_EQ(request(AF_INET, port,
			     "GET /teapot?q=a%20b&q=2 HTTP/1.1\r\nHost: x\r\nx-TEST: hi\r\n"
			     "Connection: close\r\n\r\n",
			     &out),
		     418);
	CHECK(out.data && strstr(out.data, "\"q\":\"a b\"") && strstr(out.data, "\"x\":\"hi\""));
	http_server_free(s);
	buf_release(&err);
	buf_release(&hdr);
	buf_release(&wire);
	buf_release(&body);
	buf_release(&out);
}

static void test_limits(void)
{
	struct buf err = BUF_INIT, out = BUF_INIT, req = BUF_INIT;
	struct http_server_opts o = {.listen = "127.0.0.1:0", .max_request_size = 1000};
	struct http_server *s = http_server_start(&o, echo, NULL, &err);
	CHECK(s != NULL);
	if (!s)
		return;
	unsigned port = http_server_port(s);
	/* Announced too large: 413 before the body is read. */
	CHECK_INT_EQ(request(AF_INET, port,
			     "POST /profiling/v1/input HTTP/1.1\r\nHost: x\r\n"
			     "Content-Length: 5000000\r\n\r\n",
			     &out),
		     413);
	CHECK(out.data && strstr(out.data, "max-request-size") != NULL);
	/* Chunked beyond the limit: 413 once the body is over. */
	buf_puts(
	    &req,
	    "POST /profiling/v1/input HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 5; i++) {
		buf_puts(&req, "200\r\n");
		for (int j = 0; j < 0x200; j++)
			buf_putc(&req, 'a');
		buf_puts(&req, "\r\n");
	}
	buf_puts(&req, "0\r\n\r\n");
	CHECK_INT_EQ(request(AF_INET, port, req.data, &out), 413);
	/* A chunked body running on and on: the connection is cut (past 8 times the limit). */
	int fd = connect_tcp(AF_INET, port);
	buf_reset(&req);
	buf_puts(&req, "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	bool cut = false;
	for (int i = 0; i < 10000 && !cut; i++) {
		cut = !write_all(fd, req.data, req.len);
		buf_reset(&req);
		buf_puts(&req, "100\r\n");
		for (int j = 0; j < 0x100; j++)
			buf_putc(&req, 'c');
		buf_puts(&req, "\r\n");
	}
	CHECK(cut);
	close(fd);
	/* Exactly at the limit is fine, and the server keeps serving. */
	buf_reset(&req);
	buf_puts(
	    &req,
	    "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n");
	for (int j = 0; j < 1000; j++)
		buf_putc(&req, 'b');
	CHECK_INT_EQ(request(AF_INET, port, req.data, &out), 200);
	CHECK(out.data && strstr(out.data, "\"len\":1000") != NULL);
	http_server_free(s);
	buf_release(&err);
	buf_release(&out);
	buf_release(&req);
}

static void test_memory_budget(void)
{
	struct buf err = BUF_INIT, out = BUF_INIT, req = BUF_INIT;
	struct http_server_opts o = {
	    .listen = "127.0.0.1:0", .max_request_size = 1000, .max_buffered = 1500};
	struct http_server *s = http_server_start(&o, echo, NULL, &err);
	CHECK(s != NULL);
	if (!s)
		return;
	unsigned port = http_server_port(s);
	/* A holds 900 bytes of its body; B's 1000 would exceed the 1500-byte budget. */
	buf_puts(&req, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
	for (int i = 0; i < 900; i++)
		buf_putc(&req, 'a');
	struct buf b = BUF_INIT;
	buf_puts(
	    &b, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n");
	for (int i = 0; i < 1000; i++)
		buf_putc(&b, 'b');
	/*
	 * Send B until the server has taken A's bytes first and answers B 503. Which body the
	 * server reads first is up to its threads: when it took B's first, A is the one refused
	 * (A's socket then has an answer waiting) and the round starts over with a new A.
	 */
	int a = -1;
	bool busy = false;
	for (int i = 0; i < 500 && !busy; i++) {
		if (a < 0) {
			a = connect_tcp(AF_INET, port);
			CHECK(write_all(a, req.data, req.len));
			usleep(20000);
		}
		if (request(AF_INET, port, b.data, &out) == 503) {
			busy = true;
			break;
		}
		struct pollfd pfd = {.fd = a, .events = POLLIN};
		if (poll(&pfd, 1, 0) > 0) {
			close(a);
			a = -1;
		}
		usleep(10000);
	}
	CHECK(busy);
	CHECK(out.data && strstr(out.data, "server busy") != NULL);
	for (int i = 0; i < 100; i++)
		buf_putc(&req, 'a');
	CHECK(write_all(a, req.data + req.len - 100, 100));
	CHECK_INT_EQ(read_response(a, &out), 200);
	CHECK(out.data && strstr(out.data, "\"len\":1000") != NULL);
	close(a);
	/* A's bytes are released: B fits now. */
	CHECK_INT_EQ(request(AF_INET, port, b.data, &out), 200);
	http_server_free(s);
	buf_release(&b);
	buf_release(&err);
	buf_release(&out);
	buf_release(&req);
}

static void test_unix_ipv6_slow_client_quiesce(void)
{
	struct buf err = BUF_INIT, out = BUF_INIT;
	char path[108];
	snprintf(path, sizeof(path), "/tmp/kiln-test-http-%d.sock", (int)getpid());
	struct http_server_opts o = {.listen = "[::1]:0", .unix_socket = path, .threads = 2};
	struct http_server *s = http_server_start(&o, echo, NULL, &err);
	if (!s) {
		/* No IPv6 loopback here: retry with IPv4 so the rest is still tested. */
		fprintf(stderr, "note: %s; testing without IPv6\n", err.data);
		o.listen = "127.0.0.1:0";
		s = http_server_start(&o, echo, NULL, &err);
	}
	CHECK(s != NULL);
	if (!s)
		return;
	unsigned port = http_server_port(s);
	int fam = !strcmp(o.listen, "[::1]:0") ? AF_INET6 : AF_INET;

	/* A slow client that sent half its headers must not block the others. */
	int slow = connect_tcp(fam, port);
	CHECK(slow >= 0);
	write_all(slow, "POST /slow HTTP/1.1\r\nHost: x\r\n", 30);
	int slow2 = connect_tcp(fam, port);
	write_all(slow2, "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc", 57);
	for (int i = 0; i < 5; i++)
		CHECK_INT_EQ(request(fam, port,
				     "GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
				     &out),
			     200);

	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0666);
	int fd = connect_unix(path);
	CHECK(fd >= 0);
	if (fd >= 0) {
		const char *r =
		    "GET /over-unix HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
		CHECK(write_all(fd, r, strlen(r)));
		CHECK_INT_EQ(read_response(fd, &out), 200);
		CHECK(out.data && strstr(out.data, "/over-unix") != NULL);
		close(fd);
	}

	/* The slow uploads are in flight; quiescing stops new connections. */
	http_server_quiesce(s);
	CHECK(connect_tcp(fam, port) < 0);
	CHECK_INT_EQ(http_server_drain(s, 50), -ETIMEDOUT); /* slow2 is mid-body */
	write_all(slow2,
		  "defghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstu"
		  "vwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
		  97);
	CHECK_INT_EQ(read_response(slow2, &out), 200);
	CHECK(out.data && strstr(out.data, "\"len\":100") != NULL);
	CHECK_INT_EQ(http_server_drain(s, 5000), 0);
	close(slow);
	close(slow2);
	http_server_free(s);
	CHECK(access(path, F_OK) != 0); /* the socket file is removed */
	buf_release(&err);
	buf_release(&out);
}

static void test_bad_listen(void)
{
	struct buf err = BUF_INIT;
	struct http_server_opts o = {.listen = "nonsense"};
	CHECK(http_server_start(&o, echo, NULL, &err) == NULL);
	CHECK(strstr(err.data, "bad listen address") != NULL);
	buf_reset(&err);
	struct http_server_opts o1 = {.listen = "127.0.0.1:0"};
	struct http_server *s = http_server_start(&o1, echo, NULL, &err);
	CHECK(s != NULL);
	char in_use[64];
	snprintf(in_use, sizeof(in_use), "127.0.0.1:%u", http_server_port(s));
	struct http_server_opts o2 = {.listen = in_use};
	buf_reset(&err);
	CHECK(http_server_start(&o2, echo, NULL, &err) == NULL);
	CHECK(strstr(err.data, "cannot listen") != NULL);
	http_server_free(s);
	buf_release(&err);
}

int main(void)
{
	RUN(test_fixture_replay_and_keepalive);
	RUN(test_limits);
	RUN(test_memory_budget);
	RUN(test_unix_ipv6_slow_client_quiesce);
	RUN(test_bad_listen);
	return test_done();
}
