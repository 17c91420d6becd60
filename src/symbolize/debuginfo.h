/*
 * debuginfo: finds the separate debug file of an ELF, the way gdb and elfutils do:
 *   1. /usr/lib/debug/.build-id/xx/rest.debug (from the build id note);
 *   2. .gnu_debuglink NAME next to the file, in its .debug/ directory, and under
 *      /usr/lib/debug/DIR/ (DIR the file's directory as the target sees it), checked
 *      against the link's CRC32.
 * Internal to symbolize/.
 */
#ifndef KILN_SYMBOLIZE_DEBUGINFO_H
#define KILN_SYMBOLIZE_DEBUGINFO_H

#include <stdint.h>

#include "proc/elf.h"

/* Root under which /usr/lib/debug is looked up ("" by default; tests point it elsewhere). */
void debuginfo_set_root(const char *root);

/* The debug file of elf with one reference (proc_elf_unref), or NULL. */
struct proc_elf *debuginfo_find(const struct proc_elf *elf);

/* CRC32 as .gnu_debuglink uses it (the zlib/IEEE polynomial). */
uint32_t debuginfo_crc32(uint32_t crc, const void *data, size_t len);

#endif
