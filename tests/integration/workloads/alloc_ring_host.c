/*
 * alloc_ring_host.c: plays libkiln's part for `kiln run --pid PID --alloc-ring FD` tests: it
 * creates an allocation ring (alloc_ring_create), starts a command with the hook attached to
 * it (LD_PRELOAD + KILN_ALLOC_RING=fd:N), then runs kiln attached to that command with the
 * ring's descriptor, and exits with kiln's status.
 *
 *	alloc-ring-host [-hole] LIB PERIOD KILN OUTDIR -- CMD ARGS...
 *
 * -hole reserves a record and never commits it before the command starts, as a writer killed
 * inside malloc would: the profiler must notice the stuck ring and skip past it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preload/ring.h"

int main(int argc, char **argv)
{
	int i = 1;
	int hole = 0;
	if (i < argc && !strcmp(argv[i], "-hole")) {
		hole = 1;
		i++;
	}
	if (argc - i < 6 || strcmp(argv[i + 4], "--")) {
		fprintf(stderr,
			"usage: alloc-ring-host [-hole] LIB PERIOD KILN OUTDIR -- CMD...\n");
		return 2;
	}
	const char *lib = argv[i], *kiln = argv[i + 2], *outdir = argv[i + 3];
	long period = strtol(argv[i + 1], NULL, 10);
	char **cmd = argv + i + 5;

	int fd = -1;
	struct alloc_ring *r = alloc_ring_create(4u << 20, &fd);
	if (!r) {
		perror("alloc-ring-host: alloc_ring_create");
		return 1;
	}
	struct alloc_ring_header *h = alloc_ring_header(r);
	h->period = period;
	h->stack_size = 32768;
	h->flags = 0;
	if (hole && !alloc_ring_reserve(h, (uint8_t *)h + ALLOC_RING_HEADER_SIZE, 512)) {
		fprintf(stderr, "alloc-ring-host: cannot reserve\n");
		return 1;
	}

	char env[32];
	snprintf(env, sizeof(env), "fd:%d", fd);
	pid_t child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		setenv("KILN_ALLOC_RING", env, 1);
		setenv("LD_PRELOAD", lib, 1);
		execvp(cmd[0], cmd);
		perror("alloc-ring-host: exec");
		_exit(127);
	}
	char pid[32], fdarg[32];
	snprintf(pid, sizeof(pid), "%d", (int)child);
	snprintf(fdarg, sizeof(fdarg), "%d", fd);
	pid_t k = fork();
	if (k < 0)
		return 1;
	if (k == 0) {
		char *args[] = {(char *)kiln, "run",	      "--pid",	      pid,  "--alloc-ring",
				fdarg,	      "--output-dir", (char *)outdir, "-u", "1",
				NULL};
		execv(kiln, args);
		perror("alloc-ring-host: exec kiln");
		_exit(127);
	}
	int st = 0, kst = 0;
	waitpid(child, &st, 0);
	waitpid(k, &kst, 0);
	alloc_ring_free(r);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "alloc-ring-host: the command failed (status %d)\n", st);
		return 1;
	}
	return WIFEXITED(kst) ? WEXITSTATUS(kst) : 1;
}
