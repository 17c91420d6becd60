/*
 * spool.c: the on-disk half of the exporter's spool (see spool.h). The exporter keeps
 * profiles in memory while it runs; this file is how they survive the process.
 */
#include "export/spool.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "base/log.h"

#define SPOOL_MAGIC "KILNSPOOL 1\n"
#define SPOOL_SUFFIX ".kspool"

int spool_write(const char *dir, uint64_t seq, const struct spool_entry *e, struct buf *path_out)
{
	struct buf path = BUF_INIT, data = BUF_INIT;
	int ret;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		ret = -errno;
		LOG_WARN("export: cannot create spool directory '%s': %s", dir, strerror(errno));
		return ret;
	}
	if (memchr(e->tags.data ? e->tags.data : "", '\n', e->tags.len)) {
		LOG_WARN("export: tags contain a newline; not spooled");
		return -EINVAL;
	}
	ret = buf_printf(&path, "%s/%019" PRId64 "-%06" PRIu64 SPOOL_SUFFIX, dir, e->start_ns, seq);
	if (ret < 0)
		goto out;
	ret = buf_printf(&data, SPOOL_MAGIC "%" PRId64 " %" PRId64 "\n%s\n", e->start_ns, e->end_ns,
			 e->tags.data ? e->tags.data : "");
	if (ret == 0)
		ret = buf_append(&data, e->profile.data ? e->profile.data : "", e->profile.len);
	if (ret < 0)
		goto out;
	ret = buf_write_file(&data, path.data);
	if (ret < 0) {
		LOG_WARN("export: cannot write spool file '%s': %s", path.data, strerror(-ret));
		goto out;
	}
	if (path_out)
		ret = buf_puts(path_out, path.data);
out:
	buf_release(&data);
	buf_release(&path);
	return ret;
}

static const char *line_end(const uint8_t *p, const uint8_t *end)
{
	return memchr(p, '\n', (size_t)(end - p));
}

int spool_parse(const uint8_t *data, size_t len, struct spool_entry *e, struct buf *err)
{
	const uint8_t *end = data + len, *p = data;
	size_t mlen = strlen(SPOOL_MAGIC);
	char nums[64];

	if (len < mlen || memcmp(data, SPOOL_MAGIC, mlen) != 0) {
		if (err)
			buf_puts(err, "not a kiln spool file (bad magic)");
		return -EINVAL;
	}
	p += mlen;
	const char *nl = line_end(p, end);
	if (!nl || (size_t)(nl - (const char *)p) >= sizeof(nums)) {
		if (err)
			buf_puts(err, "bad time line");
		return -EINVAL;
	}
	memcpy(nums, p, (size_t)(nl - (const char *)p));
	nums[nl - (const char *)p] = '\0';
	char *ep;
	errno = 0;
	e->start_ns = strtoll(nums, &ep, 10);
	if (*ep != ' ' || errno) {
		if (err)
			buf_puts(err, "bad start time");
		return -EINVAL;
	}
	e->end_ns = strtoll(ep + 1, &ep, 10);
	if (*ep != '\0' || errno) {
		if (err)
			buf_puts(err, "bad end time");
		return -EINVAL;
	}
	p = (const uint8_t *)nl + 1;
	nl = line_end(p, end);
	if (!nl) {
		if (err)
			buf_puts(err, "missing tags line");
		return -EINVAL;
	}
	buf_reset(&e->tags);
	buf_reset(&e->profile);
	if (buf_append(&e->tags, p, (size_t)(nl - (const char *)p)) < 0 ||
	    buf_append(&e->profile, nl + 1, (size_t)(end - (const uint8_t *)nl - 1)) < 0)
		return -ENOMEM;
	if (e->profile.len == 0) {
		if (err)
			buf_puts(err, "empty profile");
		return -EINVAL;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int spool_list(const char *dir, struct buf *paths, size_t *count)
{
	struct buf names = BUF_INIT;
	const char **sorted = NULL;
	size_t n = 0, slen = strlen(SPOOL_SUFFIX);
	int ret = 0;

	*count = 0;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l <= slen || strcmp(de->d_name + l - slen, SPOOL_SUFFIX) != 0)
			continue;
		if (buf_append(&names, de->d_name, l + 1) < 0) {
			ret = -ENOMEM;
			goto close_dir;
		}
		n++;
	}
	if (n == 0)
		goto close_dir;
	sorted = calloc(n, sizeof(*sorted));
	if (!sorted) {
		ret = -ENOMEM;
		goto close_dir;
	}
	for (size_t i = 0, off = 0; i < n; i++) {
		sorted[i] = names.data + off;
		off += strlen(sorted[i]) + 1;
	}
	qsort(sorted, n, sizeof(*sorted), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (buf_printf(paths, "%s/%s", dir, sorted[i]) < 0 || buf_putc(paths, '\0') < 0) {
			ret = -ENOMEM;
			goto free_sorted;
		}
	}
	*count = n;
free_sorted:
	free(sorted);
close_dir:
	closedir(d);
	buf_release(&names);
	return ret;
}
