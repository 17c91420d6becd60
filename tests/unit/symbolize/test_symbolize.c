/* Symbolizer: names from .symtab/.dynsym, C++ demangling, a stripped copy (fallback name,
 * build id kept), a separate debug file through .gnu_debuglink, inlined frames and lines
 * from DWARF, Rust names, JIT perf maps and kernel symbols. */
#include <errno.h>
#include <unistd.h>

#include "ks_lib.h"
#include "proc/elf.h"
#include "symbolize/debuginfo.h"
#include "symbolize/symbolize.h"
#include "test.h"

static struct proc_table *pt;
static uint64_t addr[KS_NPCS]; /* elf addresses of the call sites */
static struct proc_elf *orig;

static int marker_line(const char *marker)
{
	FILE *f = fopen(KS_SRC, "r");
	char line[512];
	int n = 0, found = 0;
	while (f && fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, marker)) {
			found = n;
			break;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/* Symbolizes one address; returns the number of frames. */
static size_t sym1(struct symbolizer *s, struct proc_elf *e, uint64_t a, struct sym_frame *out)
{
	uint32_t start = 99, count = 0;
	int used = symbolizer_symbolize(s, e, &a, 1, out, 16, &start, &count);
	CHECK(used >= 1);
	CHECK_INT_EQ(start, 0);
	return used > 0 ? count : 0;
}

static void test_names(void)
{
	struct symbolizer *s = symbolizer_new(&(struct symbolize_opts){0});
	struct sym_frame f[16];
	sym1(s, orig, addr[KS_EXPORTED], f);
	CHECK_STR_EQ(f[0].name, "ks_exported");
	sym1(s, orig, addr[KS_STATIC], f);
	CHECK_STR_EQ(f[0].name, "ks_static");
	CHECK(strstr(f[0].file, "libks_syms.so") != NULL);
	sym1(s, orig, addr[KS_TEMPLATE], f);
	CHECK_STR_EQ(f[0].name, "ks::Widget<int>::frob(int)");
	CHECK_STR_EQ(f[0].system_name, "_ZN2ks6WidgetIiE4frobEi");
	sym1(s, orig, addr[KS_LAMBDA], f);
	CHECK_STR_EQ(f[0].name, "ks::run()::{lambda(int)#1}::operator()(int) const");

	/* A batch: one result per address, in order. */
	uint64_t batch[3] = {addr[KS_STATIC], addr[KS_EXPORTED], addr[KS_STATIC]};
	uint32_t start[3], count[3];
	int used = symbolizer_symbolize(s, orig, batch, 3, f, 16, start, count);
	CHECK_INT_EQ(used, 3);
	CHECK(count[0] == 1 && count[1] == 1 && count[2] == 1);
	CHECK_STR_EQ(f[start[1]].name, "ks_exported");
	CHECK_STR_EQ(f[start[2]].name, "ks_static");
	CHECK_INT_EQ(symbolizer_symbolize(s, orig, batch, 3, f, 2, start, count), -ENOSPC);
	symbolizer_free(s);
}

static void check_inlined(struct proc_elf *e)
{
	struct symbolizer *s = symbolizer_new(&(struct symbolize_opts){.inlined_functions = true});
	struct sym_frame f[16];
	for (int round = 0; round < 2; round++) { /* the second round comes from the cache */
		size_t n = sym1(s, e, addr[KS_INLINED], f);
		CHECK_INT_EQ(n, 2);
		if (n != 2)
			break;
		CHECK_STR_EQ(f[0].name, "ks_inlined");
		CHECK_INT_EQ(f[0].line, marker_line("KS_INLINED_LINE"));
		CHECK(strstr(f[0].file, "ks_lib.c") != NULL);
		CHECK_STR_EQ(f[1].name, "ks_inline_outer");
		CHECK_INT_EQ(f[1].line, marker_line("KS_OUTER_LINE"));
		CHECK(strstr(f[1].file, "ks_lib.c") != NULL);
	}
	size_t n = sym1(s, e, addr[KS_TEMPLATE], f);
	CHECK(n >= 1 && !strcmp(f[n - 1].name, "ks::Widget<int>::frob(int)"));
	CHECK(n >= 1 && strstr(f[n - 1].file, "ks_cxx.cpp") && f[n - 1].line > 0);
	symbolizer_free(s);
}

static void test_inlined(void)
{
	check_inlined(orig);
}

static void test_stripped(void)
{
	struct proc_elf *e = proc_elf_open(KS_DIR "/stripped/libks_syms.so", NULL);
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_STR_EQ(proc_elf_build_id(e), proc_elf_build_id(orig));
	CHECK(strlen(proc_elf_build_id(e)) == 40);
	struct symbolizer *s = symbolizer_new(&(struct symbolize_opts){0});
	struct sym_frame f[16];
	sym1(s, e, addr[KS_EXPORTED], f); /* .dynsym survives strip */
	CHECK_STR_EQ(f[0].name, "ks_exported");
	sym1(s, e, addr[KS_STATIC], f);
	char want[64];
	snprintf(want, sizeof(want), "libks_syms.so+0x%llx", (unsigned long long)addr[KS_STATIC]);
	CHECK_STR_EQ(f[0].name, want);
	CHECK(strstr(f[0].file, "stripped/libks_syms.so") != NULL);
	symbolizer_free(s);
	proc_elf_unref(e);
}

static void test_debuglink(void)
{
	struct proc_elf *e = proc_elf_open(KS_DIR "/debuglink/libks_syms.so", NULL);
	CHECK(e != NULL);
	if (!e)
		return;
	struct symbolizer *s = symbolizer_new(&(struct symbolize_opts){0});
	struct sym_frame f[16];
	CHECK_INT_EQ(debuginfo_crc32(0, "123456789", 9), 0xcbf43926u); /* .gnu_debuglink's CRC */
	sym1(s, e, addr[KS_STATIC], f); /* from the debug file's .symtab */
	CHECK_STR_EQ(f[0].name, "ks_static");
	symbolizer_free(s);
	check_inlined(e);
	proc_elf_unref(e);
}

static void test_demangle(void)
{
	char out[256];
	CHECK(symbolize_demangle("_ZN2ks6WidgetIiE4frobEi", out, sizeof(out)));
	CHECK_STR_EQ(out, "ks::Widget<int>::frob(int)");
	CHECK(symbolize_demangle("_ZNSt6vectorIiSaIiEE9push_backERKi", out, sizeof(out)));
	CHECK_STR_EQ(out, "std::vector<int, std::allocator<int> >::push_back(int const&)");
	/* Rust legacy: the ::h<hash> is dropped. */
	CHECK(symbolize_demangle("_ZN4core3fmt5write17h0123456789abcdefE", out, sizeof(out)));
	CHECK_STR_EQ(out, "core::fmt::write");
	CHECK(symbolize_demangle(
	    "_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h1f2e3d4c5b6a7988E", out,
	    sizeof(out)));
	CHECK_STR_EQ(out, "std::rt::lang_start::{{closure}}");
	/* Rust v0. */
	CHECK(symbolize_demangle("_RNvNtCs1234_7mycrate6module4func", out, sizeof(out)));
	CHECK_STR_EQ(out, "mycrate::module::func");
	CHECK(symbolize_demangle("_RNvC6_123foo3bar", out, sizeof(out)));
	CHECK_STR_EQ(out, "123foo::bar");
	CHECK(symbolize_demangle("_RNCNCNgCs6DXkGYLi8lr_2cc5spawn00B5_", out, sizeof(out)));
	CHECK_STR_EQ(out, "cc::spawn::{closure#0}::{closure#0}");
	CHECK(
	    symbolize_demangle("_RNCINkXs25_NgCsbmNqQUJIY6D_4core5sliceINyB9_4IterhENuNgNoBb_"
			       "4iter8iterator8Iterator9rpositionNCNgNpB9_6memchr7memrchrs_0E0Bb_",
			       out, sizeof(out)));
	CHECK_STR_EQ(out, "<core::slice::Iter<u8> as core::iter::iterator::Iterator>::rposition::"
			  "<core::slice::memchr::memrchr::{closure#1}>::{closure#0}");
	CHECK(
	    symbolize_demangle("_RINbNbCskIICzLVDPPb_5alloc5alloc8box_freeDINbNiB4_5boxed5FnBoxuEp6"
			       "OutputuEL_ECs1iopQbuBiw2_3std",
			       out, sizeof(out)));
	CHECK_STR_EQ(out, "alloc::alloc::box_free::<dyn alloc::boxed::FnBox<(), Output = ()>>");
	CHECK(!symbolize_demangle("_RNvC6_123foo3ba", out, sizeof(out))); /* cut short */
	CHECK(!symbolize_demangle("_RB_", out, sizeof(out)));		  /* backref loop */
	/* Not mangled, or too small a buffer. */
	CHECK(!symbolize_demangle("main", out, sizeof(out)));
	CHECK(!symbolize_demangle("_Zgarbage", out, sizeof(out)));
	CHECK(!symbolize_demangle("_ZN2ks6WidgetIiE4frobEi", out, 8));
}

static void test_perf_map(void)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fprintf(f, "7f0000001000 100 LazyCompile:*handler /app/server.js:10\n");
	fprintf(f, "7f0000000000 40 stub\n");
	fclose(f);
	struct symbolizer *s = symbolizer_new(NULL);
	struct sym_frame sf;
	CHECK(symbolizer_perf_map(s, getpid(), 0x7f0000001010, &sf));
	CHECK_STR_EQ(sf.name, "LazyCompile:*handler /app/server.js:10");
	CHECK(symbolizer_perf_map(s, getpid(), 0x7f0000000000, &sf));
	CHECK_STR_EQ(sf.name, "stub");
	CHECK(!symbolizer_perf_map(s, getpid(), 0x7f0000000040, &sf));
	/* Appended entries are found after a reload. */
	f = fopen(path, "a");
	fprintf(f, "7f0000002000 10 later\n");
	fclose(f);
	CHECK(symbolizer_perf_map(s, getpid(), 0x7f0000002004, &sf));
	CHECK_STR_EQ(sf.name, "later");
	symbolizer_gc(s);
	symbolizer_free(s);
	unlink(path);
}

