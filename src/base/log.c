/*
 * log.c: the process-wide logger. One callback receives every message at or above the
 * level; the default callback writes "ident: level: message" lines to the chosen target.
 * A mutex keeps lines whole when several threads log; file targets are opened O_APPEND.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

/* syslog.h's priority macros share names with kiln's LOG_* macros; syslog priorities are
 * fixed numbers (RFC 5424), so drop the macros and use the numbers. */
#undef LOG_DEBUG
#undef LOG_INFO
#undef LOG_NOTICE
#include "base/log.h"

enum log_target { TARGET_STDERR, TARGET_STDOUT, TARGET_SYSLOG, TARGET_DISABLED, TARGET_FILE };

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum log_level log_level = LOG_LEVEL_WARN;
static enum log_target log_target = TARGET_STDERR;
static int log_fd = -1;
static log_callback log_cb;
static void *log_cb_ctx;
static char log_ident[32] = "kiln";

static const char *const level_names[] = {"debug", "info", "notice", "warn", "error", "none"};

const char *log_level_name(enum log_level level)
{
	return level <= LOG_LEVEL_NONE ? level_names[level] : "?";
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{"debug", LOG_LEVEL_DEBUG}, {"informational", LOG_LEVEL_INFO},
		{"info", LOG_LEVEL_INFO},   {"notice", LOG_LEVEL_NOTICE},
		{"warn", LOG_LEVEL_WARN},   {"warning", LOG_LEVEL_WARN},
		{"error", LOG_LEVEL_ERROR}, {"none", LOG_LEVEL_NONE},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(s, names[i].name)) {
			*out = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

void log_set_level(enum log_level level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

enum log_level log_get_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int log_set_mode(const char *mode)
{
	enum log_target target;
	int fd = -1;
	if (!strcmp(mode, "stdout"))
		target = TARGET_STDOUT;
	else if (!strcmp(mode, "stderr"))
		target = TARGET_STDERR;
	else if (!strcmp(mode, "syslog"))
		target = TARGET_SYSLOG;
	else if (!strcmp(mode, "disabled"))
		target = TARGET_DISABLED;
	else {
		fd = open(mode, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		target = TARGET_FILE;
	}
	pthread_mutex_lock(&log_lock);
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	log_target = target;
	if (target == TARGET_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_USER);
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void log_set_callback(log_callback cb, void *ctx)
{
	pthread_mutex_lock(&log_lock);
	log_cb = cb;
	log_cb_ctx = ctx;
	pthread_mutex_unlock(&log_lock);
}

void log_set_ident(const char *ident)
{
	pthread_mutex_lock(&log_lock);
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	pthread_mutex_unlock(&log_lock);
}

static void write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += n;
		len -= (size_t)n;
	}
}

/* Called with log_lock held. */
static void default_sink(enum log_level level, const char *msg)
{
	/* debug 7, info 6, notice 5, warning 4, err 3 */
	static const int syslog_prio[] = {7, 6, 5, 4, 3, 3};
	char line[4096];
	int n;
	switch (log_target) {
	case TARGET_DISABLED:
		return;
	case TARGET_SYSLOG:
		syslog(syslog_prio[level], "%s", msg);
		return;
	case TARGET_FILE: {
		struct timespec ts;
		struct tm tm;
		char when[32];
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%d]: %s: %s\n", when,
			     ts.tv_nsec / 1000000, log_ident, (int)getpid(), log_level_name(level),
			     msg);
		break;
	}
	default:
		n = snprintf(line, sizeof(line), "%s: %s: %s\n", log_ident, log_level_name(level),
			     msg);
		break;
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	int fd = log_target == TARGET_FILE ? log_fd
		 : log_target == TARGET_STDOUT ? STDOUT_FILENO
					       : STDERR_FILENO;
	write_all(fd, line, (size_t)n);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if (level >= LOG_LEVEL_NONE || !log_enabled(level))
		return;
	int saved = errno;
	char msg[3072];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t len = strlen(msg);
	while (len && msg[len - 1] == '\n')
		msg[--len] = '\0';
	pthread_mutex_lock(&log_lock);
	if (log_cb)
		log_cb(level, msg, log_cb_ctx);
	else
		default_sink(level, msg);
	pthread_mutex_unlock(&log_lock);
	errno = saved;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
