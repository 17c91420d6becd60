/* Process table: mapping records (replace, split, fork, exec, exit), /proc back-fill, ELF
 * files with their build id and load bias, the vdso, and a deleted binary still resolved
 * through /proc/PID/map_files. Runs unprivileged. */
#include <errno.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <signal.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc/elf.h"
#include "proc/proc.h"
#include "test.h"

/* No process has these pids (above pid_max), so back-fill from /proc fails quietly. */
#define P1 2000000001
#define P2 2000000002

static void test_records(void)
{
	struct proc_table *pt = proc_table_new();
	const int X = PROT_READ | PROT_EXEC;
	proc_table_on_comm(pt, P1, P1, "server", false);
	proc_table_on_comm(pt, P1, P1 + 5, "worker-1", false);
	proc_table_on_mmap(pt, P1, 0x10000, 0x40000, 0, X, "/nonexistent/a.so", 11, 8, 1);
	proc_table_on_mmap(pt, P1, 0x90000, 0x1000, 0, PROT_READ, "/nonexistent/data", 12, 8, 1);
	CHECK_STR_EQ(proc_table_comm(pt, P1), "server");
	CHECK_STR_EQ(proc_table_thread_name(pt, P1, P1 + 5), "worker-1");
	CHECK_STR_EQ(proc_table_thread_name(pt, P1, P1 + 6), "");

	const struct proc_map *m = proc_table_find(pt, P1, 0x20000);
	CHECK(m && m->start == 0x10000 && m->end == 0x50000 &&
	      !strcmp(m->path, "/nonexistent/a.so"));
	CHECK(m && m->elf == NULL);			 /* unreadable file */
	CHECK(proc_table_find(pt, P1, 0x90010) == NULL); /* data mappings are not kept */
	CHECK(proc_table_find(pt, P1, 0x50000) == NULL);

	/* A new mapping in the middle splits the old one; pgoff follows. */
	proc_table_on_mmap(pt, P1, 0x20000, 0x10000, 0, X, "/nonexistent/b.so", 13, 8, 1);
	m = proc_table_find(pt, P1, 0x18000);
	CHECK(m && m->start == 0x10000 && m->end == 0x20000 && m->pgoff == 0);
	m = proc_table_find(pt, P1, 0x2f000);
	CHECK(m && !strcmp(m->path, "/nonexistent/b.so"));
	m = proc_table_find(pt, P1, 0x40000);
	CHECK(m && m->start == 0x30000 && m->end == 0x50000 && m->pgoff == 0x20000 &&
	      !strcmp(m->path, "/nonexistent/a.so"));

	/* fork copies, exec clears, exit forgets. */
	proc_table_on_fork(pt, P2, P1, P2, P1);
	m = proc_table_find(pt, P2, 0x2f000);
	CHECK(m && !strcmp(m->path, "/nonexistent/b.so"));
	CHECK_STR_EQ(proc_table_comm(pt, P2), "server");
	const struct proc_map *keep = m;
	proc_table_on_comm(pt, P2, P2, "newprog", true);
	CHECK(proc_table_find(pt, P2, 0x2f000) == NULL);
	CHECK_STR_EQ(proc_table_comm(pt, P2), "newprog");
	CHECK(!strcmp(keep->path, "/nonexistent/b.so")); /* still valid until gc */
	CHECK(proc_table_find(pt, P1, 0x2f000) != NULL);
	proc_table_on_exit(pt, P1, P1 + 5);
	CHECK_STR_EQ(proc_table_thread_name(pt, P1, P1 + 5), "");
	proc_table_on_exit(pt, P1, P1);
	CHECK(proc_table_find(pt, P1, 0x2f000) == NULL);
	CHECK_STR_EQ(proc_table_comm(pt, P1), "");
	/* A pid /proc does not know is looked up once, then remembered for a while. */
	CHECK(proc_table_find(pt, P1 + 100, 0x1000) == NULL);
	CHECK(proc_table_find(pt, P1 + 100, 0x2000) == NULL);
	CHECK_STR_EQ(proc_table_comm(pt, P1 + 100), "");
	proc_table_on_exit(pt, P1 + 100, P1 + 100);
	proc_table_gc(pt);
	proc_table_free(pt);
}

static int self_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
	uint64_t *out = ctx;
	if (out[1]++ == 0)
		out[0] = info->dlpi_addr; /* the executable comes first */
	return 0;
}

/* Build id as readelf prints it. */
static void readelf_build_id(const char *path, char *out, size_t outsz)
{
	char cmd[600];
	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), "readelf -n '%s' 2>/dev/null", path);
	FILE *f = popen(cmd, "r");
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "Build ID: ");
		if (p) {
			snprintf(out, outsz, "%s", p + 10);
			out[strcspn(out, "\n ")] = '\0';
		}
	}
	if (f)
		pclose(f);
}

