/*
 * got: the allocation hook installed into a running program by GOT patching (library mode).
 *
 * libkiln dlopen's libkiln_preload.so RTLD_LOCAL: its malloc & co. interpose nothing, so the
 * program's calls must be redirected one object at a time. Every loaded object (from
 * dl_iterate_phdr) calls an imported function through a slot of its GOT, filled by the loader
 * from an R_X86_64_JUMP_SLOT (PLT calls) or R_X86_64_GLOB_DAT (-fno-plt calls, address
 * taken) relocation. For each such relocation against a hooked name, the slot is rewritten to
 * point at the hook (preload.c, reached through its hidden alias); the hook calls the real
 * function, resolved once in the global scope (dlsym RTLD_DEFAULT, so an allocator linked into
 * the program, jemalloc or tcmalloc, stays the allocator).
 *
 * Design points:
 * - A slot is patched only when it holds the global definition or a lazy-binding PLT stub of
 *   its own object; a slot bound to another definition (RTLD_DEEPBIND, a private allocator)
 *   is left alone, or frees would reach the wrong allocator.
 * - Slots in RELRO (read-only after relocation: -z relro, and all of them with -z now) are
 *   written between two mprotect calls restoring the page's protection as /proc/self/maps
 *   showed it. A RELRO page still writable belongs to an object being loaded by another
 *   thread: it is skipped (its dlopen, hooked, patches it once loaded).
 * - Threads keep calling through slots while they are written: the store is one aligned
 *   8-byte store, atomic on x86-64 (and arm64), so a caller jumps either to the real function
 *   or to the hook, both correct. Memory allocated before the hook is freed through it: not in
 *   the live set, it passes straight to the real free.
 * - dlopen and dlmopen slots are patched too: once a library is loaded, every object is
 *   walked again (already patched slots are skipped). The loader applies the DT_RUNPATH of
 *   the object that calls dlopen, now this library: dlopen_as searches the original
 *   caller's path list itself. With lazy binding the loader may still
 *   resolve a slot after it was patched (a first call racing the install): that slot is
 *   patched again by the next dlopen.
 * - The walk runs inside dl_iterate_phdr's callback: the loader cannot unmap an object while
 *   it runs. It allocates nothing (a dlopen hook may run anywhere) and takes one mutex,
 *   reinitialised in a fork child.
 * - Skipped objects: this library itself (its own calls must reach the real functions) and
 *   the vdso. libc's own PLT references (strdup, fopen…) are patched: the LD_PRELOAD path sees
 *   them too, and the hooks' re-entrancy guard covers the calls the hook itself makes.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload/got.h"

#define EXPORT __attribute__((visibility("default")))

#if defined(__x86_64__)
#define R_SLOT R_X86_64_JUMP_SLOT
#define R_GLOB R_X86_64_GLOB_DAT
#elif defined(__aarch64__)
#define R_SLOT R_AARCH64_JUMP_SLOT
#define R_GLOB R_AARCH64_GLOB_DAT
#endif

struct target {
	const char *name;
	void *hook;
	void *real;
	int on; /* patched in this installation */
};

#define MAX_TARGETS 40
static struct target targets[MAX_TARGETS];
static size_t ntargets;

static void *(*real_dlopen)(const char *, int);
static void *(*real_dlmopen)(Lmid_t, const char *, int);

static pthread_mutex_t got_lock = PTHREAD_MUTEX_INITIALIZER;
static int installed;
static int atfork_done;
static unsigned st_objects, st_patched, st_foreign;

/* --- /proc/self/maps: the current protection of every mapping ------------------------------ */

struct prot_range {
	uintptr_t lo, hi;
	int prot;
};
#define MAX_RANGES 16384
static struct prot_range *ranges; /* mmap'ed once, MAX_RANGES entries */
static size_t nranges;

static uintptr_t hex(const char **p)
{
	uintptr_t v = 0;
	for (;; (*p)++) {
		char c = **p;
		if (c >= '0' && c <= '9')
			v = v * 16 + (uintptr_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uintptr_t)(c - 'a' + 10);
		else
			return v;
	}
}

static void parse_maps_line(const char *l)
{
	if (nranges >= MAX_RANGES)
		return;
	struct prot_range r;
	r.lo = hex(&l);
	if (*l++ != '-')
		return;
	r.hi = hex(&l);
	if (*l++ != ' ' || !l[0] || !l[1] || !l[2])
		return;
	r.prot = (l[0] == 'r' ? PROT_READ : 0) | (l[1] == 'w' ? PROT_WRITE : 0) |
		 (l[2] == 'x' ? PROT_EXEC : 0);
	ranges[nranges++] = r;
}

