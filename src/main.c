/*
 * main.c: the kiln binary's subcommand dispatch. Each subcommand lives in its own module
 * and has the signature int NAME_main(int argc, char **argv), returning the exit status.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

#ifdef KILN_HAVE_REPORT
#include "report/report.h"
#endif
#ifdef KILN_HAVE_PROFILER
#include "profiler/run.h"
#endif

#ifdef KILN_HAVE_SERVER
/*
 * `kiln serve`: loads libkiln-serve.so (see src/serve_plugin.c for why the server is a module)
 * from KILN_SERVE_PLUGIN, else the binary's own directory (build tree), else ../lib/kiln
 * (installed layout), and runs it.
 */
static int serve_plugin_main(int argc, char **argv)
{
	char exe[PATH_MAX], path[PATH_MAX + 64], tried[2 * PATH_MAX + 256] = "";
	const char *env = getenv("KILN_SERVE_PLUGIN");
	void *lib = NULL;

	if (env && *env) {
		lib = dlopen(env, RTLD_NOW | RTLD_LOCAL);
		snprintf(tried, sizeof(tried), "%s (KILN_SERVE_PLUGIN): %s", env,
			 lib ? "" : dlerror());
	} else {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		static const char *const where[] = {"", "/../lib/kiln"};
		for (size_t i = 0; i < 2 && !lib; i++) {
			snprintf(path, sizeof(path), "%s%s/libkiln-serve.so", exe, where[i]);
			if (access(path, F_OK))
				continue;
			lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
			if (!lib)
				snprintf(tried, sizeof(tried), "%s: %s", path, dlerror());
		}
		if (!lib && !tried[0])
			snprintf(tried, sizeof(tried),
				 "no libkiln-serve.so in %s or %s/../lib/kiln", exe, exe);
	}
	int (*fn)(int, char **) = NULL;
	if (lib)
		*(void **)&fn = dlsym(lib, "kiln_serve_plugin_main");
	if (!fn) {
		fprintf(stderr,
			"kiln serve: cannot load the server module: %s\n"
			"kiln serve: it is built with kiln and installed as "
			"PREFIX/lib/kiln/libkiln-serve.so by 'make install';\n"
			"kiln serve: set KILN_SERVE_PLUGIN=PATH to use another copy\n",
			lib ? "libkiln-serve.so has no kiln_serve_plugin_main" : tried);
		return 1;
	}
	return fn(argc, argv);
}
#endif

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
#ifdef KILN_HAVE_PROFILER
	{"run", run_main, "run a program under the profiler, or attach (--pid, --global)"},
#endif
#ifdef KILN_HAVE_SERVER
	{"serve", serve_plugin_main,
	 "receive, store and show profiles (Datadog-compatible intake + UI)"},
#endif
#ifdef KILN_HAVE_REPORT
	{"report", report_main, "print or render pprof files: top, tree, folded stacks, HTML"},
#endif
};

static void usage(FILE *f)
{
	fprintf(f, "usage: kiln <command> [options] [args]\n\n"
		   "kiln is a continuous profiler for Linux (version " KILN_VERSION ").\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\n'kiln <command> --help' describes each command's options.\n"
		   "Documentation: README.md and docs/ in the kiln source tree.\n");
}

int main(int argc, char **argv)
{
	log_set_ident("kiln");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "-v") || !strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("kiln %s\n", KILN_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(cmd, subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "kiln: '%s' is not a kiln command\n\n", cmd);
	usage(stderr);
	return 2;
}
