/*
 * elf.c: opening the ELF files behind mappings and reading what every consumer needs from
 * them at once: the PT_LOAD segments (for the load bias) and the build id (for the exporter
 * and for finding separate debug files). Everything else (CFI, symbols, DWARF) is read
 * lazily by the module that needs it, through the libelf handle kept here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc/elf.h"

static void elf_lib_init(void)
{
	static bool done;
	if (!done) {
		elf_version(EV_CURRENT);
		done = true;
	}
}

static void hex_encode(const uint8_t *p, size_t n, char *out, size_t outsz)
{
	static const char digits[] = "0123456789abcdef";
	size_t j = 0;
	for (size_t i = 0; i < n && j + 2 < outsz; i++) {
		out[j++] = digits[p[i] >> 4];
		out[j++] = digits[p[i] & 15];
	}
	out[j] = '\0';
}

/* Scans one block of notes; GNU build id wins, Go's is kept as a fallback in *go. */
static size_t scan_notes(Elf_Data *data, char *hex, size_t hexsz, uint8_t *go, size_t *go_len)
{
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;
	while (off < data->d_size &&
	       (next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const char *name = (const char *)data->d_buf + name_off;
		const uint8_t *desc = (const uint8_t *)data->d_buf + desc_off;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp(name, "GNU", 4) &&
		    nh.n_descsz > 0) {
			size_t n = nh.n_descsz < PROC_ELF_BUILD_ID_MAX ? nh.n_descsz
								       : PROC_ELF_BUILD_ID_MAX;
			hex_encode(desc, n, hex, hexsz);
			return n;
		}
		if (nh.n_type == 4 && nh.n_namesz == 4 && !memcmp(name, "Go\0\0", 4) && !*go_len &&
		    nh.n_descsz > 0) {
			size_t n = nh.n_descsz < PROC_ELF_BUILD_ID_MAX ? nh.n_descsz
								       : PROC_ELF_BUILD_ID_MAX;
			memcpy(go, desc, n);
			*go_len = n;
		}
		off = next;
	}
	return 0;
}

size_t proc_elf_read_build_id(Elf *elf, char *hex, size_t hexsz)
{
	uint8_t go[PROC_ELF_BUILD_ID_MAX];
	size_t go_len = 0, n;
	size_t phnum;
	hex[0] = '\0';
	if (elf_getphdrnum(elf, &phnum) == 0) {
		for (size_t i = 0; i < phnum; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
				continue;
			Elf_Data *d =
			    elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
						 ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
			if (d && (n = scan_notes(d, hex, hexsz, go, &go_len)) > 0)
				return n;
		}
	}
	/* Debug files and some stripped layouts keep notes only in sections. */
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (d && (n = scan_notes(d, hex, hexsz, go, &go_len)) > 0)
			return n;
	}
	if (go_len) {
		hex_encode(go, go_len, hex, hexsz);
		return go_len;
	}
	return 0;
}

static int elf_setup(struct proc_elf *e)
{
	GElf_Ehdr eh;
	size_t phnum;
	if (elf_kind(e->elf) != ELF_K_ELF || !gelf_getehdr(e->elf, &eh) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || elf_getphdrnum(e->elf, &phnum) < 0)
		return -ENOEXEC;
	if (phnum > 4096)
		return -ENOEXEC;
	e->loads = calloc(phnum ? phnum : 1, sizeof(*e->loads));
	if (!e->loads)
		return -ENOMEM;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		e->loads[e->nloads++] = (struct proc_elf_load){
		    .offset = ph.p_offset,
		    .vaddr = ph.p_vaddr,
		    .filesz = ph.p_filesz,
		    .memsz = ph.p_memsz,
		    .flags = ph.p_flags,
		};
	}
	proc_elf_read_build_id(e->elf, e->build_id, sizeof(e->build_id));
	return 0;
}

static struct proc_elf *elf_alloc(const char *map_path, const char *open_path)
{
	struct proc_elf *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->fd = -1;
	e->refs = 1;
	e->path = strdup(map_path ? map_path : open_path);
	e->open_path = strdup(open_path ? open_path : map_path);
	if (!e->path || !e->open_path) {
		free(e->path);
		free(e->open_path);
		free(e);
		errno = ENOMEM;
		return NULL;
	}
	return e;
}

struct proc_elf *proc_elf_open(const char *open_path, const char *map_path)
{
	struct stat st;
	int err;
	elf_lib_init();
	int fd = open(open_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err = ENOEXEC;
		goto close_fd;
	}
	struct proc_elf *e = elf_alloc(map_path, open_path);
	if (!e) {
		err = ENOMEM;
		goto close_fd;
	}
	e->fd = fd;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e->elf) {
		proc_elf_unref(e);
		errno = ENOEXEC;
		return NULL;
	}
	err = elf_setup(e);
	if (err < 0) {
		proc_elf_unref(e);
		errno = -err;
		return NULL;
	}
	/* libelf mapped the whole file: the descriptor is not needed any more (a profiler of
	 * a whole host would otherwise hold one per ELF file). */
	size_t mapped = 0;
	if (elf_rawfile(e->elf, &mapped) && mapped == (size_t)st.st_size &&
	    elf_cntl(e->elf, ELF_C_FDDONE) == 0) {
		close(e->fd);
		e->fd = -1;
	}
	return e;
close_fd:
	close(fd);
	errno = err;
	return NULL;
}

struct proc_elf *proc_elf_from_memory(const void *data, size_t len, const char *map_path)
{
	elf_lib_init();
	struct proc_elf *e = elf_alloc(map_path, map_path);
	if (!e)
		return NULL;
	e->image = malloc(len ? len : 1);
	if (!e->image) {
		proc_elf_unref(e);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(e->image, data, len);
	e->elf = elf_memory(e->image, len);
	int err = e->elf ? elf_setup(e) : -ENOEXEC;
	if (err < 0) {
		proc_elf_unref(e);
		errno = -err;
		return NULL;
	}
	return e;
}

struct proc_elf *proc_elf_ref(struct proc_elf *e)
{
	if (e)
		e->refs++;
	return e;
}

void proc_elf_unref(struct proc_elf *e)
{
	if (!e || --e->refs > 0)
		return;
	if (e->cfi_free)
		e->cfi_free(e->cfi);
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
	free(e->image);
	free(e->loads);
	free(e->path);
	free(e->open_path);
	free(e);
}

uint64_t proc_elf_bias(const struct proc_elf *e, uint64_t start, uint64_t pgoff)
{
	const struct proc_elf_load *best = NULL;
	for (size_t i = 0; i < e->nloads; i++) {
		const struct proc_elf_load *l = &e->loads[i];
		uint64_t lo = l->offset & ~(uint64_t)0xfff;
		if (pgoff >= lo && pgoff < l->offset + (l->filesz ? l->filesz : 1)) {
			if (!best || (l->flags & PF_X))
				best = l;
			if (l->flags & PF_X)
				break;
		}
	}
	if (!best)
		return start - pgoff;
	return start - pgoff + best->offset - best->vaddr;
}

const char *proc_elf_path(const struct proc_elf *elf)
{
	return elf ? elf->path : "";
}

const char *proc_elf_build_id(const struct proc_elf *elf)
{
	return elf ? elf->build_id : "";
}