/* Reads /proc/self/maps into ranges without allocating. 0 or a negative errno. */
static int read_maps(void)
{
	if (!ranges) {
		void *m = mmap(NULL, MAX_RANGES * sizeof(*ranges), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return -errno;
		ranges = m;
	}
	nranges = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[4096], line[256];
	size_t ll = 0;
	int skipping = 0; /* the rest of an over-long line (a long path): ignored */
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				line[ll] = 0;
				parse_maps_line(line);
				ll = 0;
				skipping = 0;
			} else if (!skipping) {
				if (ll < sizeof(line) - 1)
					line[ll++] = buf[i];
				else
					skipping = 1; /* the fields we need are already in */
			}
		}
	}
	close(fd);
	return n < 0 ? -EIO : 0;
}

static const struct prot_range *range_of(uintptr_t a)
{
	size_t lo = 0, hi = nranges; /* the kernel lists mappings in address order */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a < ranges[mid].lo)
			hi = mid;
		else if (a >= ranges[mid].hi)
			lo = mid + 1;
		else
			return &ranges[mid];
	}
	return NULL;
}

/* --- patching ------------------------------------------------------------------------------ */

struct object {
	uintptr_t base, lo, hi;	      /* load bias, [lo, hi) covered by PT_LOAD segments */
	uintptr_t relro_lo, relro_hi; /* pages made read-only after relocation */
	const ElfW(Sym) * symtab;
	const char *strtab;
	size_t strsz;
	int restore;
};

/* Writes val into slot. Returns 1 when written. */
static int write_slot(const struct object *o, void **slot, void *val)
{
	uintptr_t a = (uintptr_t)slot;
	const struct prot_range *r = range_of(a);
	if (!r || (a & 7) || !(r->prot & PROT_READ))
		return 0;
	if (r->prot & PROT_WRITE) {
		if (a >= o->relro_lo && a < o->relro_hi && !o->restore)
			return 0; /* RELRO still writable: the loader is relocating this object */
		/* One aligned 8-byte store: atomic on x86-64, a concurrent caller sees the old or
		 * the new function, never a torn pointer. */
		__atomic_store_n(slot, val, __ATOMIC_RELEASE);
		return 1;
	}
	long pg = sysconf(_SC_PAGESIZE);
	void *page = (void *)(a & ~(uintptr_t)(pg - 1));
	if (mprotect(page, (size_t)pg, r->prot | PROT_WRITE) < 0)
		return 0;
	__atomic_store_n(slot, val, __ATOMIC_RELEASE);
	mprotect(page, (size_t)pg, r->prot);
	return 1;
}

static const struct target *target_of(const char *name)
{
	for (size_t i = 0; i < ntargets; i++)
		if (targets[i].on && name[0] == targets[i].name[0] &&
		    !strcmp(name, targets[i].name))
			return &targets[i];
	return NULL;
}

static void patch_table(const struct object *o, const ElfW(Rela) * rel, size_t size)
{
	size_t n = size / sizeof(*rel);
	for (size_t i = 0; i < n; i++) {
		unsigned long type = ELF64_R_TYPE(rel[i].r_info);
		size_t si = ELF64_R_SYM(rel[i].r_info);
		if ((type != R_SLOT && type != R_GLOB) || !si)
			continue;
		const ElfW(Sym) *sym = &o->symtab[si];
		if (sym->st_name >= o->strsz)
			continue;
		const struct target *t = target_of(o->strtab + sym->st_name);
		if (!t)
			continue;
		uintptr_t a = o->base + rel[i].r_offset;
		if (a < o->lo || a + sizeof(void *) > o->hi)
			continue;
		void **slot = (void **)a;
		void *cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
		if (o->restore) {
			if (cur == t->hook && write_slot(o, slot, t->real))
				st_patched++;
			continue;
		}
		if (cur == t->hook)
			continue;
		uintptr_t c = (uintptr_t)cur;
		int own_def = sym->st_shndx != SHN_UNDEF && c == o->base + sym->st_value;
		int lazy_stub = c >= o->lo && c < o->hi && !own_def;
		if (cur != t->real && !lazy_stub) {
			st_foreign++; /* bound to another definition: not ours to redirect */
			continue;
		}
		if (write_slot(o, slot, t->hook))
			st_patched++;
	}
}

static uintptr_t fix(uintptr_t base, uintptr_t p)
{
	/* glibc relocates the d_ptr entries of .dynamic in place, musl does not */
	return p < base ? p + base : p;
}

