/*
 * main.c: the kiln binary's subcommand dispatch. Each subcommand lives in its own module
 * and has the signature int NAME_main(int argc, char **argv), returning the exit status.
 */
#include <stdio.h>
#include <string.h>

#include "base/log.h"

#ifdef KILN_HAVE_REPORT
#include "report/report.h"
#endif
#ifdef KILN_HAVE_PROFILER
#include "profiler/run.h"
#endif
#ifdef KILN_HAVE_SERVER
#include "server/serve.h"
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
	{"serve", serve_main, "receive, store and show profiles (Datadog-compatible intake + UI)"},
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
