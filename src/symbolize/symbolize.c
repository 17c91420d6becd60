/*
 * symbolize.c: names, files and lines for ELF addresses, cached per ELF file.
 *
 * Design: the first time an ELF is symbolized, its function symbols (.symtab of the file or
 * of its separate debug file, plus .dynsym) are read once into one sorted array; lookups are
 * binary searches. With inlined functions asked for, DWARF (libdw) gives the chain of
 * inlined frames and file:line; those results are cached per address, since the same
 * addresses come back at every export. Every string handed out lives in a per-ELF arena
 * (or the symbolizer's arena for fallbacks, JIT and kernel names), so results stay valid
 * until symbolizer_gc().
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/vec.h"
#include "proc/elf.h"
#include "symbolize/debuginfo.h"
#include "symbolize/rust.h"
#include "symbolize/symbolize.h"

#define NAME_MAX_LEN 4096
#define MAX_INLINE_DEPTH 64

struct sym {
	uint64_t addr, size;
	int rank;	       /* lower is a better name for the address */
	const char *mangled;   /* in the cache's arena */
	const char *demangled; /* lazily; == mangled when not mangled */
};

typedef VEC(struct sym) sym_vec;

/* A cached DWARF result: frames[first .. first+count) of the cache. */
struct elf_cache {
	struct proc_elf *elf;	/* one reference */
	struct proc_elf *debug; /* separate debug file or NULL (one reference) */
	Dwarf *dw;		/* on the file that has .debug_info, or NULL */
	bool dw_tried;
	struct arena arena;
	struct sym *syms;
	size_t nsyms;
	struct hmap lines; /* elf addr -> first << 32 | count into frames */
	VEC(struct sym_frame) frames;
};

struct addr_sym {
	uint64_t addr, size;
	const char *name;
};

struct perf_map {
	int pid;
	time_t mtime;
	off_t size;
	struct addr_sym *syms;
	size_t n;
	struct arena arena;
};

struct symbolizer {
	struct symbolize_opts opts;
	struct hmap elfs;     /* struct proc_elf * -> struct elf_cache * */
	struct arena scratch; /* fallback names; reset at gc */
	VEC(struct perf_map *) perf_maps;
	struct addr_sym *ksyms;
	size_t nksyms;
	bool ksyms_tried;
	struct arena karena;
};

static void elf_cache_free(struct elf_cache *c)
{
	if (!c)
		return;
	if (c->dw)
		dwarf_end(c->dw);
	proc_elf_unref(c->debug);
	proc_elf_unref(c->elf);
	arena_release(&c->arena);
	free(c->syms);
	hmap_release(&c->lines);
	vec_release(&c->frames);
	free(c);
}

static void perf_map_free(struct perf_map *m)
{
	if (!m)
		return;
	free(m->syms);
	arena_release(&m->arena);
	free(m);
}

struct symbolizer *symbolizer_new(const struct symbolize_opts *opts)
{
	struct symbolizer *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (opts)
		s->opts = *opts;
	if (hmap_init(&s->elfs, 16) < 0) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	arena_init(&s->scratch, 16384);
	arena_init(&s->karena, 1 << 20);
	return s;
}

static void drop_perf_maps(struct symbolizer *s)
{
	for (size_t i = 0; i < s->perf_maps.len; i++)
		perf_map_free(s->perf_maps.items[i]);
	vec_clear(&s->perf_maps);
}

void symbolizer_free(struct symbolizer *s)
{
	uint64_t k, v;
	if (!s)
		return;
	for (size_t it = 0; hmap_next(&s->elfs, &it, &k, &v);)
		elf_cache_free((struct elf_cache *)(uintptr_t)v);
	hmap_release(&s->elfs);
	drop_perf_maps(s);
	vec_release(&s->perf_maps);
	free(s->ksyms);
	arena_release(&s->scratch);
	arena_release(&s->karena);
	free(s);
}

