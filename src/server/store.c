/*
 * store: picks the storage backend from the store spec, and runs retention (a background
 * thread deleting expired profiles in small batches, so intake never waits long on it).
 */
#include "server/store.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"
#include "server/store_sql.h"

#define EXPIRE_BATCH 200

struct store *store_open(const char *spec, struct buf *err)
{
	if (!spec || !*spec) {
		buf_puts(err, "store: empty store spec");
		errno = EINVAL;
		return NULL;
	}
	if (!strncmp(spec, "postgres://", 11) || !strncmp(spec, "postgresql://", 13))
		return store_pg_open(spec, err);
	if (!strncmp(spec, "sqlite:", 7))
		spec += 7;
	return store_sqlite_open(spec, err);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

int64_t store_expire_all(struct store *s, int64_t before_ns)
{
	int64_t total = 0;
	for (;;) {
		size_t n = 0;
		int rc = s->ops->expire(s, before_ns, EXPIRE_BATCH, &n);
		if (rc < 0)
			return rc;
		total += (int64_t)n;
		if (n < EXPIRE_BATCH)
			return total;
	}
}

int store_parse_duration(const char *s, int64_t *ns)
{
	char *end;
	if (!s || !*s)
		return -EINVAL;
	double v = strtod(s, &end);
	if (end == s || !(v >= 0) || isinf(v)) /* also rejects nan */
		return -EINVAL;
	double mul;
	if (!strcmp(end, "s") || !*end)
		mul = 1;
	else if (!strcmp(end, "m"))
		mul = 60;
	else if (!strcmp(end, "h"))
		mul = 3600;
	else if (!strcmp(end, "d"))
		mul = 86400;
	else if (!strcmp(end, "w"))
		mul = 7 * 86400;
	else
		return -EINVAL;
	double r = v * mul * 1e9;
	if (!(r <= 9e18))
		return -EINVAL;
	*ns = (int64_t)r;
	return 0;
}

struct store_retention {
	struct store *store;
	int64_t keep_ns;
	int interval_s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *retention_thread(void *arg)
{
	struct store_retention *r = arg;
	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		pthread_mutex_unlock(&r->lock);
		int64_t n = store_expire_all(r->store, now_ns() - r->keep_ns);
		if (n > 0)
			LOG_INFO("store: retention deleted %lld profiles", (long long)n);
		else if (n < 0)
			LOG_WARN("store: retention failed (%s); retrying later", strerror((int)-n));
		pthread_mutex_lock(&r->lock);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += r->interval_s;
		while (!r->stop && pthread_cond_timedwait(&r->cond, &r->lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

struct store_retention *store_retention_start(struct store *s, int64_t keep_ns, int interval_s)
{
	struct store_retention *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->store = s;
	r->keep_ns = keep_ns;
	r->interval_s = interval_s > 0 ? interval_s : 60;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	int rc = pthread_create(&r->thread, NULL, retention_thread, r);
	if (rc) {
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->cond);
		free(r);
		errno = rc;
		return NULL;
	}
	return r;
}

void store_retention_stop(struct store_retention *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r);
}
