/*
 * agent.c: builds what kiln's exporter puts on the wire, kept apart from the curl and
 * thread code so every byte of the format is unit-tested. The shapes follow what native
 * Datadog profilers (libdatadog/ddprof) send, so a Datadog agent and kiln serve both accept
 * them; see agent.h.
 */
#include "export/agent.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"

static void random_bytes(void *out, size_t n)
{
	uint8_t *p = out;
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)r;
	}
	if (got < n) {
		/* No getrandom (very old kernel): uniqueness, not secrecy, is what matters. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t x =
		    (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
		for (size_t i = got; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			p[i] = (uint8_t)x;
		}
	}
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static int set_unix(struct agent_endpoint *ep, const char *path, struct buf *err)
{
	size_t n = strlen(path);

	if (n == 0 || path[0] != '/') {
		if (err)
			buf_printf(err, "unix socket path must be absolute: '%s'", path);
		return -EINVAL;
	}
	if (n >= sizeof(ep->unix_path)) {
		if (err)
			buf_printf(err, "unix socket path too long (%zu bytes, at most %zu)", n,
				   sizeof(ep->unix_path) - 1);
		return -EINVAL;
	}
	memcpy(ep->unix_path, path, n + 1);
	snprintf(ep->url, sizeof(ep->url), "http://localhost%s", AGENT_INTAKE_PATH);
	return 0;
}

int agent_endpoint_parse(const char *addr, struct agent_endpoint *ep, struct buf *err)
{
	memset(ep, 0, sizeof(*ep));
	if (!addr || !*addr) {
		if (err)
			buf_puts(err, "empty agent URL");
		return -EINVAL;
	}
	for (const char *c = addr; *c; c++) {
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			if (err)
				buf_printf(err,
					   "agent URL '%s' contains a space or control character",
					   addr);
			return -EINVAL;
		}
	}
	if (starts_with(addr, "unix://"))
		return set_unix(ep, addr + strlen("unix://"), err);
	if (addr[0] == '/')
		return set_unix(ep, addr, err);

	const char *scheme = "http://";
	const char *rest = addr;
	if (starts_with(addr, "http://")) {
		rest = addr + strlen("http://");
	} else if (starts_with(addr, "https://")) {
		scheme = "https://";
		rest = addr + strlen("https://");
	} else if (strstr(addr, "://")) {
		if (err)
			buf_printf(
			    err,
			    "agent URL '%s' has an unsupported scheme (use http://, https://, "
			    "unix:// or host:port)",
			    addr);
		return -EINVAL;
	} else if (!strchr(addr, ':')) {
		if (err)
			buf_printf(err, "agent address '%s' needs a port (host:port) or a scheme",
				   addr);
		return -EINVAL;
	}
	if (*rest == '\0' || *rest == '/') {
		if (err)
			buf_printf(err, "agent URL '%s' has no host", addr);
		return -EINVAL;
	}
	size_t len = strlen(rest);
	while (len > 0 && rest[len - 1] == '/')
		len--;
	const char *path = ends_with(rest, len, AGENT_INTAKE_PATH) ? "" : AGENT_INTAKE_PATH;
	int n = snprintf(ep->url, sizeof(ep->url), "%s%.*s%s", scheme, (int)len, rest, path);
	if (n < 0 || (size_t)n >= sizeof(ep->url)) {
		if (err)
			buf_printf(err, "agent URL too long (%zu bytes)", strlen(addr));
		return -EINVAL;
	}
	return 0;
}

int agent_default_address(struct buf *out)
{
	const char *url = getenv("DD_TRACE_AGENT_URL");
	const char *host = getenv("DD_AGENT_HOST");
	const char *port = getenv("DD_TRACE_AGENT_PORT");
	struct stat st;

	if (url && *url)
		return buf_puts(out, url);
	if ((host && *host) || (port && *port))
		return buf_printf(out, "http://%s:%s", host && *host ? host : "localhost",
				  port && *port ? port : "8126");
	if (stat("/var/run/datadog/apm.socket", &st) == 0 && S_ISSOCK(st.st_mode))
		return buf_puts(out, "unix:///var/run/datadog/apm.socket");
	return buf_puts(out, "http://localhost:8126");
}

int agent_rfc3339(int64_t ns, char *out, size_t n)
{
	time_t secs = (time_t)(ns / 1000000000);
	int64_t frac = ns % 1000000000;
	struct tm tm;
	char date[24];

	if (frac < 0) {
		frac += 1000000000;
		secs -= 1;
	}
	if (!gmtime_r(&secs, &tm) || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return -EINVAL;
	int w = snprintf(out, n, "%s.%09" PRId64 "Z", date, frac);
	return w < 0 || (size_t)w >= n ? -EINVAL : 0;
}

void agent_uuid(char out[37])
{
	uint8_t b[16];

	random_bytes(b, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

void agent_boundary(char out[17])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[8];

	random_bytes(b, sizeof(b));
	for (int i = 0; i < 8; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[16] = '\0';
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* Length of the container id that ends component c[0..n), or 0. */
static size_t id_at_end(const char *c, size_t n)
{
	/* As libdatadog: whatever precedes the id is ignored ("docker-<id>", "pod<uuid>").
	 * 64 hex: docker, containerd, cri-o. */
	if (n >= 64 && all_hex(c + n - 64, 64))
		return 64;
	/* UUID with - or _ separators (Kubernetes pod-level slices, Fargate). */
	if (n >= 36) {
		const char *u = c + n - 36;
		static const int groups[] = {8, 4, 4, 4, 12};
		size_t off = 0;
		bool ok = true;
		for (int g = 0; ok && g < 5; g++) {
			if (!all_hex(u + off, (size_t)groups[g]))
				ok = false;
			off += (size_t)groups[g];
			if (ok && g < 4 && u[off] != '-' && u[off] != '_')
				ok = false;
			off++;
		}
		if (ok)
			return 36;
	}
	/* ECS: <32 hex>-<digits>. */
	size_t d = n;
	while (d > 0 && isdigit((unsigned char)c[d - 1]))
		d--;
	if (d < n && d >= 33 && c[d - 1] == '-' && all_hex(c + d - 33, 32))
		return n - (d - 33);
	return 0;
}

size_t agent_container_id(const char *cgroup, size_t len, char *out, size_t n)
{
	const char *p = cgroup, *end = cgroup + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		const char *slash = eol;
		while (slash > p && slash[-1] != '/')
			slash--;
		size_t clen = (size_t)(eol - slash);
		if (slash > p && ends_with(slash, clen, ".scope"))
			clen -= strlen(".scope");
		size_t idlen = slash > p ? id_at_end(slash, clen) : 0;
		if (idlen > 0 && idlen < n) {
			memcpy(out, slash + clen - idlen, idlen);
			out[idlen] = '\0';
			return idlen;
		}
		p = eol + 1;
	}
	if (n)
		out[0] = '\0';
	return 0;
}

