/*
 * run.c: `kiln run`, the wrapper process model.
 *
 * The process that runs `kiln run` is the one that becomes the command, so the command keeps
 * the PID, the parent shell waits on it directly, and its exit status and signals are its
 * own. Before exec'ing, it double-forks the profiler: the intermediate child calls setsid()
 * (terminal signals reach only the command) and exits at once, so the profiler is adopted
 * by init (or a subreaper) rather than becoming a child the command does not know about.
 * The profiler opens perf events on the original PID with enable_on_exec, reports "ready" (or
 * "failed") through a pipe, and the original process execs: sampling starts exactly at exec.
 * When the command's process exits (pidfd), the profiler flushes the last period and exits.
 *
 * Allocation profiling: before forking, the allocation ring (a memfd, not close-on-exec) is
 * created; the profiler inherits its mapping, and only once the profiler is ready does the
 * process put KILN_ALLOC_RING=fd:N and LD_PRELOAD=libkiln_preload.so in the command's
 * environment, so nothing of the hook reaches a command that is not profiled.
 */
#include "profiler/run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "profiler/alloc.h"
#include "profiler/options.h"
#include "profiler/profiler.h"

/* From <syslog.h>, whose LOG_* priority macros clash with base/log.h's. */
extern void closelog(void);

enum { STATUS_READY = 'R', STATUS_FAILED = 'F' };

static void exec_command(const struct run_options *o)
{
	execvp(o->command[0], o->command);
	int err = errno;
	fprintf(stderr, "kiln: cannot run '%s': %s\n", o->command[0], strerror(err));
	exit(err == ENOENT ? 127 : 126);
}

static void write_status(int fd, char status)
{
	ssize_t w;
	do
		w = write(fd, &status, 1);
	while (w < 0 && errno == EINTR);
}

/* Closes every descriptor >= 3 except keep_a and keep_b (-1: none). */
static void close_all_but(int keep_a, int keep_b)
{
	int lo = keep_a < keep_b ? keep_a : keep_b, hi = keep_a < keep_b ? keep_b : keep_a;
	unsigned from = 3;
	int keep[2] = {lo, hi};
	for (int i = 0; i < 2; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned)keep[i] > from)
			close_range(from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	close_range(from, ~0U, 0);
}

/* The profiler process: never returns. ring (may be NULL) is the allocation ring, whose
 * descriptor ring_fd is kept open. */
static void profiler_process(const struct run_options *o, int target, int status_fd,
			     struct alloc_ring *ring, int ring_fd)
{
	/* Hold none of the caller's descriptors (pipes a caller waits on to close), except
	 * stderr for messages and the status pipe; and survive a closed stderr pipe. The log
	 * target's descriptor (a file, the syslog socket) is among those closed: drop it first
	 * and reopen it after, so no message lands in a reused descriptor. */
	log_set_mode("stderr");
	closelog();
	if (status_fd < 3) { /* kiln was started with stdin or stdout closed */
		int fd = fcntl(status_fd, F_DUPFD_CLOEXEC, 3);
		if (fd >= 0)
			status_fd = fd;
	}
	close_all_but(status_fd, ring ? ring_fd : -1);
	signal(SIGPIPE, SIG_IGN);
	if (log_set_mode(o->log_mode) < 0)
		log_set_mode("stderr");
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		if (strcmp(o->log_mode, "stdout"))
			dup2(devnull, STDOUT_FILENO); /* `$(kiln run app)` must not wait on us */
		close(devnull);
	}
	struct buf why = BUF_INIT;
	struct profiler *p = profiler_new(o, target, &why);
	if (!p) {
		LOG_ERROR("%s", why.data ? why.data : "profiler: cannot start");
		if (o->fail_on_error)
			LOG_ERROR("profiler: not running '%s' (--fail-on-error)", o->command[0]);
		else
			LOG_ERROR("profiler: running '%s' without profiling", o->command[0]);
		write_status(status_fd, STATUS_FAILED);
		close(status_fd);
		buf_release(&why);
		exit(1);
	}
	buf_release(&why);
	if (ring && profiler_set_alloc_ring(p, ring) < 0)
		LOG_ERROR("profiler: cannot read the allocation ring: out of memory");
	write_status(status_fd, STATUS_READY);
	close(status_fd);
	profiler_run(p);
	profiler_free(p);
	exit(0);
}

