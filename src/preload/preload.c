/*
 * preload: libkiln_preload.so, the allocation hook loaded into targets with LD_PRELOAD.
 *
 * Why symbol interposition and not GOT patching: a preloaded object comes first in the global
 * lookup scope, so every reference to malloc & co. from the executable and from every library,
 * including those dlopen'ed later, binds to these definitions with no re-scan, no writable-GOT
 * games (RELRO) and no race with threads calling through a slot being patched. What it misses
 * (documented in docs/allocations.md): static executables, RTLD_DEEPBIND libraries, and
 * in-library calls that bypass the PLT (-Bsymbolic allocators). Library mode (libkiln, no
 * LD_PRELOAD) dlopen's this same object and points the programs' GOT slots at these hooks
 * (got.c); the hooks are then reached through their hidden aliases (preload_syms[]).
 *
 * The real functions come from dlsym(RTLD_NEXT) so that an allocator earlier in the chain
 * (jemalloc, tcmalloc linked into the program) stays the allocator; dlsym may itself call
 * calloc/malloc, which a small static bootstrap arena serves. In library mode got.c resolves
 * them in the global scope instead (RTLD_NEXT from a dlopen'ed object would skip an
 * allocator linked into the program).
 *
 * Sampling (per thread, initial-exec TLS): `left` bytes until the next sample; the fast path
 * subtracts the size and returns while positive. Crossing zero draws exponential intervals
 * (mean KILN_ALLOC_PERIOD) until positive again; the sample stands for count * mean bytes.
 */
#include <dlfcn.h>
#include <malloc.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "preload/got.h"
#include "preload/preload.h"
#include "preload/ring.h"

#define EXPORT __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))

/* --- real functions and the bootstrap arena ------------------------------------------------ */

/* malloc and free, the hottest, start at first_malloc/first_free (which resolve): their hooks
 * call through the pointer with no test of the state. Written once by init_slow (or got.c). */
static void *first_malloc(size_t size);
static void first_free(void *ptr);
static void *(*real_malloc)(size_t) = first_malloc;
static void (*real_free)(void *) = first_free;
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);

#define BOOT_SIZE (256 * 1024)
static _Alignas(64) uint8_t boot_arena[BOOT_SIZE];
static size_t boot_used;

/* In front of the live set (below), a counting filter: one byte per bucket of addresses, the
 * number of tracked addresses in the bucket (255: saturated, then "maybe" for good). A free
 * reads one byte of this 16 KiB table and goes straight to the real free when it is zero, which
 * is nearly always: only sampled addresses are counted, and bootstrap blocks, which must never
 * reach the real free, saturate their bucket. So free needs no other test. */
#define FILTER_SHIFT 50 /* 64 - 14: 16,384 buckets */
static uint8_t live_filter[1u << (64 - FILTER_SHIFT)];

static inline uint8_t *filter_of(uintptr_t addr)
{
	return &live_filter[((uint64_t)addr * 0x9e3779b97f4a7c15ULL) >> FILTER_SHIFT];
}