void symbolizer_gc(struct symbolizer *s)
{
	uint64_t k, v;
	VEC(uint64_t) drop = VEC_INIT;
	for (size_t it = 0; hmap_next(&s->elfs, &it, &k, &v);) {
		struct elf_cache *c = (struct elf_cache *)(uintptr_t)v;
		/* Only we (and the proc table's registry) still hold it: no mapping uses the
		 * file any more. */
		if (c->elf->refs <= (c->elf->registered ? 2u : 1u) && vec_push(&drop, k) < 0)
			break;
	}
	for (size_t i = 0; i < drop.len; i++) {
		if (hmap_del(&s->elfs, drop.items[i], &v))
			elf_cache_free((struct elf_cache *)(uintptr_t)v);
	}
	vec_release(&drop);
	drop_perf_maps(s);
	arena_release(&s->scratch);
	arena_init(&s->scratch, 16384);
}

/* ---- demangling ---- */

#include <libiberty/demangle.h>

struct dm_out {
	char *out;
	size_t outsz, len;
	bool overflow;
};

static void dm_append(const char *s, size_t n, void *opaque)
{
	struct dm_out *o = opaque;
	if (o->len + n + 1 > o->outsz) {
		o->overflow = true;
		n = o->outsz - o->len - 1;
	}
	memcpy(o->out + o->len, s, n);
	o->len += n;
	o->out[o->len] = '\0';
}

bool symbolize_demangle(const char *mangled, char *out, size_t outsz)
{
	if (!mangled || !out || outsz < 2)
		return false;
	out[0] = '\0';
	if (!strncmp(mangled, "_R", 2))
		return rust_demangle_v0(mangled, out, outsz);
	if (strncmp(mangled, "_Z", 2))
		return false;
	struct dm_out o = {.out = out, .outsz = outsz};
	if (!cplus_demangle_v3_callback(mangled, DMGL_PARAMS | DMGL_ANSI, dm_append, &o) ||
	    o.len == 0 || o.overflow) {
		out[0] = '\0';
		return false;
	}
	/* Rust legacy names are Itanium names with a hash and $-escapes. */
	if (rust_is_legacy(mangled))
		rust_legacy_cleanup(out);
	return true;
}

/* ---- symbol tables ---- */

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return x->rank - y->rank;
}

static bool elf_has_section(Elf *elf, Elf64_Word type, const char *name)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (type && sh.sh_type == type)
			return true;
		if (name) {
			const char *n = elf_strptr(elf, shstrndx, sh.sh_name);
			if (n && !strcmp(n, name) && sh.sh_type != SHT_NOBITS)
				return true;
		}
	}
	return false;
}

