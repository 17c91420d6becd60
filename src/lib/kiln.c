/*
 * kiln.c: libkiln, the in-process API (include/kiln.h) that starts a kiln profiler for the
 * calling process.
 *
 * Design: the profiler is `kiln run --pid <getpid()>` in a child process started with
 * posix_spawn (fork + exec done safely in a threaded program: nothing but exec runs in the
 * child). Everything the child needs (binary path, argv, envp) is prepared before the spawn.
 * Stopping sends SIGTERM (the profiler flushes its last period and exits) and polls
 * waitpid every 10 ms until the timeout; a profiler still flushing at the timeout is left to
 * finish on its own and is reaped by the next start or stop. Only kiln_* symbols are
 * exported; the library depends on libc (and libdl) only.
 *
 * Readiness: the child gets the write end of a pipe as KILN_READY_FD and writes one byte
 * once its perf events are enabled (src/profiler/run.c); start waits for that byte, for EOF
 * (the profiler died during setup) or for the timeout. The read end stays open until the next
 * stop, so a profiler that gets ready late never writes into a closed pipe.
 *
 * Allocation profiling (library mode): libkiln_preload.so is dlopen'ed RTLD_LOCAL and
 * installed by GOT patching (src/preload/got.c) with a ring memfd created here; the profiler
 * gets the ring as `--alloc-ring FD`. The memfd is close-on-exec in this process and dup2'ed
 * into the child only, so the program's own children never see it. Any failure on that path
 * leaves CPU profiling on and is logged; a profiler that rejects --alloc-ring (an older kiln)
 * is started again without it. Stop uninstalls the hook: restoring the GOT slots gives the
 * program back exactly the calls it had, rather than leaving a pass-through detour in every
 * allocation for the rest of its life.
 */
#include "kiln.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "preload/ring.h"

#define KILN_API __attribute__((visibility("default")))

#ifndef KILN_INSTALL_BIN
#define KILN_INSTALL_BIN "/usr/local/bin/kiln"
#endif
#ifndef KILN_INSTALL_PRELOAD
#define KILN_INSTALL_PRELOAD "/usr/local/lib/libkiln_preload.so"
#endif

#define READY_TIMEOUT_MS 2000
#define RING_DATA_SIZE (4u << 20)
#define CHILD_READY_FD 3 /* the descriptors as the profiler sees them */
#define CHILD_RING_FD 4

extern char **environ;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t profiler_pid; /* 0: not started */
static pid_t owner_pid;	   /* the process that started it (a forked child does not own it) */
static int atexit_done;
static int ready_rd = -1;	    /* read end of the readiness pipe, until the next stop */
static int (*hook_uninstall)(void); /* set while the allocation hook is installed */

static kiln_log_fn log_fn;
static void *log_ctx;

static void say(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_fn) {
		log_fn(level, msg, log_ctx);
		return;
	}
	if (level <= 1) /* the default handler: libbpf-style, warnings and errors to stderr */
		dprintf(STDERR_FILENO, "kiln: %s: %s\n", level ? "warning" : "error", msg);
}

KILN_API void kiln_set_log(kiln_log_fn fn, void *ctx)
{
	pthread_mutex_lock(&lock);
	log_fn = fn;
	log_ctx = ctx;
	pthread_mutex_unlock(&lock);
}

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
static int reap(int options, int *status)
{
	if (!profiler_pid)
		return 1;
	int st = 0;
	pid_t r = waitpid(profiler_pid, &st, options);
	if (r == profiler_pid || (r < 0 && errno == ECHILD)) {
		if (status)
			*status = r == profiler_pid ? st : 0;
		profiler_pid = 0;
		return 1;
	}
	return 0;
}

static void stop_at_exit(void)
{
	kiln_stop_profiling(0);
}

/* --- allocation profiling configuration --------------------------------------------------- */

struct alloc_conf {
	int on, live;
	long long period;
};

/* The environment's choice, as ddprof reads it: a preset with allocations, or an sALLOC event
 * (`sALLOC period=N mode=l`, keys also `p`/`per`; events separated by ';'). */
