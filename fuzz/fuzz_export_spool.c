/* Fuzzes what the exporter reads from outside: spool files left in a directory by an
 * earlier run (spool_parse) and the text of /proc/self/cgroup (agent_container_id). */
#include <stddef.h>
#include <stdint.h>

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
	buf_release(&e.tags);
	buf_release(&e.profile);
	buf_release(&err);
	return 0;
}
