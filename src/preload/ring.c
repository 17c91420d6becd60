/*
 * ring: both ends of the allocation-sample ring buffer (format and protocol in ring.h). The
 * writer half is compiled into libkiln_preload.so and must never allocate, lock or block;
 * the reader half is what the profiler links (kiln_alloc_ring), usable without the hook.
 */
#include "preload/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct alloc_ring {
	struct alloc_ring_header *h; /* owned mapping of map_len bytes */
	uint8_t *data;
	size_t map_len;
	int fd;		 /* owned; -1 after close */
	char *path;	 /* owned; NULL for a memfd */
	uint64_t unread; /* bytes read but not yet released */
	/* The reader's own copies of the data size and its cursor: it never reads them back
	 * from the shared header, which the profiled program could overwrite. */
	uint64_t size;
	uint64_t tail;
};

static size_t ring_round(size_t n)
{
	size_t p = 64 * 1024;
	while (p < n && p < ((size_t)1 << 31))
		p <<= 1;
	return p;
}

static struct alloc_ring *ring_map(int fd, size_t data_size, bool init)
{
	struct alloc_ring *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->fd = fd;
	r->map_len = ALLOC_RING_HEADER_SIZE + data_size;
	void *m = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		int e = errno;
		free(r);
		errno = e;
		return NULL;
	}
	r->h = m;
	r->data = (uint8_t *)m + ALLOC_RING_HEADER_SIZE;
	r->size = data_size;
	r->tail = init ? 0 : __atomic_load_n(&r->h->tail, __ATOMIC_ACQUIRE) & ~(uint64_t)7;
	if (init) {
		r->h->version = ALLOC_RING_VERSION;
		r->h->header_size = ALLOC_RING_HEADER_SIZE;
		r->h->data_size = data_size;
		__atomic_store_n(&r->h->magic, ALLOC_RING_MAGIC, __ATOMIC_RELEASE);
	}
	return r;
}

static struct alloc_ring *ring_init_fd(int fd, size_t data_size)
{
	data_size = ring_round(data_size);
	if (ftruncate(fd, (off_t)(ALLOC_RING_HEADER_SIZE + data_size)) < 0)
		return NULL;
	return ring_map(fd, data_size, true);
}

struct alloc_ring *alloc_ring_create(size_t data_size, int *fd_out)
{
	int fd = memfd_create("kiln-alloc-ring", 0);
	if (fd < 0)
		return NULL;
	struct alloc_ring *r = ring_init_fd(fd, data_size);
	if (!r) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	if (fd_out)
		*fd_out = fd;
	return r;
}

struct alloc_ring *alloc_ring_create_file(const char *path, size_t data_size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	struct alloc_ring *r = ring_init_fd(fd, data_size);
	if (r)
		r->path = strdup(path);
	if (!r || !r->path) {
		int e = errno;
		alloc_ring_free(r);
		if (!r)
			close(fd);
		errno = e;
		return NULL;
	}
	return r;
}

struct alloc_ring *alloc_ring_open_file(const char *path)
{
	struct alloc_ring_header hd;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (pread(fd, &hd, sizeof(hd), 0) != (ssize_t)sizeof(hd) || hd.magic != ALLOC_RING_MAGIC ||
	    hd.version != ALLOC_RING_VERSION || hd.data_size < 4096 ||
	    (hd.data_size & (hd.data_size - 1))) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	struct alloc_ring *r = ring_map(fd, hd.data_size, false);
	if (!r) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return r;
}

