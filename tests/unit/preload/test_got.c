/*
 * Library mode of the hook: preload-got-app dlopen's libkiln_preload.so (RTLD_LOCAL, no
 * LD_PRELOAD) and installs it by GOT patching with a ring this test created. Allocations from
 * the executable, from a library linked at start, from a library dlopen'ed after the install
 * and from a forked child must all be sampled with the right estimated bytes (each site uses
 * its own size range); frees of memory allocated before the install must work; after the
 * uninstall nothing is sampled. Run for a lazy-binding build and a -z now (full RELRO,
 * -fno-plt: GLOB_DAT slots) build.
 */
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preload/ring.h"
#include "test.h"

#define PERIOD (32 * 1024)

struct site {
	const char *what;
	uint64_t lo;
	double truth;
};
static const struct site sites[] = {
    {"executable", 1000, 64.0 * (1 << 20)},
    {"linked library", 3000, 128.0 * (1 << 20)},
    {"dlopen'ed library", 5000, 96.0 * (1 << 20)},
    {"forked child", 7000, 16.0 * (1 << 20)},
    {"after uninstall", 9000, 0},
};
#define NSITES (sizeof(sites) / sizeof(sites[0]))

static void run_app(const char *app)
{
	int fd;
	struct alloc_ring *ring = alloc_ring_create(64 << 20, &fd);
	CHECK(ring != NULL);
	if (!ring)
		return;
	alloc_ring_header(ring)->period = PERIOD;
	alloc_ring_header(ring)->stack_size = 512;
	int out[2];
	CHECK_INT_EQ(pipe(out), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char fds[16];
		snprintf(fds, sizeof(fds), "%d", fd);
		dup2(out[1], 1);
		unsetenv("LD_PRELOAD");
		unsetenv("KILN_ALLOC_RING");
		unsetenv("KILN_ALLOC_PERIOD");
		execl(app, app, PRELOAD_LIB, GOT_PLUGIN, fds, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	double got[NSITES] = {0};
	uint64_t n[NSITES] = {0}, other = 0, starts = 0, child_samples = 0;
	int status = 0, exited = 0;
	for (;;) {
		struct alloc_ring_event ev;
		int r = alloc_ring_read(ring, &ev);
		if (r == 1) {
			if (ev.type == ALLOC_RING_START)
				starts++;
			if (ev.type != ALLOC_RING_ALLOC)
				continue;
			const struct alloc_ring_alloc *a = ev.alloc;
			CHECK(a->weight == a->count * PERIOD);
			if ((int)a->pid != pid)
				child_samples++;
			size_t s = 0;
			while (s < NSITES &&
			       !(a->size >= sites[s].lo && a->size < sites[s].lo + 1000))
				s++;
			if (s == NSITES) {
				other++;
				continue;
			}
			got[s] += (double)a->weight;
			n[s]++;
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
	char text[512] = {0};
	ssize_t len = read(out[0], text, sizeof(text) - 1);
	close(out[0]);
	printf("%s:\n%s", app, len > 0 ? text : "(no output)\n");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(strstr(text, "install 0\n") != NULL);
	CHECK(strstr(text, "done\n") != NULL);
	CHECK_INT_EQ(alloc_ring_lost(ring), 0);
	for (size_t i = 0; i < NSITES; i++) {
		double err = sites[i].truth ? got[i] / sites[i].truth - 1 : 0;
		printf("  %-18s %6" PRIu64
		       " samples, %11.0f bytes estimated, %11.0f true (%+.1f %%)\n",
		       sites[i].what, n[i], got[i], sites[i].truth, 100 * err);
		if (!sites[i].truth) {
			CHECK_INT_EQ(n[i], 0);
			continue;
		}
		/* sigma of n Poisson samples is 1/sqrt(n): >= 4 sigma everywhere (n >= 500) */
		double tol = i == 3 ? 0.20 : 0.10;
		CHECK(err > -tol && err < tol);
	}
	printf("  %" PRIu64 " samples of other sizes, %" PRIu64 " from the child, %" PRIu64
	       " starts\n",
	       other, child_samples, starts);
	CHECK(child_samples >= n[3] && n[3] > 0);
	CHECK(starts >= 2); /* the install and the fork child */
	alloc_ring_free(ring);
}

static void test_lazy(void)
{
	run_app(GOT_APP_LAZY);
}

static void test_now(void)
{
	run_app(GOT_APP_NOW);
}

int main(void)
{
	RUN(test_lazy);
	RUN(test_now);
	return test_done();
}
