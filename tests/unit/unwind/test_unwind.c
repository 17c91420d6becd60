/* Unwinds copies of the test's own stack, taken at known call depths in code without frame
 * pointers, and checks the exact function sequence up to main and the thread's root. */
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <signal.h>
#include <sys/time.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kt_util.h"
#include "proc/elf.h"
#include "test.h"
#include "unwind/cfi.h"

static struct proc_table *pt;
static struct unwinder *uw;
static struct symbolizer *sy;
static struct kt_trace tr;

static void dump(const struct kt_trace *t)
{
	fprintf(stderr, "status %d, %zu frames:", t->status, t->n);
	for (size_t i = 0; i < t->n; i++)
		fprintf(stderr, " %s", t->names[i]);
	fprintf(stderr, "\n");
}

/* The frames must start with exactly `want` (leaf first). */
static int starts_with(const struct kt_trace *t, const char *const *want, size_t n)
{
	if (t->n < n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(t->names[i], want[i]))
			return 0;
	return 1;
}

/* Index of name at or after from, or -1. */
static long find_from(const struct kt_trace *t, size_t from, const char *name)
{
	for (size_t i = from; i < t->n; i++)
		if (!strcmp(t->names[i], name))
			return (long)i;
	return -1;
}

/* main, then libc's start frames, then _start: the walk reached the thread root. */
static void check_root(const struct kt_trace *t, const char *driver)
{
	long d = find_from(t, 0, driver);
	CHECK(d >= 0);
	CHECK(d >= 0 && (size_t)d + 1 < t->n && !strcmp(t->names[d + 1], "main"));
	CHECK_INT_EQ(t->status, UNWIND_OK);
	CHECK(t->n > 0 && !strcmp(t->names[t->n - 1], "_start"));
	if (t->status != UNWIND_OK || t->n == 0 || strcmp(t->names[t->n - 1], "_start"))
		dump(t);
}

__attribute__((noinline)) static void test_basic(void)
{
	kt_a();
	kt_unwind(uw, sy, kt_sample.len, KT_MAX_FRAMES, &tr);
	static const char *const want[] = {"kt_leaf", "kt_c", "kt_b", "kt_a", "test_basic", "main"};
	CHECK(starts_with(&tr, want, 6));
	check_root(&tr, "test_basic");
	if (!starts_with(&tr, want, 6))
		dump(&tr);
	/* Leaf pc is exact; callers' pcs are call sites (return address - 1). */
	CHECK(tr.frames[0].pc == kt_sample.regs.r[UNWIND_REG_IP]);
	CHECK(tr.frames[0].elf &&
	      tr.frames[0].elf_addr == tr.frames[0].pc - tr.frames[0].map->bias);
}

__attribute__((noinline)) static void test_deep(void)
{
	kt_deep(300);
	kt_unwind(uw, sy, kt_sample.len, KT_MAX_FRAMES, &tr);
	CHECK(kt_sample.len > 25 * 1024);
	CHECK(tr.n > 0 && !strcmp(tr.names[0], "kt_leaf"));
	size_t deep = 0;
	while (1 + deep < tr.n && !strcmp(tr.names[1 + deep], "kt_deep"))
		deep++;
	CHECK_INT_EQ(deep, 301);
	if (deep != 301)
		dump(&tr);
	CHECK(1 + deep < tr.n && !strcmp(tr.names[1 + deep], "test_deep"));
	check_root(&tr, "test_deep");

	/* A copy cut short: the walk says it was truncated, keeps the leaf side. */
	struct kt_trace *t2 = calloc(1, sizeof(*t2));
	kt_unwind(uw, sy, 4096, KT_MAX_FRAMES, t2);
	CHECK_INT_EQ(t2->status, UNWIND_TRUNCATED);
	CHECK(t2->n > 10 && t2->n < 100);
	/* Fewer slots than frames. */
	kt_unwind(uw, sy, kt_sample.len, 10, t2);
	CHECK_INT_EQ(t2->status, UNWIND_MAX_FRAMES);
	CHECK_INT_EQ(t2->n, 10);
	/* No stack at all: only the leaf. */
	kt_unwind(uw, sy, 0, KT_MAX_FRAMES, t2);
	CHECK(t2->n >= 1 && t2->status == UNWIND_TRUNCATED);
	free(t2);
}

__attribute__((noinline)) static void test_signal(void)
{
	kt_sig_raise();
	kt_unwind(uw, sy, kt_sample.len, KT_MAX_FRAMES, &tr);
	static const char *const want[] = {"kt_leaf", "kt_sig_handler"};
	CHECK(starts_with(&tr, want, 2));
	if (!starts_with(&tr, want, 2))
		dump(&tr);
	long r = find_from(&tr, 2, "kt_sig_raise");
	CHECK(r > 2);
	CHECK(r > 0 && (size_t)r + 1 < tr.n && !strcmp(tr.names[r + 1], "test_signal"));
	check_root(&tr, "test_signal");
	if (r < 0)
		dump(&tr);
}

__attribute__((noinline)) static void test_qsort(void)
{
	kt_qsort();
	kt_unwind(uw, sy, kt_sample.len, KT_MAX_FRAMES, &tr);
	static const char *const want[] = {"kt_leaf", "kt_cmp"};
	CHECK(starts_with(&tr, want, 2));
	long q = find_from(&tr, 2, "kt_qsort");
	CHECK(q > 2); /* libc frames (msort…) between the callback and its caller */
	CHECK(q > 0 && (size_t)q + 1 < tr.n && !strcmp(tr.names[q + 1], "test_qsort"));
	check_root(&tr, "test_qsort");
	if (q < 0)
		dump(&tr);
}

