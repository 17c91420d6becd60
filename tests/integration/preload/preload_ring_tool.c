/*
 * preload-ring: the integration tests' reader of the allocation ring.
 *	preload-ring create PATH SIZE PERIOD STACK     create a ring file for KILN_ALLOC_RING
 *	preload-ring stats PATH [SIZE…]                read every record and print counters
 *	preload-ring follow PATH                       drain the ring as a profiler would, until
 *	                                               SIGTERM/SIGINT; prints the records read
 * stats prints one "key value" per line: samples, allocs, frees, lost, lost_frees, pids,
 * starts (processes attached), untracked, dup_live (an address sampled twice without a free
 *between: double counting), bad_stack (a sample whose stack copy does not start at its SP or
 *exceeds the configured size), and "size:N count" for each SIZE asked (samples of allocations of
 *exactly N bytes).
 */
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preload/ring.h"

#define MAX_PIDS 64
#define LIVE_MAX (1 << 20)

static uint64_t live_addr[LIVE_MAX];
static uint32_t live_pid[LIVE_MAX];
static size_t nlive;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int follow(const char *path)
{
	struct alloc_ring *r = alloc_ring_open_file(path);
	if (!r) {
		fprintf(stderr, "preload-ring: cannot open '%s': %s\n", path, strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	unsigned long long n = 0;
	while (!stop) {
		struct alloc_ring_event ev;
		int rc;
		while ((rc = alloc_ring_read(r, &ev)) == 1)
			n++;
		alloc_ring_release(r);
		if (rc < 0)
			break;
		usleep(1000);
	}
	printf("records %llu lost %llu\n", n, (unsigned long long)alloc_ring_lost(r));
	alloc_ring_free(r);
	return 0;
}

static long live_find(uint32_t pid, uint64_t addr)
{
	for (size_t i = 0; i < nlive; i++)
		if (live_addr[i] == addr && live_pid[i] == pid)
			return (long)i;
	return -1;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "create")) {
		struct alloc_ring *r = alloc_ring_create_file(argv[2], strtoull(argv[3], NULL, 10));
		if (!r) {
			fprintf(stderr, "preload-ring: cannot create '%s': %s\n", argv[2],
				strerror(errno));
			return 1;
		}
		alloc_ring_header(r)->period = strtoll(argv[4], NULL, 10);
		alloc_ring_header(r)->stack_size = (uint32_t)strtoul(argv[5], NULL, 10);
		alloc_ring_free(r);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "follow"))
		return follow(argv[2]);
	if (argc < 3 || strcmp(argv[1], "stats")) {
		fprintf(stderr, "usage: preload-ring create PATH SIZE PERIOD STACK | stats PATH\n");
		return 2;
	}
	struct alloc_ring *r = alloc_ring_open_file(argv[2]);
	if (!r) {
		fprintf(stderr, "preload-ring: cannot open '%s': %s\n", argv[2], strerror(errno));
		return 1;
	}
	uint32_t stack_size = alloc_ring_header(r)->stack_size;
	uint64_t starts = 0, allocs = 0, frees = 0, dup = 0, bad_stack = 0, sizes[16] = {0};
	uint32_t pids[MAX_PIDS];
	int npids = 0, rc;
	struct alloc_ring_event ev;
	while ((rc = alloc_ring_read(r, &ev)) == 1) {
		if (ev.type == ALLOC_RING_START) {
			starts++;
			for (size_t i = 0; i < nlive;) {
				if (live_pid[i] == ev.start->pid) {
					nlive--;
					live_addr[i] = live_addr[nlive];
					live_pid[i] = live_pid[nlive];
				} else {
					i++;
				}
			}
			continue;
		}
		uint32_t pid = ev.type == ALLOC_RING_ALLOC ? ev.alloc->pid : ev.free->pid;
		int k;
		for (k = 0; k < npids && pids[k] != pid; k++)
			;
		if (k == npids && npids < MAX_PIDS)
			pids[npids++] = pid;
		if (ev.type == ALLOC_RING_FREE) {
			frees++;
			long i = live_find(pid, ev.free->addr);
			if (i >= 0) {
				nlive--;
				live_addr[i] = live_addr[nlive];
				live_pid[i] = live_pid[nlive];
			}
			continue;
		}
		const struct alloc_ring_alloc *a = ev.alloc;
		allocs++;
		if (a->stack_len > stack_size || !a->regs[7] || !a->regs[8])
			bad_stack++;
		for (int i = 3; i < argc && i < 19; i++)
			if (a->size == strtoull(argv[i], NULL, 10))
				sizes[i - 3]++;
		if (live_find(a->pid, a->addr) >= 0) {
			dup++;
			fprintf(stderr, "dup: pid %u tid %u addr %llx size %llu kind %u\n", a->pid,
				a->tid, (unsigned long long)a->addr, (unsigned long long)a->size,
				a->kind);
		} else if (nlive < LIVE_MAX) {
			live_addr[nlive] = a->addr;
			live_pid[nlive++] = a->pid;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "preload-ring: corrupt ring\n");
		return 1;
	}
	printf("samples %llu\nallocs %llu\nfrees %llu\nlost %llu\nlost_frees %llu\npids %d\n"
	       "dup_live %llu\nbad_stack %llu\nlive %zu\nstarts %llu\nuntracked %llu\n",
	       (unsigned long long)alloc_ring_samples(r), (unsigned long long)allocs,
	       (unsigned long long)frees, (unsigned long long)alloc_ring_lost(r),
	       (unsigned long long)alloc_ring_lost_frees(r), npids, (unsigned long long)dup,
	       (unsigned long long)bad_stack, nlive, (unsigned long long)starts,
	       (unsigned long long)alloc_ring_header(r)->untracked);
	for (int i = 3; i < argc && i < 19; i++)
		printf("size:%s %llu\n", argv[i], (unsigned long long)sizes[i - 3]);
	alloc_ring_free(r);
	return 0;
}
