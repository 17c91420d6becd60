/* fuzz_unwind_cfi: outside bytes as an in-memory ELF whose .eh_frame/.debug_frame are
 * compiled into CFI rows (through libdw) at addresses across its code, then used to unwind
 * a stack made of the input's bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proc/elf.h"
#include "unwind/cfi.h"

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
	proc_elf_unref(e);
	return 0;
}
