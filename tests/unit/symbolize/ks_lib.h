/* Symbolizer test library: each function records a pc inside itself into ks_pcs. */
#ifndef KILN_TEST_KS_LIB_H
#define KILN_TEST_KS_LIB_H

#ifdef __cplusplus
extern "C" {
#endif

enum { KS_EXPORTED, KS_STATIC, KS_INLINED, KS_TEMPLATE, KS_LAMBDA, KS_NPCS };
extern void *ks_pcs[KS_NPCS];

/* Fills ks_pcs. */
void ks_run(void);
void ks_run_cxx(void);
void *ks_here(void);
void ks_exported(void);
void ks_inline_outer(void);

#ifdef __cplusplus
}
#endif

#endif
