/*
 * kiln.c: libkiln, the in-process API (include/kiln.h) that starts a kiln profiler for the
 * calling process.
 *
 * Design: the profiler is `kiln run --pid <getpid()>` in a child process started with
 * posix_spawn (fork + exec done safely in a threaded program: nothing but exec runs in the
 * child). Everything the child needs (binary path, argv) is prepared before the spawn.
 * Stopping sends SIGTERM (the profiler flushes its last period and exits) and polls
 * waitpid every 10 ms until the timeout; a profiler still flushing at the timeout is left to
 * finish on its own and is reaped by the next start or stop. This file depends on libc only,
 * so libkiln.a and libkiln.so carry nothing but it; only kiln_* symbols are exported.
 */
#include "kiln.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KILN_API __attribute__((visibility("default")))

#ifndef KILN_INSTALL_BIN
#define KILN_INSTALL_BIN "/usr/local/bin/kiln"
#endif

extern char **environ;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t profiler_pid; /* 0: not started */
static pid_t owner_pid;	   /* the process that started it (a forked child does not own it) */
static int atexit_done;

static int executable(const char *path)
{
	return path && *path && access(path, X_OK) == 0;
}

/* Resolves the kiln binary into out. 0 or -ENOENT. */
static int find_profiler(const struct kiln_options *o, char *out, size_t outsz)
{
	const char *env = getenv("KILN_PROFILER");
	if (env && *env) {
		if (!executable(env))
			return -ENOENT; /* an explicit choice that does not work: say so */
		snprintf(out, outsz, "%s", env);
		return 0;
	}
	if (o && executable(o->profiler_path)) {
		snprintf(out, outsz, "%s", o->profiler_path);
		return 0;
	}
	if (executable(KILN_INSTALL_BIN)) {
		snprintf(out, outsz, "%s", KILN_INSTALL_BIN);
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		return -ENOENT;
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");
		if (n && (size_t)snprintf(out, outsz, "%.*s/kiln", (int)n, p) < outsz &&
		    executable(out))
			return 0;
		p += n;
		if (*p == ':')
			p++;
	}
	return -ENOENT;
}

/* Reaps an exited profiler; true when there is none (any more). Called with lock held. */
static int reap(int options)
{
	if (!profiler_pid)
		return 1;
	int st;
	pid_t r = waitpid(profiler_pid, &st, options);
	if (r == profiler_pid || (r < 0 && errno == ECHILD)) {
		profiler_pid = 0;
		return 1;
	}
	return 0;
}

static void stop_at_exit(void)
{
	kiln_stop_profiling(0);
}

KILN_API int kiln_start_profiling(void)
{
	return kiln_start_profiling_with(NULL);
}

KILN_API int kiln_start_profiling_with(const struct kiln_options *o)
{
	if (o && o->version != KILN_OPTIONS_VERSION)
		return -EINVAL;
	char bin[4096], pid[24], period[32];
	char *argv[24];
	int argc = 0, err = 0;

	pthread_mutex_lock(&lock);
	if (profiler_pid && owner_pid != getpid()) {
		profiler_pid = 0; /* inherited across fork: the parent's, not ours */
	}
	reap(WNOHANG);
	if (profiler_pid)
		goto unlock; /* already running */
	err = find_profiler(o, bin, sizeof(bin));
	if (err)
		goto unlock;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	argv[argc++] = bin;
	argv[argc++] = "run";
	argv[argc++] = "--pid";
	argv[argc++] = pid;
#define OPT(flag, field)                                                                           \
	if (o && o->field && *o->field) {                                                          \
		argv[argc++] = flag;                                                               \
		argv[argc++] = (char *)o->field;                                                   \
	}
	OPT("--service", service)
	OPT("--environment", env)
	OPT("--service_version", service_version)
	OPT("--tags", tags)
	OPT("--url", url)
	OPT("--output-dir", output_dir)
#undef OPT
	if (o && o->upload_period_s > 0) {
		snprintf(period, sizeof(period), "%g", o->upload_period_s);
		argv[argc++] = "--upload_period";
		argv[argc++] = period;
	}
	argv[argc] = NULL;

	posix_spawnattr_t attr;
	posix_spawn_file_actions_t fa;
	sigset_t none, deflt;
	sigemptyset(&none);
	sigemptyset(&deflt);
	sigaddset(&deflt, SIGINT);
	sigaddset(&deflt, SIGTERM);
	sigaddset(&deflt, SIGHUP);
	sigaddset(&deflt, SIGPIPE);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &deflt);
	/* Its own session: a terminal's ^C reaches the application, which decides. */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					    POSIX_SPAWN_SETSID);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	pid_t child;
	int rc = posix_spawn(&child, bin, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc) {
		err = -rc;
		goto unlock;
	}
	profiler_pid = child;
	owner_pid = getpid();
	if (!atexit_done && atexit(stop_at_exit) == 0)
		atexit_done = 1;
unlock:
	pthread_mutex_unlock(&lock);
	return err;
}

KILN_API void kiln_stop_profiling(int timeout_ms)
{
	pthread_mutex_lock(&lock);
	if (!profiler_pid || owner_pid != getpid()) {
		profiler_pid = 0;
		goto unlock;
	}
	if (reap(WNOHANG))
		goto unlock;
	kill(profiler_pid, SIGTERM);
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		if (reap(WNOHANG))
			goto unlock;
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	reap(WNOHANG);
	/* Still flushing: it exits on its own; a later start or stop reaps it. */
unlock:
	pthread_mutex_unlock(&lock);
}
