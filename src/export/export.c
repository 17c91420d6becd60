/*
 * export.c: the exporter — a queue of finished profiles and the one thread that delivers
 * them, so the profiler's loop never waits for the network.
 *
 * Design. exporter_submit() copies the pprof bytes into an item and appends it to a FIFO
 * under the lock; that is all the caller pays. The thread takes items in order: it first
 * writes the gzip file when an output directory is set, then uploads the item (compressed
 * once, lazily, in the thread). An upload that fails for a transient reason (connection,
 * timeout, 408, 429, 5xx) stays at the head of the queue and is retried after a jittered,
 * doubling delay, so profiles arrive in order and exactly once per success; a 4xx rejection
 * drops it. The queue is the memory spool: its size is capped (spool_max_bytes) and when a
 * new profile would exceed it the oldest waiting one is dropped and counted. Items being
 * worked on by the thread are marked busy and never dropped under its feet.
 *
 * Log policy: an outage or a drop episode is reported once when it starts and once when it
 * ends, never per retry.
 */
#include "export/curl_api.h"
#include "export/export.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "export/agent.h"
#include "export/spool.h"
#include "pprof/pprof.h"

#define DEFAULT_SPOOL_MAX ((size_t)64 << 20)
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_BACKOFF_MIN_MS 1000
#define DEFAULT_BACKOFF_MAX_MS 60000
#define REPLY_SNIPPET 200

struct item {
	struct item *next, *prev;
	uint64_t seq;
	int64_t start_ns, end_ns;
	struct buf tags; /* full tags_profiler */
	struct buf raw;	 /* uncompressed pprof; released once no longer needed */
	struct buf z;	 /* compressed for upload (or as read from the spool) */
	struct buf file_prefix;
	struct buf spool_path; /* the spool file holding this item, if any */
	bool want_file, want_upload, busy;
	bool spool_failed; /* writing it to the spool directory failed; not tried again */
	size_t bytes;	   /* what it counts against the spool cap */
};

enum post_result {
	POST_OK,
	POST_RETRY,
	POST_REJECTED,
};

struct exporter {
	/* Configuration, owned copies. */
	char *tags; /* configured tags + language, profiler_version, runtime-id */
	char *family;
	char *origin;
	char *api_key;
	char *output_dir;
	char *spool_dir;
	char *info_json;
	char *where; /* the agent address for messages */
	char container_id[80];
	char *external_env;    /* DD_EXTERNAL_ENV, sent as Datadog-External-Env */
	uint64_t cgroup_inode; /* without a container id: Datadog-Entity-ID: in-<inode> */
	struct agent_endpoint ep;
	bool upload;
	enum pprof_compression comp;
	size_t spool_max;
	int timeout_ms;
	int backoff_min_ms, backoff_max_ms;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool thread_started;

	/* Under lock. */
	struct item *head, *tail;
	size_t queued, queued_bytes;
	bool stopping;
	int64_t deadline; /* CLOCK_MONOTONIC ns, when stopping */
	/* Read without the lock by the transfer callback: the deadline of exporter_free once it
	 * was called, else INT64_MAX (__atomic accesses). */
	int64_t abort_at;
	int64_t next_attempt;
	int backoff_ms;
	bool outage;	   /* an outage message was logged and no upload succeeded since */
	bool drop_episode; /* a drop warning was logged and no upload succeeded since */
	uint64_t drops_in_episode;
	uint64_t seq;
	struct export_stats stats;

	const struct curl_api *curl_api; /* loaded in exporter_new when uploading */
	CURL *curl;			 /* thread only */
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static char *dup_or_null(const char *s, bool *fail)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*fail = true;
	return d;
}

