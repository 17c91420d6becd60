/*
 * diag.c: turns perf_event_open/mmap errors into messages that say what to do: the
 * perf_event_paranoid value, the capabilities that override it, seccomp in containers,
 * locked-memory limits. Facts from ddprof's and async-profiler's troubleshooting guides.
 */
#include "profiler/diag.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int diag_seccomp_mode(void)
{
	struct buf b = BUF_INIT;
	int mode = -1;
	if (buf_read_file(&b, "/proc/self/status", 1 << 20) == 0) {
		const char *p = strstr(b.data, "\nSeccomp:");
		if (p)
			mode = (int)strtol(p + 9, NULL, 10);
	}
	buf_release(&b);
	return mode;
}

static void mlock_facts(struct buf *out)
{
	struct rlimit rl;
	long kb = perf_mlock_kb();
	if (kb >= 0)
		buf_printf(
		    out, "\n  /proc/sys/kernel/perf_event_mlock_kb is %ld (per CPU, per user)", kb);
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
		if (rl.rlim_cur == RLIM_INFINITY)
			buf_puts(out, "; ulimit -l is unlimited");
		else
			buf_printf(out, "; ulimit -l is %llu KiB",
				   (unsigned long long)rl.rlim_cur / 1024);
	}
}

void diag_perf_failure(const struct perf_open_failure *f, bool include_kernel, struct buf *out)
{
	int paranoid = perf_paranoid_level();
	int seccomp = diag_seccomp_mode();

	if (f->stage == PERF_STAGE_MMAP) {
		buf_printf(out, "perf: cannot map the sampling ring buffer: %s", strerror(f->err));
		mlock_facts(out);
		buf_puts(
		    out,
		    "\n  fix: raise the locked-memory limit (ulimit -l, LimitMEMLOCK= in systemd, "
		    "--ulimit memlock in docker), or sysctl kernel.perf_event_mlock_kb=2048, "
		    "or grant CAP_IPC_LOCK");
		return;
	}
	buf_printf(out, "perf: perf_event_open refused on CPU %d: %s", f->cpu, strerror(f->err));
	switch (f->err) {
	case EACCES:
	case EPERM:
		if (paranoid != INT32_MIN)
			buf_printf(
			    out, "\n  /proc/sys/kernel/perf_event_paranoid is %d%s", paranoid,
			    paranoid >= 3   ? " (perf events are disabled for unprivileged users)"
			    : paranoid == 2 ? " (user-space only for unprivileged users)"
					    : "");
		if (include_kernel)
			buf_puts(out, "\n  kernel time was requested (--include-kernel): try "
				      "--no-include-kernel");
		buf_puts(out, "\n  fix: sysctl kernel.perf_event_paranoid=1 (or 2 with "
			      "--no-include-kernel), or grant CAP_PERFMON (Linux >= 5.8) or "
			      "CAP_SYS_ADMIN");
		if (seccomp == 2)
			buf_puts(out,
				 "\n  this process runs under a seccomp filter: container runtimes "
				 "block perf_event_open by default; allow it in the seccomp "
				 "profile (docker --security-opt seccomp=...) ");
		buf_puts(out, "\n  in a container, the host's perf_event_paranoid applies; "
			      "Kubernetes needs the capability in securityContext");
		break;
	case ENOENT:
	case ENOSYS:
	case EOPNOTSUPP:
		buf_puts(out, "\n  this kernel or sandbox does not provide perf events "
			      "(gVisor, some VMs, kernels without CONFIG_PERF_EVENTS)");
		break;
	case EMFILE:
	case ENFILE:
		buf_puts(out, "\n  out of file descriptors: raise ulimit -n");
		break;
	case ESRCH:
		buf_puts(out, "\n  the target process is gone");
		break;
	case EINVAL:
		buf_puts(out, "\n  the kernel rejected the event settings; an old kernel may lack "
			      "use_clockid or a --stack_sample_size this large");
		break;
	default:
		break;
	}
	if (seccomp == 2 && f->err != EACCES && f->err != EPERM)
		buf_puts(out, "\n  note: this process runs under a seccomp filter");
}

void diag_ring_shrunk(size_t pages_wanted, size_t pages_got, struct buf *out)
{
	long page = sysconf(_SC_PAGESIZE);
	buf_printf(out,
		   "perf: ring buffers shrunk from %zu to %zu KiB per CPU because of the "
		   "locked-memory limit; samples may be lost ([lost] frames) under load",
		   pages_wanted * (size_t)page / 1024, pages_got * (size_t)page / 1024);
	mlock_facts(out);
	buf_puts(out, "\n  fix: raise ulimit -l, sysctl kernel.perf_event_mlock_kb, or grant "
		      "CAP_IPC_LOCK");
}