static int patch_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct object o = {.base = info->dlpi_addr, .lo = UINTPTR_MAX, .restore = *(int *)arg};
	const ElfW(Phdr) *dyn = NULL;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = o.base + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (ph->p_type == PT_LOAD) {
			if (lo < o.lo)
				o.lo = lo;
			if (hi > o.hi)
				o.hi = hi;
		} else if (ph->p_type == PT_DYNAMIC) {
			dyn = ph;
		} else if (ph->p_type == PT_GNU_RELRO) {
			long pg = sysconf(_SC_PAGESIZE);
			o.relro_lo = lo & ~(uintptr_t)(pg - 1);
			o.relro_hi = hi & ~(uintptr_t)(pg - 1);
		}
	}
	if (!dyn || o.lo >= o.hi)
		return 0;
	uintptr_t self = (uintptr_t)(void *)patch_object;
	uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	if ((self >= o.lo && self < o.hi) || (vdso && vdso >= o.lo && vdso < o.hi))
		return 0;
	st_objects++;

	uintptr_t jmprel = 0, rela = 0;
	size_t pltrelsz = 0, relasz = 0;
	long pltrel = DT_RELA;
	const ElfW(Dyn) *d = (const ElfW(Dyn) *)(o.base + dyn->p_vaddr);
	size_t nd = dyn->p_memsz / sizeof(*d);
	for (size_t i = 0; i < nd && d[i].d_tag != DT_NULL; i++) {
		uintptr_t v = d[i].d_un.d_ptr;
		switch (d[i].d_tag) {
		case DT_SYMTAB:
			o.symtab = (const ElfW(Sym) *)fix(o.base, v);
			break;
		case DT_STRTAB:
			o.strtab = (const char *)fix(o.base, v);
			break;
		case DT_STRSZ:
			o.strsz = d[i].d_un.d_val;
			break;
		case DT_JMPREL:
			jmprel = fix(o.base, v);
			break;
		case DT_PLTRELSZ:
			pltrelsz = d[i].d_un.d_val;
			break;
		case DT_PLTREL:
			pltrel = (long)d[i].d_un.d_val;
			break;
		case DT_RELA:
			rela = fix(o.base, v);
			break;
		case DT_RELASZ:
			relasz = d[i].d_un.d_val;
			break;
		}
	}
	if (!o.symtab || !o.strtab || !o.strsz)
		return 0;
	if (jmprel && pltrel == DT_RELA)
		patch_table(&o, (const ElfW(Rela) *)jmprel, pltrelsz);
	if (rela)
		patch_table(&o, (const ElfW(Rela) *)rela, relasz);
	return 0;
}

/* One pass over every loaded object. Called with got_lock held. */
static void patch_all(int restore)
{
	if (read_maps() < 0)
		return;
	st_objects = st_patched = st_foreign = 0;
	dl_iterate_phdr(patch_object, &restore);
}

static void rescan(void)
{
	int saved = errno;
	pthread_mutex_lock(&got_lock);
	if (installed)
		patch_all(0);
	pthread_mutex_unlock(&got_lock);
	errno = saved;
}

/* 1 when the object at caller has its own search path (DT_RUNPATH, or DT_RPATH in a
 * library): a bare name it dlopen's is not searched as this library would search it. */
static struct link_map *caller_with_path(const void *caller)
{
	Dl_info info;
	struct link_map *lm = NULL;
	if (!dladdr1(caller, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm || !lm->l_ld)
		return NULL;
	for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_RUNPATH || (d->d_tag == DT_RPATH && lm->l_name[0]))
			return lm;
	return NULL;
}

/*
 * dlopen on behalf of the object at caller. The loader takes the object calling dlopen (this
 * library, once the slot is patched) as the one whose DT_RUNPATH/$ORIGIN applies to a bare
 * name: search the caller's path list (dlinfo RTLD_DI_SERINFO, $ORIGIN expanded) first, as the
 * loader would have, and open what is found there by its full path. A library already loaded
 * under that name is returned as is.
 */
static void *dlopen_as(const void *caller, const char *file, int flags)
{
	struct link_map *lm;
	if (!file || strchr(file, '/') || !(lm = caller_with_path(caller)))
		return real_dlopen(file, flags);
	void *h = real_dlopen(file, flags | RTLD_NOLOAD);
	if (h)
		return h;
	Dl_serinfo size;
	Dl_serinfo *si = NULL;
	if (dlinfo(lm, RTLD_DI_SERINFOSIZE, &size) < 0 || !(si = malloc(size.dls_size)))
		return real_dlopen(file, flags);
	h = NULL;
	if (dlinfo(lm, RTLD_DI_SERINFOSIZE, si) == 0 && dlinfo(lm, RTLD_DI_SERINFO, si) == 0) {
		char path[4096];
		for (unsigned i = 0; i < si->dls_cnt && !h; i++) {
			const char *dir = si->dls_serpath[i].dls_name;
			if ((size_t)snprintf(path, sizeof(path), "%s%s%s", dir,
					     *dir && dir[strlen(dir) - 1] == '/' ? "" : "/",
					     file) < sizeof(path) &&
			    access(path, F_OK) == 0)
				h = real_dlopen(path, flags);
		}
	}
	free(si);
	return h ? h : real_dlopen(file, flags);
}