static void test_kernel(void)
{
	/* Only meaningful when kallsyms shows addresses (root, or kptr_restrict=0). */
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[256];
	unsigned long long want = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long a;
		char t, name[200];
		if (sscanf(line, "%llx %c %199s", &a, &t, name) == 3 && a &&
		    !strcmp(name, "schedule") && (t == 'T' || t == 't')) {
			want = a;
			break;
		}
	}
	if (f)
		fclose(f);
	struct symbolizer *s = symbolizer_new(NULL);
	struct sym_frame sf;
	if (want) {
		CHECK(symbolizer_kernel(s, want + 4, &sf));
		CHECK_STR_EQ(sf.name, "schedule");
	} else {
		CHECK(!symbolizer_kernel(s, 0xffffffff81000000ULL, &sf));
	}
	symbolizer_free(s);
}

int main(void)
{
	ks_run();
	pt = proc_table_new();
	CHECK_INT_EQ(proc_table_load(pt, getpid()), 0);
	for (int i = 0; i < KS_NPCS; i++) {
		uint64_t pc = (uint64_t)(uintptr_t)ks_pcs[i] - 1;
		const struct proc_map *m = proc_table_find(pt, getpid(), pc);
		CHECK(m && m->elf && strstr(proc_elf_path(m->elf), "libks_syms.so"));
		if (!m || !m->elf)
			return test_done() | 1;
		addr[i] = pc - m->bias;
		orig = m->elf;
	}
	RUN(test_names);
	RUN(test_inlined);
	RUN(test_stripped);
	RUN(test_debuglink);
	RUN(test_demangle);
	RUN(test_perf_map);
	RUN(test_kernel);
	proc_table_free(pt);
	return test_done();
}
