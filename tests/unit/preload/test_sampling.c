/*
 * The hook under LD_PRELOAD, read through the ring API: preload-sites allocates from three
 * call sites in the ratio 1:2:4 and leaks from a fourth. The weighted sampled bytes per site
 * must match the true bytes within 10 % (5 % in total); the samples' registers and stack copy
 * must frame-pointer-walk back to the call site; the live set (allocations minus frees of
 * sampled addresses) must hold the leak and nothing of the freed sites.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preload/ring.h"
#include "test.h"

#define NSITES 4
static const double truth[NSITES] = {100e6, 200e6, 400e6, 65536000.0};
static uint64_t site_start[NSITES];

struct live_entry {
	uint64_t addr;
	int site;
	uint64_t weight;
};

static struct live_entry *live;
static size_t nlive, live_cap;

static int site_of(uint64_t ret)
{
	int best = -1;
	for (int i = 0; i < NSITES; i++)
		if (ret >= site_start[i] && ret - site_start[i] < 512 &&
		    (best < 0 || site_start[i] > site_start[best]))
			best = i;
	return best;
}

/* Walks the frame-pointer chain inside the copied stack; returns the index of the frame
 * whose return address is `want`, or -1. */
static int fp_find(const struct alloc_ring_alloc *a, const uint8_t *stack, uint64_t want)
{
	uint64_t sp = a->regs[7], bp = a->regs[6];
	for (int depth = 0; depth < 8; depth++) {
		if (bp < sp || bp + 16 > sp + a->stack_len || (bp & 7))
			return -1;
		uint64_t next, ret;
		memcpy(&next, stack + (bp - sp), 8);
		memcpy(&ret, stack + (bp - sp) + 8, 8);
		if (ret == want)
			return depth;
		if (next <= bp)
			return -1;
		bp = next;
	}
	return -1;
}

static void test_sites(void)
{
	int fd;
	struct alloc_ring *ring = alloc_ring_create(64 << 20, &fd);
	CHECK(ring != NULL);
	if (!ring)
		return;
	alloc_ring_header(ring)->period = 64 * 1024;
	alloc_ring_header(ring)->stack_size = 2048;
	char env[64];
	alloc_ring_env(ring, env, sizeof(env));
	int out[2];
	CHECK_INT_EQ(pipe(out), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		setenv("LD_PRELOAD", PRELOAD_LIB, 1);
		setenv("KILN_ALLOC_RING", env, 1);
		unsetenv("KILN_ALLOC_PERIOD");
		execl(PRELOAD_SITES, PRELOAD_SITES, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	double got[NSITES] = {0};
	uint64_t nsamples[NSITES] = {0}, walked = 0, walk_fail = 0, frees = 0, other = 0;
	int status = 0, exited = 0;
	for (;;) {
		struct alloc_ring_event ev;
		int r = alloc_ring_read(ring, &ev);
		if (r == 1) {
			if (ev.type == ALLOC_RING_FREE) {
				frees++;
				for (size_t i = 0; i < nlive; i++)
					if (live[i].addr == ev.free->addr) {
						live[i] = live[--nlive];
						break;
					}
				continue;
			}
			if (ev.type != ALLOC_RING_ALLOC)
				continue;
			const struct alloc_ring_alloc *a = ev.alloc;
			CHECK_INT_EQ(a->pid, pid);
			CHECK(a->weight == a->count * 64 * 1024);
			if (!site_start[0]) { /* sites not known yet: read the child's line */
				char line[256] = {0};
				ssize_t n = read(out[0], line, sizeof(line) - 1);
				CHECK(n > 0);
				CHECK_INT_EQ(sscanf(line,
						    "%" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64,
						    &site_start[0], &site_start[1], &site_start[2],
						    &site_start[3]),
					     4);
			}
			int s = site_of(a->caller);
			if (s < 0) {
				other++;
				continue;
			}
			got[s] += (double)a->weight;
			nsamples[s]++;
			if (fp_find(a, ev.stack, a->caller) >= 0)
				walked++;
			else
				walk_fail++;
			if (nlive == live_cap) {
				live_cap = live_cap ? 2 * live_cap : 1024;
				live = realloc(live, live_cap * sizeof(*live));
			}
			live[nlive++] = (struct live_entry){a->addr, s, a->weight};
			continue;
		}
		CHECK(r == 0);
		if (r < 0)
			break;
		alloc_ring_release(ring);
		if (exited)
			break;
		if (waitpid(pid, &status, WNOHANG) == pid)
			exited = 1; /* one more drain */
		else
			usleep(2000);
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_INT_EQ(alloc_ring_lost(ring), 0);
	double total = 0, total_true = 0;
	for (int i = 0; i < NSITES; i++) {
		double err = got[i] / truth[i] - 1;
		printf("site %d: %" PRIu64 " samples, %.0f bytes estimated, %.0f true (%+.1f %%)\n",
		       i, nsamples[i], got[i], truth[i], 100 * err);
		CHECK(err > -0.10 && err < 0.10);
		total += got[i];
		total_true += truth[i];
	}
	printf("total %+.1f %%; fp walk found the call site in %" PRIu64 "/%" PRIu64
	       " samples; %" PRIu64 " frees, %" PRIu64 " samples elsewhere\n",
	       100 * (total / total_true - 1), walked, walked + walk_fail, frees, other);
	CHECK(total / total_true - 1 > -0.05 && total / total_true - 1 < 0.05);
	CHECK(walk_fail == 0 && walked > 0);
	/* live set: the leak, nothing from the freed sites */
	double live_bytes[NSITES] = {0};
	for (size_t i = 0; i < nlive; i++)
		live_bytes[live[i].site] += (double)live[i].weight;
	printf("live: %.0f %.0f %.0f %.0f\n", live_bytes[0], live_bytes[1], live_bytes[2],
	       live_bytes[3]);
	CHECK(live_bytes[0] == 0 && live_bytes[1] == 0 && live_bytes[2] == 0);
	CHECK(live_bytes[3] > 0.85 * truth[3] && live_bytes[3] < 1.15 * truth[3]);
	free(live);
	close(out[0]);
	alloc_ring_free(ring);
}

int main(void)
{
	RUN(test_sites);
	return test_done();
}