/*
 * `kiln run --pid PID` and `kiln run --global`: the profiler runs in the foreground on
 * processes that are already running, until the target exits (--pid) or kiln gets
 * SIGINT/SIGTERM; the last period is flushed either way. Nothing is done to the targets but
 * opening perf events on them.
 */
static int attach_main(struct run_options *o)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", o->pid);
	if (o->pid && access(path, F_OK) < 0) {
		fprintf(stderr, "kiln run: --pid %d: no such process\n", o->pid);
		return 1;
	}
	if (!o->enable)
		return 0;
	struct buf why = BUF_INIT;
	struct alloc_ring *ring = NULL;
	if (o->alloc_ring_fd >= 0) {
		ring = alloc_source_open_fd(o->alloc_ring_fd, &why);
		if (!ring) {
			fprintf(stderr, "kiln run: %s\n", why.data ? why.data : "bad --alloc-ring");
			buf_release(&why);
			return 1;
		}
		/* No mode= given: live heap as the ring's creator configured the hooks. */
		if (!o->alloc.mode_given)
			o->alloc.live = !(alloc_ring_header(ring)->flags & ALLOC_RING_F_NO_LIVE);
	}
	struct profiler *p = profiler_new(o, o->global ? -1 : o->pid, &why);
	if (!p) {
		LOG_ERROR("%s", why.data ? why.data : "profiler: cannot start");
		buf_release(&why);
		alloc_ring_free(ring);
		return 1;
	}
	buf_release(&why);
	if (ring && profiler_set_alloc_ring(p, ring) < 0) {
		LOG_ERROR("profiler: cannot read the allocation ring: out of memory");
		profiler_free(p);
		return 1;
	}
	if (o->global)
		LOG_INFO("profiler: profiling every process (up to %u profiles per period)",
			 o->max_pids);
	else
		LOG_INFO("profiler: attached to process %d", o->pid);
	/* libkiln's start waits on this pipe (KILN_READY_FD): the events are enabled now. */
	const char *ready = getenv("KILN_READY_FD");
	int ready_fd = ready ? (int)strtol(ready, NULL, 10) : -1;
	if (ready_fd > 2) {
		if (write(ready_fd, "R", 1) < 0)
			LOG_DEBUG("profiler: KILN_READY_FD: %s", strerror(errno));
		close(ready_fd);
	}
	int ret = profiler_run(p);
	profiler_free(p);
	return ret < 0 ? 1 : 0;
}

/*
 * Allocation profiling in wrapper mode: finds the hook library and creates the ring. On
 * failure allocation profiling is switched off in o: a warning with the default preset (CPU
 * profiling goes on), an error when allocations were asked for explicitly. Returns the ring
 * or NULL; -1 in *fatal when the run must stop (--fail-on-error).
 */
static struct alloc_ring *setup_alloc(struct run_options *o, struct buf *lib, int *ring_fd,
				      int *fatal)
{
	struct buf why = BUF_INIT;
	struct alloc_ring *ring = NULL;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if (alloc_source_preload_blocked(o->command[0], &why)) {
		/* why says it */
	} else if (alloc_source_find_preload_lib(exe, lib, &why) == 0) {
		/* kiln started with 0, 1 or 2 closed: the ring must not take their place (the
		 * command would read its stdin from it). Fill them while the ring is created. */
		int hold[3], nhold = 0;
		while (nhold < 3) {
			int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (fd < 0 || fd > 2) {
				if (fd >= 0)
					close(fd);
				break;
			}
			hold[nhold++] = fd;
		}
		ring = alloc_ring_create(ALLOC_SOURCE_RING_SIZE, ring_fd);
		int err = errno;
		while (nhold)
			close(hold[--nhold]);
		if (!ring)
			buf_printf(&why, "alloc: cannot create the allocation ring (memfd): %s",
				   strerror(err));
	}
	if (ring) {
		struct alloc_ring_header *h = alloc_ring_header(ring);
		h->period = o->alloc.period;
		h->stack_size = o->alloc.stack_size < ALLOC_RING_MAX_STACK ? o->alloc.stack_size
									   : ALLOC_RING_MAX_STACK;
		h->flags = o->alloc.live ? 0 : ALLOC_RING_F_NO_LIVE;
		buf_release(&why);
		return ring;
	}
	o->alloc.enabled = false;
	if (o->alloc.explicit_request) {
		LOG_ERROR("%s; %s", why.data,
			  o->cpu_enabled ? "profiling CPU time only" : "nothing to profile");
		if (o->fail_on_error)
			*fatal = -1;
	} else {
		LOG_WARN("%s; profiling CPU time only", why.data);
	}
	buf_release(&why);
	return NULL;
}

