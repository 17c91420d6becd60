/* kt_lib.c: a shared library frame for the unwinder test (-O2 -fomit-frame-pointer). */
#include "kt_frames.h"

static volatile int lib_sink;

__attribute__((noinline, noclone)) void kt_lib_call(void (*cb)(void))
{
	cb();
	lib_sink++;
}
