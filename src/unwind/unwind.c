/*
 * unwind.c: kiln's own unwinder. Walks a copied user stack with the per-ELF CFI rows of
 * unwind/cfi.h (binary search + arithmetic per frame), signal frames through the ucontext
 * the kernel pushed, and the frame-pointer chain where no CFI covers a pc.
 *
 * Every memory read goes through read_stack(), which only reads from the copy
 * [sp, sp + stack_len) taken at sample time: the target is never touched.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ucontext.h>

#include "proc/elf.h"
#include "unwind/cfi.h"
#include "unwind/unwind.h"

#define RED_ZONE 128

struct unwinder {
	struct proc_table *pt;
};

struct walk {
	const uint8_t *stack;
	uint64_t base; /* target address of stack[0] */
	size_t len;
	uint64_t reg[CFI_NREGS];
	uint32_t valid; /* bit per DWARF register */
};

struct unwinder *unwinder_new(struct proc_table *pt)
{
	struct unwinder *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->pt = pt;
	return u;
}

void unwinder_free(struct unwinder *u)
{
	free(u);
}

const char *unwind_status_frame(enum unwind_status status)
{
	switch (status) {
	case UNWIND_OK:
		return NULL;
	case UNWIND_TRUNCATED:
	case UNWIND_MAX_FRAMES:
		return "[truncated]";
	case UNWIND_UNKNOWN_MAPPING:
		return "[unknown mapping]";
	case UNWIND_FAILURE:
		return "[unwind failure]";
	}
	return "[unwind failure]";
}

/* Reads 8 bytes of target memory at addr from the copy. 0, or the status to stop with. */
static int read_stack(const struct walk *w, uint64_t addr, uint64_t *out)
{
	if (addr < w->base)
		return UNWIND_FAILURE;
	uint64_t off = addr - w->base;
	if (off > w->len || w->len - off < 8)
		return UNWIND_TRUNCATED;
	memcpy(out, w->stack + off, 8);
	return 0;
}

static bool has(const struct walk *w, int reg)
{
	return w->valid & (1u << reg);
}

static void set(struct walk *w, int reg, uint64_t v)
{
	w->reg[reg] = v;
	w->valid |= 1u << reg;
}

/* perf's register order to DWARF's. */
static const int8_t perf_to_dwarf[UNWIND_NREGS] = {
    [UNWIND_REG_AX] = CFI_RAX,
    [UNWIND_REG_BX] = CFI_RBX,
    [UNWIND_REG_CX] = CFI_RCX,
    [UNWIND_REG_DX] = CFI_RDX,
    [UNWIND_REG_SI] = CFI_RSI,
    [UNWIND_REG_DI] = CFI_RDI,
    [UNWIND_REG_BP] = CFI_RBP,
    [UNWIND_REG_SP] = CFI_RSP,
    [UNWIND_REG_IP] = CFI_RA,
    [UNWIND_REG_FLAGS] = -1,
    [UNWIND_REG_CS] = -1,
    [UNWIND_REG_SS] = -1,
    [12] = -1,
    [13] = -1,
    [14] = -1,
    [15] = -1,
    [UNWIND_REG_R8] = 8,
    [UNWIND_REG_R9] = 9,
    [UNWIND_REG_R10] = 10,
    [UNWIND_REG_R11] = 11,
    [UNWIND_REG_R12] = 12,
    [UNWIND_REG_R13] = 13,
    [UNWIND_REG_R14] = 14,
    [UNWIND_REG_R15] = 15,
};

/* The interrupted state saved by the kernel in the ucontext at sp (x86-64 rt_sigframe:
 * when the handler returns into __restore_rt, sp points at the ucontext). */
