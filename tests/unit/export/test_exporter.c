/*
 * The exporter against a real HTTP intake (tests/integration/intake_capture.py, python3):
 * content of uploads, an agent outage, a Unix socket, the spool cap, the spool directory
 * across restarts, rejections and files mode. No mocks: real sockets, real libcurl.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "export/agent.h"
#include "export/export.h"
#include "pprof/builder.h"
#include "pprof/pprof.h"
#include "test.h"

#define RUNTIME_ID "11111111-2222-4333-8444-555555555555"
#define T0 1795558449000000000LL /* 2026-11-24T22:14:09Z */

/* ---- helpers ----------------------------------------------------------------------------- */

static char tmp_root[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void tmp_path(struct buf *b, const char *name)
{
	buf_reset(b);
	buf_printf(b, "%s/%s", tmp_root, name);
}

struct server {
	pid_t pid;
	int port;
	struct buf out; /* record directory */
};

/* Starts intake_capture.py with extra arguments (NULL-terminated); waits for its port. */
static bool server_start(struct server *s, const char *name, const char *const *extra)
{
	struct buf script = BUF_INIT, portfile = BUF_INIT, content = BUF_INIT;
	const char *src = getenv("KILN_SOURCE_DIR");
	const char *argv[32];
	int argc = 0;
	bool ok = false;

	buf_init(&s->out);
	tmp_path(&s->out, name);
	buf_printf(&script, "%s/tests/integration/intake_capture.py", src ? src : ".");
	buf_printf(&portfile, "%s.port", s->out.data);
	argv[argc++] = "python3";
	argv[argc++] = script.data;
	argv[argc++] = "--out";
	argv[argc++] = s->out.data;
	argv[argc++] = "--port-file";
	argv[argc++] = portfile.data;
	argv[argc++] = "--verify";
	for (int i = 0; extra && extra[i] && argc < 30; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;

	s->pid = fork();
	if (s->pid == 0) {
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 400 && s->pid > 0; i++) { /* up to 20 s: python starts slowly */
		buf_reset(&content);
		if (buf_read_file(&content, portfile.data, 64) == 0 && content.len > 1 &&
		    content.data[content.len - 1] == '\n') {
			s->port = (int)strtol(content.data, NULL, 10);
			ok = true;
			break;
		}
		usleep(50000);
	}
	if (!ok)
		fprintf(stderr, "intake_capture.py did not start (script %s)\n", script.data);
	buf_release(&script);
	buf_release(&portfile);
	buf_release(&content);
	return ok;
}

static void server_stop(struct server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	buf_release(&s->out);
}

static void url_of(struct buf *b, int port)
{
	buf_reset(b);
	buf_printf(b, "http://127.0.0.1:%d", port);
}

/* A port nobody listens on (bound, then closed). */
static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	return ntohs(a.sin_port);
}

/* Recorded requests with status 200, in arrival order: ids into *ids. */
static size_t accepted(const struct server *s, int *ids, size_t max)
{
	struct buf path = BUF_INIT, meta = BUF_INIT;
	size_t n = 0;

	for (int id = 1; id < 1000 && n < max; id++) {
		buf_reset(&path);
		buf_printf(&path, "%s/%04d.json", s->out.data, id);
		buf_reset(&meta);
		if (buf_read_file(&meta, path.data, 0) < 0)
			break;
		if (strstr(meta.data, "\"status\": 200,"))
			ids[n++] = id;
	}
	buf_release(&path);
	buf_release(&meta);
	return n;
}

static size_t wait_accepted(const struct server *s, size_t want, int *ids, size_t max)
{
	size_t n = 0;
	for (int i = 0; i < 600; i++) { /* 30 s */
		n = accepted(s, ids, max);
		if (n >= want)
			break;
		usleep(50000);
	}
	return n;
}

static void read_record(const struct server *s, int id, const char *ext, struct buf *out)
{
	struct buf path = BUF_INIT;
	buf_reset(out);
	buf_printf(&path, "%s/%04d.%s", s->out.data, id, ext);
	buf_read_file(out, path.data, 0);
	buf_release(&path);
}

/* Profile number i: two stacks with values that identify it; filler strings make it big. */
static void build_profile(int i, size_t filler, struct buf *out)
{
	struct pprof_builder *b = pprof_builder_new();
	struct pprof_profile p;
	char name[64];

	pprof_builder_sample_type(b, "cpu-samples", "count");
	pprof_builder_sample_type(b, "cpu-time", "nanoseconds");
	pprof_builder_period(b, "cpu-time", "nanoseconds", 10101010);
	pprof_builder_time(b, T0 + (int64_t)i * 60000000000LL, 60000000000LL);
	snprintf(name, sizeof(name), "hot_%d", i);
	uint64_t f1 = pprof_builder_function(b, name, name, "app.c", 10);
	uint64_t f2 = pprof_builder_function(b, "main", "main", "app.c", 1);
	struct pprof_line l1 = {.function_id = f1, .line = 12}, l2 = {.function_id = f2, .line = 3};
	uint64_t locs[2] = {pprof_builder_location(b, 0, 0x1000 + (uint64_t)i, &l1, 1),
			    pprof_builder_location(b, 0, 0x2000, &l2, 1)};
	int64_t v1[2] = {10 + i, (10 + i) * 10101010LL};
	int64_t v2[2] = {3, 3 * 10101010LL};
	pprof_builder_add_sample(b, locs, 2, v1, NULL, 0);
	pprof_builder_add_sample(b, locs + 1, 1, v2, NULL, 0);
	/* Incompressible filler (random bytes as comments) to control the profile's size. */
	for (size_t k = 0; k < filler / 64; k++) {
		char c[65];
		for (int j = 0; j < 64; j++)
			c[j] = (char)(1 + rand() % 255);
		c[64] = '\0';
		pprof_builder_comment(b, c);
	}
	pprof_builder_finish(b, &p);
	pprof_builder_free(b);
	pprof_encode(&p, out);
	pprof_profile_release(&p);
}

/* "leaf;caller=v0,v1|…" for every sample of an encoded or compressed profile. */
static void signature(const uint8_t *data, size_t len, struct buf *sig)
{
	struct pprof_profile p;
	struct buf err = BUF_INIT;

	buf_reset(sig);
	if (pprof_decode(data, len, NULL, &p, &err) < 0) {
		buf_printf(sig, "decode error: %s", err.data);
		buf_release(&err);
		return;
	}
	for (size_t i = 0; i < p.samples.len; i++) {
		const struct pprof_sample *s = &p.samples.items[i];
		for (size_t j = 0; j < s->nlocations; j++) {
			const struct pprof_location *l =
			    pprof_location_by_id(&p, s->location_ids[j]);
			const struct pprof_function *f =
			    l && l->nlines ? pprof_function_by_id(&p, l->lines[0].function_id)
					   : NULL;
			buf_printf(sig, "%s%s", j ? ";" : "", f ? pprof_str(&p, f->name) : "?");
		}
		for (size_t j = 0; j < s->nvalues; j++)
			buf_printf(sig, "%c%" PRId64, j ? ',' : '=', s->values[j]);
		buf_putc(sig, '|');
	}
	pprof_profile_release(&p);
	buf_release(&err);
}

/* Log capture: counts messages containing given phrases. */
static int log_unreachable, log_spool_full, log_rejected;

static void count_logs(enum log_level level, const char *msg, void *ctx)
{
	if (strstr(msg, "cannot reach the agent"))
		log_unreachable++;
	if (strstr(msg, "spool full"))
		log_spool_full++;
	if (strstr(msg, "rejected a profile"))
		log_rejected++;
	if (getenv("KILN_TEST_VERBOSE"))
		fprintf(stderr, "log: %s\n", msg);
}

static void reset_logs(void)
{
	log_unreachable = log_spool_full = log_rejected = 0;
}

static int submit(struct exporter *e, int i, size_t filler, struct buf *keep_sig)
{
	struct buf pb = BUF_INIT;
	char extra[64];

	build_profile(i, filler, &pb);
	if (keep_sig)
		signature((const uint8_t *)pb.data, pb.len, keep_sig);
	snprintf(extra, sizeof(extra), "profile_seq:%d", i);
	struct export_profile p = {
	    .start_ns = T0 + (int64_t)i * 60000000000LL,
	    .end_ns = T0 + (int64_t)(i + 1) * 60000000000LL + 123456789,
	    .pprof = (const uint8_t *)pb.data,
	    .pprof_len = pb.len,
	    .extra_tags = extra,
	    .file_prefix = "app-42",
	};
	int ret = exporter_submit(e, &p);
	buf_release(&pb);
	return ret;
}

/* A multipart part found in a body. */
struct part {
	const char *head;
	size_t head_len;
	const char *data;
	size_t len;
};

/* Minimal multipart split: returns the number of parts (at most max). */
static size_t split_multipart(const struct buf *body, const char *boundary, struct part *parts,
			      size_t max)
{
	char delim[64];
	size_t n = 0;
	int dl = snprintf(delim, sizeof(delim), "--%s", boundary);
	const char *p = body->data, *end = body->data + body->len;

	if (body->len < (size_t)dl || memcmp(p, delim, (size_t)dl) != 0)
		return 0;
	p += dl;
	while (n < max && p + 2 <= end && memcmp(p, "\r\n", 2) == 0) {
		p += 2;
		const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (!hend)
			break;
		parts[n].head = p;
		parts[n].head_len = (size_t)(hend - p);
		const char *data = hend + 4;
		char next[70];
		int nl = snprintf(next, sizeof(next), "\r\n%s", delim);
		const char *stop = memmem(data, (size_t)(end - data), next, (size_t)nl);
		if (!stop)
			break;
		parts[n].data = data;
		parts[n].len = (size_t)(stop - data);
		n++;
		p = stop + nl;
	}
	return n;
}

static bool has_header(const struct buf *h, const char *line)
{
	return h->data && strstr(h->data, line) != NULL;
}

/* Checks one accepted upload of profile i, whose signature is want_sig. */
static void check_upload(const struct server *s, int id, int i, const char *want_sig)
{
	struct buf h = BUF_INIT, body = BUF_INIT, meta = BUF_INIT, sig = BUF_INIT, ev = BUF_INIT;
	struct part parts[4];
	char want[160];

	read_record(s, id, "headers", &h);
	read_record(s, id, "body", &body);
	read_record(s, id, "json", &meta);
	CHECK(has_header(&h, "POST /profiling/v1/input\r\n"));
	CHECK(has_header(&h, "\r\nDD-EVP-ORIGIN: kiln\r\n"));
	CHECK(has_header(&h, "\r\nDD-EVP-ORIGIN-VERSION: " KILN_VERSION "\r\n"));
	CHECK(has_header(&h, "\r\nUser-Agent: kiln/" KILN_VERSION "\r\n"));
	CHECK(has_header(&h, "\r\nDD-API-KEY: k3y\r\n"));
	/* Entity headers as this process's cgroup dictates (ci-<container id> or in-<inode>). */
	struct buf cg = BUF_INIT;
	char cid[80], cdir[512], line[160] = "";
	struct stat cst;
	if (buf_read_file(&cg, "/proc/self/cgroup", 1 << 16) == 0 && cg.len > 0) {
		if (agent_container_id(cg.data, cg.len, cid, sizeof(cid)))
			snprintf(line, sizeof(line), "\r\nDatadog-Entity-ID: ci-%s\r\n", cid);
		else if (agent_cgroup_dir(cg.data, cg.len, cdir, sizeof(cdir)) &&
			 stat(cdir, &cst) == 0)
			snprintf(line, sizeof(line), "\r\nDatadog-Entity-ID: in-%llu\r\n",
				 (unsigned long long)cst.st_ino);
	}
	buf_release(&cg);
	if (line[0])
		CHECK(has_header(&h, line));
	else
		CHECK(!has_header(&h, "Datadog-Entity-ID"));
	const char *ct =
	    h.data ? strstr(h.data, "Content-Type: multipart/form-data; boundary=") : NULL;
	CHECK(ct != NULL);
	if (!ct)
		goto out;
	char boundary[17] = "";
	ct += strlen("Content-Type: multipart/form-data; boundary=");
	CHECK(strspn(ct, "0123456789abcdef") == 16 && ct[16] == '\r');
	memcpy(boundary, ct, 16);
	/* intake_capture.py's own format check passed as well. */
	CHECK(strstr(meta.data, "\"ok\": true") != NULL);

	size_t n = split_multipart(&body, boundary, parts, 4);
	CHECK_INT_EQ(n, 2);
	if (n != 2)
		goto out;
	const char *h0 =
	    "Content-Disposition: form-data; name=\"event\"; filename=\"event.json\"\r\n"
	    "Content-Type: application/json";
	const char *h1 = "name=\"profile.pprof\"; filename=\"profile.pprof\"";
	CHECK(memmem(parts[0].head, parts[0].head_len, h0, strlen(h0)) != NULL);
	CHECK(memmem(parts[1].head, parts[1].head_len, h1, strlen(h1)) != NULL);
	buf_append(&ev, parts[0].data, parts[0].len);
	CHECK(strstr(ev.data, "\"attachments\":[\"profile.pprof\"]") != NULL);
	CHECK(strstr(ev.data, "\"family\":\"native\"") != NULL);
	CHECK(strstr(ev.data, "\"version\":\"4\"") != NULL);
	CHECK(strstr(ev.data, "\"info\":{\"profiler\":{\"test\":true}}") != NULL);
	CHECK(strstr(ev.data, "process_tags") == NULL);
	/* start/end: RFC 3339 with nanoseconds; profile i covers minute i after T0. */
	snprintf(want, sizeof(want), "\"start\":\"2026-11-24T22:%02d:09.000000000Z\"", 14 + i);
	CHECK(strstr(ev.data, want) != NULL);
	snprintf(want, sizeof(want), "\"end\":\"2026-11-24T22:%02d:09.123456789Z\"", 15 + i);
	CHECK(strstr(ev.data, want) != NULL);
	snprintf(want, sizeof(want),
		 "\"tags_profiler\":\"service:svc,env:test,version:1.2.3,language:native,"
		 "profiler_version:" KILN_VERSION ",runtime-id:" RUNTIME_ID ",profile_seq:%d\"",
		 i);
	CHECK(strstr(ev.data, want) != NULL);
	if (!strstr(ev.data, want))
		fprintf(stderr, "event.json: %s\n", ev.data);

	/* The attachment is zstd (what native profilers send) and decodes to the samples. */
	CHECK(parts[1].len > 4 && memcmp(parts[1].data, "\x28\xb5\x2f\xfd", 4) == 0);
	signature((const uint8_t *)parts[1].data, parts[1].len, &sig);
	CHECK_STR_EQ(sig.data, want_sig);
out:
	buf_release(&h);
	buf_release(&body);
	buf_release(&meta);
	buf_release(&sig);
	buf_release(&ev);
}

static struct export_config base_config(const char *url)
{
	struct export_config c = {
	    .url = url,
	    .api_key = "k3y",
	    .tags = "service:svc, env:test,version:1.2.3",
	    .family = "native",
	    .origin = "kiln",
	    .runtime_id = RUNTIME_ID,
	    .info_json = "{\"profiler\":{\"test\":true}}",
	    .timeout_ms = 5000,
	};
	return c;
}

/* Does tags_profiler of upload `id` carry profile_seq:i? */
static bool upload_is(const struct server *s, int id, int i)
{
	struct buf body = BUF_INIT;
	char want[32];
	read_record(s, id, "body", &body);
	snprintf(want, sizeof(want), ",profile_seq:%d\"", i);
	bool ok = body.data && strstr(body.data, want) != NULL;
	buf_release(&body);
	return ok;
}

static size_t count_spool_files(const char *dir)
{
	size_t n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)))
		n += strstr(de->d_name, ".kspool") != NULL;
	if (d)
		closedir(d);
	return n;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_three_profiles(void)
{
	struct server s;
	struct buf url = BUF_INIT, sig[3] = {BUF_INIT, BUF_INIT, BUF_INIT};
	struct export_stats st;
	int ids[8];

	if (!server_start(&s, "basic", NULL)) {
		CHECK(!"server");
		return;
	}
	url_of(&url, s.port);
	struct export_config cfg = base_config(url.data);
	struct exporter *e = exporter_new(&cfg);
	CHECK(e != NULL);
	if (!e)
		goto out;
	for (int i = 0; i < 3; i++)
		CHECK_INT_EQ(submit(e, i, 0, &sig[i]), 0);
	CHECK_INT_EQ(wait_accepted(&s, 3, ids, 8), 3);
	for (int i = 0; i < 250; i++) { /* the answer reaches the exporter after the record */
		exporter_stats(e, &st);
		if (st.uploaded == 3)
			break;
		usleep(20000);
	}
	CHECK_INT_EQ(st.submitted, 3);
	CHECK_INT_EQ(st.uploaded, 3);
	CHECK_INT_EQ(st.dropped, 0);
	CHECK_INT_EQ(st.retried, 0);
	CHECK_INT_EQ(st.queued, 0);
	CHECK_INT_EQ(st.queued_bytes, 0);
	exporter_free(e, 5000);
	/* Nothing else arrives: exactly three uploads, in order. */
	CHECK_INT_EQ(accepted(&s, ids, 8), 3);
	for (int i = 0; i < 3; i++)
		check_upload(&s, ids[i], i, sig[i].data);
	CHECK(strstr(sig[0].data, "hot_0;main=10,101010100|main=3,30303030|") != NULL);
out:
	for (int i = 0; i < 3; i++)
		buf_release(&sig[i]);
	buf_release(&url);
	server_stop(&s);
}