/* The path of the first line starting with `prefix`, as "<root><path>" in out. */
static size_t cgroup_line_path(const char *cgroup, size_t len, const char *prefix, const char *root,
			       char *out, size_t n)
{
	const char *p = cgroup, *end = cgroup + len;
	size_t plen = strlen(prefix);

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > plen && memcmp(p, prefix, plen) == 0 && p[plen] == '/') {
			int w = snprintf(out, n, "%s%.*s", root, (int)(eol - p - (ptrdiff_t)plen),
					 p + plen);
			if (w > 0 && (size_t)w < n && !strstr(out, "/.."))
				return (size_t)w;
		}
		p = eol + 1;
	}
	return 0;
}

size_t agent_cgroup_dir(const char *cgroup, size_t len, char *out, size_t n)
{
	size_t w = cgroup_line_path(cgroup, len, "0::", "/sys/fs/cgroup", out, n);
	if (w == 0) {
		/* v1: "<id>:memory:<path>" (the controller list may hold several names). */
		const char *p = cgroup, *end = cgroup + len;
		while (p < end && w == 0) {
			const char *eol = memchr(p, '\n', (size_t)(end - p));
			if (!eol)
				eol = end;
			const char *c1 = memchr(p, ':', (size_t)(eol - p));
			const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
			if (c2 && c2 - c1 - 1 == 6 && memcmp(c1 + 1, "memory", 6) == 0)
				w = cgroup_line_path(c2 + 1, (size_t)(eol - c2 - 1), "",
						     "/sys/fs/cgroup/memory", out, n);
			p = eol + 1;
		}
	}
	if (w == 0 && n)
		out[0] = '\0';
	return w;
}

