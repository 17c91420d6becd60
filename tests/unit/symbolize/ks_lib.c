/* ks_lib.c: C functions with known names for the symbolizer test (-O2 -g). */
#include "ks_lib.h"

void *ks_pcs[KS_NPCS];
static volatile int ks_sink;

__attribute__((noinline)) void *ks_here(void)
{
	return __builtin_return_address(0);
}

__attribute__((noinline)) void ks_exported(void)
{
	ks_pcs[KS_EXPORTED] = ks_here();
	ks_sink++;
}

__attribute__((noinline)) static void ks_static(void)
{
	ks_pcs[KS_STATIC] = ks_here();
	ks_sink += 2;
}

static inline __attribute__((always_inline)) void ks_inlined(void)
{
	ks_pcs[KS_INLINED] = ks_here(); /* KS_INLINED_LINE */
	ks_sink += 3;
}

__attribute__((noinline)) void ks_inline_outer(void)
{
	ks_sink += 4;
	ks_inlined(); /* KS_OUTER_LINE */
	ks_sink += 5;
}

void ks_run(void)
{
	ks_exported();
	ks_static();
	ks_inline_outer();
	ks_run_cxx();
}