/* The agent is down (refused), then resets connections, then answers 503, then recovers:
 * every profile arrives exactly once, in order, and the outage is logged once. */
static void test_outage(void)
{
	const char *extra[] = {"--refuse-for", "1.5", "--close-for", "3",
			       "--fail-for",   "4.5", NULL};
	struct server s;
	struct buf url = BUF_INIT, sig[4] = {BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT};
	struct export_stats st;
	int ids[16];

	reset_logs();
	if (!server_start(&s, "outage", extra)) {
		CHECK(!"server");
		return;
	}
	url_of(&url, s.port);
	struct buf dir = BUF_INIT;
	tmp_path(&dir, "outage-spool");
	struct export_config cfg = base_config(url.data);
	cfg.spool_dir = dir.data; /* persisted during the outage, removed once delivered */
	struct exporter *e = exporter_new(&cfg);
	CHECK(e != NULL);
	if (!e)
		goto out;
	for (int i = 0; i < 4; i++)
		CHECK_INT_EQ(submit(e, i, 0, &sig[i]), 0);
	CHECK_INT_EQ(wait_accepted(&s, 4, ids, 16), 4);
	for (int i = 0; i < 250; i++) { /* the answer reaches the exporter after the record */
		exporter_stats(e, &st);
		if (st.uploaded == 4)
			break;
		usleep(20000);
	}
	exporter_free(e, 5000);
	CHECK_INT_EQ(accepted(&s, ids, 16), 4);
	for (int i = 0; i < 4; i++)
		check_upload(&s, ids[i], i, sig[i].data);
	CHECK(st.retried >= 2);
	CHECK_INT_EQ(st.uploaded, 4);
	CHECK_INT_EQ(st.dropped, 0);
	CHECK_INT_EQ(log_unreachable, 1);
	/* The server did see failed attempts (closed and 503) before the good ones. */
	CHECK(ids[0] > 1);
	CHECK_INT_EQ(count_spool_files(dir.data), 0);
out:
	buf_release(&dir);
	for (int i = 0; i < 4; i++)
		buf_release(&sig[i]);
	buf_release(&url);
	server_stop(&s);
}

