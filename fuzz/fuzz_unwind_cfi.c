/* fuzz_unwind_cfi: outside bytes as an in-memory ELF whose .eh_frame/.debug_frame are
 * compiled into CFI rows (through libdw) at addresses across its code, then used to unwind
 * a stack and registers made of the input's bytes (the stack copy is outside data too). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proc/elf.h"
#include "unwind/cfi.h"
#include "unwind/unwind.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_elf *e = proc_elf_from_memory(data, size, "fuzz");
	if (!e)
		return 0;
	size_t lookups = 0;
	for (size_t i = 0; i < e->nloads && lookups < 4096; i++) {
		const struct proc_elf_load *l = &e->loads[i];
		if (!(l->flags & PF_X))
			continue;
		uint64_t step = l->memsz / 64 + 1;
		for (uint64_t a = l->vaddr; a < l->vaddr + l->memsz && lookups < 4096; a += step) {
			const struct cfi_row *r = cfi_lookup(e, a);
			sink += r->cfa + r->cfa_off + r->rule[CFI_SLOT_RA];
			lookups++;
		}
	}
	/* Addresses taken from the input itself. */
	for (size_t off = 0; off + 8 <= size && lookups < 8192; off += 64, lookups++) {
		uint64_t a;
		memcpy(&a, data + off, 8);
		sink += cfi_lookup(e, a)->cfa;
	}
	sink += cfi_cached_rows(e);

	/* Map the file's executable segments at a fixed base and unwind the input as a stack. */
	struct proc_table *pt = proc_table_new();
	struct unwinder *u = pt ? unwinder_new(pt) : NULL;
	const int pid = 2000000001; /* no such process: /proc back-fill fails */
	const uint64_t base = 0x400000;
	uint64_t code_lo = 0, code_span = 0;
	for (size_t i = 0; u && i < e->nloads; i++) {
		const struct proc_elf_load *l = &e->loads[i];
		if (!(l->flags & PF_X) || l->memsz == 0 || l->memsz > (1u << 30) ||
		    l->vaddr > (1ull << 40))
			continue;
		uint64_t start = (base + l->vaddr) & ~(uint64_t)0xfff;
		uint64_t end = base + l->vaddr + l->memsz;
		if (proc_table_add_elf_mapping(pt, pid, start, end, l->offset & ~(uint64_t)0xfff,
					       e) == 0 &&
		    !code_span) {
			code_lo = base + l->vaddr;
			code_span = l->memsz;
		}
	}
	if (u && code_span && size >= sizeof(struct unwind_regs)) {
		struct unwind_regs regs;
		memcpy(&regs, data, sizeof(regs));
		regs.r[UNWIND_REG_IP] = code_lo + regs.r[UNWIND_REG_IP] % code_span;
		const uint8_t *stack = data + sizeof(regs);
		size_t len = size - sizeof(regs);
		regs.r[UNWIND_REG_SP] = 0x7ffc00000000ull + (regs.r[UNWIND_REG_SP] & 0xff8);
		struct unwind_frame frames[64];
		enum unwind_status st;
		size_t n = unwinder_unwind(u, pid, &regs, stack, len, frames, 64, &st);
		sink += n + (size_t)st;
	}
	unwinder_free(u);
	proc_table_free(pt);
	proc_elf_unref(e);
	return 0;
}
