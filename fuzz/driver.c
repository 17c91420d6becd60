/*
 * driver.c: replays files through a fuzz target without libFuzzer, so every build runs the
 * seed corpus (and the sanitizer build runs it under ASan+UBSan). Arguments are files or
 * directories (read one level deep).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	struct buf b = BUF_INIT;
	int err = buf_read_file(&b, path, 0);
	if (err < 0) {
		fprintf(stderr, "fuzz driver: cannot read '%s'\n", path);
		return 1;
	}
	/* An exact-size heap copy, so ASan sees reads past the end. */
	uint8_t *copy = malloc(b.len ? b.len : 1);
	if (b.len)
		memcpy(copy, b.data, b.len);
	LLVMFuzzerTestOneInput(copy, b.len);
	free(copy);
	buf_release(&b);
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0, bad = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "fuzz driver: no such file or directory '%s'\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= run_file(argv[i]);
			files++;
			continue;
		}
		DIR *d = opendir(argv[i]);
		if (!d)
			return 1;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			bad |= run_file(path);
			files++;
		}
		closedir(d);
	}
	printf("replayed %d inputs\n", files);
	return bad || files == 0;
}
