/*
 * tree: the call tree of a set of stacks (kiln report --tree), printed root first with one
 * indented line per call path:
 *
 *	         cum    cum%         self  call tree
 *	  9000000000 100.00%            0  main
 *	  6000000000  66.67%   6000000000    hotA
 *
 * Children are sorted by |cum| descending; paths whose |cum| is below `cutoff` are folded into
 * one "(N more below cutoff)" line per parent so the tree stays readable.
 */
#ifndef KILN_REPORT_TREE_H
#define KILN_REPORT_TREE_H

#include <stdint.h>
#include <stdio.h>

#include "report/stacks.h"

/* Writes the tree of rs to out; percentages are relative to rs->total. 0 or -ENOMEM/-EIO. */
int report_tree_write(FILE *out, const struct report_stacks *rs, int64_t cutoff);

#endif
