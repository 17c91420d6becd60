/*
 * cfi: per-ELF call frame information compiled into rows the unwinder evaluates with
 * arithmetic only.
 *
 * A row covers a pc range [start, end) of ELF addresses and says how to find the CFA
 * (register + offset, the x86-64 PLT formula, or "not compilable") and where the caller's
 * return address and callee-saved registers are (same value, undefined, saved at CFA+N,
 * value CFA+N, in another register). Rows come from .eh_frame, then .debug_frame, through
 * libdw the first time a pc is looked up, and are cached in a sorted array hung on the
 * proc_elf; every later lookup in that range is a binary search. A pc no CFI covers is
 * cached as a one-byte "none" row.
 */
#ifndef KILN_UNWIND_CFI_H
#define KILN_UNWIND_CFI_H

#include <stdbool.h>
#include <stdint.h>

#include "proc/elf.h"

/* DWARF register numbers on x86-64. */
enum {
	CFI_RAX = 0,
	CFI_RDX,
	CFI_RCX,
	CFI_RBX,
	CFI_RSI,
	CFI_RDI,
	CFI_RBP,
	CFI_RSP,
	CFI_R8,
	CFI_R15 = 15,
	CFI_RA = 16,
	CFI_NREGS = 17
};

enum cfi_cfa {
	CFI_CFA_NONE = 0, /* no CFI here: use frame pointers */
	CFI_CFA_REG,	  /* CFA = reg + off */
	CFI_CFA_PLT,	  /* CFA = rsp + off + ((rip & 15) >= plt_cut ? 8 : 0) */
	CFI_CFA_EXPR,	  /* an expression kiln does not compile */
};

enum cfi_rule {
	CFI_SAME = 0,	/* unchanged (callee-saved default) */
	CFI_UNDEF,	/* unrecoverable; for RA: outermost frame */
	CFI_OFFSET,	/* saved at CFA + off */
	CFI_VAL_OFFSET, /* value is CFA + off */
	CFI_REGISTER,	/* value is in register off */
	CFI_UNSUPPORTED,
};

/* Registers whose rules a row carries: RA and the callee-saved ones. */
enum {
	CFI_SLOT_RA = 0,
	CFI_SLOT_RBP,
	CFI_SLOT_RBX,
	CFI_SLOT_R12,
	CFI_SLOT_R13,
	CFI_SLOT_R14,
	CFI_SLOT_R15,
	CFI_NSLOTS
};

struct cfi_row {
	uint64_t start, end;
	uint8_t cfa;	 /* enum cfi_cfa */
	uint8_t cfa_reg; /* DWARF register for CFI_CFA_REG */
	uint8_t plt_cut;
	uint8_t signal; /* CIE "S": the caller state is a ucontext on the stack */
	int32_t cfa_off;
	uint8_t rule[CFI_NSLOTS]; /* enum cfi_rule */
	int32_t off[CFI_NSLOTS];
};

/* The DWARF register number of a slot. */
extern const uint8_t cfi_slot_reg[CFI_NSLOTS];

/* The row covering elf address addr of e, compiling it on first use. Never NULL: a pc no CFI
 * covers gets a CFI_CFA_NONE row. The pointer is valid until the next cfi_lookup on e. */
const struct cfi_row *cfi_lookup(struct proc_elf *e, uint64_t addr);

/* Number of cached rows of e (for tests and statistics). */
size_t cfi_cached_rows(const struct proc_elf *e);

#endif