/* "1.2 MiB" / "40.0 KiB" for messages; the returned string lives in `out`. */
static const char *human(size_t bytes, char out[32])
{
	if (bytes >= ((size_t)1 << 20))
		snprintf(out, 32, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
	else
		snprintf(out, 32, "%.1f KiB", (double)bytes / 1024.0);
	return out;
}

/* ---- queue (callers hold the lock) -------------------------------------------------------- */

static void item_free(struct item *it)
{
	if (!it)
		return;
	buf_release(&it->tags);
	buf_release(&it->raw);
	buf_release(&it->z);
	buf_release(&it->file_prefix);
	buf_release(&it->spool_path);
	free(it);
}

static void queue_append(struct exporter *e, struct item *it)
{
	it->prev = e->tail;
	it->next = NULL;
	if (e->tail)
		e->tail->next = it;
	else
		e->head = it;
	e->tail = it;
	e->queued++;
	e->queued_bytes += it->bytes;
}

static void queue_remove(struct exporter *e, struct item *it)
{
	if (it->prev)
		it->prev->next = it->next;
	else
		e->head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		e->tail = it->prev;
	e->queued--;
	e->queued_bytes -= it->bytes;
}

static void item_resize(struct exporter *e, struct item *it, size_t bytes)
{
	e->queued_bytes = e->queued_bytes - it->bytes + bytes;
	it->bytes = bytes;
}

/* Removes an item for good: its spool file goes too. */
static void item_discard(struct exporter *e, struct item *it)
{
	queue_remove(e, it);
	if (it->spool_path.len > 0 && unlink(it->spool_path.data) < 0 && errno != ENOENT)
		LOG_WARN("export: cannot remove spool file '%s': %s", it->spool_path.data,
			 strerror(errno));
	item_free(it);
}

/* Drops the oldest item the thread is not working on. False if there is none. */
static bool drop_oldest(struct exporter *e)
{
	struct item *it = e->head;

	while (it && it->busy)
		it = it->next;
	if (!it)
		return false;
	item_discard(e, it);
	e->stats.dropped++;
	e->drops_in_episode++;
	if (!e->drop_episode) {
		e->drop_episode = true;
		char cap[32];
		LOG_WARN("export: spool full (%s cap, %zu profiles queued): dropping the "
			 "oldest profiles%s%s; %" PRIu64 " dropped so far",
			 human(e->spool_max, cap), e->queued + 1,
			 e->upload ? " because the agent is unreachable or slow at " : "",
			 e->upload ? e->where : "", e->stats.dropped);
	}
	return true;
}

/* ---- files ------------------------------------------------------------------------------ */

static int write_profile_file(struct exporter *e, struct item *it)
{
	struct buf gz = BUF_INIT, path = BUF_INIT;
	time_t secs = (time_t)(it->end_ns / 1000000000);
	char stamp[32];
	struct tm tm;
	int ret;

	if (mkdir(e->output_dir, 0755) < 0 && errno != EEXIST) {
		ret = -errno;
		LOG_WARN("export: cannot create output directory '%s': %s", e->output_dir,
			 strerror(errno));
		return ret;
	}
	if (!gmtime_r(&secs, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return -EINVAL;
	ret = pprof_compress(PPROF_COMPRESSION_GZIP, 0, (const uint8_t *)it->raw.data, it->raw.len,
			     &gz);
	if (ret < 0) {
		LOG_WARN("export: cannot compress profile %" PRIu64 ": %s", it->seq,
			 strerror(-ret));
		goto out;
	}
	ret = buf_printf(&path, "%s/%s-%s-%06" PRIu64 ".pprof", e->output_dir,
			 it->file_prefix.len ? it->file_prefix.data : "kiln", stamp, it->seq);
	if (ret < 0)
		goto out;
	ret = buf_write_file(&gz, path.data);
	if (ret < 0)
		LOG_WARN("export: cannot write '%s': %s", path.data, strerror(-ret));
	else
		LOG_DEBUG("export: wrote %s (%zu bytes)", path.data, gz.len);
out:
	buf_release(&path);
	buf_release(&gz);
	return ret;
}

/* ---- upload ----------------------------------------------------------------------------- */

static int compress_for_upload(struct exporter *e, struct item *it)
{
	if (it->z.len > 0)
		return 0;
	int ret = pprof_compress(e->comp, 1, (const uint8_t *)it->raw.data, it->raw.len, &it->z);
	if (ret < 0)
		LOG_WARN("export: cannot compress profile %" PRIu64 ": %s", it->seq,
			 strerror(-ret));
	return ret;
}

/* Ends a transfer that would outlast exporter_free's timeout (a stalled agent). */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct exporter *e = ctx;
	return mono_ns() > __atomic_load_n(&e->abort_at, __ATOMIC_RELAXED);
}

static size_t on_reply(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct buf *reply = ctx;
	size_t n = size * nmemb;

	if (reply->len < REPLY_SNIPPET)
		buf_append(reply, data,
			   n < REPLY_SNIPPET - reply->len ? n : REPLY_SNIPPET - reply->len);
	return n;
}

/* One line of printable text from an agent's reply, for a log message. */
static void sanitize(struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if ((unsigned char)b->data[i] < ' ' || (unsigned char)b->data[i] >= 0x7f)
			b->data[i] = ' ';
}

static struct curl_slist *add_header(const struct curl_api *cu, struct curl_slist *h,
				      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static struct curl_slist *add_header(const struct curl_api *cu, struct curl_slist *h,
				      const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!h)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	struct curl_slist *n = cu->slist_append(h, line);
	if (!n)
		cu->slist_free_all(h);
	return n;
}

/*
 * Posts one item. `why` receives a short description of a failure ("connection refused",
 * "HTTP 503: …") and *status the HTTP status (0 without an answer).
 */
static enum post_result post(struct exporter *e, struct item *it, long timeout_ms, struct buf *why,
			     long *status)
{
	struct buf event = BUF_INIT, body = BUF_INIT, reply = BUF_INIT;
	const struct curl_api *cu = e->curl_api;
	struct curl_slist *h = NULL;
	char boundary[17];
	enum post_result res = POST_RETRY;
	int ret;

	*status = 0;
	struct agent_event ev = {
	    .start_ns = it->start_ns,
	    .end_ns = it->end_ns,
	    .family = e->family,
	    .tags_profiler = it->tags.data,
	    .info_json = e->info_json,
	};
	ret = agent_event_json(&ev, &event);
	for (int tries = 0; ret == 0 && tries < 8; tries++) {
		agent_boundary(boundary);
		buf_reset(&body);
		ret = agent_multipart(boundary, &event, (const uint8_t *)it->z.data, it->z.len,
				      &body);
		if (ret != -EAGAIN)
			break;
	}
	if (ret < 0) {
		buf_printf(why, "cannot build the request: %s", strerror(-ret));
		res = POST_REJECTED;
		goto out;
	}

	h = cu->slist_append(NULL, "Expect:");
	h = add_header(cu, h, "Content-Type: multipart/form-data; boundary=%s", boundary);
	h = add_header(cu, h, "DD-EVP-ORIGIN: %s", e->origin);
	h = add_header(cu, h, "DD-EVP-ORIGIN-VERSION: %s", KILN_VERSION);
	if (e->api_key)
		h = add_header(cu, h, "DD-API-KEY: %s", e->api_key);
	if (e->external_env)
		h = add_header(cu, h, "Datadog-External-Env: %s", e->external_env);
	if (e->container_id[0]) {
		h = add_header(cu, h, "Datadog-Container-ID: %s", e->container_id);
		h = add_header(cu, h, "Datadog-Entity-ID: ci-%s", e->container_id);
	} else if (e->cgroup_inode) {
		h = add_header(cu, h, "Datadog-Entity-ID: in-%" PRIu64, e->cgroup_inode);
	}
	if (!h) {
		buf_puts(why, "out of memory");
		goto out;
	}

	CURL *c = e->curl;
	cu->easy_reset(c);
	cu->easy_setopt(c, CURLOPT_URL, e->ep.url);
	if (e->ep.unix_path[0]) {
		cu->easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, e->ep.unix_path);
		cu->easy_setopt(c, CURLOPT_NOPROXY, "*");
	}
	cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(c, CURLOPT_POST, 1L);
	cu->easy_setopt(c, CURLOPT_POSTFIELDS, body.data);
	cu->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
	cu->easy_setopt(c, CURLOPT_HTTPHEADER, h);
	cu->easy_setopt(c, CURLOPT_USERAGENT, "kiln/" KILN_VERSION);
	cu->easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	cu->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_reply);
	cu->easy_setopt(c, CURLOPT_WRITEDATA, &reply);
	cu->easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	cu->easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	cu->easy_setopt(c, CURLOPT_XFERINFODATA, e);
	/* Uploads are a minute apart: a fresh connection each time avoids racing the agent's
	 * idle timeout on a reused one (libdatadog sends Connection: close for the same reason). */
	cu->easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);

	CURLcode cc = cu->easy_perform(c);
	if (cc != CURLE_OK) {
		buf_puts(why, cu->easy_strerror(cc));
		goto out;
	}
	cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (*status >= 200 && *status < 300) {
		res = POST_OK;
		goto out;
	}
	sanitize(&reply);
	buf_printf(why, "HTTP %ld%s%s", *status, reply.len ? ": " : "",
		   reply.len ? reply.data : "");
	if (*status == 408 || *status == 429 || *status >= 500)
		res = POST_RETRY;
	else
		res = POST_REJECTED;
