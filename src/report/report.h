/*
 * report: `kiln report`, which reads pprof files from any producer (kiln, Go, dd-trace…) and
 * prints or renders them: a top table agreeing with `go tool pprof -top`, a call tree, folded
 * stacks, JSON, a self-contained HTML flame graph, a merged pprof file, or a diff.
 * docs/report.md documents every option; `kiln report --help` prints the same list.
 */
#ifndef KILN_REPORT_REPORT_H
#define KILN_REPORT_REPORT_H

/* argv[0] is "report". Returns the exit status: 0 ok, 1 output failed, 2 bad usage or input. */
int report_main(int argc, char **argv);

#endif