static void test_unix_socket(void)
{
	struct server s;
	struct buf sock = BUF_INIT, url = BUF_INIT, sig[2] = {BUF_INIT, BUF_INIT};
	int ids[8];

	tmp_path(&sock, "agent.sock");
	const char *extra[] = {"--unix", sock.data, NULL};
	if (!server_start(&s, "unix", extra)) {
		CHECK(!"server");
		buf_release(&sock);
		return;
	}
	/* Both spellings: unix:///path and a bare /path. */
	buf_printf(&url, "unix://%s", sock.data);
	for (int k = 0; k < 2; k++) {
		struct export_config cfg = base_config(k == 0 ? url.data : sock.data);
		struct exporter *e = exporter_new(&cfg);
		CHECK(e != NULL);
		if (!e)
			continue;
		CHECK_INT_EQ(submit(e, k, 0, &sig[k]), 0);
		exporter_free(e, 5000);
	}
	CHECK_INT_EQ(wait_accepted(&s, 2, ids, 8), 2);
	for (int k = 0; k < 2; k++)
		check_upload(&s, ids[k], k, sig[k].data);
	struct buf h = BUF_INIT;
	read_record(&s, ids[0], "headers", &h);
	CHECK(has_header(&h, "\r\nHost: localhost\r\n"));
	buf_release(&h);
	for (int k = 0; k < 2; k++)
		buf_release(&sig[k]);
	buf_release(&url);
	buf_release(&sock);
	server_stop(&s);
}

