/*
 * preload-torture: a program whose output and exit status must not change under the hook:
 * threads doing realloc chains and aligned allocations, a fork in the middle (the child
 * allocates and execs this program again, which must attach to the same ring), a dlopen'ed
 * library that allocates, calloc overflow, errno preservation. Prints deterministic lines.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 8

/* volatile: the compiler must not see (and refuse) the overflowing product */
static volatile size_t huge = SIZE_MAX / 2;

static void *worker(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	uint64_t sum = 0;
	for (int round = 0; round < 2000; round++) {
		char *p = NULL;
		size_t len = 0;
		for (int k = 1; k <= 40; k++) { /* realloc chain */
			len = (size_t)k * 97 + id;
			char *q = realloc(p, len);
			if (!q)
				abort();
			p = q;
			p[len - 1] = (char)k;
		}
		sum += (unsigned char)p[len - 1];
		free(p);
		void *a = aligned_alloc(256, 4096);
		void *m = memalign(128, 1000);
		void *v = valloc(100);
		void *pv = pvalloc(5000);
		void *pm = NULL;
		if (!a || !m || !v || !pv || posix_memalign(&pm, 1024, 3000))
			abort();
		sum += ((uintptr_t)a % 256) + ((uintptr_t)m % 128) + ((uintptr_t)v % 4096) +
		       ((uintptr_t)pv % 4096) + ((uintptr_t)pm % 1024);
		free(a);
		free(m);
		free(v);
		free(pv);
		free(pm);
		int *arr = reallocarray(NULL, 100, sizeof(int));
		if (!arr)
			abort();
		arr[99] = round;
		sum += (uint64_t)(arr[99] == round);
		free(arr);
	}
	return (void *)(uintptr_t)sum;
}

static int child_main(void)
{
	unsigned long sum = 0;
	for (int i = 0; i < 100; i++) {
		char *p = malloc(555555);
		if (!p)
			return 3;
		p[555554] = (char)i;
		sum += (unsigned char)p[555554];
		free(p);
	}
	printf("exec child: %lu\n", sum);
	return 7;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--child"))
		return child_main();
	setvbuf(stdout, NULL, _IOLBF, 0);

	errno = EDOM;
	void *x = malloc(100);
	printf("errno kept after malloc: %d\n", errno == EDOM);
	free(x);
	errno = 0;
	void *big = calloc(huge, 4);
	printf("calloc overflow: %s %s\n", big ? "non-null" : "NULL",
	       errno == ENOMEM ? "ENOMEM" : "other");
	errno = 0;
	void *ra = reallocarray(NULL, huge, 4);
	printf("reallocarray overflow: %s %s\n", ra ? "non-null" : "NULL",
	       errno == ENOMEM ? "ENOMEM" : "other");

	pthread_t t[THREADS];
	for (uintptr_t i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);

	fflush(stdout);
	pid_t pid = fork(); /* while the workers allocate */
	if (pid == 0) {
		unsigned long sum = 0;
		for (int i = 0; i < 1000; i++) {
			char *p = malloc(4000);
			p[0] = 1;
			sum += (unsigned char)p[0];
			free(p);
		}
		printf("fork child: %lu\n", sum);
		fflush(stdout);
		execl(argv[0], argv[0], "--child", (char *)NULL);
		_exit(99);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	printf("fork child status: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	uint64_t total = 0;
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		total += (uintptr_t)r;
	}
	printf("threads: %llu\n", (unsigned long long)total);

	void *h = dlopen(argc > 1 ? argv[1] : "libpreload-plugin.so", RTLD_NOW);
	if (!h) {
		printf("dlopen failed\n");
		return 1;
	}
	unsigned long (*work)(int) = (unsigned long (*)(int))dlsym(h, "preload_plugin_work");
	printf("plugin: %lu\n", work ? work(100) : 0);
	dlclose(h);
	return 5;
}