int agent_tags_append(struct buf *out, const char *list)
{
	const char *p = list;

	if (!list)
		return 0;
	while (*p) {
		const char *comma = strchr(p, ',');
		const char *e = comma ? comma : p + strlen(p);
		const char *s = p;
		while (s < e && isspace((unsigned char)*s))
			s++;
		const char *t = e;
		while (t > s && isspace((unsigned char)t[-1]))
			t--;
		if (t > s) {
			if (out->len > 0 && buf_putc(out, ',') < 0)
				return -ENOMEM;
			if (buf_append(out, s, (size_t)(t - s)) < 0)
				return -ENOMEM;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

int agent_tags_has_key(const char *tags, const char *key)
{
	size_t klen = strlen(key);
	const char *p = tags;

	if (!tags)
		return 0;
	while (*p) {
		while (*p == ' ')
			p++;
		if (strncmp(p, key, klen) == 0 && (p[klen] == ':' || p[klen] == ',' || !p[klen]))
			return 1;
		const char *comma = strchr(p, ',');
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

int agent_event_json(const struct agent_event *ev, struct buf *out)
{
	char start[40], end[40];
	struct json_w w;

	if (agent_rfc3339(ev->start_ns, start, sizeof(start)) < 0 ||
	    agent_rfc3339(ev->end_ns, end, sizeof(end)) < 0)
		return -EINVAL;
	json_w_init(&w, out);
	json_obj_begin(&w);
	json_key(&w, "attachments");
	json_arr_begin(&w);
	json_str(&w, AGENT_ATTACHMENT);
	json_arr_end(&w);
	json_key(&w, "tags_profiler");
	json_str(&w, ev->tags_profiler ? ev->tags_profiler : "");
	json_key(&w, "start");
	json_str(&w, start);
	json_key(&w, "end");
	json_str(&w, end);
	json_key(&w, "family");
	json_str(&w, ev->family && *ev->family ? ev->family : "native");
	json_key(&w, "version");
	json_str(&w, "4");
	json_key(&w, "internal");
	json_obj_begin(&w);
	json_key(&w, "kiln_version");
	json_str(&w, KILN_VERSION);
	json_obj_end(&w);
	json_key(&w, "info");
	if (ev->info_json && *ev->info_json) {
		json_raw(&w, ev->info_json, strlen(ev->info_json));
	} else {
		json_obj_begin(&w);
		json_obj_end(&w);
	}
	json_obj_end(&w);
	return json_w_error(&w);
}

int agent_multipart(const char *boundary, const struct buf *event_json, const uint8_t *attachment,
		    size_t attachment_len, struct buf *out)
{
	if (memmem(attachment, attachment_len, boundary, strlen(boundary)) ||
	    memmem(event_json->data ? event_json->data : "", event_json->len, boundary,
		   strlen(boundary)))
		return -EAGAIN;
	if (buf_grow(out, event_json->len + attachment_len + 512) < 0)
		return -ENOMEM;
	buf_printf(out,
		   "--%s\r\nContent-Disposition: form-data; name=\"event\"; filename=\"event.json\""
		   "\r\nContent-Type: application/json\r\n\r\n",
		   boundary);
	buf_append(out, event_json->data ? event_json->data : "", event_json->len);
	buf_printf(out,
		   "\r\n--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
		   "Content-Type: application/octet-stream\r\n\r\n",
		   boundary, AGENT_ATTACHMENT, AGENT_ATTACHMENT);
	buf_append(out, attachment, attachment_len);
	return buf_printf(out, "\r\n--%s--\r\n", boundary);
}