out:
	cu->slist_free_all(h);
	buf_release(&reply);
	buf_release(&body);
	buf_release(&event);
	return res;
}

static const char *reject_hint(long status)
{
	switch (status) {
	case 400:
		return " (malformed request or bad API key?)";
	case 403:
		return " (is DD_API_KEY valid?)";
	case 404:
		return " (the agent does not accept profiles: Datadog agent >= 7.20 or kiln serve "
		       "needed)";
	case 413:
		return " (profile too large for the agent)";
	default:
		return "";
	}
}

/* Next retry delay: uniformly in [backoff/2, backoff], then the backoff doubles. */
static int64_t next_delay_ns(struct exporter *e)
{
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)mono_ns();
	int64_t b = e->backoff_ms;
	int64_t d = b / 2 + (int64_t)(r % (uint32_t)(b / 2 + 1));
	e->backoff_ms =
	    e->backoff_ms >= e->backoff_max_ms / 2 ? e->backoff_max_ms : e->backoff_ms * 2;
	return d * 1000000;
}

static struct item *first_with(struct exporter *e, bool file)
{
	for (struct item *it = e->head; it; it = it->next)
		if (!it->busy && (file ? it->want_file : it->want_upload))
			return it;
	return NULL;
}

static void wait_until(struct exporter *e, int64_t when)
{
	struct timespec now_rt;
	int64_t delta = when - mono_ns();

	if (delta <= 0)
		return;
	/* The condition variable uses CLOCK_MONOTONIC (set in exporter_new). */
	clock_gettime(CLOCK_MONOTONIC, &now_rt);
	int64_t t = (int64_t)now_rt.tv_sec * 1000000000 + now_rt.tv_nsec + delta;
	struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
	pthread_cond_timedwait(&e->cond, &e->lock, &ts);
}