/* Agent down while 5 profiles of ~40 KiB come with a cap for 2: the oldest are dropped and
 * counted, the warning is logged once, the newest arrive. */
static void test_spool_cap(void)
{
	const char *extra[] = {"--refuse-for", "2", NULL};
	struct server s;
	struct buf url = BUF_INIT, pb = BUF_INIT;
	struct export_stats st;
	int ids[16];

	reset_logs();
	if (!server_start(&s, "cap", extra)) {
		CHECK(!"server");
		return;
	}
	url_of(&url, s.port);
	build_profile(0, 40000, &pb);
	struct export_config cfg = base_config(url.data);
	cfg.spool_max_bytes = pb.len * 5 / 2; /* room for two */
	struct exporter *e = exporter_new(&cfg);
	CHECK(e != NULL);
	if (!e)
		goto out;
	for (int i = 0; i < 5; i++)
		CHECK_INT_EQ(submit(e, i, 40000, NULL), 0);
	exporter_stats(e, &st);
	CHECK_INT_EQ(st.dropped, 3);
	CHECK(st.queued_bytes <= cfg.spool_max_bytes);
	CHECK_INT_EQ(log_spool_full, 1);
	CHECK_INT_EQ(wait_accepted(&s, 2, ids, 16), 2);
	exporter_free(e, 5000);
	CHECK_INT_EQ(accepted(&s, ids, 16), 2);
	/* Whatever was kept, the newest profile is the last to arrive. */
	CHECK(upload_is(&s, ids[1], 4));
out:
	buf_release(&pb);
	buf_release(&url);
	server_stop(&s);
}

