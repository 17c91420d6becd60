/* kt_frames.c: the unwinder test workload, compiled -O2 -fomit-frame-pointer
 * -fno-optimize-sibling-calls so every function keeps a CFI-only frame. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "kt_frames.h"

struct kt_sample kt_sample;
uint64_t kt_stack_top;
static volatile int sink;

__asm__(".text\n"
	".globl kt_capture\n"
	".type kt_capture,@function\n"
	"kt_capture:\n"
	".cfi_startproc\n"
	"movq %rax, 0(%rdi)\n"
	"movq %rbx, 8(%rdi)\n"
	"movq %rcx, 16(%rdi)\n"
	"movq %rdx, 24(%rdi)\n"
	"movq %rsi, 32(%rdi)\n"
	"movq %rdi, 40(%rdi)\n"
	"movq %rbp, 48(%rdi)\n"
	"leaq 8(%rsp), %rax\n"
	"movq %rax, 56(%rdi)\n"
	"movq (%rsp), %rax\n"
	"movq %rax, 64(%rdi)\n"
	"movq %r8, 128(%rdi)\n"
	"movq %r9, 136(%rdi)\n"
	"movq %r10, 144(%rdi)\n"
	"movq %r11, 152(%rdi)\n"
	"movq %r12, 160(%rdi)\n"
	"movq %r13, 168(%rdi)\n"
	"movq %r14, 176(%rdi)\n"
	"movq %r15, 184(%rdi)\n"
	"ret\n"
	".cfi_endproc\n"
	".size kt_capture, .-kt_capture\n");

/* The live stack holds ASan's redzones: copy it without instrumentation (and not through
 * the intercepted memcpy). */
__attribute__((noinline, noclone, no_sanitize_address)) static void
copy_stack(uint8_t *dst, uint64_t src, size_t len)
{
	const volatile uint64_t *s = (const volatile uint64_t *)(uintptr_t)src;
	uint64_t *d = (uint64_t *)(void *)dst;
	for (size_t i = 0; i < len / 8; i++)
		d[i] = s[i];
}

__attribute__((noinline, noclone)) void kt_leaf(void)
{
	kt_capture(&kt_sample.regs);
	uint64_t sp = kt_sample.regs.r[UNWIND_REG_SP];
	size_t len = kt_stack_top > sp ? kt_stack_top - sp : 0;
	if (len > KT_STACK_MAX)
		len = KT_STACK_MAX;
	copy_stack(kt_sample.stack, sp, len);
	kt_sample.len = len;
	sink++;
}

__attribute__((noinline, noclone)) static void kt_c(int x)
{
	kt_leaf();
	sink += x;
}

__attribute__((noinline, noclone)) static void kt_b(int x)
{
	kt_c(x + 1);
	sink += x;
}

__attribute__((noinline, noclone)) void kt_a(void)
{
	kt_b(1);
	sink++;
}

__attribute__((noinline, noclone)) void kt_deep(int n)
{
	volatile char pad[96];
	pad[n % 96] = (char)n;
	if (n > 0)
		kt_deep(n - 1);
	else
		kt_leaf();
	sink += pad[n % 96];
}

__attribute__((noinline, noclone)) static void kt_sig_handler(int sig)
{
	kt_leaf();
	sink = sink * 3 + sig;
}

__attribute__((noinline, noclone)) void kt_sig_raise(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kt_sig_handler;
	sigaction(SIGUSR1, &sa, &old);
	raise(SIGUSR1);
	sigaction(SIGUSR1, &old, NULL);
	sink++;
}

static int kt_captured;

__attribute__((noinline, noclone)) static int kt_cmp(const void *a, const void *b)
{
	if (!kt_captured) {
		kt_captured = 1;
		kt_leaf();
	}
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

__attribute__((noinline, noclone)) void kt_qsort(void)
{
	int v[64];
	for (int i = 0; i < 64; i++)
		v[i] = (i * 37) % 64;
	kt_captured = 0;
	qsort(v, 64, sizeof(v[0]), kt_cmp);
	sink += v[0];
}

__attribute__((noinline, noclone)) static void kt_lib_cb(void)
{
	kt_leaf();
	sink++;
}

__attribute__((noinline, noclone)) void kt_via_lib(void)
{
	kt_lib_call(kt_lib_cb);
	sink++;
}
