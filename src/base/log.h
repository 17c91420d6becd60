/*
 * log: leveled logging with the targets ddprof users know from --log_mode.
 *
 * Library code calls log_msg()/the LOG_* macros; every message goes through one callback
 * (log_set_callback), so a library user can route kiln's messages into their own logging.
 * The default callback writes to the target chosen with log_set_mode():
 *   "stdout", "stderr", "syslog", "disabled", or any other value = a file path (append).
 * Messages read "subject: what happened: why" (see STYLE.md), one line each, no newline
 * needed. Thread-safe. (Do not include <syslog.h> beside this header: its LOG_DEBUG,
 * LOG_INFO and LOG_NOTICE macros collide with these.)
 */
#ifndef KILN_BASE_LOG_H
#define KILN_BASE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_NONE,
};

typedef void (*log_callback)(enum log_level level, const char *msg, void *ctx);

/* Parses "debug", "informational"/"info", "notice", "warn"/"warning", "error". -EINVAL otherwise. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
static inline bool log_enabled(enum log_level level)
{
	return level >= log_get_level();
}
/* Chooses the default callback's target. 0 or a negative errno (file cannot be opened). */
int log_set_mode(const char *mode);
/* Replaces the callback (NULL restores the default). */
void log_set_callback(log_callback cb, void *ctx);
/* Prefix for the default targets, e.g. "kiln" gives "kiln: warn: …". */
void log_set_ident(const char *ident);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define LOG_DEBUG(...)                                                                             \
	do {                                                                                       \
		if (log_enabled(LOG_LEVEL_DEBUG))                                                  \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);                                     \
	} while (0)
#define LOG_INFO(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define LOG_NOTICE(...) log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define LOG_WARN(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define LOG_ERROR(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
