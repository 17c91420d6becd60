/*
 * debuginfo.c: locating separate debug files (Debian's -dbg/-dbgsym packages install them
 * under /usr/lib/debug/.build-id; objcopy --add-gnu-debuglink writes the debuglink form).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "symbolize/debuginfo.h"

static char debug_root[1024];

void debuginfo_set_root(const char *root)
{
	snprintf(debug_root, sizeof(debug_root), "%s", root ? root : "");
}

uint32_t debuginfo_crc32(uint32_t crc, const void *data, size_t len)
{
	static uint32_t table[256];
	static int ready;
	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = 1;
	}
	const uint8_t *p = data;
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static bool file_crc(const struct proc_elf *d, uint32_t *out)
{
	size_t size = 0;
	const char *raw = elf_rawfile(d->elf, &size);
	if (raw) {
		*out = debuginfo_crc32(0, raw, size);
		return true;
	}
	if (d->fd < 0)
		return false;
	uint8_t buf[65536];
	uint32_t crc = 0;
	off_t off = 0;
	ssize_t n;
	while ((n = pread(d->fd, buf, sizeof(buf), off)) > 0) {
		crc = debuginfo_crc32(crc, buf, (size_t)n);
		off += n;
	}
	*out = crc;
	return n == 0;
}

/* Accepts a candidate only when it is the same build (or, without build ids, the CRC). */
static struct proc_elf *try_open(const char *path, const struct proc_elf *elf, bool check_crc,
				 uint32_t crc)
{
	if (access(path, R_OK) != 0)
		return NULL;
	struct proc_elf *d = proc_elf_open(path, path);
	if (!d)
		return NULL;
	if (elf->build_id[0] && d->build_id[0]) {
		if (!strcmp(elf->build_id, d->build_id))
			return d;
	} else if (check_crc) {
		uint32_t got;
		if (file_crc(d, &got) && got == crc)
			return d;
	} else {
		return d;
	}
	LOG_DEBUG("symbolize: '%s' does not match '%s'", path, elf->path);
	proc_elf_unref(d);
	return NULL;
}

static bool read_debuglink(Elf *elf, char *name, size_t namesz, uint32_t *crc)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!n || strcmp(n, ".gnu_debuglink"))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || d->d_size < 8)
			return false;
		const char *s = d->d_buf;
		size_t len = strnlen(s, d->d_size);
		size_t crc_off = (len + 4) & ~(size_t)3;
		if (len == 0 || len >= namesz || crc_off + 4 > d->d_size || memchr(s, '/', len))
			return false;
		memcpy(name, s, len);
		name[len] = '\0';
		memcpy(crc, s + crc_off, 4);
		return true;
	}
	return false;
}

struct proc_elf *debuginfo_find(const struct proc_elf *elf)
{
	char path[8800];
	struct proc_elf *d;
	if (elf->image)
		return NULL; /* in-memory images (the vdso, fuzz inputs) have no files around */
	if (elf->build_id[0] && strlen(elf->build_id) > 2) {
		snprintf(path, sizeof(path), "%s/usr/lib/debug/.build-id/%.2s/%s.debug", debug_root,
			 elf->build_id, elf->build_id + 2);
		if ((d = try_open(path, elf, false, 0)))
			return d;
	}
	char name[256];
	uint32_t crc;
	if (!read_debuglink(elf->elf, name, sizeof(name), &crc))
		return NULL;
	char dir[4096], tdir[4096];
	snprintf(dir, sizeof(dir), "%s", elf->open_path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	snprintf(tdir, sizeof(tdir), "%s", elf->path);
	slash = strrchr(tdir, '/');
	if (slash)
		*slash = '\0';
	else
		tdir[0] = '\0';
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s%s", dir, i ? ".debug/" : "", name);
		if (strcmp(path, elf->open_path) && (d = try_open(path, elf, true, crc)))
			return d;
	}
	snprintf(path, sizeof(path), "%s/usr/lib/debug%s/%s", debug_root, tdir, name);
	return try_open(path, elf, true, crc);
}