/* exporter_free with the agent down writes the profiles to the spool directory; the next
 * exporter sends them (with the first run's runtime-id) and empties the directory. */
static void test_spool_dir(void)
{
	struct server s = {0};
	struct buf url = BUF_INIT, dir = BUF_INIT, sig[2] = {BUF_INIT, BUF_INIT};
	int ids[8];
	int port = free_port();

	tmp_path(&dir, "spool");
	url_of(&url, port);
	struct export_config cfg = base_config(url.data);
	cfg.spool_dir = dir.data;
	struct exporter *e = exporter_new(&cfg);
	CHECK(e != NULL);
	if (!e)
		goto out;
	for (int i = 0; i < 2; i++)
		CHECK_INT_EQ(submit(e, i, 0, &sig[i]), 0);
	/* During the outage the profiles reach the directory before any shutdown (a crash
	 * would not lose them)... */
	size_t files = 0;
	for (int i = 0; i < 500 && files < 2; i++) {
		usleep(20000);
		files = count_spool_files(dir.data);
	}
	CHECK_INT_EQ(files, 2);
	exporter_free(e, 300);
	/* ...and exporter_free leaves them there. */
	CHECK_INT_EQ(count_spool_files(dir.data), 2);

	char portarg[16];
	snprintf(portarg, sizeof(portarg), "%d", port);
	const char *extra[] = {"--port", portarg, NULL};
	if (!server_start(&s, "spooldir", extra)) {
		CHECK(!"server");
		goto out;
	}
	cfg.runtime_id = "99999999-2222-4333-8444-555555555555"; /* a new process */
	e = exporter_new(&cfg);
	CHECK(e != NULL);
	if (!e)
		goto out;
	CHECK_INT_EQ(wait_accepted(&s, 2, ids, 8), 2);
	exporter_free(e, 5000);
	for (int i = 0; i < 2; i++)
		check_upload(&s, ids[i], i, sig[i].data); /* old runtime-id, same content */
	CHECK_INT_EQ(count_spool_files(dir.data), 0);
out:
	for (int i = 0; i < 2; i++)
		buf_release(&sig[i]);
	buf_release(&url);
	buf_release(&dir);
	server_stop(&s);
}

