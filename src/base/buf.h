/*
 * buf: a growable byte buffer, the one way kiln builds strings and byte streams.
 *
 * Invariant: when cap > 0, data[len] == '\0', so a buf that holds text is always a valid
 * C string. An initialised, empty buf owns no memory. Appending functions return 0 or
 * -ENOMEM and leave the buffer unchanged on failure.
 *
 *	struct buf b;
 *	buf_init(&b);
 *	buf_printf(&b, "%d frames", n);
 *	use(b.data, b.len);
 *	buf_release(&b);
 */
#ifndef KILN_BASE_BUF_H
#define KILN_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_init(struct buf *b);
/* Frees the memory; the buf is empty and reusable afterwards. Accepts NULL. */
void buf_release(struct buf *b);
/* Empties the buf but keeps its memory. */
void buf_reset(struct buf *b);
/* Makes room for at least `extra` more bytes (plus the terminating NUL). */
int buf_grow(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Shortens the buf to `len` bytes (len <= b->len). */
void buf_truncate(struct buf *b, size_t len);
/* Hands the memory to the caller (who frees it with free()); the buf is left empty.
 * Returns a valid empty string, never NULL, unless allocation fails. */
char *buf_detach(struct buf *b, size_t *len);

/* Reads a whole file into b (appending). Returns 0 or a negative errno. `max` caps the
 * size read (-EFBIG beyond it); 0 means no cap. */
int buf_read_file(struct buf *b, const char *path, size_t max);
/* Writes the buf to path atomically (temp file + rename). */
int buf_write_file(const struct buf *b, const char *path);

#endif
