/*
 * unwind: turns one sample (registers + a copy of the user stack) into a list of frames,
 * using the process's mappings (proc/) and per-ELF CFI tables built from .eh_frame and
 * .debug_frame (read through libdw), with a frame-pointer walk where CFI is missing.
 *
 * CONTRACT between the perf/profiler side (which owns sampling and aggregation) and the
 * proc/unwind/symbolize side (which owns processes, ELF files, CFI and symbols). Extend it;
 * do not change the meaning of what is here.
 *
 * Frames are identified by (elf, elf-relative address) so that aggregation can dedupe them
 * before symbolization, which is batched per ELF at export time (symbolize/symbolize.h).
 *
 * Threading: one unwinder per profiler worker; not thread-safe.
 */
#ifndef KILN_UNWIND_UNWIND_H
#define KILN_UNWIND_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc/proc.h"

/* x86-64 user registers in perf_event's PERF_REG_X86_* order (asm/perf_regs.h); the sample
 * must carry at least AX..DI, BP, SP, IP, R8..R15 (see UNWIND_PERF_REGS_MASK). */
enum {
	UNWIND_REG_AX = 0,
	UNWIND_REG_BX,
	UNWIND_REG_CX,
	UNWIND_REG_DX,
	UNWIND_REG_SI,
	UNWIND_REG_DI,
	UNWIND_REG_BP,
	UNWIND_REG_SP,
	UNWIND_REG_IP,
	UNWIND_REG_FLAGS,
	UNWIND_REG_CS,
	UNWIND_REG_SS,
	/* DS, ES, FS, GS (12..15) are not sampled */
	UNWIND_REG_R8 = 16,
	UNWIND_REG_R9,
	UNWIND_REG_R10,
	UNWIND_REG_R11,
	UNWIND_REG_R12,
	UNWIND_REG_R13,
	UNWIND_REG_R14,
	UNWIND_REG_R15,
	UNWIND_NREGS
};

/* perf_event_attr.sample_regs_user for the registers above. */
#define UNWIND_PERF_REGS_MASK 0xff0fffULL

struct unwind_regs {
	uint64_t r[UNWIND_NREGS]; /* indexed by UNWIND_REG_*; unsampled ones are 0 */
};

/* Why a walk stopped. */
enum unwind_status {
	UNWIND_OK = 0,          /* reached a thread root (_start, clone, clone3, start_thread…) */
	UNWIND_TRUNCATED,       /* ran past the copied stack ([truncated]) */
	UNWIND_UNKNOWN_MAPPING, /* a pc outside every known mapping ([unknown mapping]) */
	UNWIND_FAILURE,         /* no rule and no usable frame pointer ([unwind failure]) */
	UNWIND_MAX_FRAMES,      /* more frames than asked for; leaf side kept */
};

/* One frame. `elf` is borrowed from the proc table and stays valid until the next
 * proc_table_gc() (the profiler symbolizes before collecting). */
struct unwind_frame {
	uint64_t pc;            /* absolute address; for non-leaf frames already the call site (pc-1) */
	uint64_t elf_addr;      /* address in the ELF's own address space (for symbols, pprof) */
	struct proc_elf *elf;   /* NULL when the pc is in no file-backed mapping */
	const struct proc_map *map;
};

struct unwinder;

struct unwinder *unwinder_new(struct proc_table *pt);
void unwinder_free(struct unwinder *u);

/*
 * Unwinds one sample of process pid. stack is the copy perf took starting at regs SP
 * (PERF_SAMPLE_STACK_USER, dyn_size bytes). Writes at most max frames, leaf first, and
 * returns how many; *status says why it stopped. Never reads outside stack[0..stack_len).
 */
size_t unwinder_unwind(struct unwinder *u, int pid, const struct unwind_regs *regs,
		       const uint8_t *stack, size_t stack_len, struct unwind_frame *frames,
		       size_t max, enum unwind_status *status);

/* The synthetic frame name for a status: "[truncated]", "[unknown mapping]", …; NULL for OK. */
const char *unwind_status_frame(enum unwind_status status);

#endif
