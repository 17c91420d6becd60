/* Test workload for the unwinder: functions compiled -O2 -fomit-frame-pointer (kt_frames.c)
 * that capture their own registers and stack (kt_capture) at a known call depth. */
#ifndef KILN_TEST_KT_FRAMES_H
#define KILN_TEST_KT_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "unwind/unwind.h"

#define KT_STACK_MAX (256 * 1024)

struct kt_sample {
	struct unwind_regs regs;
	size_t len;
	uint8_t stack[KT_STACK_MAX];
};

extern struct kt_sample kt_sample;
extern uint64_t kt_stack_top; /* end of the thread's stack, set by the test */

/* Stores the caller's registers as they are after the call returns (ip = return address). */
void kt_capture(struct unwind_regs *out);

void kt_leaf(void);
void kt_a(void);
void kt_deep(int n);
void kt_sig_raise(void);
void kt_qsort(void);
void kt_via_lib(void);

/* Sampling: a SIGPROF handler stores the interrupted registers and a stack copy of up to
 * KT_SAMPLE_STACK bytes per sample, like perf does; kt_work keeps the CPU busy in small
 * -O2 functions (prologues, epilogues, leaf code) and libc. */
#define KT_SAMPLE_STACK (16 * 1024)
#define KT_MAX_SAMPLES 400

struct kt_psample {
	struct unwind_regs regs;
	size_t len;
	uint8_t stack[KT_SAMPLE_STACK];
};

extern struct kt_psample *kt_psamples; /* KT_MAX_SAMPLES of them, set by the test */
extern volatile int kt_npsamples;
void kt_on_sigprof(int sig, void *info, void *uctx);
long kt_work(long rounds);

/* In libkt_lib.so (also -O2 -fomit-frame-pointer). */
void kt_lib_call(void (*cb)(void));

#endif
