/*
 * run: `kiln run [options] [--] command args…`, the profiler's wrapper mode.
 *
 * The calling process keeps its PID: it forks the profiler (daemon-style, reparented away
 * from the target), waits until the perf events are open on its own PID with
 * enable_on_exec, then execs the command. The caller of `kiln run` therefore sees the
 * command's exit status and signals directly.
 */
#ifndef KILN_PROFILER_RUN_H
#define KILN_PROFILER_RUN_H

/* argv[0] is "run". Returns an exit status only when the command could not be exec'd or the
 * options are wrong (2); on success it does not return. */
int run_main(int argc, char **argv);

#endif
