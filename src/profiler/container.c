/*
 * container.c: container ids from cgroup paths. Runtimes name the cgroup of a container after
 * its 64-hex-digit id; the id is what Datadog's container_id tag carries.
 */
#include "profiler/container.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int container_id_parse(const char *cgroup, char *out, size_t outsz)
{
	const char *found = NULL;
	if (outsz)
		out[0] = '\0';
	for (const char *s = cgroup; *s;) {
		if (!is_hex(*s)) {
			s++;
			continue;
		}
		const char *start = s;
		while (is_hex(*s))
			s++;
		if (s - start == 64)
			found = start;
	}
	if (!found || outsz < 65)
		return -ENOENT;
	memcpy(out, found, 64);
	out[64] = '\0';
	return 0;
}

int container_id_of(int pid, char *out, size_t outsz)
{
	char path[64];
	struct buf b = BUF_INIT;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	int err = buf_read_file(&b, path, 65536);
	if (!err)
		err = container_id_parse(b.data ? b.data : "", out, outsz);
	else if (outsz)
		out[0] = '\0';
	buf_release(&b);
	return err;
}