static int read_symtab(Elf *elf, Elf64_Word type, struct arena *a, sym_vec *out)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || sh.sh_entsize == 0)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym st;
			if (!gelf_getsym(d, (int)i, &st))
				break;
			int t = GELF_ST_TYPE(st.st_info);
			if ((t != STT_FUNC && t != STT_GNU_IFUNC) || st.st_shndx == SHN_UNDEF ||
			    st.st_value == 0)
				continue;
			const char *name = elf_strptr(elf, sh.sh_link, st.st_name);
			if (!name || !*name)
				continue;
			/* Of aliases, prefer global names, then names without a compiler suffix
			 * (".localalias", ".constprop.0"), then short ones. */
			int bind = GELF_ST_BIND(st.st_info);
			int rank = (bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2) << 16;
			if (strchr(name, '.') || strstr(name, "_alias"))
				rank += 1 << 15;
			size_t nl = strlen(name);
			rank += nl < 0x7fff ? (int)nl : 0x7fff;
			struct sym s = {.addr = st.st_value, .size = st.st_size, .rank = rank};
			s.mangled = arena_strdup(a, name);
			if (!s.mangled || vec_push(out, s) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static void load_symbols(struct elf_cache *c)
{
	sym_vec v = VEC_INIT;
	Elf *symtab_elf = c->elf->elf;
	if (!elf_has_section(symtab_elf, SHT_SYMTAB, NULL) && c->debug)
		symtab_elf = c->debug->elf;
	if (read_symtab(symtab_elf, SHT_SYMTAB, &c->arena, &v) < 0 ||
	    read_symtab(c->elf->elf, SHT_DYNSYM, &c->arena, &v) < 0)
		LOG_WARN("symbolize: out of memory reading the symbols of '%s'", c->elf->path);
	if (v.len)
		qsort(v.items, v.len, sizeof(v.items[0]), sym_cmp);
	/* One symbol per address: the largest (first after sorting), .symtab's name first. */
	size_t w = 0;
	for (size_t i = 0; i < v.len; i++) {
		if (w && v.items[w - 1].addr == v.items[i].addr)
			continue;
		v.items[w++] = v.items[i];
	}
	c->syms = v.items;
	c->nsyms = w;
}

static struct sym *find_sym(struct elf_cache *c, uint64_t addr)
{
	size_t lo = 0, hi = c->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Walk back over small symbols nested in a bigger one. */
	for (size_t i = lo, steps = 0; i > 0 && steps < 4; i--, steps++) {
		struct sym *s = &c->syms[i - 1];
		if (addr < s->addr + s->size)
			return s;
		if (s->size == 0 && i == lo && (i == c->nsyms || addr < c->syms[i].addr) &&
		    addr - s->addr < 4096)
			return s;
	}
	return NULL;
}

/* Cuts the copies a compiler makes of a function back to its name, so that samples of
 * foo, foo.constprop.0 and foo.cold add up: C's "foo.isra.0" and C++'s "foo() [clone .cold]".
 * Returns true if name changed. */
static bool strip_clone_suffix(char *name)
{
	static const char *const suffixes[] = {".constprop.", ".isra.",	     ".part.", ".cold",
					       ".lto_priv.",  ".localalias", ".clone."};
	bool changed = false;
	char *c;
	while ((c = strstr(name, " [clone ."))) {
		char *end = strchr(c, ']');
		if (!end)
			break;
		memmove(c, end + 1, strlen(end + 1) + 1);
		changed = true;
	}
	if (name[0] == '.')
		return changed;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		c = strstr(name, suffixes[i]);
		if (c && c != name && !strchr(name, '(')) {
			*c = '\0';
			changed = true;
		}
	}
	return changed;
}

static const char *demangled_or(struct arena *a, const char *mangled)
{
	char buf[NAME_MAX_LEN];
	bool changed = symbolize_demangle(mangled, buf, sizeof(buf));
	if (!changed)
		snprintf(buf, sizeof(buf), "%s", mangled);
	changed |= strip_clone_suffix(buf);
	if (changed) {
		const char *d = arena_strdup(a, buf);
		return d ? d : mangled;
	}
	return mangled;
}

static const char *sym_name(struct elf_cache *c, struct sym *s)
{
	if (!s->demangled)
		s->demangled = demangled_or(&c->arena, s->mangled);
	return s->demangled;
}

/* ---- DWARF ---- */

static Dwarf *cache_dwarf(struct elf_cache *c)
{
	if (c->dw_tried)
		return c->dw;
	c->dw_tried = true;
	if (elf_has_section(c->elf->elf, 0, ".debug_info"))
		c->dw = dwarf_begin_elf(c->elf->elf, DWARF_C_READ, NULL);
	if (!c->dw && c->debug)
		c->dw = dwarf_begin_elf(c->debug->elf, DWARF_C_READ, NULL);
	return c->dw;
}

static const char *die_name(struct elf_cache *c, Dwarf_Die *die, const char **system)
{
	Dwarf_Attribute mem;
	Dwarf_Attribute *a = dwarf_attr_integrate(die, DW_AT_linkage_name, &mem);
	if (!a)
		a = dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &mem);
	const char *linkage = a ? dwarf_formstring(a) : NULL;
	if (linkage) {
		const char *m = arena_strdup(&c->arena, linkage);
		*system = m;
		return m ? demangled_or(&c->arena, m) : NULL;
	}
	const char *n = dwarf_diename(die);
	n = n ? arena_strdup(&c->arena, n) : NULL;
	*system = n;
	return n;
}