static void handle_result(struct exporter *e, struct item *it, enum post_result res, long status,
			  const struct buf *why)
{
	switch (res) {
	case POST_OK:
		e->stats.uploaded++;
		if (e->outage)
			LOG_NOTICE("export: the agent at %s is reachable again; delivering %zu "
				   "queued profiles",
				   e->where, e->queued - 1);
		e->outage = false;
		e->drop_episode = false;
		e->drops_in_episode = 0;
		e->backoff_ms = e->backoff_min_ms;
		e->next_attempt = 0;
		LOG_DEBUG("export: uploaded profile %" PRIu64 " (%zu bytes)", it->seq, it->z.len);
		item_discard(e, it);
		break;
	case POST_REJECTED:
		e->stats.dropped++;
		e->stats.rejected++;
		LOG_WARN("export: the agent at %s rejected a profile: %s%s; dropped it", e->where,
			 why->data ? why->data : "", reject_hint(status));
		item_discard(e, it);
		break;
	case POST_RETRY:
		e->stats.retried++;
		if (!e->outage) {
			char size[32];
			human(e->queued_bytes, size);
			e->outage = true;
			if (status == 0)
				LOG_WARN(
				    "export: cannot reach the agent at %s: %s; profiles are kept "
				    "(%zu queued, %s) and retried; is the Datadog agent "
				    "(or kiln serve) running? set DD_TRACE_AGENT_URL / -U",
				    e->where, why->data ? why->data : "", e->queued, size);
			else
				LOG_WARN("export: the agent at %s answered %s; profiles are kept "
					 "(%zu queued, %s) and retried",
					 e->where, why->data ? why->data : "", e->queued, size);
		}
		e->next_attempt = mono_ns() + next_delay_ns(e);
		break;
	}
}

