/*
 * buf.c: the growable byte buffer. Growth doubles (amortised O(1) appends) and keeps one
 * spare byte for the terminating NUL so text in a buf is always a C string.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_release(struct buf *b)
{
	if (!b)
		return;
	free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->cap)
		b->data[0] = '\0';
}

int buf_grow(struct buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	b->data[b->len] = '\0';
	return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
	if (buf_grow(b, len) < 0)
		return -ENOMEM;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_putc(struct buf *b, char c)
{
	if (b->len + 1 < b->cap) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_append(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	size_t avail = b->cap > b->len ? b->cap - b->len : 0;
	int n = vsnprintf(avail ? b->data + b->len : NULL, avail, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= avail) {
		if (buf_grow(b, (size_t)n) < 0)
			return -ENOMEM;
		va_copy(ap2, ap);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
		va_end(ap2);
	}
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int err = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return err;
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

char *buf_detach(struct buf *b, size_t *len)
{
	if (!b->data && buf_grow(b, 0) < 0)
		return NULL;
	char *p = b->data;
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}

int buf_read_file(struct buf *b, const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = 0;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		size_t want = (size_t)st.st_size;
		if (max && want > max) {
			err = -EFBIG;
			goto out_close;
		}
		if ((err = buf_grow(b, want)) < 0)
			goto out_close;
	}
	size_t start = b->len;
	for (;;) {
		if ((err = buf_grow(b, 65536)) < 0)
			goto out_close;
		ssize_t n = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out_close;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
		if (max && b->len - start > max) {
			err = -EFBIG;
			goto out_close;
		}
	}
out_close:
	close(fd);
	return err;
}

int buf_write_file(const struct buf *b, const char *path)
{
	struct buf tmp = BUF_INIT;
	int err = buf_printf(&tmp, "%s.tmp.%d", path, (int)getpid());
	if (err < 0)
		return err;
	int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		goto out_free;
	}
	size_t off = 0;
	while (off < b->len) {
		ssize_t n = write(fd, b->data + off, b->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp.data, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp.data);
out_free:
	buf_release(&tmp);
	return err;
}