static void *hook_dlopen(const char *file, int flags)
{
	void *h = dlopen_as(__builtin_return_address(0), file, flags);
	if (h)
		rescan();
	return h;
}

static void *hook_dlmopen(Lmid_t ns, const char *file, int flags)
{
	void *h = real_dlmopen(ns, file, flags);
	if (h)
		rescan();
	return h;
}

static void got_atfork_child(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	memcpy(&got_lock, &fresh, sizeof(fresh));
}

/* The definition the global scope gives name, or NULL. A non-PIE executable that takes the
 * address of a function gets a canonical PLT entry that dlsym returns: calling it after that
 * executable's slot points at the hook would loop, so it counts as unresolved. */
static void *resolve(const char *name)
{
	void *p = dlsym(RTLD_DEFAULT, name);
	if (!p)
		return NULL;
	Dl_info info;
	const ElfW(Sym) *sym = NULL;
	if (dladdr1(p, &info, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_shndx == SHN_UNDEF)
		return NULL;
	return p;
}

EXPORT int kiln_preload_install(int ring_fd)
{
#if !defined(R_SLOT)
	return -ENOTSUP;
#else
	/* Resolve everything before taking got_lock: dlsym takes the loader's lock, which a
	 * thread inside a nested dlopen may hold while it waits for got_lock. */
	if (dlsym(RTLD_DEFAULT, "malloc") == preload_syms[0].hook)
		return -EEXIST; /* preloaded: interposition already covers everything */
	struct target t[MAX_TARGETS];
	size_t n = 0;
	for (size_t i = 0; i < preload_nsyms && n < MAX_TARGETS - 2; i++) {
		const struct preload_sym *s = &preload_syms[i];
		void *real = resolve(s->name);
		if (!real && !s->cxx && i < 4)
			return -ENOTSUP; /* malloc, free, calloc, realloc are essential */
		t[n++] = (struct target){s->name, s->hook, real, real != NULL};
	}
	void *dlo = resolve("dlopen"), *dlm = resolve("dlmopen");
	t[n++] = (struct target){"dlopen", (void *)hook_dlopen, dlo, dlo != NULL};
	t[n++] = (struct target){"dlmopen", (void *)hook_dlmopen, dlm, dlm != NULL};

	pthread_mutex_lock(&got_lock);
	int err = 0;
	if (installed)
		goto unlock; /* already: keep the first ring */
	/* The real functions first: a slot may be called as soon as it is written. */
	for (size_t i = 0; i < preload_nsyms; i++)
		if (preload_syms[i].real && t[i].real)
			memcpy(preload_syms[i].real, &t[i].real, sizeof(void *));
	preload_set_got_mode();
	int cxx = preload_new_separate();
	for (size_t i = 0; i < preload_nsyms; i++)
		if (preload_syms[i].cxx)
			t[i].on = t[i].on && cxx;
	real_dlopen = (void *(*)(const char *, int))dlo;
	real_dlmopen = (void *(*)(Lmid_t, const char *, int))dlm;
	err = preload_attach_fd(ring_fd);
	if (err)
		goto unlock;
	memcpy(targets, t, n * sizeof(t[0]));
	ntargets = n;
	if (!atfork_done && pthread_atfork(NULL, NULL, got_atfork_child) == 0)
		atfork_done = 1;
	installed = 1;
	patch_all(0);
unlock:
	pthread_mutex_unlock(&got_lock);
	return err;
#endif
}

EXPORT int kiln_preload_uninstall(void)
{
	pthread_mutex_lock(&got_lock);
	if (installed) {
		patch_all(1);
		installed = 0;
		preload_stop_sampling();
	}
	pthread_mutex_unlock(&got_lock);
	return 0;
}

EXPORT void kiln_preload_got_stats(unsigned *objects, unsigned *patched, unsigned *foreign)
{
	pthread_mutex_lock(&got_lock);
	if (objects)
		*objects = st_objects;
	if (patched)
		*patched = st_patched;
	if (foreign)
		*foreign = st_foreign;
	pthread_mutex_unlock(&got_lock);
}