/* Fills frames for addr from DWARF, innermost first. Returns the count, 0 when unknown. */
static size_t dwarf_frames(struct elf_cache *c, uint64_t addr, struct sym_frame *out, size_t max)
{
	Dwarf *dw = cache_dwarf(c);
	Dwarf_Die cudie, *scopes = NULL;
	if (!dw || !dwarf_addrdie(dw, addr, &cudie))
		return 0;
	int ns = dwarf_getscopes(&cudie, addr, &scopes);
	if (ns <= 0) {
		free(scopes);
		return 0;
	}
	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	dwarf_getsrcfiles(&cudie, &files, &nfiles);
	const char *file = NULL;
	int line = 0;
	Dwarf_Line *l = dwarf_getsrc_die(&cudie, addr);
	if (l) {
		file = dwarf_linesrc(l, NULL, NULL);
		dwarf_lineno(l, &line);
	}
	size_t n = 0;
	Dwarf_Die cur;
	int i = 0;
	while (i < ns && dwarf_tag(&scopes[i]) != DW_TAG_subprogram &&
	       dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
		i++;
	if (i == ns)
		goto free_scopes;
	cur = scopes[i];
	while (n < max) {
		const char *system = NULL;
		const char *name = die_name(c, &cur, &system);
		out[n] = (struct sym_frame){
		    .name = name ? name : "",
		    .system_name = system ? system : "",
		    .file = file ? arena_strdup(&c->arena, file) : c->elf->path,
		    .line = line,
		};
		if (!out[n].file)
			out[n].file = c->elf->path;
		n++;
		if (dwarf_tag(&cur) != DW_TAG_inlined_subroutine)
			break;
		/* The caller's position is this inlined call's site; the caller is the
		 * nearest concrete function or inlined instance around it. */
		Dwarf_Attribute mem;
		Dwarf_Word fidx = 0, cl = 0;
		file = NULL;
		line = 0;
		if (files && dwarf_formudata(dwarf_attr(&cur, DW_AT_call_file, &mem), &fidx) == 0)
			file = dwarf_filesrc(files, fidx, NULL, NULL);
		if (dwarf_formudata(dwarf_attr(&cur, DW_AT_call_line, &mem), &cl) == 0)
			line = (int)cl;
		Dwarf_Die *chain = NULL;
		int nc = dwarf_getscopes_die(&cur, &chain);
		int j = 1;
		while (j < nc && dwarf_tag(&chain[j]) != DW_TAG_subprogram &&
		       dwarf_tag(&chain[j]) != DW_TAG_inlined_subroutine)
			j++;
		bool found = j < nc;
		if (found)
			cur = chain[j];
		free(chain);
		if (!found)
			break;
	}
free_scopes:
	free(scopes);
	return n;
}

/* ---- per-ELF cache ---- */

static struct elf_cache *cache_for(struct symbolizer *s, struct proc_elf *elf)
{
	uint64_t key = (uint64_t)(uintptr_t)elf;
	uint64_t *v = hmap_get(&s->elfs, key);
	if (v)
		return (struct elf_cache *)(uintptr_t)*v;
	struct elf_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	arena_init(&c->arena, 65536);
	hmap_init(&c->lines, 0);
	c->elf = proc_elf_ref(elf);
	if (!elf_has_section(elf->elf, SHT_SYMTAB, NULL) ||
	    (s->opts.inlined_functions && !elf_has_section(elf->elf, 0, ".debug_info")))
		c->debug = debuginfo_find(elf);
	load_symbols(c);
	if (hmap_put(&s->elfs, key, (uint64_t)(uintptr_t)c) < 0) {
		elf_cache_free(c);
		return NULL;
	}
	return c;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

static size_t symbolize_one(struct symbolizer *s, struct elf_cache *c, struct proc_elf *elf,
			    uint64_t addr, struct sym_frame *out, size_t room)
{
	if (room == 0)
		return 0;
	if (c && s->opts.inlined_functions) {
		uint64_t *v = hmap_get(&c->lines, addr);
		if (v) {
			size_t first = *v >> 32, count = *v & 0xffffffff;
			if (count > room)
				count = room;
			memcpy(out, &c->frames.items[first], count * sizeof(*out));
			return count;
		}
		struct sym_frame tmp[MAX_INLINE_DEPTH];
		size_t n = dwarf_frames(c, addr, tmp, MAX_INLINE_DEPTH);
		if (n > 0) {
			/* The symbol table names the outermost function more reliably (DWARF of
			 * C has no linkage name; a static function may be nameless). */
			struct sym *sy = find_sym(c, addr);
			if (sy && !*tmp[n - 1].name) {
				tmp[n - 1].name = sym_name(c, sy);
				tmp[n - 1].system_name = sy->mangled;
			}
			size_t first = c->frames.len;
			bool cached = false;
			if (vec_reserve(&c->frames, first + n) == 0) {
				memcpy(&c->frames.items[first], tmp, n * sizeof(tmp[0]));
				c->frames.len += n;
				cached = hmap_put(&c->lines, addr, (uint64_t)first << 32 | n) == 0;
			}
			(void)cached;
			if (n > room)
				n = room;
			memcpy(out, tmp, n * sizeof(*out));
			return n;
		}
	}
	struct sym *sy = c ? find_sym(c, addr) : NULL;
	if (sy) {
		out[0] = (struct sym_frame){
		    .name = sym_name(c, sy),
		    .system_name = sy->mangled,
		    .file = elf->path,
		    .line = 0,
		};
		return 1;
	}
	char buf[512];
	snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, base_name(elf->path), addr);
	const char *name = arena_strdup(&s->scratch, buf);
	out[0] = (struct sym_frame){
	    .name = name ? name : "[unknown]",
	    .system_name = name ? name : "[unknown]",
	    .file = elf->path,
	    .line = 0,
	};
	return 1;
}

int symbolizer_symbolize(struct symbolizer *s, struct proc_elf *elf, const uint64_t *addrs,
			 size_t n, struct sym_frame *out_frames, size_t max_frames,
			 uint32_t *out_start, uint32_t *out_count)
{
	if (!s || !elf || (n && (!addrs || !out_frames || !out_start || !out_count)))
		return -EINVAL;
	struct elf_cache *c = cache_for(s, elf);
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		if (used >= max_frames)
			return -ENOSPC;
		size_t k = symbolize_one(s, c, elf, addrs[i], &out_frames[used], max_frames - used);
		out_start[i] = (uint32_t)used;
		out_count[i] = (uint32_t)k;
		used += k;
	}
	return (int)used;
}

