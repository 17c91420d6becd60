/* kt_frames.c: the unwinder test workload, compiled -O2 -fomit-frame-pointer
 * -fno-optimize-sibling-calls so every function keeps a CFI-only frame. */
#include <signal.h>
#include <sys/ucontext.h>
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

struct kt_psample *kt_psamples;
volatile int kt_npsamples;

__attribute__((no_sanitize_address)) void kt_on_sigprof(int sig, void *info, void *uctx)
{
	ucontext_t *uc = uctx;
	int i = kt_npsamples;
	if (!kt_psamples || i >= KT_MAX_SAMPLES)
		return;
	struct kt_psample *p = &kt_psamples[i];
	const greg_t *g = uc->uc_mcontext.gregs;
	static const int map[][2] = {
	    {UNWIND_REG_AX, REG_RAX},  {UNWIND_REG_BX, REG_RBX},  {UNWIND_REG_CX, REG_RCX},
	    {UNWIND_REG_DX, REG_RDX},  {UNWIND_REG_SI, REG_RSI},  {UNWIND_REG_DI, REG_RDI},
	    {UNWIND_REG_BP, REG_RBP},  {UNWIND_REG_SP, REG_RSP},  {UNWIND_REG_IP, REG_RIP},
	    {UNWIND_REG_R8, REG_R8},   {UNWIND_REG_R9, REG_R9},	  {UNWIND_REG_R10, REG_R10},
	    {UNWIND_REG_R11, REG_R11}, {UNWIND_REG_R12, REG_R12}, {UNWIND_REG_R13, REG_R13},
	    {UNWIND_REG_R14, REG_R14}, {UNWIND_REG_R15, REG_R15},
	};
	for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++)
		p->regs.r[map[k][0]] = (uint64_t)g[map[k][1]];
	uint64_t sp = p->regs.r[UNWIND_REG_SP];
	size_t len = kt_stack_top > sp ? kt_stack_top - sp : 0;
	if (len > KT_SAMPLE_STACK)
		len = KT_SAMPLE_STACK;
	copy_stack(p->stack, sp, len & ~(size_t)7);
	p->len = len & ~(size_t)7;
	kt_npsamples = i + 1;
}

__attribute__((noinline, noclone)) static long kt_fib(int n)
{
	return n < 2 ? n : kt_fib(n - 1) + kt_fib(n - 2);
}

__attribute__((noinline, noclone)) static int kt_work_cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

__attribute__((noinline, noclone)) static long kt_sort_round(long seed)
{
	long v[256];
	char text[512];
	for (int i = 0; i < 256; i++)
		v[i] = (seed * 2654435761L + i * 40503L) % 10007;
	qsort(v, 256, sizeof(v[0]), kt_work_cmp);
	memset(text, 'a' + (int)(seed % 26), sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	return v[seed % 256] + (long)strlen(text);
}

__attribute__((noinline, noclone)) long kt_work(long rounds)
{
	long acc = 0;
	for (long r = 0; r < rounds; r++) {
		acc += kt_fib(18);
		acc += kt_sort_round(acc + r);
	}
	return acc;
}
