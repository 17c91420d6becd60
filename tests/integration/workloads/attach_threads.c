/*
 * attach_threads.c: the target of `kiln run --pid` tests. Two long-lived threads burn CPU in
 * attach_hot() from the start ("early" threads); after SIGUSR1 the main thread keeps creating
 * short-lived threads that do the same ("late" threads). Every thread's tid is written to
 * TIDFILE as "early TID" or "late TID". Exits with status 7 after SECONDS, printing "done".
 *
 *	attach-threads SECONDS TIDFILE
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t late;
static volatile int stop;
static FILE *tidfile;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static unsigned long attach_hot(double seconds)
{
	volatile unsigned long x = 0;
	double end = now() + seconds;
	while (!stop && now() < end)
		for (int i = 0; i < 20000; i++)
			x += (unsigned long)i * 7u;
	return x;
}

static void log_tid(const char *kind)
{
	pthread_mutex_lock(&lock);
	fprintf(tidfile, "%s %d\n", kind, gettid());
	fflush(tidfile);
	pthread_mutex_unlock(&lock);
}

static void *early_thread(void *arg)
{
	log_tid("early");
	attach_hot(1e9);
	return arg;
}

static void *late_thread(void *arg)
{
	log_tid("late");
	attach_hot(0.4);
	return arg;
}

static void on_usr1(int sig)
{
	(void)sig;
	late = 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: attach-threads SECONDS TIDFILE\n");
		return 2;
	}
	double seconds = strtod(argv[1], NULL);
	tidfile = fopen(argv[2], "w");
	if (!tidfile)
		return 2;
	signal(SIGUSR1, on_usr1);
	pthread_t early[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&early[i], NULL, early_thread, NULL);
	double end = now() + seconds;
	while (now() < end) {
		if (late) {
			pthread_t t;
			if (pthread_create(&t, NULL, late_thread, NULL) == 0)
				pthread_detach(t);
		}
		usleep(200000);
	}
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(early[i], NULL);
	usleep(500000); /* let the detached threads finish */
	printf("done\n");
	fclose(tidfile);
	return 7;
}
