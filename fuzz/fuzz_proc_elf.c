/* fuzz_proc_elf: outside bytes as an in-memory ELF: headers, PT_LOAD segments, build id
 * notes and the load bias computed from them. */
#include <stddef.h>
#include <stdint.h>

#include "proc/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_elf *e = proc_elf_from_memory(data, size, "fuzz");
	if (!e)
		return 0;
	for (size_t i = 0; i < e->nloads; i++) {
		sink += proc_elf_bias(e, 0x400000, e->loads[i].offset & ~(uint64_t)0xfff);
		sink += proc_elf_bias(e, 0x400000, e->loads[i].offset + 0x1000);
	}
	sink += proc_elf_bias(e, 0x400000, 0);
	sink += proc_elf_build_id(e)[0];
	proc_elf_unref(e);
	return 0;
}