/* ---- JIT perf maps and kernel symbols ---- */

static int addr_sym_cmp(const void *a, const void *b)
{
	const struct addr_sym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static const struct addr_sym *find_addr_sym(const struct addr_sym *v, size_t n, uint64_t pc,
					    bool sized)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].addr <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const struct addr_sym *a = &v[lo - 1];
	if (sized && pc >= a->addr + a->size)
		return NULL;
	return a;
}

static struct perf_map *perf_map_load(int pid, const char *path, const struct stat *st)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	struct perf_map *m = calloc(1, sizeof(*m));
	if (!m) {
		fclose(f);
		return NULL;
	}
	m->pid = pid;
	m->mtime = st->st_mtime;
	m->size = st->st_size;
	arena_init(&m->arena, 65536);
	VEC(struct addr_sym) v = VEC_INIT;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		char *end;
		unsigned long long start = strtoull(line, &end, 16);
		if (end == line || *end != ' ')
			continue;
		char *p = end + 1;
		unsigned long long size = strtoull(p, &end, 16);
		if (end == p || *end != ' ')
			continue;
		p = end + 1;
		p[strcspn(p, "\n")] = '\0';
		struct addr_sym a = {
		    .addr = start, .size = size, .name = arena_strdup(&m->arena, p)};
		if (!a.name || vec_push(&v, a) < 0)
			break;
	}
	free(line);
	fclose(f);
	if (v.len)
		qsort(v.items, v.len, sizeof(v.items[0]), addr_sym_cmp);
	m->syms = v.items;
	m->n = v.len;
	return m;
}

