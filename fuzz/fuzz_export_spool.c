/* Fuzzes what the exporter reads from outside: spool files left in a directory by an
 * earlier run (spool_parse), the text of /proc/self/cgroup (agent_container_id) and the
 * agent URL a user gives (agent_endpoint_parse). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "export/agent.h"
#include "export/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_entry e = {0, 0, BUF_INIT, BUF_INIT};
	struct buf err = BUF_INIT;
	char id[80];

	spool_parse(data, size, &e, &err);
	agent_container_id((const char *)data, size, id, sizeof(id));
	char *url = malloc(size + 1);
	if (url) {
		struct agent_endpoint ep;
		memcpy(url, data, size);
		url[size] = '\0';
		buf_reset(&err);
		agent_endpoint_parse(url, &ep, &err);
		free(url);
	}
	buf_release(&e.tags);
	buf_release(&e.profile);
	buf_release(&err);
	return 0;
}