/* Without a spool directory, what exporter_free cannot deliver is dropped and counted. */
static void test_free_timeout_drops(void)
{
	struct buf url = BUF_INIT;

	reset_logs();
	url_of(&url, free_port());
	struct export_config cfg = base_config(url.data);
	struct exporter *e = exporter_new(&cfg);
	CHECK(e != NULL);
	if (!e)
		goto out;
	for (int i = 0; i < 3; i++)
		submit(e, i, 0, NULL);
	struct export_stats st;
	for (int i = 0; i < 200; i++) {
		exporter_stats(e, &st);
		if (st.retried > 0)
			break;
		usleep(20000);
	}
	CHECK(st.retried > 0);
	CHECK_INT_EQ(log_unreachable, 1);
	exporter_free(e, 200);
	/* Stats are gone with the exporter; the log says what was lost. */
out:
	buf_release(&url);
}

/* A hung agent does not hold exporter_free beyond its timeout (the request timeout is 20 s,
 * the free timeout 0.3 s; the bound checked is a generous 8 s). */
static void test_free_stalled_agent(void)
{
	const char *extra[] = {"--stall-for", "60", NULL};
	struct server s;
	struct buf url = BUF_INIT;
	struct timespec t0, t1;

	if (!server_start(&s, "stall", extra)) {
		CHECK(!"server");
		return;
	}
	url_of(&url, s.port);
	struct export_config cfg = base_config(url.data);
	cfg.timeout_ms = 20000;
	struct exporter *e = exporter_new(&cfg);
	CHECK(e != NULL);
	if (!e)
		goto out;
	submit(e, 0, 0, NULL);
	usleep(300000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	exporter_free(e, 300);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(secs < 8.0);
out:
	buf_release(&url);
	server_stop(&s);
}

/* A 4xx other than 408/429 is final: dropped, counted, logged, not retried. */
static void test_rejected(void)
{
	const char *extra[] = {"--fail-for", "1000", "--fail-status", "400", NULL};
	struct server s;
	struct buf url = BUF_INIT;
	struct export_stats st = {0};
	int ids[8];

	reset_logs();
	if (!server_start(&s, "reject", extra)) {
		CHECK(!"server");
		return;
	}
	url_of(&url, s.port);
	struct export_config cfg = base_config(url.data);
	struct exporter *e = exporter_new(&cfg);
	CHECK(e != NULL);
	if (!e)
		goto out;
	submit(e, 0, 0, NULL);
	for (int i = 0; i < 500; i++) {
		exporter_stats(e, &st);
		if (st.dropped > 0)
			break;
		usleep(20000);
	}
	CHECK_INT_EQ(st.dropped, 1);
	CHECK_INT_EQ(st.rejected, 1);
	CHECK_INT_EQ(st.retried, 0);
	CHECK_INT_EQ(st.uploaded, 0);
	CHECK_INT_EQ(log_rejected, 1);
	exporter_free(e, 1000);
	CHECK_INT_EQ(accepted(&s, ids, 8), 0);
out:
	buf_release(&url);
	server_stop(&s);
}

/* Files mode: gzip pprof files named <prefix>-<UTC>-<seq>.pprof that decode to the samples. */
static void test_files(void)
{
	struct buf dir = BUF_INIT, path = BUF_INIT, sig = BUF_INIT, got = BUF_INIT, raw = BUF_INIT;
	struct buf want[2] = {BUF_INIT, BUF_INIT};

	tmp_path(&dir, "files");
	struct export_config cfg = base_config(NULL);
	cfg.output_dir = dir.data;
	struct exporter *e = exporter_new(&cfg);
	CHECK(e != NULL);
	if (!e)
		goto out;
	for (int i = 0; i < 2; i++)
		CHECK_INT_EQ(submit(e, i, 0, &want[i]), 0);
	exporter_free(e, 5000);
	for (int i = 0; i < 2; i++) {
		buf_reset(&path);
		buf_printf(&path, "%s/app-42-20261124T22%02d09Z-%06d.pprof", dir.data, 15 + i, i);
		buf_reset(&raw);
		CHECK_INT_EQ(buf_read_file(&raw, path.data, 0), 0);
		CHECK(raw.len > 2 && (uint8_t)raw.data[0] == 0x1f && (uint8_t)raw.data[1] == 0x8b);
		signature((const uint8_t *)raw.data, raw.len, &got);
		CHECK_STR_EQ(got.data, want[i].data);
	}
out:
	for (int i = 0; i < 2; i++)
		buf_release(&want[i]);
	buf_release(&dir);
	buf_release(&path);
	buf_release(&sig);
	buf_release(&got);
	buf_release(&raw);
}

static void test_bad_config(void)
{
	struct export_config cfg = base_config("ftp://nope:1");
	errno = 0;
	CHECK(exporter_new(&cfg) == NULL);
	CHECK_INT_EQ(errno, EINVAL);
	cfg = base_config("http://127.0.0.1:1");
	cfg.compression = "brotli";
	CHECK(exporter_new(&cfg) == NULL);
	exporter_free(NULL, 0);
}

int main(void)
{
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/kiln-export-test-XXXXXX");
	if (!mkdtemp(tmp_root)) {
		perror("mkdtemp");
		return 1;
	}
	srand(1);
	setenv("KILN_EXPORT_BACKOFF_MS", "50,400", 1);
	log_set_callback(count_logs, NULL);
	if (getenv("KILN_TEST_VERBOSE"))
		log_set_level(LOG_LEVEL_DEBUG);
	RUN(test_three_profiles);
	RUN(test_outage);
	RUN(test_unix_socket);
	RUN(test_spool_cap);
	RUN(test_spool_dir);
	RUN(test_free_timeout_drops);
	RUN(test_rejected);
	RUN(test_free_stalled_agent);
	RUN(test_files);
	RUN(test_bad_config);
	if (!getenv("KILN_TEST_KEEP"))
		rm_rf(tmp_root);
	return test_done();
}
