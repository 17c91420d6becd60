/*
 * export_send: hands pprof files (raw, gzip or zstd) to kiln's exporter, one profile per
 * file, then waits for delivery — the exporter as a command for the integration tests.
 *
 *   export_send [-U URL] [-o DIR] [-s SPOOLDIR] [-t TAGS] [-c zstd|gzip] [-w MS] FILE...
 *
 * Prints the exporter's stats as "submitted=N uploaded=N retried=N dropped=N files=N
 * spooled=N" and exits 0 when every profile was uploaded (or written, without -U).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "export/export.h"
#include "pprof/pprof.h"

int main(int argc, char **argv)
{
	struct export_config cfg = {.family = "native", .origin = "kiln"};
	int wait_ms = 20000, opt;

	while ((opt = getopt(argc, argv, "U:o:s:t:c:w:")) != -1) {
		switch (opt) {
		case 'U':
			cfg.url = optarg;
			break;
		case 'o':
			cfg.output_dir = optarg;
			break;
		case 's':
			cfg.spool_dir = optarg;
			break;
		case 't':
			cfg.tags = optarg;
			break;
		case 'c':
			cfg.compression = optarg;
			break;
		case 'w':
			wait_ms = (int)strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: export_send [-U URL] [-o DIR] [-s SPOOL] [-t TAGS] "
					"[-c zstd|gzip] [-w MS] FILE...\n");
			return 2;
		}
	}
	log_set_mode("stderr");
	log_set_ident("export_send");
	struct exporter *e = exporter_new(&cfg);
	if (!e) {
		fprintf(stderr, "export_send: cannot create the exporter: %s\n", strerror(errno));
		return 1;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t t = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	int status = 0;
	for (int i = optind; i < argc; i++) {
		struct buf file = BUF_INIT, raw = BUF_INIT, err = BUF_INIT;
		char extra[64];
		if (buf_read_file(&file, argv[i], 0) < 0 ||
		    pprof_decompress((const uint8_t *)file.data, file.len, 0, &raw, &err) < 0) {
			fprintf(stderr, "export_send: cannot read '%s': %s\n", argv[i],
				err.len ? err.data : strerror(errno));
			status = 1;
		} else {
			snprintf(extra, sizeof(extra), "profile_seq:%d", i - optind);
			struct export_profile p = {
			    .start_ns = t - 60000000000LL,
			    .end_ns = t,
			    .pprof = (const uint8_t *)raw.data,
			    .pprof_len = raw.len,
			    .extra_tags = extra,
			    .file_prefix = "export-send",
			};
			if (exporter_submit(e, &p) < 0)
				status = 1;
		}
		buf_release(&file);
		buf_release(&raw);
		buf_release(&err);
	}
	struct export_stats st;
	/* Let the exporter deliver within wait_ms; exporter_free does the waiting. */
	for (int waited = 0; waited < wait_ms; waited += 20) {
		exporter_stats(e, &st);
		if (st.queued == 0)
			break;
		usleep(20000);
	}
	exporter_stats(e, &st);
	exporter_free(e, 1000);
	printf("submitted=%" PRIu64 " uploaded=%" PRIu64 " retried=%" PRIu64 " dropped=%" PRIu64
	       " files=%" PRIu64 "\n",
	       st.submitted, st.uploaded, st.retried, st.dropped, st.files_written);
	if (cfg.url ? st.uploaded != st.submitted : st.files_written != st.submitted)
		status = 1;
	return status;
}