static void alloc_from_env(struct alloc_conf *c)
{
	const char *preset = getenv("DD_PROFILING_NATIVE_PRESET");
	if (preset && *preset) {
		if (!strcmp(preset, "default") || !strcmp(preset, "alloc_only"))
			c->on = 1;
		else if (!strcmp(preset, "cpu_live_heap") || !strcmp(preset, "alloc_live_heap"))
			c->on = c->live = 1;
	}
	const char *ev = getenv("DD_PROFILING_NATIVE_EVENTS");
	for (const char *e = ev; e && *e;) {
		size_t n = strcspn(e, ";");
		if (n >= 6 && !strncmp(e, "sALLOC", 6)) {
			c->on = 1;
			for (size_t i = 6; i < n; i++) {
				const char *k = e + i;
				if (i > 0 && e[i - 1] != ' ' && e[i - 1] != ',')
					continue;
				if (!strncmp(k, "mode=", 5))
					for (size_t j = i + 5; j < n && e[j] != ' ' && e[j] != ',';
					     j++)
						if (e[j] == 'l')
							c->live = 1;
				const char *v = NULL;
				if (!strncmp(k, "period=", 7))
					v = k + 7;
				else if (!strncmp(k, "per=", 4))
					v = k + 4;
				else if (!strncmp(k, "p=", 2))
					v = k + 2;
				if (v) {
					long long p = strtoll(v, NULL, 10);
					if (p)
						c->period = p;
				}
			}
		}
		e += n;
		if (*e == ';')
			e++;
	}
}

/* Creates the ring memfd (close-on-exec: only the profiler gets it, through dup2), with the
 * configuration the hook reads from its header. The fd, or a negative errno. */
static int ring_create(const struct alloc_conf *c)
{
	int fd = memfd_create("kiln-alloc-ring", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = 0;
	if (ftruncate(fd, (off_t)ALLOC_RING_HEADER_SIZE + RING_DATA_SIZE) < 0) {
		err = -errno;
		goto close_fd;
	}
	struct alloc_ring_header *h =
	    mmap(NULL, ALLOC_RING_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED) {
		err = -errno;
		goto close_fd;
	}
	h->version = ALLOC_RING_VERSION;
	h->header_size = ALLOC_RING_HEADER_SIZE;
	h->data_size = RING_DATA_SIZE;
	h->period = c->period;
	h->stack_size = 0; /* the hook's default (32 KiB) */
	h->flags = c->live ? 0 : ALLOC_RING_F_NO_LIVE;
	__atomic_store_n(&h->magic, ALLOC_RING_MAGIC, __ATOMIC_RELEASE);
	munmap(h, ALLOC_RING_HEADER_SIZE);
	return fd;
close_fd:
	close(fd);
	return err;
}

/* libkiln_preload.so: KILN_PRELOAD_LIB, else beside the kiln binary (installed layout
 * PREFIX/bin/kiln -> PREFIX/lib, build tree src/kiln -> src/preload), else the install
 * prefix. 0 or -ENOENT. */
static int find_preload(const char *bin, char *out, size_t outsz)
{
	const char *env = getenv("KILN_PRELOAD_LIB");
	if (env && *env) {
		snprintf(out, outsz, "%s", env);
		return access(out, R_OK) == 0 ? 0 : -ENOENT;
	}
	const char *slash = strrchr(bin, '/');
	int dir = slash ? (int)(slash - bin) : 0;
	static const char *const rel[] = {"/../lib/libkiln_preload.so",
					  "/preload/libkiln_preload.so"};
	for (size_t i = 0; slash && i < sizeof(rel) / sizeof(rel[0]); i++)
		if ((size_t)snprintf(out, outsz, "%.*s%s", dir, bin, rel[i]) < outsz &&
		    access(out, R_OK) == 0)
			return 0;
	snprintf(out, outsz, "%s", KILN_INSTALL_PRELOAD);
	return access(out, R_OK) == 0 ? 0 : -ENOENT;
}

/* Loads and installs the hook writing into ring_fd. 0, or a negative errno after logging
 * why (the caller goes on with CPU profiling only). */
static int hook_install(const char *bin, int ring_fd)
{
	char path[4096];
	if (find_preload(bin, path, sizeof(path)) < 0) {
		say(1,
		    "allocation profiling off: libkiln_preload.so not found (looked beside %s and "
		    "in %s; set KILN_PRELOAD_LIB)",
		    bin, KILN_INSTALL_PRELOAD);
		return -ENOENT;
	}
	/* Never unloaded: a thread may be running a hook at any time. */
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!h) {
		say(1, "allocation profiling off: cannot load '%s': %s", path, dlerror());
		return -ENOENT;
	}
	int (*install)(int) = (int (*)(int))dlsym(h, "kiln_preload_install");
	int (*uninstall)(void) = (int (*)(void))dlsym(h, "kiln_preload_uninstall");
	if (!install || !uninstall) {
		say(1, "allocation profiling off: '%s' has no kiln_preload_install", path);
		return -ENOENT;
	}
	int err = install(ring_fd);
	if (err == -EEXIST)
		say(1, "allocation profiling: libkiln_preload.so is already preloaded (kiln run?); "
		       "this profiler gets no allocation samples");
	else if (err)
		say(1, "allocation profiling off: cannot install the hook: %s", strerror(-err));
	if (err)
		return err;
	hook_uninstall = uninstall;
	return 0;
}