__attribute__((noinline)) static void test_shared_lib(void)
{
	kt_via_lib();
	kt_unwind(uw, sy, kt_sample.len, KT_MAX_FRAMES, &tr);
	static const char *const want[] = {"kt_leaf",	 "kt_lib_cb",	    "kt_lib_call",
					   "kt_via_lib", "test_shared_lib", "main"};
	CHECK(starts_with(&tr, want, 6));
	check_root(&tr, "test_shared_lib");
	CHECK(tr.n > 2 && tr.frames[2].elf &&
	      strstr(proc_elf_path(tr.frames[2].elf), "libkt_lib.so"));
	if (!starts_with(&tr, want, 6))
		dump(&tr);
}

/* The PLT's CFA expression is compiled to the special PLT rule. */
__attribute__((noinline)) static void test_plt_rule(void)
{
	const struct proc_map *m = proc_table_find(pt, getpid(), (uint64_t)(uintptr_t)&kt_a);
	CHECK(m && m->elf);
	if (!m || !m->elf)
		return;
	Elf *elf = m->elf->elf;
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	uint64_t plt = 0, plt_size = 0;
	elf_getshdrstrndx(elf, &shstrndx);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".plt")) {
			plt = sh.sh_addr;
			plt_size = sh.sh_size;
		}
	}
	CHECK(plt != 0 && plt_size >= 32);
	if (!plt)
		return;
	const struct cfi_row *row = cfi_lookup(m->elf, plt + 16);
	CHECK_INT_EQ(row->cfa, CFI_CFA_PLT);
	CHECK_INT_EQ(row->cfa_off, 8);
	CHECK_INT_EQ(row->rule[CFI_SLOT_RA], CFI_OFFSET);
	CHECK_INT_EQ(row->off[CFI_SLOT_RA], -8);
	/* A function body: CFA = rsp + 8 at entry. */
	row = cfi_lookup(m->elf, (uint64_t)(uintptr_t)&kt_a - m->bias);
	CHECK_INT_EQ(row->cfa, CFI_CFA_REG);
	CHECK_INT_EQ(row->cfa_reg, CFI_RSP);
	CHECK_INT_EQ(row->cfa_off, 8);
}

/* Samples taken by a profiling timer at arbitrary instructions (prologues, epilogues, libc)
 * of code without frame pointers: at least 99 % must unwind to the thread's root. */
__attribute__((noinline)) static void test_sampled(void)
{
	kt_psamples = calloc(KT_MAX_SAMPLES, sizeof(*kt_psamples));
	kt_npsamples = 0;
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = (void (*)(int, siginfo_t *, void *))kt_on_sigprof;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGPROF, &sa, &old);
	struct itimerval it = {{0, 1000}, {0, 1000}};
	setitimer(ITIMER_PROF, &it, NULL);
	for (int i = 0; i < 4000 && kt_npsamples < 300; i++)
		kt_work(20);
	struct itimerval stop = {{0, 0}, {0, 0}};
	setitimer(ITIMER_PROF, &stop, NULL);
	sigaction(SIGPROF, &old, NULL);
	int n = kt_npsamples, ok = 0, rooted = 0, in_work = 0;
	CHECK(n >= 100);
	struct kt_trace *t = calloc(1, sizeof(*t));
	for (int i = 0; i < n; i++) {
		memcpy(&kt_sample.regs, &kt_psamples[i].regs, sizeof(kt_sample.regs));
		memcpy(kt_sample.stack, kt_psamples[i].stack, kt_psamples[i].len);
		kt_unwind(uw, sy, kt_psamples[i].len, KT_MAX_FRAMES, t);
		if (t->status == UNWIND_OK)
			ok++;
		if (t->n && !strcmp(t->names[t->n - 1], "_start") && find_from(t, 0, "main") >= 0)
			rooted++;
		else {
			dump(t);
			if (t->n && t->frames[0].elf) {
				const struct cfi_row *r =
				    cfi_lookup(t->frames[0].elf, t->frames[0].elf_addr);
				fprintf(stderr,
					"  leaf %s+0x%llx row [%llx,%llx) cfa %d reg %d off %d sig "
					"%d ra %d/%d\n",
					proc_elf_path(t->frames[0].elf),
					(unsigned long long)t->frames[0].elf_addr,
					(unsigned long long)r->start, (unsigned long long)r->end,
					r->cfa, r->cfa_reg, r->cfa_off, r->signal, r->rule[0],
					r->off[0]);
			}
		}
		if (find_from(t, 0, "kt_work") >= 0)
			in_work++;
	}
	fprintf(stderr,
		"sampled: %d samples, %d complete, %d reach _start through main, %d in kt_work\n",
		n, ok, rooted, in_work);
	CHECK(ok * 100 >= n * 99);
	CHECK(rooted * 100 >= n * 99);
	CHECK(in_work * 100 >= n * 90);
	free(t);
	free(kt_psamples);
	kt_psamples = NULL;
}

int main(void)
{
	kt_stack_top = kt_find_stack_top();
	pt = proc_table_new();
	uw = unwinder_new(pt);
	struct symbolize_opts o = {0};
	sy = symbolizer_new(&o);
	CHECK(kt_stack_top != 0);
	CHECK_INT_EQ(proc_table_load(pt, getpid()), 0);
	RUN(test_basic);
	RUN(test_deep);
	RUN(test_signal);
	RUN(test_qsort);
	RUN(test_shared_lib);
	RUN(test_plt_rule);
	RUN(test_sampled);
	symbolizer_free(sy);
	unwinder_free(uw);
	proc_table_free(pt);
	return test_done();
}
