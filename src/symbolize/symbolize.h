/*
 * symbolize: names for addresses, batched and cached per ELF, at export time.
 *
 * CONTRACT (see unwind/unwind.h). For an ELF-relative address it yields one or more frames
 * (several when inlined functions are asked for: innermost first), each with a function
 * name (demangled C++/Rust), the mangled name, a file and a line. Sources, in order:
 * .symtab, .dynsym, DWARF (lines and inlines, with separate debug files from
 * .gnu_debuglink and /usr/lib/debug/.build-id), /tmp/perf-PID.map for JIT code, and
 * /proc/kallsyms for kernel addresses. With nothing found the frame is named
 * "binary+0xoffset" and keeps its mapping so a server could symbolize later.
 */
#ifndef KILN_SYMBOLIZE_SYMBOLIZE_H
#define KILN_SYMBOLIZE_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc/proc.h"

struct symbolizer;

struct symbolize_opts {
	bool inlined_functions; /* -I: DWARF inlines and file:line (costs more) */
};

struct sym_frame {
	const char *name;        /* demangled; borrowed from the symbolizer's caches */
	const char *system_name; /* as in the binary (mangled) */
	const char *file;        /* source file or the binary's path */
	int64_t line;            /* 0 when unknown */
};

struct symbolizer *symbolizer_new(const struct symbolize_opts *opts);
void symbolizer_free(struct symbolizer *s);

/*
 * Symbolizes addrs[0..n) of one ELF in one batch. For address i, frames are written to
 * out_frames starting at out_start[i], out_count[i] of them (>= 1 always: a fallback name is
 * produced when nothing is known). out_frames has room for max_frames entries in all; returns
 * the number used or a negative errno. Results stay valid until symbolizer_gc().
 */
int symbolizer_symbolize(struct symbolizer *s, struct proc_elf *elf, const uint64_t *addrs,
			 size_t n, struct sym_frame *out_frames, size_t max_frames,
			 uint32_t *out_start, uint32_t *out_count);

/* A JIT frame from /tmp/perf-PID.map (read via /proc/PID/root), or false. */
bool symbolizer_perf_map(struct symbolizer *s, int pid, uint64_t pc, struct sym_frame *out);
/* A kernel address from /proc/kallsyms, or false. */
bool symbolizer_kernel(struct symbolizer *s, uint64_t pc, struct sym_frame *out);

/* Drops caches of ELF files no longer in use (after proc_table_gc). */
void symbolizer_gc(struct symbolizer *s);

/* Demangles a C++ (Itanium) or Rust (legacy and v0) name into out; false if not mangled. */
bool symbolize_demangle(const char *mangled, char *out, size_t outsz);

#endif
