/*
 * got: library mode of the allocation hook (got.c). When libkiln_preload.so is dlopen'ed into
 * a running program (RTLD_LOCAL: its definitions of malloc & co. interpose nothing), the hooks
 * are installed by rewriting the GOT slots of every loaded object's R_X86_64_JUMP_SLOT and
 * R_X86_64_GLOB_DAT relocations against the allocation functions, and of dlopen/dlmopen so
 * that libraries loaded later are patched when they are loaded.
 *
 * Calling sequence (libkiln, src/lib/kiln.c, through dlsym):
 *	kiln_preload_install(ring_fd)   resolve the program's allocator, attach the ring, patch
 *	...                             (any thread may allocate meanwhile)
 *	kiln_preload_uninstall()        put the real functions back in the slots, stop sampling
 * install may be called again after uninstall with a new ring. The object must never be
 * unloaded (dlopen it with RTLD_NODELETE): a thread may still be running a hook.
 *
 * Internal interface between got.c and preload.c (hidden symbols) below the public pair.
 */
#ifndef KILN_PRELOAD_GOT_H
#define KILN_PRELOAD_GOT_H

#include <stddef.h>

/* Exported (default visibility). 0 or a negative errno: -EEXIST when this object is already
 * interposing by LD_PRELOAD (wrapper mode: nothing to patch), -EINVAL when ring_fd is not a
 * ring, -ENOTSUP when the allocator cannot be resolved safely (see docs/library.md). */
int kiln_preload_install(int ring_fd);
/* Restores every patched slot that still points at a hook and stops sampling. 0. */
int kiln_preload_uninstall(void);
/* Counters of the last install/patch pass, for tests and diagnostics: objects walked,
 * slots patched, slots left alone because they were bound to another definition. */
void kiln_preload_got_stats(unsigned *objects, unsigned *patched, unsigned *foreign);

/* One hookable function: its name, the hook, and where preload.c keeps the real function
 * for the hook (NULL: the hook finds its own, e.g. the C++ operators; cxx: patched only when
 * operator new is a separate allocator, as in the LD_PRELOAD path). */
struct preload_sym {
	const char *name;
	void *hook;
	void **real;
	int cxx;
};
extern const struct preload_sym preload_syms[];
extern const size_t preload_nsyms;

/* preload.c: resolve the C++ operators in the global scope from now on. */
void preload_set_got_mode(void);
/* preload.c: 1 when operator new comes from the same object as malloc. */
int preload_new_separate(void);
/* preload.c: map the ring behind fd and start sampling into it (0 or a negative errno). */
int preload_attach_fd(int fd);
/* preload.c: every hook passes straight through from now on. */
void preload_stop_sampling(void);

#endif