void alloc_ring_free(struct alloc_ring *r)
{
	if (!r)
		return;
	if (r->h)
		munmap(r->h, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	free(r);
}

struct alloc_ring_header *alloc_ring_header(struct alloc_ring *r)
{
	return r->h;
}

int alloc_ring_env(const struct alloc_ring *r, char *buf, size_t len)
{
	int n = r->path ? snprintf(buf, len, "%s", r->path) : snprintf(buf, len, "fd:%d", r->fd);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

void alloc_ring_release(struct alloc_ring *r)
{
	if (!r->unread)
		return;
	uint64_t tail = r->tail, size = r->size;
	uint64_t n = r->unread;
	/* Zero what was consumed so that future uncommitted headers read as 0. Records never
	 * wrap, but a run of them can. */
	while (n) {
		uint64_t off = tail & (size - 1);
		uint64_t chunk = size - off < n ? size - off : n;
		memset(r->data + off, 0, chunk);
		tail += chunk;
		n -= chunk;
	}
	r->tail = tail;
	__atomic_store_n(&r->h->tail, tail, __ATOMIC_RELEASE);
	r->unread = 0;
}

int alloc_ring_read(struct alloc_ring *r, struct alloc_ring_event *ev)
{
	uint64_t size = r->size;
	for (;;) {
		uint64_t pos = r->tail + r->unread;
		uint64_t head = __atomic_load_n(&r->h->head, __ATOMIC_ACQUIRE);
		if (pos >= head)
			return 0;
		/* Writers never reserve more than the ring holds: a head further ahead is a
		 * scribbled header, and reading on would go round the ring forever. */
		if (head - r->tail > size)
			return -EBADMSG;
		uint64_t off = pos & (size - 1);
		uint64_t *wp = (uint64_t *)(r->data + off);
		uint64_t word = __atomic_load_n(wp, __ATOMIC_ACQUIRE);
		if (!word)
			return 0; /* reserved, not committed yet */
		uint32_t len = (uint32_t)word;
		uint32_t type = (uint32_t)(word >> 32) & 0xffff;
		if ((word >> 48) != ALLOC_RING_MAGIC16 || len < 8 || (len & 7) ||
		    len > size - off || len > head - pos || r->unread + len > size)
			return -EBADMSG;
		r->unread += len;
		memset(ev, 0, sizeof(*ev));
		ev->type = (enum alloc_ring_type)type;
		switch (type) {
		case ALLOC_RING_PAD:
			continue;
		case ALLOC_RING_ALLOC:
			if (len < sizeof(struct alloc_ring_alloc))
				return -EBADMSG;
			ev->alloc = (const struct alloc_ring_alloc *)wp;
			if (ev->alloc->stack_len > len - sizeof(struct alloc_ring_alloc))
				return -EBADMSG;
			ev->stack = (const uint8_t *)(ev->alloc + 1);
			return 1;
		case ALLOC_RING_FREE:
			if (len < sizeof(struct alloc_ring_free))
				return -EBADMSG;
			ev->free = (const struct alloc_ring_free *)wp;
			return 1;
		case ALLOC_RING_START:
			if (len < sizeof(struct alloc_ring_start))
				return -EBADMSG;
			ev->start = (const struct alloc_ring_start *)wp;
			return 1;
		default:
			continue; /* a newer writer's record type: skip it */
		}
	}
}

uint64_t alloc_ring_lost(const struct alloc_ring *r)
{
	return __atomic_load_n(&r->h->lost, __ATOMIC_RELAXED);
}

uint64_t alloc_ring_lost_frees(const struct alloc_ring *r)
{
	return __atomic_load_n(&r->h->lost_frees, __ATOMIC_RELAXED);
}

uint64_t alloc_ring_samples(const struct alloc_ring *r)
{
	return __atomic_load_n(&r->h->samples, __ATOMIC_RELAXED);
}

void *alloc_ring_reserve(struct alloc_ring_header *h, uint8_t *data, size_t len)
{
	uint64_t size = h->data_size;
	uint64_t head = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
	for (;;) {
		uint64_t tail = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
		uint64_t off = head & (size - 1);
		uint64_t pad = off + len > size ? size - off : 0;
		if (len > size || head + pad + len - tail > size)
			return NULL;
		if (!__atomic_compare_exchange_n(&h->head, &head, head + pad + len, true,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		if (pad) {
			alloc_ring_commit(data + off, (uint32_t)pad, ALLOC_RING_PAD);
			off = 0;
		}
		return data + off;
	}
}

void alloc_ring_commit(void *rec, uint32_t len, enum alloc_ring_type type)
{
	uint64_t word =
	    (uint64_t)len | ((uint64_t)type << 32) | ((uint64_t)ALLOC_RING_MAGIC16 << 48);
	__atomic_store_n((uint64_t *)rec, word, __ATOMIC_RELEASE);
}
