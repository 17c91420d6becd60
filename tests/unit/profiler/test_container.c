/* Container ids found in /proc/PID/cgroup texts of the common runtimes, and none elsewhere. */
#include <errno.h>
#include <string.h>

#include "profiler/container.h"
#include "test.h"

#define ID "3f2a9c0d1e4b5a6978d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2"

static void test_runtimes(void)
{
	char out[80];
	CHECK_INT_EQ(container_id_parse("0::/system.slice/docker-" ID ".scope\n", out, sizeof(out)),
		     0);
	CHECK_STR_EQ(out, ID);
	CHECK_INT_EQ(container_id_parse("12:cpu:/docker/" ID "\n1:name=systemd:/docker/" ID "\n",
					out, sizeof(out)),
		     0);
	CHECK_STR_EQ(out, ID);
	CHECK_INT_EQ(container_id_parse("0::/kubepods/besteffort/pod1234/cri-containerd-" ID
					".scope\n",
					out, sizeof(out)),
		     0);
	CHECK_STR_EQ(out, ID);
}

static void test_none(void)
{
	char out[80] = "x";
	CHECK_INT_EQ(container_id_parse("0::/user.slice/user-1000.slice/session-2.scope\n", out,
					sizeof(out)),
		     -ENOENT);
	CHECK_STR_EQ(out, "");
	/* 65 hex digits: not an id. */
	CHECK_INT_EQ(container_id_parse("0::/x/" ID "a\n", out, sizeof(out)), -ENOENT);
	CHECK_INT_EQ(container_id_parse("", out, sizeof(out)), -ENOENT);
	char small[10];
	CHECK_INT_EQ(container_id_parse("0::/docker/" ID, small, sizeof(small)), -ENOENT);
}

int main(void)
{
	RUN(test_runtimes);
	RUN(test_none);
	return test_done();
}