static void hook_remove(void)
{
	if (hook_uninstall)
		hook_uninstall();
	hook_uninstall = NULL;
}

/* --- start / stop -------------------------------------------------------------------------- */

/* The child's environment: ours plus KILN_READY_FD. Caller frees the array (not the
 * strings). */
static char **child_env(void)
{
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **env = malloc((n + 2) * sizeof(*env));
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "KILN_READY_FD=", 14))
			env[k++] = environ[i];
	static char ready[] = "KILN_READY_FD=3";
	env[k++] = ready;
	env[k] = NULL;
	return env;
}

/* Spawns the profiler with argv; ready_wr and ring_fd (or -1) become the child's fds 3 and
 * 4. 0 or a negative errno. */
static int spawn(const char *bin, char **argv, int ready_wr, int ring_fd)
{
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
	/* ready_wr and ring_fd are >= 10 (F_DUPFD_CLOEXEC): dup2 to 3 and 4 clobbers neither. */
	if (ready_wr >= 0)
		posix_spawn_file_actions_adddup2(&fa, ready_wr, CHILD_READY_FD);
	if (ring_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, ring_fd, CHILD_RING_FD);
	char **env = ready_wr >= 0 ? child_env() : NULL;
	pid_t child;
	int rc = posix_spawn(&child, bin, &fa, &attr, argv, env ? env : environ);
	free(env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc)
		return -rc;
	profiler_pid = child;
	return 0;
}

static int elapsed_ms(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Waits for the profiler's readiness byte. 1 ready, 0 timeout, -1 the profiler ended first
 * (*status: its wait status). */
static int wait_ready(int rd, int timeout_ms, int *status)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int left = timeout_ms - elapsed_ms(&t0);
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = rd, .events = POLLIN};
		int r = poll(&p, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		char c;
		ssize_t n = read(rd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 1)
			return 1;
		/* EOF: every copy of the write end is closed, the profiler has exited */
		*status = 0;
		for (int i = 0; i < 200 && !reap(WNOHANG, status); i++) {
			struct timespec ts = {0, 5 * 1000000L};
			nanosleep(&ts, NULL);
		}
		return -1;
	}
}

KILN_API int kiln_start_profiling(void)
{
	return kiln_start_profiling_with(NULL);
}