static int step_signal(struct walk *w)
{
	static const struct {
		int8_t dwarf;
		int8_t greg;
	} map[] = {
	    {CFI_RAX, REG_RAX}, {CFI_RDX, REG_RDX}, {CFI_RCX, REG_RCX}, {CFI_RBX, REG_RBX},
	    {CFI_RSI, REG_RSI}, {CFI_RDI, REG_RDI}, {CFI_RBP, REG_RBP}, {CFI_RSP, REG_RSP},
	    {8, REG_R8},	{9, REG_R9},	    {10, REG_R10},	{11, REG_R11},
	    {12, REG_R12},	{13, REG_R13},	    {14, REG_R14},	{15, REG_R15},
	    {CFI_RA, REG_RIP},
	};
	if (!has(w, CFI_RSP))
		return UNWIND_FAILURE;
	uint64_t uc = w->reg[CFI_RSP];
	uint64_t vals[CFI_NREGS];
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		uint64_t addr = uc + offsetof(ucontext_t, uc_mcontext.gregs) +
				(uint64_t)map[i].greg * sizeof(greg_t);
		int st = read_stack(w, addr, &vals[map[i].dwarf]);
		if (st)
			return st;
	}
	for (int r = 0; r < CFI_NREGS; r++)
		set(w, r, vals[r]);
	return 0;
}

/* One step with a compiled CFI row. *outermost is set when the row says this is the root. */
static int step_cfi(struct walk *w, const struct cfi_row *row, uint64_t pc, bool leaf,
		    bool *outermost)
{
	uint64_t cfa;
	if (row->cfa == CFI_CFA_REG) {
		if (!has(w, row->cfa_reg))
			return UNWIND_FAILURE;
		cfa = w->reg[row->cfa_reg] + (uint64_t)(int64_t)row->cfa_off;
	} else if (row->cfa == CFI_CFA_PLT) {
		if (!has(w, CFI_RSP))
			return UNWIND_FAILURE;
		cfa = w->reg[CFI_RSP] + (uint64_t)(int64_t)row->cfa_off +
		      ((pc & 15) >= row->plt_cut ? 8 : 0);
	} else {
		return UNWIND_FAILURE;
	}
	uint64_t vals[CFI_NSLOTS];
	bool ok[CFI_NSLOTS];
	for (int s = 0; s < CFI_NSLOTS; s++) {
		int reg = cfi_slot_reg[s];
		ok[s] = false;
		switch (row->rule[s]) {
		case CFI_SAME:
			ok[s] = has(w, reg);
			vals[s] = w->reg[reg];
			break;
		case CFI_UNDEF:
			if (s == CFI_SLOT_RA) {
				*outermost = true;
				return 0;
			}
			break;
		case CFI_OFFSET: {
			uint64_t addr = cfa + (uint64_t)(int64_t)row->off[s];
			int st = read_stack(w, addr, &vals[s]);
			if (st == 0) {
				ok[s] = true;
			} else if (leaf && addr < w->base && addr + RED_ZONE >= w->base &&
				   s != CFI_SLOT_RA) {
				/* An epilogue already popped it: the register still holds it. */
				ok[s] = has(w, reg);
				vals[s] = w->reg[reg];
			} else if (s == CFI_SLOT_RA) {
				return st;
			}
			break;
		}
		case CFI_VAL_OFFSET:
			vals[s] = cfa + (uint64_t)(int64_t)row->off[s];
			ok[s] = true;
			break;
		case CFI_REGISTER:
			ok[s] = has(w, row->off[s]);
			vals[s] = w->reg[row->off[s]];
			break;
		default:
			break;
		}
	}
	if (!ok[CFI_SLOT_RA])
		return UNWIND_FAILURE;
	w->valid = 0;
	for (int s = 0; s < CFI_NSLOTS; s++)
		if (ok[s])
			set(w, cfi_slot_reg[s], vals[s]);
	set(w, CFI_RSP, cfa);
	return 0;
}