/*
 * While the agent is away, prepare what waits: compress it (the memory spool then holds ~5x
 * more) and, with a spool directory, persist it at once so that even a crash of the
 * profiler during the outage loses nothing. Does one item per call (lock held on entry and
 * exit); false when nothing was left to do.
 */
static bool tend_waiting(struct exporter *e)
{
	struct item *c;

	for (c = e->head; c; c = c->next) {
		if (c->busy || !c->want_upload || c->want_file)
			continue;
		if (c->z.len == 0 || (e->spool_dir && c->spool_path.len == 0 && !c->spool_failed))
			break;
	}
	if (!c)
		return false;
	c->busy = true;
	pthread_mutex_unlock(&e->lock);
	int ret = compress_for_upload(e, c);
	if (ret == 0 && e->spool_dir && c->spool_path.len == 0) {
		struct spool_entry se = {c->start_ns, c->end_ns, c->tags, c->z};
		if (spool_write(e->spool_dir, c->seq, &se, &c->spool_path) < 0) {
			buf_reset(&c->spool_path);
			c->spool_failed = true;
		}
	}
	pthread_mutex_lock(&e->lock);
	c->busy = false;
	if (ret == 0) {
		if (c->raw.len > 0) {
			buf_release(&c->raw);
			item_resize(e, c, c->z.len + c->tags.len);
		}
	} else {
		e->stats.dropped++;
		item_discard(e, c);
	}
	return true;
}

static void *exporter_thread(void *arg)
{
	struct exporter *e = arg;
	struct buf why = BUF_INIT;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		int64_t now = mono_ns();
		if (e->stopping && now >= e->deadline)
			break;

		struct item *it = first_with(e, true);
		if (it) {
			it->busy = true;
			pthread_mutex_unlock(&e->lock);
			int ret = write_profile_file(e, it);
			pthread_mutex_lock(&e->lock);
			it->busy = false;
			it->want_file = false;
			if (ret == 0)
				e->stats.files_written++;
			if (!it->want_upload)
				item_discard(e, it);
			continue;
		}

		it = e->upload ? first_with(e, false) : NULL;
		if (!it) {
			if (e->stopping)
				break;
			pthread_cond_wait(&e->cond, &e->lock);
			continue;
		}
		if (e->next_attempt > now) {
			if (tend_waiting(e))
				continue;
			wait_until(e, e->stopping && e->deadline < e->next_attempt
					  ? e->deadline
					  : e->next_attempt);
			continue;
		}

		long timeout_ms = e->timeout_ms;
		if (e->stopping && (e->deadline - now) / 1000000 < timeout_ms)
			timeout_ms = (long)((e->deadline - now) / 1000000) + 1;
		it->busy = true;
		pthread_mutex_unlock(&e->lock);

		enum post_result res = POST_REJECTED;
		long status = 0;
		buf_reset(&why);
		if (compress_for_upload(e, it) == 0)
			res = post(e, it, timeout_ms, &why, &status);
		else
			buf_puts(&why, "cannot compress");

		pthread_mutex_lock(&e->lock);
		it->busy = false;
		if (it->z.len > 0 && !it->want_file && it->raw.len > 0) {
			buf_release(&it->raw);
			item_resize(e, it, it->z.len + it->tags.len);
		}
		handle_result(e, it, res, status, &why);
	}
	pthread_mutex_unlock(&e->lock);
	buf_release(&why);
	return NULL;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void parse_backoff_env(struct exporter *e)
{
	const char *s = getenv("KILN_EXPORT_BACKOFF_MS");
	char *end;

	if (!s || !*s)
		return;
	long min = strtol(s, &end, 10);
	long max = min * 16;
	if (*end == ',')
		max = strtol(end + 1, &end, 10);
	if (*end || min <= 0 || max < min || max > 3600000) {
		LOG_WARN("export: ignoring KILN_EXPORT_BACKOFF_MS='%s' (want \"min[,max]\" in ms)",
			 s);
		return;
	}
	e->backoff_min_ms = (int)min;
	e->backoff_max_ms = (int)max;
}