bool symbolizer_perf_map(struct symbolizer *s, int pid, uint64_t pc, struct sym_frame *out)
{
	char path[128];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/root/tmp/perf-%d.map", pid, pid);
	struct perf_map *m = NULL;
	size_t idx = 0;
	for (; idx < s->perf_maps.len; idx++) {
		if (s->perf_maps.items[idx]->pid == pid) {
			m = s->perf_maps.items[idx];
			break;
		}
	}
	const struct addr_sym *a = m ? find_addr_sym(m->syms, m->n, pc, true) : NULL;
	if (!a) {
		/* The JIT appends as it compiles: reload when the file changed. */
		if (stat(path, &st) < 0)
			return false;
		if (m && m->mtime == st.st_mtime && m->size == st.st_size)
			return false;
		struct perf_map *nm = perf_map_load(pid, path, &st);
		if (!nm)
			return false;
		if (m) {
			/* Keep the old one alive until gc: names from it may be in use. */
			if (vec_push(&s->perf_maps, nm) < 0) {
				perf_map_free(nm);
				return false;
			}
			s->perf_maps.items[s->perf_maps.len - 1] = m;
			s->perf_maps.items[idx] = nm;
		} else if (vec_push(&s->perf_maps, nm) < 0) {
			perf_map_free(nm);
			return false;
		}
		m = nm;
		a = find_addr_sym(m->syms, m->n, pc, true);
		if (!a)
			return false;
	}
	*out = (struct sym_frame){.name = a->name, .system_name = a->name, .file = "[jit]"};
	return true;
}

static void load_kallsyms(struct symbolizer *s)
{
	s->ksyms_tried = true;
	FILE *f = fopen("/proc/kallsyms", "re");
	if (!f)
		return;
	VEC(struct addr_sym) v = VEC_INIT;
	char *line = NULL;
	size_t cap = 0;
	bool nonzero = false;
	while (getline(&line, &cap, f) > 0) {
		char *end;
		unsigned long long addr = strtoull(line, &end, 16);
		if (end == line || end[0] != ' ' || !end[1] || end[2] != ' ')
			continue;
		char type = end[1];
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		char *name = end + 3;
		name[strcspn(name, " \t\n")] = '\0';
		if (addr)
			nonzero = true;
		struct addr_sym a = {.addr = addr, .name = arena_strdup(&s->karena, name)};
		if (!a.name || vec_push(&v, a) < 0)
			break;
	}
	free(line);
	fclose(f);
	if (!nonzero) {
		LOG_INFO("symbolize: kernel symbols are hidden (kptr_restrict); kernel frames "
			 "stay unnamed: run as root or set kernel.kptr_restrict=0");
		vec_release(&v);
		return;
	}
	qsort(v.items, v.len, sizeof(v.items[0]), addr_sym_cmp);
	s->ksyms = v.items;
	s->nksyms = v.len;
}

bool symbolizer_kernel(struct symbolizer *s, uint64_t pc, struct sym_frame *out)
{
	if (!s->ksyms_tried)
		load_kallsyms(s);
	const struct addr_sym *a = find_addr_sym(s->ksyms, s->nksyms, pc, false);
	if (!a)
		return false;
	*out = (struct sym_frame){.name = a->name, .system_name = a->name, .file = "[kernel]"};
	return true;
}