/* The command's environment for the hook: KILN_ALLOC_RING and LD_PRELOAD (the hook first, so
 * that it sees the calls before any other preloaded allocator, which it then calls). */
static void set_alloc_env(struct alloc_ring *ring, const char *lib)
{
	char val[64];
	struct buf pre = BUF_INIT;
	if (alloc_ring_env(ring, val, sizeof(val)) == 0)
		setenv("KILN_ALLOC_RING", val, 1);
	const char *old = getenv("LD_PRELOAD");
	buf_puts(&pre, lib);
	if (old && *old) {
		buf_putc(&pre, ':');
		buf_puts(&pre, old);
	}
	setenv("LD_PRELOAD", pre.data, 1);
	buf_release(&pre);
}

int run_main(int argc, char **argv)
{
	struct run_options o;
	struct buf out = BUF_INIT, warn = BUF_INIT, err = BUF_INIT;
	options_defaults(&o);
	int ret = options_parse(&o, argc, argv, &out, &warn, &err);
	if (ret == 1) {
		fputs(out.data ? out.data : "", stdout);
		ret = 0;
		goto release;
	}
	if (ret < 0) {
		fprintf(stderr, "kiln run: %s\n", err.data ? err.data : "bad options");
		ret = 2;
		goto release;
	}
	enum log_level level;
	if (log_level_parse(o.log_level, &level) < 0) {
		fprintf(stderr,
			"kiln run: --log_level: unknown level '%s' (debug, informational, "
			"notice, warn, error)\n",
			o.log_level);
		ret = 2;
		goto release;
	}
	log_set_level(level);
	if (log_set_mode(o.log_mode) < 0) {
		fprintf(stderr, "kiln run: --log_mode: cannot log to '%s'\n", o.log_mode);
		ret = 2;
		goto release;
	}
	if (warn.len) {
		char *save = NULL;
		for (char *line = strtok_r(warn.data, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			LOG_WARN("%s", line);
	}
	if (o.show_config) {
		struct buf cfg = BUF_INIT;
		options_describe(&o, &cfg);
		fputs(cfg.data, stderr);
		buf_release(&cfg);
	}
	buf_release(&out);
	buf_release(&warn);
	buf_release(&err);
	if (o.pid || o.global)
		return attach_main(&o);
	if (!o.enable)
		exec_command(&o);

	struct buf lib = BUF_INIT;
	struct alloc_ring *ring = NULL;
	int ring_fd = -1, fatal = 0;
	if (o.alloc.enabled) {
		ring = setup_alloc(&o, &lib, &ring_fd, &fatal);
		if (fatal)
			return 1;
		if (!o.alloc.enabled && !o.cpu_enabled) /* alloc only, and no way to do it */
			exec_command(&o);
	}

	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		LOG_ERROR("profiler: cannot create a pipe: %s; running without profiling",
			  strerror(errno));
		exec_command(&o);
	}
	fflush(NULL);
	pid_t target = getpid();
	pid_t child = fork();
	if (child < 0) {
		LOG_ERROR("profiler: cannot fork: %s; running without profiling", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		exec_command(&o);
	}
	if (child == 0) {
		close(pipefd[0]);
		setsid();
		pid_t grand = fork();
		if (grand < 0) {
			write_status(pipefd[1], STATUS_FAILED);
			_exit(1);
		}
		if (grand > 0)
			_exit(0);
		profiler_process(&o, target, pipefd[1], ring, ring_fd);
	}
	close(pipefd[1]);
	int wstatus;
	while (waitpid(child, &wstatus, 0) < 0 && errno == EINTR)
		;
	char status = 0;
	ssize_t r;
	do
		r = read(pipefd[0], &status, 1);
	while (r < 0 && errno == EINTR);
	close(pipefd[0]);
	if (r != 1) {
		LOG_ERROR("profiler: the profiler process died during setup; running '%s' without "
			  "profiling",
			  o.command[0]);
		status = STATUS_FAILED;
	}
	if (status != STATUS_READY && o.fail_on_error)
		return 1;
	if (ring && status == STATUS_READY)
		set_alloc_env(ring, lib.data); /* the ring's fd stays open across exec */
	else
		alloc_ring_free(ring);
	buf_release(&lib);
	exec_command(&o);
	return 127;

release:
	buf_release(&out);
	buf_release(&warn);
	buf_release(&err);
	return ret;
}