static int build_tags(struct exporter *e, const struct export_config *cfg)
{
	struct buf t = BUF_INIT;
	char uuid[37];
	int ret = agent_tags_append(&t, cfg->tags);

	if (ret == 0 && !agent_tags_has_key(t.data, "language"))
		ret = agent_tags_append(&t, "language:native");
	if (ret == 0 && !agent_tags_has_key(t.data, "profiler_version"))
		ret = agent_tags_append(&t, "profiler_version:" KILN_VERSION);
	if (ret == 0 && !agent_tags_has_key(t.data, "runtime-id")) {
		if (cfg->runtime_id && *cfg->runtime_id) {
			ret = buf_printf(&t, "%sruntime-id:%s", t.len ? "," : "", cfg->runtime_id);
		} else {
			agent_uuid(uuid);
			ret = buf_printf(&t, "%sruntime-id:%s", t.len ? "," : "", uuid);
		}
	}
	if (ret == 0 && !t.data)
		ret = buf_puts(&t, "");
	if (ret < 0) {
		buf_release(&t);
		return ret;
	}
	e->tags = buf_detach(&t, NULL);
	return e->tags ? 0 : -ENOMEM;
}

static void read_container_id(struct exporter *e)
{
	struct buf cg = BUF_INIT;

	char dir[512];
	struct stat st;

	if (buf_read_file(&cg, "/proc/self/cgroup", 1 << 16) == 0 && cg.len > 0 &&
	    agent_container_id(cg.data, cg.len, e->container_id, sizeof(e->container_id)) == 0 &&
	    agent_cgroup_dir(cg.data, cg.len, dir, sizeof(dir)) > 0 && stat(dir, &st) == 0)
		e->cgroup_inode = (uint64_t)st.st_ino;
	buf_release(&cg);
}

/* Queues what a previous exporter left in the spool directory. */
static void load_spool(struct exporter *e)
{
	struct buf paths = BUF_INIT, data = BUF_INIT, err = BUF_INIT;
	size_t n = 0;
	int ret = spool_list(e->spool_dir, &paths, &n);

	if (ret < 0) {
		LOG_WARN("export: cannot list spool directory '%s': %s", e->spool_dir,
			 strerror(-ret));
		return;
	}
	const char *p = paths.data;
	size_t loaded = 0;
	for (size_t i = 0; i < n; i++, p += strlen(p) + 1) {
		struct spool_entry se = {.tags = BUF_INIT, .profile = BUF_INIT};
		buf_reset(&data);
		buf_reset(&err);
		ret = buf_read_file(&data, p, 0);
		if (ret == 0)
			ret = spool_parse((const uint8_t *)data.data, data.len, &se, &err);
		struct item *it = ret == 0 ? calloc(1, sizeof(*it)) : NULL;
		if (!it || buf_puts(&it->spool_path, p) < 0) {
			if (ret == -EINVAL) {
				LOG_WARN("export: ignoring spool file '%s': %s", p, err.data);
			} else {
				LOG_WARN("export: cannot load spool file '%s': %s", p,
					 strerror(ret < 0 ? -ret : ENOMEM));
			}
			item_free(it);
			buf_release(&se.tags);
			buf_release(&se.profile);
			continue;
		}
		it->seq = e->seq++;
		it->start_ns = se.start_ns;
		it->end_ns = se.end_ns;
		it->tags = se.tags;
		it->z = se.profile;
		it->want_upload = true;
		it->bytes = it->z.len + it->tags.len;
		while (e->queued_bytes + it->bytes > e->spool_max && drop_oldest(e))
			;
		queue_append(e, it);
		loaded++;
	}
	if (loaded)
		LOG_INFO("export: %zu undelivered profiles from '%s' queued for upload", loaded,
			 e->spool_dir);
	buf_release(&err);
	buf_release(&data);
	buf_release(&paths);
}

struct exporter *exporter_new(const struct export_config *cfg)
{
	struct buf err = BUF_INIT;
	pthread_condattr_t ca;
	bool fail = false;
	int ret;