static void test_self(void)
{
	struct proc_table *pt = proc_table_new();
	CHECK_INT_EQ(proc_table_load(pt, getpid()), 0);
	CHECK(strlen(proc_table_comm(pt, getpid())) > 0);
	const struct proc_map *m = proc_table_find(pt, getpid(), (uint64_t)(uintptr_t)&test_self);
	CHECK(m && m->elf);
	if (!m || !m->elf)
		goto out;
	uint64_t dl[2] = {0, 0};
	dl_iterate_phdr(self_cb, dl);
	CHECK_INT_EQ(m->bias, dl[0]);
	char want[256], exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	readelf_build_id(exe, want, sizeof(want));
	CHECK(strlen(want) == 40);
	CHECK_STR_EQ(proc_elf_build_id(m->elf), want);
	CHECK_STR_EQ(proc_elf_path(m->elf), exe);

	/* libc: a shared object at its own bias, shared ELF for every mapping lookup. */
	const struct proc_map *lm =
	    proc_table_find(pt, getpid(), (uint64_t)(uintptr_t)&gnu_get_libc_version);
	CHECK(lm && lm->elf && strstr(proc_elf_path(lm->elf), "libc"));
	if (lm && lm->elf) {
		readelf_build_id(proc_elf_path(lm->elf), want, sizeof(want));
		CHECK_STR_EQ(proc_elf_build_id(lm->elf), want);
	}

	/* The vdso, from kiln's own copy. */
	uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
	const struct proc_map *vm = vdso ? proc_table_find(pt, getpid(), vdso + 0x800) : NULL;
	CHECK(vm && vm->elf && !strcmp(proc_elf_path(vm->elf), "[vdso]"));
	CHECK(vm && vm->elf && strlen(proc_elf_build_id(vm->elf)) > 0);
	CHECK(vm && vm->bias == vdso);
out:
	proc_table_gc(pt);
	proc_table_free(pt);
}

static int copy_file(const char *from, const char *to)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 755 '%s'", from, to, to);
	return system(cmd);
}

/* The start of the first executable mapping in MAPS whose line holds NAME (the line is left
 * in line), or 0. */
static unsigned long long first_exec_mapping(const char *maps, const char *name, char *line,
					     size_t size)
{
	unsigned long long start = 0;
	FILE *f = fopen(maps, "r");
	while (f && fgets(line, (int)size, f)) {
		unsigned long long s, e;
		char perms[8];
		if (sscanf(line, "%llx-%llx %7s", &s, &e, perms) == 3 && perms[2] == 'x' &&
		    strstr(line, name)) {
			start = s;
			break;
		}
	}
	if (f)
		fclose(f);
	return start;
}

/* A binary deleted after it started is still read through /proc/PID/map_files. */
static void test_deleted_binary(void)
{
	char dir[] = "/tmp/kiln-proc-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[256], want[256];
	snprintf(path, sizeof(path), "%s/sleeper", dir);
	CHECK_INT_EQ(copy_file("/bin/sleep", path), 0);
	readelf_build_id(path, want, sizeof(want));
	pid_t pid = fork();
	if (pid == 0) {
		execl(path, "sleeper", "30", (char *)NULL);
		_exit(127);
	}
	/* Wait until the child runs the copy: /proc/PID/exe changes during execve before the
	 * ELF loader has mapped the binary, so wait for its executable mapping too. */
	char exe_link[64], target[512], maps[64], line[1024];
	unsigned long long start = 0;
	snprintf(exe_link, sizeof(exe_link), "/proc/%d/exe", (int)pid);
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	for (int i = 0; i < 500 && !start; i++) {
		ssize_t n = readlink(exe_link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		if (!strcmp(target, path))
			start = first_exec_mapping(maps, "sleeper", line, sizeof(line));
		if (!start)
			usleep(10000);
	}
	CHECK_STR_EQ(target, path);
	CHECK(start != 0);
	unlink(path);
	rmdir(dir);

	/* Its first executable mapping, now of a deleted file. */
	start = first_exec_mapping(maps, "sleeper", line, sizeof(line));
	CHECK(start != 0);
	CHECK(strstr(line, "(deleted)") != NULL);

	struct proc_table *pt = proc_table_new();
	CHECK_INT_EQ(proc_table_load(pt, (int)pid), 0);
	CHECK_STR_EQ(proc_table_comm(pt, (int)pid), "sleeper");
	const struct proc_map *m = proc_table_find(pt, (int)pid, start + 16);
	CHECK(m && m->elf);
	if (m && m->elf) {
		CHECK_STR_EQ(proc_elf_build_id(m->elf), want);
		CHECK_STR_EQ(proc_elf_path(m->elf), path); /* without " (deleted)" */
		CHECK(strstr(m->path, "(deleted)") != NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	proc_table_on_exit(pt, (int)pid, (int)pid);
	proc_table_gc(pt);
	proc_table_free(pt);
}

/* Bad bytes are rejected, not parsed. */
static void test_bad_elf(void)
{
	static const char junk[] = "\x7f"
				   "ELF garbage that is not an ELF file at all";
	errno = 0;
	CHECK(proc_elf_from_memory(junk, sizeof(junk), "junk") == NULL);
	CHECK(errno == ENOEXEC);
	CHECK(proc_elf_open("/nonexistent/file", NULL) == NULL);
	CHECK(proc_elf_open("/etc/passwd", NULL) == NULL);
}

int main(void)
{
	RUN(test_records);
	RUN(test_self);
	RUN(test_deleted_binary);
	RUN(test_bad_elf);
	return test_done();
}
