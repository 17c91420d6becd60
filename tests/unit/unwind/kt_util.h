/* Shared by the unwinder test and bench: capture, unwind and name a kt_frames sample. */
#ifndef KILN_TEST_KT_UTIL_H
#define KILN_TEST_KT_UTIL_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kt_frames.h"
#include "symbolize/symbolize.h"

#define KT_MAX_FRAMES 512

static inline uint64_t kt_find_stack_top(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uint64_t top = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		if (strstr(line, "[stack]") && sscanf(line, "%llx-%llx", &s, &e) == 2)
			top = e;
	}
	if (f)
		fclose(f);
	return top;
}

struct kt_trace {
	struct unwind_frame frames[KT_MAX_FRAMES];
	const char *names[KT_MAX_FRAMES];
	size_t n;
	enum unwind_status status;
};

static inline void kt_unwind(struct unwinder *u, struct symbolizer *s, size_t len, size_t max,
			     struct kt_trace *t)
{
	t->n = unwinder_unwind(u, getpid(), &kt_sample.regs, kt_sample.stack, len, t->frames, max,
			       &t->status);
	for (size_t i = 0; i < t->n; i++) {
		t->names[i] = "?";
		if (!s || !t->frames[i].elf)
			continue;
		struct sym_frame sf[8];
		uint32_t start, count;
		if (symbolizer_symbolize(s, t->frames[i].elf, &t->frames[i].elf_addr, 1, sf, 8,
					 &start, &count) > 0)
			t->names[i] = sf[start + count - 1].name;
	}
}

#endif