	struct exporter *e = calloc(1, sizeof(*e));
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	e->upload = cfg->url != NULL;
	if (e->upload) {
		ret = agent_endpoint_parse(cfg->url, &e->ep, &err);
		if (ret < 0) {
			LOG_ERROR("export: bad agent URL: %s", err.data);
			goto free_e;
		}
		buf_reset(&err);
		e->curl_api = curl_api_get(&err);
		if (!e->curl_api) {
			LOG_ERROR("export: %s", err.data);
			ret = -EIO;
			goto free_e;
		}
		e->curl = e->curl_api->easy_init();
		if (!e->curl) {
			LOG_ERROR("export: cannot create a libcurl handle");
			ret = -ENOMEM;
			goto free_e;
		}
		if (e->ep.unix_path[0]) {
			size_t n = strlen(e->ep.unix_path) + sizeof("unix://");
			e->where = malloc(n);
			if (e->where)
				snprintf(e->where, n, "unix://%s", e->ep.unix_path);
		} else {
			e->where = strdup(e->ep.url);
		}
		fail |= !e->where;
	}
	e->comp = PPROF_COMPRESSION_ZSTD;
	if (cfg->compression && strcmp(cfg->compression, "gzip") == 0) {
		e->comp = PPROF_COMPRESSION_GZIP;
	} else if (cfg->compression && *cfg->compression && strcmp(cfg->compression, "zstd")) {
		LOG_ERROR("export: unknown compression '%s' (use zstd or gzip)", cfg->compression);
		ret = -EINVAL;
		goto free_e;
	}
	e->family = strdup(cfg->family && *cfg->family ? cfg->family : "native");
	e->origin = strdup(cfg->origin && *cfg->origin ? cfg->origin : "kiln");
	fail |= !e->family || !e->origin;
	e->api_key = cfg->api_key && *cfg->api_key ? dup_or_null(cfg->api_key, &fail) : NULL;
	e->output_dir =
	    cfg->output_dir && *cfg->output_dir ? dup_or_null(cfg->output_dir, &fail) : NULL;
	e->spool_dir =
	    cfg->spool_dir && *cfg->spool_dir ? dup_or_null(cfg->spool_dir, &fail) : NULL;
	e->info_json = dup_or_null(cfg->info_json, &fail);
	const char *xenv = getenv("DD_EXTERNAL_ENV");
	e->external_env = xenv && *xenv && strlen(xenv) < 256 && !strpbrk(xenv, "\r\n")
			      ? dup_or_null(xenv, &fail)
			      : NULL;
	if (fail || build_tags(e, cfg) < 0) {
		ret = -ENOMEM;
		goto free_e;
	}
	e->spool_max = cfg->spool_max_bytes ? cfg->spool_max_bytes : DEFAULT_SPOOL_MAX;
	e->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
	e->backoff_min_ms = cfg->backoff_min_ms > 0 ? cfg->backoff_min_ms : DEFAULT_BACKOFF_MIN_MS;
	e->backoff_max_ms = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
	parse_backoff_env(e);
	if (e->backoff_max_ms < e->backoff_min_ms)
		e->backoff_max_ms = e->backoff_min_ms;
	e->backoff_ms = e->backoff_min_ms;
	e->abort_at = INT64_MAX;
	read_container_id(e);

	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cond, &ca);
	pthread_condattr_destroy(&ca);

	if (e->spool_dir && e->upload)
		load_spool(e);

	ret = -pthread_create(&e->thread, NULL, exporter_thread, e);
	if (ret < 0) {
		LOG_ERROR("export: cannot start the upload thread: %s", strerror(-ret));
		goto free_e;
	}
	e->thread_started = true;
	buf_release(&err);
	return e;

free_e:
	buf_release(&err);
	exporter_free(e, 0);
	errno = -ret;
	return NULL;
}