KILN_API int kiln_start_profiling_with(const struct kiln_options *opts)
{
	struct kiln_options o_buf = {0}, *o = NULL;
	if (opts) {
		if (opts->version == 1) /* version 1 is a prefix of version 2 */
			memcpy(&o_buf, opts, offsetof(struct kiln_options, alloc));
		else if (opts->version == KILN_OPTIONS_VERSION)
			o_buf = *opts;
		else
			return -EINVAL;
		o = &o_buf;
	}
	char bin[4096], pid[24], period[32], ringfd[16];
	char *argv[32];
	int argc = 0, err = 0, ring_fd = -1, ready_wr = -1;

	pthread_mutex_lock(&lock);
	if (profiler_pid && owner_pid != getpid()) {
		profiler_pid = 0; /* inherited across fork: the parent's, not ours */
		hook_uninstall = NULL;
	}
	reap(WNOHANG, NULL);
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
	int base_argc = argc;

	struct alloc_conf ac = {0};
	alloc_from_env(&ac);
	if (o && o->alloc) {
		ac.on = o->alloc > 0;
		ac.live = o->alloc == 2;
	}
	if (o && o->alloc_period)
		ac.period = o->alloc_period;
	if (ac.on) {
		int fd = ring_create(&ac);
		if (fd < 0) {
			say(1, "allocation profiling off: cannot create its ring: %s",
			    strerror(-fd));
		} else {
			/* >= 10: the child's dup2 to 3 and 4 cannot overwrite it */
			ring_fd = fcntl(fd, F_DUPFD_CLOEXEC, 10);
			close(fd);
			if (ring_fd >= 0 && hook_install(bin, ring_fd) < 0) {
				close(ring_fd);
				ring_fd = -1;
			}
		}
	}
	if (ring_fd >= 0) {
		snprintf(ringfd, sizeof(ringfd), "%d", CHILD_RING_FD);
		argv[argc++] = "--alloc-ring";
		argv[argc++] = ringfd;
	}
	argv[argc] = NULL;

	int timeout = o && o->ready_timeout_ms ? o->ready_timeout_ms : READY_TIMEOUT_MS;
	if (ready_rd >= 0) {
		close(ready_rd);
		ready_rd = -1;
	}
	int pfd[2] = {-1, -1};
	if (timeout > 0 && pipe2(pfd, O_CLOEXEC) == 0) {
		ready_wr = fcntl(pfd[1], F_DUPFD_CLOEXEC, 10);
		close(pfd[1]);
		ready_rd = pfd[0];
	}
	for (int attempt = 0;; attempt++) {
		err = spawn(bin, argv, ready_wr, ring_fd);
		if (err)
			break;
		if (ready_rd < 0)
			break;
		if (attempt == 0) {
			close(ready_wr); /* only the child's copy is left: EOF when it exits */
			ready_wr = -1;
		}
		int st = 0, r = wait_ready(ready_rd, timeout, &st);
		if (r == 0)
			say(1, "the profiler is not sampling yet after %d ms; starting anyway",
			    timeout);
		if (r >= 0)
			break;
		/* Exit status 2 is a usage error: a kiln without --alloc-ring. */
		if (ring_fd >= 0 && attempt == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 2) {
			say(1, "allocation profiling off: %s does not accept --alloc-ring", bin);
			hook_remove();
			close(ring_fd);
			ring_fd = -1;
			argv[base_argc] = NULL;
			/* a new pipe: the first one saw EOF */
			close(ready_rd);
			ready_rd = -1;
			if (pipe2(pfd, O_CLOEXEC) < 0)
				ready_wr = -1;
			else {
				ready_wr = fcntl(pfd[1], F_DUPFD_CLOEXEC, 10);
				close(pfd[1]);
				ready_rd = pfd[0];
			}
			err = spawn(bin, argv, ready_wr, -1);
			if (ready_wr >= 0)
				close(ready_wr);
			ready_wr = -1;
			if (err || ready_rd < 0)
				break;
			r = wait_ready(ready_rd, timeout, &st);
			if (r == 0)
				say(1,
				    "the profiler is not sampling yet after %d ms; starting anyway",
				    timeout);
			else if (r < 0)
				say(1,
				    "the profiler exited during its setup (status %d); see its "
				    "messages above",
				    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			break;
		}
		say(1, "the profiler exited during its setup (status %d); see its messages above",
		    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		break;
	}
	if (ready_wr >= 0)
		close(ready_wr);
	if (ring_fd >= 0)
		close(ring_fd); /* the hook's mapping and the profiler's copy keep the ring */
	if (err) {
		hook_remove();
		goto unlock;
	}
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
	/* Hooks out first: the profiler drains what is in the ring before its last flush. */
	hook_remove();
	if (reap(WNOHANG, NULL))
		goto unlock;
	kill(profiler_pid, SIGTERM);
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		if (reap(WNOHANG, NULL))
			goto unlock;
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	reap(WNOHANG, NULL);
	/* Still flushing: it exits on its own; a later start or stop reaps it. */
unlock:
	if (!profiler_pid && ready_rd >= 0) { /* kept open while it may still write */
		close(ready_rd);
		ready_rd = -1;
	}
	pthread_mutex_unlock(&lock);
}
