/*
 * lib_app.c: an application using libkiln, for tests/integration/lib_*.sh (built twice:
 * linked with libkiln.so and with libkiln.a).
 *
 *	lib-app work SECONDS      start, burn CPU in lib_hot, stop(5000)
 *	lib-app twice SECONDS     start twice, work, stop twice
 *	lib-app forkexec SECONDS  start, work, fork a child that execs `echo child-ok`, stop
 *	lib-app stop0 SECONDS     start, work, stop(0), exit at once
 *	lib-app exit SECONDS      start, work, exit without stopping
 *	lib-app options SECONDS   start with struct kiln_options (service "from-code")
 *	lib-app start             start only: prints the result ("start: 0" or the errno name)
 */
#include <errno.h>
#include <kiln.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static unsigned long lib_hot(double seconds)
{
	volatile unsigned long x = 0;
	double end = now() + seconds;
	while (now() < end)
		for (int i = 0; i < 10000; i++)
			x += (unsigned long)i * 17u;
	return x;
}

static int start(void)
{
	int err = kiln_start_profiling();
	if (err)
		fprintf(stderr, "lib-app: start: %s\n", strerror(-err));
	return err;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *mode = argv[1];
	double s = argc > 2 ? strtod(argv[2], NULL) : 1.0;
	if (!strcmp(mode, "start")) {
		int err = kiln_start_profiling();
		printf("start: %s\n", err ? strerror(-err) : "0");
		return err ? 1 : 0;
	}
	if (!strcmp(mode, "options")) {
		struct kiln_options o = {.version = KILN_OPTIONS_VERSION, .service = "from-code"};
		if (kiln_start_profiling_with(&o))
			return 1;
		struct kiln_options bad = {.version = 99};
		if (kiln_start_profiling_with(&bad) != -EINVAL)
			return 3;
		lib_hot(s);
		kiln_stop_profiling(5000);
		return 0;
	}
	if (start())
		return 1;
	if (!strcmp(mode, "twice") && start())
		return 1;
	lib_hot(s);
	if (!strcmp(mode, "exit"))
		return 0;
	if (!strcmp(mode, "forkexec")) {
		fflush(NULL);
		pid_t c = fork();
		if (c == 0) {
			kiln_stop_profiling(
			    1000); /* the child does not own the profiler: no effect */
			execlp("echo", "echo", "child-ok", (char *)NULL);
			_exit(127);
		}
		int st = 0;
		waitpid(c, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			return 4;
		lib_hot(0.3); /* still profiled */
	}
	if (!strcmp(mode, "stop0")) {
		kiln_stop_profiling(0);
		return 0;
	}
	kiln_stop_profiling(5000);
	if (!strcmp(mode, "twice"))
		kiln_stop_profiling(5000);
	printf("lib-app: done\n");
	return 0;
}