int exporter_submit(struct exporter *e, const struct export_profile *p)
{
	int ret = -ENOMEM;

	if (!e || !p || !p->pprof || p->pprof_len == 0)
		return -EINVAL;
	if (!e->upload && !e->output_dir)
		return 0;
	struct item *it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->start_ns = p->start_ns;
	it->end_ns = p->end_ns;
	if (buf_append(&it->raw, p->pprof, p->pprof_len) < 0 || buf_puts(&it->tags, e->tags) < 0 ||
	    agent_tags_append(&it->tags, p->extra_tags) < 0 ||
	    (p->file_prefix && buf_puts(&it->file_prefix, p->file_prefix) < 0))
		goto free_item;
	it->want_file = e->output_dir != NULL;
	it->want_upload = e->upload;
	it->bytes = it->raw.len + it->tags.len;

	pthread_mutex_lock(&e->lock);
	if (e->stopping) {
		pthread_mutex_unlock(&e->lock);
		ret = -ESHUTDOWN;
		goto free_item;
	}
	it->seq = e->seq++;
	e->stats.submitted++;
	if (it->bytes > e->spool_max) {
		e->stats.dropped++;
		pthread_mutex_unlock(&e->lock);
		char a[32], b[32];
		LOG_WARN("export: a profile of %s exceeds the whole spool (%s); dropped",
			 human(it->bytes, a), human(e->spool_max, b));
		ret = -EFBIG;
		goto free_item;
	}
	while (e->queued_bytes + it->bytes > e->spool_max && drop_oldest(e))
		;
	queue_append(e, it);
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
	return 0;

free_item:
	item_free(it);
	return ret;
}

void exporter_stats(struct exporter *e, struct export_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	*out = e->stats;
	out->queued = e->queued;
	out->queued_bytes = e->queued_bytes;
	pthread_mutex_unlock(&e->lock);
}

/* After the thread stopped: files still owed are written, undelivered uploads spooled. */
static void settle_leftovers(struct exporter *e)
{
	uint64_t lost = 0, spooled = 0;

	while (e->head) {
		struct item *it = e->head;
		if (it->want_file && write_profile_file(e, it) == 0)
			e->stats.files_written++;
		if (it->want_upload && it->spool_path.len == 0) {
			struct spool_entry se = {it->start_ns, it->end_ns, it->tags, it->z};
			if (e->spool_dir && compress_for_upload(e, it) == 0) {
				se.profile = it->z;
				if (spool_write(e->spool_dir, it->seq, &se, NULL) == 0)
					spooled++;
				else
					lost++;
			} else {
				lost++;
			}
		} else if (it->want_upload) {
			spooled++; /* already on disk from an earlier run */
		}
		queue_remove(e, it);
		item_free(it);
	}
	e->stats.spooled += spooled;
	e->stats.dropped += lost;
	if (spooled)
		LOG_NOTICE("export: %" PRIu64
			   " undelivered profiles kept in '%s' for the next start",
			   spooled, e->spool_dir);
	if (lost)
		LOG_WARN(
		    "export: %" PRIu64 " profiles could not be delivered to %s before exit and "
		    "were dropped%s",
		    lost, e->where ? e->where : "the agent",
		    e->spool_dir ? "" : " (set a spool directory to keep them across restarts)");
}

void exporter_free(struct exporter *e, int timeout_ms)
{
	if (!e)
		return;
	if (e->thread_started) {
		pthread_mutex_lock(&e->lock);
		e->stopping = true;
		e->deadline = mono_ns() + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;
		__atomic_store_n(&e->abort_at, e->deadline, __ATOMIC_RELAXED);
		e->next_attempt = 0; /* one last attempt now rather than after the backoff */
		pthread_cond_broadcast(&e->cond);
		pthread_mutex_unlock(&e->lock);
		pthread_join(e->thread, NULL);
		settle_leftovers(e);
		pthread_cond_destroy(&e->cond);
		pthread_mutex_destroy(&e->lock);
	}
	while (e->head) {
		struct item *it = e->head;
		queue_remove(e, it);
		item_free(it);
	}
	if (e->curl)
		e->curl_api->easy_cleanup(e->curl);
	free(e->tags);
	free(e->family);
	free(e->origin);
	free(e->api_key);
	free(e->output_dir);
	free(e->spool_dir);
	free(e->info_json);
	free(e->external_env);
	free(e->where);
	free(e);
}
