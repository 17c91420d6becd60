/*
 * proc: the profiler's view of the processes it samples: their mappings (from MMAP2 records
 * and /proc/PID/maps), names, and the ELF files behind the mappings, identified by build id.
 *
 * CONTRACT (see unwind/unwind.h). The perf side feeds records in; the unwinder and the
 * symbolizer read. An ELF file is opened through /proc/PID/map_files/… or /proc/PID/root/…
 * so deleted/replaced binaries and other mount namespaces work.
 *
 * Threading: single-threaded (the profiler's main loop).
 */
#ifndef KILN_PROC_PROC_H
#define KILN_PROC_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An ELF file, shared by every process that maps it. Opaque outside proc/unwind/symbolize. */
struct proc_elf;

struct proc_map {
	uint64_t start;
	uint64_t end;
	uint64_t pgoff;
	uint32_t prot;      /* PROT_* */
	const char *path;   /* as the target sees it ("/usr/lib/x86_64-linux-gnu/libc.so.6",
			       "[vdso]", "//anon"…) */
	struct proc_elf *elf; /* NULL when not an ELF file or unreadable */
	uint64_t bias;      /* elf_addr = pc - bias */
};

struct proc_table;

struct proc_table *proc_table_new(void);
void proc_table_free(struct proc_table *pt);

/* Records from the kernel (PERF_RECORD_MMAP2, COMM, FORK, EXIT). path is copied. */
void proc_table_on_mmap(struct proc_table *pt, int pid, uint64_t start, uint64_t len,
			uint64_t pgoff, uint32_t prot, const char *path, uint64_t ino,
			uint32_t maj, uint32_t min);
void proc_table_on_comm(struct proc_table *pt, int pid, int tid, const char *comm, bool exec);
void proc_table_on_fork(struct proc_table *pt, int pid, int ppid, int tid, int ptid);
void proc_table_on_exit(struct proc_table *pt, int pid, int tid);

/* Reads /proc/PID/maps (and comm) for a process started before the profiler, or after a
 * lookup miss (rate-limited inside). 0 or a negative errno. */
int proc_table_load(struct proc_table *pt, int pid);

/* The mapping that holds addr in pid, or NULL (after one /proc back-fill attempt). */
const struct proc_map *proc_table_find(struct proc_table *pt, int pid, uint64_t addr);

/* Names for labels and root frames; "" when unknown. Borrowed until the next gc. */
const char *proc_table_comm(struct proc_table *pt, int pid);        /* process name */
const char *proc_table_thread_name(struct proc_table *pt, int pid, int tid);

/* ELF accessors for the exporter. Strings are borrowed until the next gc. */
const char *proc_elf_path(const struct proc_elf *elf);     /* path as the target maps it */
const char *proc_elf_build_id(const struct proc_elf *elf); /* lower-case hex, "" if none */

/* Frees processes that exited and ELF files no longer mapped by anyone. Call after each
 * export (frames from earlier samples become invalid). */
void proc_table_gc(struct proc_table *pt);

#endif
