/*
 * got_app.c: the program of preload_test_got (built plain, twice: lazy binding with partial
 * RELRO, and -z now full RELRO with -fno-plt). It dlopen's libkiln_preload.so as libkiln does,
 * installs the hook with the ring inherited as RING_FD, and allocates from known sites, each
 * with sizes in its own range so that the reader can tell them apart:
 *
 *	[1000, 2000)  the executable (malloc and calloc)    64 MiB
 *	[3000, 4000)  got_lib.so, linked at start           128 MiB
 *	[5000, 6000)  got_plugin.so, dlopen'ed after install 96 MiB (by its bare name, found
 *	              through the executable's DT_RUNPATH)
 *	[7000, 8000)  the executable, in a forked child     16 MiB
 *	[9000, 10000) the executable after uninstall        32 MiB (must not be sampled)
 *
 *	preload-got-app PRELOAD_LIB PLUGIN RING_FD
 * Prints "install 0", the patch counters, and "done"; exit status 0 when every step worked.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

void *gotlib_alloc(size_t n);

static uint64_t rng = 88172645463325252ull;

static size_t size_in(size_t lo)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return lo + (size_t)(rng % 1000);
}

__attribute__((noinline)) static void exe_site(size_t total, size_t lo)
{
	for (size_t done = 0, i = 0; done < total; i++) {
		size_t n = size_in(lo);
		char *p = (i & 1) ? calloc(1, n) : malloc(n);
		if (!p)
			exit(10);
		p[0] = 1;
		free(p);
		done += n;
	}
}

__attribute__((noinline)) static void lib_site(size_t total)
{
	for (size_t done = 0; done < total;) {
		size_t n = size_in(3000);
		char *p = gotlib_alloc(n);
		if (!p)
			exit(11);
		p[0] = 1;
		free(p);
		done += n;
	}
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	/* Allocated before the hook exists, freed through it. */
	enum { NPRE = 2000 };
	static void *pre[NPRE];
	for (int i = 0; i < NPRE; i++)
		pre[i] = malloc(100 + (size_t)i);

	/* JIT-like code: an anonymous executable mapping with no ELF behind it (like the vdso,
	 * whose image the walk skips, it must not disturb the install). */
	unsigned char *jit =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (jit == MAP_FAILED)
		return 12;
	jit[0] = 0xc3; /* ret */
	if (mprotect(jit, 4096, PROT_READ | PROT_EXEC) < 0)
		return 13;

	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!h) {
		printf("dlopen: %s\n", dlerror());
		return 3;
	}
	int (*install)(int) = (int (*)(int))dlsym(h, "kiln_preload_install");
	int (*uninstall)(void) = (int (*)(void))dlsym(h, "kiln_preload_uninstall");
	void (*stats)(unsigned *, unsigned *, unsigned *) =
	    (void (*)(unsigned *, unsigned *, unsigned *))dlsym(h, "kiln_preload_got_stats");
	if (!install || !uninstall || !stats)
		return 4;
	int rc = install((int)strtol(argv[3], NULL, 10));
	printf("install %d\n", rc);
	if (rc)
		return 5;
	unsigned objects, patched, foreign;
	stats(&objects, &patched, &foreign);
	printf("objects %u patched %u foreign %u\n", objects, patched, foreign);
	for (int i = 0; i < NPRE; i++)
		free(pre[i]);

	exe_site(64u << 20, 1000);
	lib_site(128u << 20);

	/* By its bare name: found through this executable's DT_RUNPATH, as without the hook. */
	const char *base = strrchr(argv[2], '/');
	void *plugin = dlopen(base ? base + 1 : argv[2], RTLD_NOW);
	if (!plugin) {
		printf("dlopen plugin: %s\n", dlerror());
		return 6;
	}
	void *(*plugin_alloc)(size_t) = (void *(*)(size_t))dlsym(plugin, "plugin_alloc");
	if (!plugin_alloc)
		return 7;
	for (size_t done = 0; done < (96u << 20);) {
		size_t n = size_in(5000);
		char *p = plugin_alloc(n);
		if (!p)
			return 8;
		p[0] = 1;
		free(p);
		done += n;
	}

	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		exe_site(16u << 20, 7000);
		_exit(0);
	}
	int st;
	if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
		return 9;

	uninstall();
	stats(&objects, &patched, &foreign);
	printf("restored %u\n", patched);
	exe_site(32u << 20, 9000);
	printf("done\n");
	return 0;
}
