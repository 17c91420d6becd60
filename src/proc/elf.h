/*
 * proc/elf.h: the ELF file behind one or more mappings, shared by every process that maps it.
 *
 * Internal to proc/, unwind/ and symbolize/. A proc_elf is opened once per (device, inode)
 * (or per path when the kernel gave no inode), keeps its file descriptor and libelf handle
 * for its whole life, and carries the caches other modules hang on it (the unwinder's CFI
 * table), which are freed with it.
 *
 * Lifetime: reference counted. The proc table's registry holds one reference, every mapping
 * one more; the symbolizer takes its own while it caches symbols of the file. The last
 * proc_elf_unref() frees it.
 */
#ifndef KILN_PROC_ELF_H
#define KILN_PROC_ELF_H

#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc/proc.h"

#define PROC_ELF_BUILD_ID_MAX 64 /* bytes; hex string is twice that */

struct proc_elf_load {
	uint64_t offset; /* p_offset */
	uint64_t vaddr;	 /* p_vaddr */
	uint64_t filesz;
	uint64_t memsz;
	uint32_t flags; /* PF_* */
};

struct proc_elf {
	char *path;	 /* as the target maps it (owned) */
	char *open_path; /* the path kiln opened, e.g. /proc/PID/root/… (owned) */
	char build_id[2 * PROC_ELF_BUILD_ID_MAX + 1]; /* lower-case hex, "" if none */
	uint64_t dev, ino;
	int fd;	     /* -1 for in-memory images */
	void *image; /* owned copy for in-memory images (vdso, fuzzing), else NULL */
	Elf *elf;
	struct proc_elf_load *loads; /* PT_LOAD segments (owned) */
	size_t nloads;
	uint32_t refs;
	bool registered; /* held by a proc table's registry */
	/* The unwinder's per-file CFI cache, freed with the file. */
	void *cfi;
	void (*cfi_free)(void *cfi);
};

/* Opens an ELF file from a path (fd kept open). `map_path` is the name the target uses (NULL:
 * same as open_path). Returns a new proc_elf with one reference, or NULL with errno set
 * (ENOEXEC when not a 64-bit ELF). Logs nothing: a missing file is normal. */
struct proc_elf *proc_elf_open(const char *open_path, const char *map_path);

/* Parses an ELF image from memory (copied). For the vdso and for fuzzing. NULL + errno. */
struct proc_elf *proc_elf_from_memory(const void *data, size_t len, const char *map_path);

struct proc_elf *proc_elf_ref(struct proc_elf *e);
/* Drops one reference; frees the file at zero. Accepts NULL. */
void proc_elf_unref(struct proc_elf *e);

/* The load bias for a mapping of this file at [start, …) with file offset pgoff:
 * elf_addr = pc - bias. Falls back to start - pgoff when no PT_LOAD holds pgoff. */
uint64_t proc_elf_bias(const struct proc_elf *e, uint64_t start, uint64_t pgoff);

/* Reads the build id note (GNU, else Go) of elf into hex (2*PROC_ELF_BUILD_ID_MAX+1 bytes).
 * Returns the number of id bytes, 0 when there is none. */
size_t proc_elf_read_build_id(Elf *elf, char *hex, size_t hexsz);

/* Records an executable mapping of an ELF kiln already holds (tests, fuzzing, the vdso):
 * like proc_table_on_mmap, with the file given instead of opened. Takes its own reference.
 * 0 or a negative errno. */
int proc_table_add_elf_mapping(struct proc_table *pt, int pid, uint64_t start, uint64_t end,
			       uint64_t pgoff, struct proc_elf *elf);

#endif