static int step_fp(struct walk *w)
{
	if (!has(w, CFI_RBP))
		return UNWIND_FAILURE;
	uint64_t fp = w->reg[CFI_RBP], next_fp, ra;
	if (has(w, CFI_RSP) && fp < w->reg[CFI_RSP])
		return UNWIND_FAILURE;
	int st = read_stack(w, fp, &next_fp);
	if (!st)
		st = read_stack(w, fp + 8, &ra);
	if (st)
		return st;
	/* Callee-saved registers other than rbp are kept: a frame-pointer function restores
	 * them before returning, so they are the best guess for the caller. */
	w->valid &= (1u << CFI_RBX) | (0xfu << 12);
	set(w, CFI_RBP, next_fp);
	set(w, CFI_RSP, fp + 16);
	set(w, CFI_RA, ra);
	return 0;
}

size_t unwinder_unwind(struct unwinder *u, int pid, const struct unwind_regs *regs,
		       const uint8_t *stack, size_t stack_len, struct unwind_frame *frames,
		       size_t max, enum unwind_status *status)
{
	struct walk w = {
	    .stack = stack, .base = regs->r[UNWIND_REG_SP], .len = stack ? stack_len : 0};
	for (int i = 0; i < UNWIND_NREGS; i++) {
		if (perf_to_dwarf[i] >= 0)
			set(&w, perf_to_dwarf[i], regs->r[i]);
	}
	size_t n = 0;
	bool exact = true; /* pc is where execution is, not a return address */
	enum unwind_status st = UNWIND_OK;
	for (;;) {
		uint64_t pc = w.reg[CFI_RA];
		if (n >= max) {
			st = UNWIND_MAX_FRAMES;
			break;
		}
		uint64_t lookup = exact ? pc : pc - 1;
		const struct proc_map *map = proc_table_find(u->pt, pid, lookup);
		if (!map) {
			if (n == 0)
				frames[n++] = (struct unwind_frame){.pc = pc, .elf_addr = pc};
			st = UNWIND_UNKNOWN_MAPPING;
			break;
		}
		struct unwind_frame *f = &frames[n++];
		f->pc = lookup;
		f->map = map;
		f->elf = map->elf;
		f->elf_addr = map->elf ? lookup - map->bias : lookup;

		uint64_t old_sp = w.reg[CFI_RSP];
		bool leaf = n == 1;
		const struct cfi_row *row = map->elf ? cfi_lookup(map->elf, f->elf_addr) : NULL;
		int r;
		bool outermost = false, signal = false;
		if (row && row->signal) {
			/* The trampoline's own address: glibc starts its FDE one byte early for
			 * the pc-1 lookup, but the symbol starts at the return address. */
			if (!exact) {
				f->pc = pc;
				f->elf_addr = pc - map->bias;
			}
			r = step_signal(&w);
			signal = true;
		} else if (row && (row->cfa == CFI_CFA_REG || row->cfa == CFI_CFA_PLT)) {
			r = step_cfi(&w, row, pc, leaf, &outermost);
			if (r == UNWIND_FAILURE && !outermost)
				r = step_fp(&w);
		} else {
			bool no_cfi = !row || row->cfa == CFI_CFA_NONE;
			if (no_cfi && has(&w, CFI_RBP) && w.reg[CFI_RBP] == 0) {
				outermost = true; /* the ABI's marker of the outermost frame */
				r = 0;
			} else {
				r = step_fp(&w);
			}
		}
		if (r) {
			st = (enum unwind_status)r;
			break;
		}
		if (outermost)
			break;
		uint64_t npc = w.reg[CFI_RA];
		if (npc == 0)
			break; /* a zero return address ends the chain */
		if (!signal && (w.reg[CFI_RSP] <= old_sp)) {
			st = UNWIND_FAILURE;
			break;
		}
		if (w.reg[CFI_RSP] == old_sp && npc == pc) {
			st = UNWIND_FAILURE;
			break;
		}
		exact = signal;
	}
	*status = st;
	return n;
}