static void filter_add(uintptr_t addr, int delta)
{
	uint8_t *b = filter_of(addr);
	uint8_t c = __atomic_load_n(b, __ATOMIC_RELAXED);
	while (c != UINT8_MAX && (delta > 0 || c) &&
	       !__atomic_compare_exchange_n(b, &c, (uint8_t)(c + delta), true, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

/* 16-byte header holding the size, for realloc of a bootstrap block. */
static void *boot_alloc(size_t size, size_t align)
{
	if (align < 16)
		align = 16;
	if (size > BOOT_SIZE)
		return NULL;
	size_t need = size + 16 + align;
	size_t start = __atomic_fetch_add(&boot_used, need, __ATOMIC_RELAXED);
	if (start + need > BOOT_SIZE)
		return NULL;
	uintptr_t p = (uintptr_t)boot_arena + start + 16;
	p = (p + align - 1) & ~(uintptr_t)(align - 1);
	((size_t *)p)[-1] = size;
	__atomic_store_n(filter_of(p), UINT8_MAX, __ATOMIC_RELAXED); /* free takes the slow path */
	return (void *)p; /* the arena is zeroed static storage: calloc-ready */
}

static int is_boot(const void *p)
{
	return (uintptr_t)p - (uintptr_t)boot_arena < BOOT_SIZE; /* one compare */
}

/* --- global state -------------------------------------------------------------------------- */

enum { ST_NONE, ST_RESOLVING, ST_READY };
static int state;				   /* ST_* */
static int enabled;				   /* 1 when a ring is attached: sample */
static int live;				   /* track sampled addresses, emit frees */
static int64_t period = ALLOC_RING_DEFAULT_PERIOD; /* > 0 mean; deterministic when negative */
static uint32_t stack_size = ALLOC_RING_DEFAULT_STACK;
/* The ring in use; its data area follows the header page. Replaced (never unmapped: a thread
 * may still be writing into the old one) when library mode re-installs with a new ring. */
static struct alloc_ring_header *ring;
static uint32_t cur_pid;
static int got_mode; /* 1: reached through patched GOT slots (library mode), not interposition */

static inline struct alloc_ring_header *cur_ring(void)
{
	return __atomic_load_n(&ring, __ATOMIC_ACQUIRE);
}

static inline uint8_t *data_of(struct alloc_ring_header *r)
{
	return (uint8_t *)r + ALLOC_RING_HEADER_SIZE;
}

/* Live set: sampled addresses, open addressing with tombstones, fixed size, lock-free. */
#define LIVE_SLOTS (1u << 16)
#define LIVE_PROBES 32
#define LIVE_TOMB ((uint64_t)1)
static uint64_t *live_set; /* mmap'ed, LIVE_SLOTS entries */

/* Nothing of ours is live any more (a fork child, a new ring). Saturated buckets stay: they
 * may hold bootstrap blocks. */
static void live_reset(void)
{
	memset(live_set, 0, LIVE_SLOTS * sizeof(uint64_t));
	for (size_t i = 0; i < sizeof(live_filter); i++)
		if (__atomic_load_n(&live_filter[i], __ATOMIC_RELAXED) != UINT8_MAX)
			__atomic_store_n(&live_filter[i], 0, __ATOMIC_RELAXED);
}

struct thread_state {
	int64_t left;	    /* bytes until the next sample */
	uint64_t rng;	    /* xorshift64* state; 0 until the thread is initialised */
	uintptr_t stack_lo; /* [stack_lo, stack_hi): this thread's stack */
	uintptr_t stack_hi;
	uint32_t tid;
	int busy; /* re-entry guard: the hook is running on this thread */
};
static TLS struct thread_state ts;

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Tells the reader this process (re)starts: its live set begins empty. */
static void emit_start(void)
{
	struct alloc_ring_header *r = cur_ring();
	struct alloc_ring_start *st = alloc_ring_reserve(r, data_of(r), sizeof(*st));
	if (!st)
		return;
	st->time_ns = now_ns();
	st->pid = cur_pid;
	st->tid = ts.tid;
	st->period = period;
	st->stack_size = stack_size;
	st->flags = live ? 0 : ALLOC_RING_F_NO_LIVE;
	alloc_ring_commit(st, sizeof(*st), ALLOC_RING_START);
}

/* The child of a fork: new pid and tid; the parent's sampled addresses are the parent's
 * business (the profiler starts the child's live heap empty). */
static void at_fork_child(void)
{
	cur_pid = (uint32_t)getpid();
	ts.tid = (uint32_t)syscall(SYS_gettid);
	if (!enabled)
		return;
	if (live_set)
		live_reset();
	emit_start();
}

/* Maps the ring behind fd and starts sampling into it. 0 or a negative errno. The caller
 * keeps fd (the mapping does not need it). */
static int attach_ring_fd(int fd)
{
	struct alloc_ring_header hd;
	if (pread(fd, &hd, sizeof(hd), 0) != (ssize_t)sizeof(hd) || hd.magic != ALLOC_RING_MAGIC ||
	    hd.version != ALLOC_RING_VERSION || hd.data_size < 4096 ||
	    hd.data_size > (1ull << 31) || (hd.data_size & (hd.data_size - 1)))
		return -EINVAL;
	void *m = mmap(NULL, ALLOC_RING_HEADER_SIZE + hd.data_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	period = hd.period ? hd.period : ALLOC_RING_DEFAULT_PERIOD;
	stack_size = hd.stack_size ? hd.stack_size : ALLOC_RING_DEFAULT_STACK;
	live = !(hd.flags & ALLOC_RING_F_NO_LIVE);
	const char *p = getenv("KILN_ALLOC_PERIOD");
	if (p && *p) {
		long long v = strtoll(p, NULL, 10);
		if (v)
			period = v;
	}
	p = getenv("KILN_ALLOC_STACK");
	if (p && *p) {
		long long v = strtoll(p, NULL, 10);
		if (v >= 0 && v <= ALLOC_RING_MAX_STACK)
			stack_size = (uint32_t)v;
	}
	if (live && !live_set) {
		void *s = mmap(NULL, LIVE_SLOTS * sizeof(uint64_t), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (s == MAP_FAILED)
			live = 0;
		else
			live_set = s;
	} else if (live_set) { /* a new ring (library mode restart) */
		live_reset();
	}
	__atomic_store_n(&ring, (struct alloc_ring_header *)m, __ATOMIC_RELEASE);
	cur_pid = (uint32_t)getpid();
	if (!ts.tid)
		ts.tid = (uint32_t)syscall(SYS_gettid);
	emit_start();
	__atomic_store_n(&enabled, 1, __ATOMIC_RELEASE);
	return 0;
}

/* LD_PRELOAD mode: the ring named by KILN_ALLOC_RING, if any. */
static void attach_ring(void)
{
	const char *env = getenv("KILN_ALLOC_RING");
	if (!env || !*env)
		return;
	if (!strncmp(env, "fd:", 3)) {
		char *end;
		long v = strtol(env + 3, &end, 10);
		if (*end || v < 0 || v > 1 << 20)
			return;
		attach_ring_fd((int)v); /* an inherited fd stays open for exec'd children */
		return;
	}
	int fd = open(env, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	attach_ring_fd(fd);
	close(fd); /* a path: the mapping keeps the file */
}

#define RESOLVE(name)                                                                              \
	__atomic_store_n(&real_##name, (__typeof__(real_##name))dlsym(RTLD_NEXT, #name),          \
			 __ATOMIC_RELEASE)

/* Runs once, on the first allocation of the process (possibly before any constructor). */
static void init_slow(void)
{
	int expect = ST_NONE;
	if (!__atomic_compare_exchange_n(&state, &expect, ST_RESOLVING, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		/* Another thread is resolving. Do not wait for it: its dlsym may need a loader
		 * lock this thread holds (a dlopen in progress). The caller is served by the
		 * bootstrap arena for these few microseconds. */
		return;
	}
	ts.busy++;
	RESOLVE(malloc);
	RESOLVE(free);
	RESOLVE(calloc);
	RESOLVE(realloc);
	RESOLVE(posix_memalign);
	RESOLVE(aligned_alloc);
	RESOLVE(memalign);
	RESOLVE(valloc);
	RESOLVE(pvalloc);
	__atomic_store_n(&state, ST_READY, __ATOMIC_RELEASE);
	attach_ring();
	pthread_atfork(NULL, NULL, at_fork_child);
	ts.busy--;
}

static inline int ready(void)
{
	if (__builtin_expect(__atomic_load_n(&state, __ATOMIC_ACQUIRE) == ST_READY, 1))
		return 1;
	if (ts.busy) /* inside our own dlsym: bootstrap arena */
		return 0;
	init_slow();
	return __atomic_load_n(&state, __ATOMIC_ACQUIRE) == ST_READY;
}

static void *first_malloc(size_t size)
{
	if (!ready())
		return boot_alloc(size, 16);
	return real_malloc(size); /* resolved before the state became ready */
}

static void first_free(void *ptr)
{
	/* Not resolved yet: a block of the real malloc freed while another thread resolves is
	 * leaked (at most a few, once); our own bootstrap blocks never reach here. */
	void (*f)(void *);
	if (ready() && (f = __atomic_load_n(&real_free, __ATOMIC_ACQUIRE)) != first_free)
		f(ptr);
}

__attribute__((constructor)) static void preload_ctor(void)
{
	(void)ready();
}

/* --- sampling ------------------------------------------------------------------------------ */

static uint64_t rng_next(void)
{
	uint64_t x = ts.rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	ts.rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static int64_t next_interval(void)
{
	if (period < 0)
		return -period;
	/* uniform in (0, 1] then -ln(u) * mean, clamped like ddprof to [8, 20 * mean] */
	double u = ((double)(rng_next() >> 11) + 1.0) / 9007199254740992.0;
	double v = -log(u) * (double)period;
	if (v < 8)
		v = 8;
	if (v > 20.0 * (double)period)
		v = 20.0 * (double)period;
	return (int64_t)v;
}

/* glibc: the main thread's stack pointer at entry (argv, environment and auxv lie above it),
 * and the size of the static TLS block. Weak: absent elsewhere, the whole stack is the bound. */
extern void *__libc_stack_end __attribute__((weak));
extern void _dl_get_tls_static_info(size_t *size, size_t *align) __attribute__((weak));

/* Where this thread's frames end, below stack_hi: a sample copies the stack up to here only.
 * Above the main thread's first frame are its argv and environment; above a glibc thread's
 * first frame are its static TLS and thread descriptor — kilobytes that every sample would
 * copy through the ring and the profiler would read for nothing. x86-64 glibc puts the
 * descriptor (at the thread pointer) at the top of the stack block and starts the stack at
 * (descriptor end) - (static TLS size, descriptor included, rounded up): at or below
 * hi - size, so hi - size never cuts a frame. */
static uintptr_t frames_end(uintptr_t lo, uintptr_t hi)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	uintptr_t end = hi;
#if defined(__x86_64__)
	uintptr_t tp;
	__asm__("movq %%fs:0, %0" : "=r"(tp));
	size_t tls = 0, align = 0;
	if (tp > lo && tp < hi && &_dl_get_tls_static_info) { /* a thread of glibc's making */
		_dl_get_tls_static_info(&tls, &align);
		if (tls && tls < hi - sp)
			end = hi - tls;
	}
#endif
	if (&__libc_stack_end && __libc_stack_end) {
		uintptr_t e = (uintptr_t)__libc_stack_end + 64; /* _start's own slots */
		if (e > sp && e < end)
			end = e;
	}
	return end > sp ? end : hi;
}

static void thread_init(void)
{
	ts.tid = (uint32_t)syscall(SYS_gettid);
	ts.rng = (now_ns() ^ ((uint64_t)ts.tid << 32) ^ (uintptr_t)&ts) | 1;
	pthread_attr_t a;
	if (!pthread_getattr_np(pthread_self(), &a)) { /* allocates: we are busy, so it passes */
		void *addr;
		size_t sz;
		if (!pthread_attr_getstack(&a, &addr, &sz)) {
			ts.stack_lo = (uintptr_t)addr;
			ts.stack_hi = frames_end(ts.stack_lo, (uintptr_t)addr + sz);
		}
		pthread_attr_destroy(&a);
	}
	ts.left = next_interval();
}

static uint64_t live_hash(uint64_t a)
{
	a ^= a >> 33;
	a *= 0xff51afd7ed558ccdULL;
	a ^= a >> 33;
	return a;
}

static void live_add(uint64_t addr)
{
	uint64_t h = live_hash(addr);
	for (unsigned i = 0; i < LIVE_PROBES; i++) {
		uint64_t *slot = &live_set[(h + i) & (LIVE_SLOTS - 1)];
		uint64_t cur = __atomic_load_n(slot, __ATOMIC_RELAXED);
		while (cur == 0 || cur == LIVE_TOMB) {
			if (__atomic_compare_exchange_n(slot, &cur, addr, false, __ATOMIC_ACQ_REL,
							__ATOMIC_RELAXED)) {
				filter_add(addr, 1);
				return;
			}
		}
	}
	__atomic_fetch_add(&cur_ring()->untracked, 1, __ATOMIC_RELAXED);
}

/* Removes addr from the live set; 1 when it was there. */
static int live_remove(uint64_t addr)
{
	uint64_t h = live_hash(addr);
	for (unsigned i = 0; i < LIVE_PROBES; i++) {
		uint64_t *slot = &live_set[(h + i) & (LIVE_SLOTS - 1)];
		uint64_t cur = __atomic_load_n(slot, __ATOMIC_RELAXED);
		if (cur == 0)
			return 0;
		if (cur == addr) {
			if (!__atomic_compare_exchange_n(slot, &cur, LIVE_TOMB, false,
							 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
				return 0;
			filter_add(addr, -1);
			return 1;
		}
	}
	return 0;
}

static void emit_free(uint64_t addr)
{
	struct alloc_ring_header *r = cur_ring();
	struct alloc_ring_free *f = alloc_ring_reserve(r, data_of(r), sizeof(*f));
	if (!f) {
		__atomic_fetch_add(&r->lost_frees, 1, __ATOMIC_RELAXED);
		return;
	}
	f->time_ns = now_ns();
	f->pid = cur_pid;
	f->tid = ts.tid;
	f->addr = addr;
	alloc_ring_commit(f, sizeof(*f), ALLOC_RING_FREE);
}

/* Copies the live stack. Not memcpy: in a program built with AddressSanitizer, memcpy is its
 * interceptor, which (rightly) reports reading the stack's redzones. */
static void copy_stack(void *dst, const void *src, size_t len)
{
#if defined(__x86_64__)
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(len) : : "memory");
#else
	volatile const uint8_t *s = src;
	uint8_t *d = dst;
	for (size_t i = 0; i < len; i++)
		d[i] = s[i];
#endif
}

/* Records one sampled allocation: registers here, the stack from here up. noinline so that
 * the captured frame is a real frame the profiler's unwinder walks out of. */
static __attribute__((noinline)) void sample(int kind, void *ptr, size_t size, uint64_t count,
					     uintptr_t caller)
{
	uint64_t regs[ALLOC_RING_NREGS] = {0};
#if defined(__x86_64__)
	/* UNWIND_REG_* indices: BX 1, BP 6, SP 7, IP 8, R12..R15 20..23 */
	__asm__ volatile("movq %%rbx, 8(%0)\n\t"
			 "movq %%rbp, 48(%0)\n\t"
			 "movq %%rsp, 56(%0)\n\t"
			 "leaq 0(%%rip), %%rax\n\t"
			 "movq %%rax, 64(%0)\n\t"
			 "movq %%r12, 160(%0)\n\t"
			 "movq %%r13, 168(%0)\n\t"
			 "movq %%r14, 176(%0)\n\t"
			 "movq %%r15, 184(%0)\n\t"
			 :
			 : "r"(regs)
			 : "rax", "memory");
#endif
	uintptr_t sp = (uintptr_t)regs[7];
	size_t slen = 0;
	if (sp && sp >= ts.stack_lo && sp < ts.stack_hi) {
		slen = ts.stack_hi - sp;
		if (slen > stack_size)
			slen = stack_size;
	}
	size_t len = (sizeof(struct alloc_ring_alloc) + slen + 7) & ~(size_t)7;
	struct alloc_ring_header *r = cur_ring();
	struct alloc_ring_alloc *a = alloc_ring_reserve(r, data_of(r), len);
	if (!a) {
		__atomic_fetch_add(&r->lost, 1, __ATOMIC_RELAXED);
		return;
	}
	a->time_ns = now_ns();
	a->pid = cur_pid;
	a->tid = ts.tid;
	a->addr = (uintptr_t)ptr;
	a->size = size;
	a->count = count;
	a->weight = count * (uint64_t)(period < 0 ? -period : period);
	a->caller = caller;
	a->kind = (uint32_t)kind;
	a->stack_len = (uint32_t)slen;
	memcpy(a->regs, regs, sizeof(regs));
	if (slen)
		copy_stack(a + 1, (const void *)sp, slen);
	alloc_ring_commit(a, (uint32_t)len, ALLOC_RING_ALLOC);
	__atomic_fetch_add(&r->samples, 1, __ATOMIC_RELAXED);
	if (live && ptr && !is_boot(ptr)) /* a bootstrap block is never freed through forget */
		live_add((uintptr_t)ptr);
}

static __attribute__((noinline)) void account_slow(int kind, void *ptr, size_t size,
						   uintptr_t caller)
{
	if (!__atomic_load_n(&enabled, __ATOMIC_ACQUIRE)) {
		/* no ring (or sampling stopped): stay on the fast path, look again in 64 MiB */
		ts.left = 64 << 20;
		return;
	}
	if (ts.busy)
		return;
	int saved = errno;
	ts.busy++;
	if (!ts.rng) {
		int64_t pending = ts.left; /* bytes counted before the thread was initialised */
		thread_init();
		ts.left += pending;
		if (ts.left > 0)
			goto out;
	}
	uint64_t count = 0;
	int64_t mean = period < 0 ? -period : period;
	if (ts.left < -1000 * mean) { /* huge allocation: skip the loop */
		count = (uint64_t)(-ts.left / mean);
		ts.left += (int64_t)count * mean;
	}
	while (ts.left <= 0) {
		count++;
		ts.left += next_interval();
	}
	if (ptr)
		sample(kind, ptr, size, count, caller);
out:
	ts.busy--;
	errno = saved;
}

/* The fast path: one TLS subtraction and a compare. No clamp of size: ptr is an allocation
 * that succeeded, so size is far below INT64_MAX. */
static inline void account(int kind, void *ptr, size_t size, uintptr_t caller)
{
	if (!ptr)
		return;
	if (__builtin_expect((ts.left -= (int64_t)size) > 0, 1))
		return;
	account_slow(kind, ptr, size, caller);
}

/* A free of an address the filter counts: remove it from the live set, tell the profiler. */
static __attribute__((noinline)) void forget_slow(void *ptr)
{
	if (!ptr || !live || ts.busy)
		return;
	int saved = errno;
	if (live_remove((uintptr_t)ptr)) {
		ts.busy++;
		if (!ts.tid)
			ts.tid = (uint32_t)syscall(SYS_gettid);
		emit_free((uintptr_t)ptr);
		ts.busy--;
	}
	errno = saved;
}

static inline void forget(void *ptr)
{
	if (__builtin_expect(*filter_of((uintptr_t)ptr) != 0, 0))
		forget_slow(ptr);
}

#define CALLER ((uintptr_t)__builtin_return_address(0))

/* --- the interposed entry points ----------------------------------------------------------- */

/* malloc when the requested size crosses this thread's sampling point. */
static __attribute__((noinline)) void *malloc_slow(size_t size, uintptr_t caller)
{
	void *p = real_malloc(size);
	if (p)
		account_slow(ALLOC_KIND_MALLOC, p, size, caller);
	else /* a failed allocation does not count */
		ts.left = (int64_t)((uint64_t)ts.left + size);
	return p;
}

/* The hottest hook decides before allocating, from the size asked for, so that the common case
 * is a tail call into the real malloc: no frame, no return through here. Unsigned arithmetic:
 * an absurd size (it fails) wraps instead of overflowing; a failure in the slow path gives
 * the bytes back, one on the fast path (a size near 2^64) keeps a few bytes of credit. */
EXPORT void *malloc(size_t size)
{
	int64_t left = (int64_t)((uint64_t)ts.left - size);
	ts.left = left;
	if (__builtin_expect(left > 0, 1))
		return __atomic_load_n(&real_malloc, __ATOMIC_RELAXED)(size);
	return malloc_slow(size, CALLER);
}

/* free of an address the filter counts: a sampled one, a bootstrap block, or a neighbour. */
static __attribute__((noinline)) void free_slow(void *ptr)
{
	if (!ptr || is_boot(ptr))
		return;
	forget_slow(ptr);
	real_free(ptr);
}

/* One filter byte, then a tail call into the real free (free(NULL) included: it is a no-op). */
EXPORT void free(void *ptr)
{
	if (__builtin_expect(*filter_of((uintptr_t)ptr) != 0, 0))
		free_slow(ptr);
	else
		__atomic_load_n(&real_free, __ATOMIC_RELAXED)(ptr);
}

EXPORT void *calloc(size_t n, size_t size)
{
	if (!ready()) {
		size_t t;
		if (__builtin_mul_overflow(n, size, &t)) {
			errno = ENOMEM;
			return NULL;
		}
		return boot_alloc(t, 16);
	}
	void *p = real_calloc(n, size);
	size_t t;
	if (!__builtin_mul_overflow(n, size, &t))
		account(ALLOC_KIND_CALLOC, p, t, CALLER);
	return p;
}

static void *realloc_boot(void *ptr, size_t size)
{
	size_t old = ((size_t *)ptr)[-1];
	void *p = malloc(size);
	if (p)
		memcpy(p, ptr, old < size ? old : size);
	return p;
}

EXPORT void *realloc(void *ptr, size_t size)
{
	if (!ready())
		return boot_alloc(size, 16); /* only dlsym's own blocks: never grown in practice */
	if (ptr && is_boot(ptr))
		return realloc_boot(ptr, size);
	forget(ptr);
	void *p = real_realloc(ptr, size);
	if (size)
		account(ALLOC_KIND_REALLOC, p, size, CALLER);
	return p;
}

EXPORT void *reallocarray(void *ptr, size_t n, size_t size)
{
	size_t t;
	if (__builtin_mul_overflow(n, size, &t)) {
		errno = ENOMEM;
		return NULL;
	}
	if (!ready())
		return boot_alloc(t, 16);
	if (ptr && is_boot(ptr))
		return realloc_boot(ptr, t);
	forget(ptr);
	/* not the libc reallocarray: glibc's calls realloc through the PLT, which would count
	 * the same bytes twice */
	void *p = real_realloc(ptr, t);
	if (t)
		account(ALLOC_KIND_REALLOCARRAY, p, t, CALLER);
	return p;
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	if (!ready()) {
		void *p = boot_alloc(size, align);
		if (!p)
			return ENOMEM;
		*out = p;
		return 0;
	}
	int rc = real_posix_memalign(out, align, size);
	if (!rc)
		account(ALLOC_KIND_POSIX_MEMALIGN, *out, size, CALLER);
	return rc;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	if (!ready())
		return boot_alloc(size, align);
	void *p = real_aligned_alloc(align, size);
	account(ALLOC_KIND_ALIGNED_ALLOC, p, size, CALLER);
	return p;
}

EXPORT void *memalign(size_t align, size_t size)
{
	if (!ready())
		return boot_alloc(size, align);
	void *p = real_memalign(align, size);
	account(ALLOC_KIND_MEMALIGN, p, size, CALLER);
	return p;
}

EXPORT void *valloc(size_t size)
{
	if (!ready())
		return boot_alloc(size, 4096);
	void *p = real_valloc(size);
	account(ALLOC_KIND_VALLOC, p, size, CALLER);
	return p;
}

EXPORT void *pvalloc(size_t size)
{
	if (!ready())
		return boot_alloc(size, 4096);
	void *p = real_pvalloc(size);
	account(ALLOC_KIND_PVALLOC, p, size, CALLER);
	return p;
}

/* --- C++ operator new/delete -------------------------------------------------------------- *
 * libstdc++'s (and libc++'s) operator new calls malloc through the PLT: it is already counted
 * there, and hooking both would count it twice. An allocator that brings its own operator new
 * (tcmalloc, jemalloc, mimalloc builds) does not: its new and its malloc live in the same
 * object. Only then do these forwarders sample (and report frees of sampled addresses). */

static int new_mode; /* 0 unknown, 1 forward only, 2 sample here */

static int new_separate(void)
{
	int m = __atomic_load_n(&new_mode, __ATOMIC_RELAXED);
	if (__builtin_expect(m, 1))
		return m == 2;
	Dl_info a, b;
	void *next_new = dlsym(got_mode ? RTLD_DEFAULT : RTLD_NEXT, "_Znwm");
	m = next_new && real_malloc && dladdr((void *)real_malloc, &a) && dladdr(next_new, &b) &&
		    a.dli_fbase == b.dli_fbase
		? 2
		: 1;
	__atomic_store_n(&new_mode, m, __ATOMIC_RELAXED);
	return m == 2;
}

#define NEXT(sym)                                                                                  \
	static __typeof__(sym) *next;                                                              \
	if (!next)                                                                                 \
		next = (__typeof__(sym) *)dlsym(got_mode ? RTLD_DEFAULT : RTLD_NEXT, #sym);        \
	if (!next)                                                                                 \
	abort() /* operator new called with no C++ runtime loaded: cannot happen */

#define NEW_FWD(sym, params, args, size)                                                           \
	EXPORT void *sym params;                                                                   \
	EXPORT void *sym params                                                                    \
	{                                                                                          \
		NEXT(sym);                                                                         \
		void *p = next args;                                                               \
		if (new_separate())                                                                \
			account(ALLOC_KIND_NEW, p, size, CALLER);                                  \
		return p;                                                                          \
	}

#define DELETE_FWD(sym, params, args, ptr)                                                         \
	EXPORT void sym params;                                                                    \
	EXPORT void sym params                                                                     \
	{                                                                                          \
		NEXT(sym);                                                                         \
		if (new_separate())                                                                \
			forget(ptr);                                                               \
		next args;                                                                         \
	}

/* nothrow_t is passed by reference (a pointer), align_val_t as a size_t. */
NEW_FWD(_Znwm, (size_t n), (n), n)
NEW_FWD(_Znam, (size_t n), (n), n)
NEW_FWD(_ZnwmRKSt9nothrow_t, (size_t n, const void *nt), (n, nt), n)
NEW_FWD(_ZnamRKSt9nothrow_t, (size_t n, const void *nt), (n, nt), n)
NEW_FWD(_ZnwmSt11align_val_t, (size_t n, size_t al), (n, al), n)
NEW_FWD(_ZnamSt11align_val_t, (size_t n, size_t al), (n, al), n)
NEW_FWD(_ZnwmSt11align_val_tRKSt9nothrow_t, (size_t n, size_t al, const void *nt), (n, al, nt), n)
NEW_FWD(_ZnamSt11align_val_tRKSt9nothrow_t, (size_t n, size_t al, const void *nt), (n, al, nt), n)
DELETE_FWD(_ZdlPv, (void *p), (p), p)
DELETE_FWD(_ZdaPv, (void *p), (p), p)
DELETE_FWD(_ZdlPvm, (void *p, size_t n), (p, n), p)
DELETE_FWD(_ZdaPvm, (void *p, size_t n), (p, n), p)
DELETE_FWD(_ZdlPvRKSt9nothrow_t, (void *p, const void *nt), (p, nt), p)
DELETE_FWD(_ZdaPvRKSt9nothrow_t, (void *p, const void *nt), (p, nt), p)
DELETE_FWD(_ZdlPvSt11align_val_t, (void *p, size_t al), (p, al), p)
DELETE_FWD(_ZdaPvSt11align_val_t, (void *p, size_t al), (p, al), p)
DELETE_FWD(_ZdlPvmSt11align_val_t, (void *p, size_t n, size_t al), (p, n, al), p)
DELETE_FWD(_ZdaPvmSt11align_val_t, (void *p, size_t n, size_t al), (p, n, al), p)

EXPORT int preload_enabled(void)
{
	return __atomic_load_n(&enabled, __ATOMIC_ACQUIRE);
}

/* --- library mode (got.c) ------------------------------------------------------------------ */

int preload_new_separate(void)
{
	return new_separate();
}

void preload_set_got_mode(void)
{
	got_mode = 1;
	__atomic_store_n(&new_mode, 0, __ATOMIC_RELAXED); /* decide again in the global scope */
}

int preload_attach_fd(int fd)
{
	if (!ready())
		return -EAGAIN;
	ts.busy++;
	int err = attach_ring_fd(fd);
	ts.busy--;
	return err;
}

void preload_stop_sampling(void)
{
	__atomic_store_n(&enabled, 0, __ATOMIC_RELEASE);
}

/* The hooks under hidden names: inside this object a reference to `malloc` binds to the
 * program's malloc when the object is dlopen'ed RTLD_LOCAL, not to the hook. */
#pragma GCC diagnostic push
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmissing-attributes" /* libc's malloc attributes: harmless */
#endif
#define ALIAS(sym)                                                                                 \
	extern __typeof__(sym) hook_##sym __attribute__((alias(#sym), visibility("hidden")));
ALIAS(malloc)
ALIAS(free)
ALIAS(calloc)
ALIAS(realloc)
ALIAS(reallocarray)
ALIAS(posix_memalign)
ALIAS(aligned_alloc)
ALIAS(memalign)
ALIAS(valloc)
ALIAS(pvalloc)
ALIAS(_Znwm)
ALIAS(_Znam)
ALIAS(_ZnwmRKSt9nothrow_t)
ALIAS(_ZnamRKSt9nothrow_t)
ALIAS(_ZnwmSt11align_val_t)
ALIAS(_ZnamSt11align_val_t)
ALIAS(_ZnwmSt11align_val_tRKSt9nothrow_t)
ALIAS(_ZnamSt11align_val_tRKSt9nothrow_t)
ALIAS(_ZdlPv)
ALIAS(_ZdaPv)
ALIAS(_ZdlPvm)
ALIAS(_ZdaPvm)
ALIAS(_ZdlPvRKSt9nothrow_t)
ALIAS(_ZdaPvRKSt9nothrow_t)
ALIAS(_ZdlPvSt11align_val_t)
ALIAS(_ZdaPvSt11align_val_t)
ALIAS(_ZdlPvmSt11align_val_t)
ALIAS(_ZdaPvmSt11align_val_t)
#undef ALIAS
#pragma GCC diagnostic pop

#define SYM(name)                                                                                  \
	{                                                                                          \
#name, (void *)hook_##name, (void **)&real_##name, 0                               \
	}
#define CXX(name)                                                                                  \
	{                                                                                          \
#name, (void *)hook_##name, NULL, 1                                                \
	}
const struct preload_sym preload_syms[] = {
    SYM(malloc),
    SYM(free),
    SYM(calloc),
    SYM(realloc),
    {"reallocarray", (void *)hook_reallocarray, NULL, 0}, /* over the real realloc */
    SYM(posix_memalign),
    SYM(aligned_alloc),
    SYM(memalign),
    SYM(valloc),
    SYM(pvalloc),
    CXX(_Znwm),
    CXX(_Znam),
    CXX(_ZnwmRKSt9nothrow_t),
    CXX(_ZnamRKSt9nothrow_t),
    CXX(_ZnwmSt11align_val_t),
    CXX(_ZnamSt11align_val_t),
    CXX(_ZnwmSt11align_val_tRKSt9nothrow_t),
    CXX(_ZnamSt11align_val_tRKSt9nothrow_t),
    CXX(_ZdlPv),
    CXX(_ZdaPv),
    CXX(_ZdlPvm),
    CXX(_ZdaPvm),
    CXX(_ZdlPvRKSt9nothrow_t),
    CXX(_ZdaPvRKSt9nothrow_t),
    CXX(_ZdlPvSt11align_val_t),
    CXX(_ZdaPvSt11align_val_t),
    CXX(_ZdlPvmSt11align_val_t),
    CXX(_ZdaPvmSt11align_val_t),
};
const size_t preload_nsyms = sizeof(preload_syms) / sizeof(preload_syms[0]);
