/*
 * container: the container id of a process, from /proc/PID/cgroup, for the tags of its
 * profile in `kiln run --global`.
 */
#ifndef KILN_PROFILER_CONTAINER_H
#define KILN_PROFILER_CONTAINER_H

#include <stddef.h>

/*
 * Finds a container id in the text of a /proc/PID/cgroup file: the last run of exactly 64
 * hexadecimal digits (Docker, containerd, CRI-O: ".../docker-<id>.scope", "/docker/<id>",
 * "cri-containerd-<id>.scope"). Writes it (NUL-terminated) to out (at least 65 bytes) and
 * returns 0, or -ENOENT when there is none (out set to "").
 */
int container_id_parse(const char *cgroup, char *out, size_t outsz);

/* Reads /proc/PID/cgroup and parses it as above. 0 or a negative errno. */
int container_id_of(int pid, char *out, size_t outsz);

#endif
