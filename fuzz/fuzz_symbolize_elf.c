/* fuzz_symbolize_elf: outside bytes as an in-memory ELF whose symbol tables and DWARF
 * (lines, inlined subroutines) are read by the symbolizer, with names demangled. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proc/elf.h"
#include "symbolize/symbolize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libdw 0.188's dwarf_getscopes leaks its partial result when malformed DWARF fails the
 * second scope walk (getscopes.c); nothing a caller can free, and without frame pointers in
 * libdw the leak stack ends in libdw.so. Leaks allocated by kiln itself still count. */
const char *__lsan_default_suppressions(void)
{
	return "leak:libdw.so\n";
}

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_elf *e = proc_elf_from_memory(data, size, "fuzz");
	if (!e)
		return 0;
	struct symbolize_opts o = {.inlined_functions = true};
	struct symbolizer *s = symbolizer_new(&o);
	uint64_t addrs[64];
	size_t n = 0;
	for (size_t i = 0; i < e->nloads && n < 32; i++)
		for (uint64_t k = 0; k < 8 && n < 32; k++)
			addrs[n++] = e->loads[i].vaddr + k * (e->loads[i].memsz / 8 + 1);
	for (size_t off = 0; off + 8 <= size && n < 64; off += 97)
		memcpy(&addrs[n++], data + off, 8);
	struct sym_frame out[512];
	uint32_t start[64], count[64];
	int used = symbolizer_symbolize(s, e, addrs, n, out, 512, start, count);
	for (int i = 0; i < used; i++)
		sink += strlen(out[i].name) + strlen(out[i].file);
	char buf[256];
	if (size > 2 && size < 4096) {
		char name[4096];
		memcpy(name, data, size);
		name[size - 1] = '\0';
		sink += symbolize_demangle(name, buf, sizeof(buf));
	}
	symbolizer_free(s);
	proc_elf_unref(e);
	return 0;
}
