/*
 * demo.c: the program `make demo` profiles: a small "service" whose time goes to three
 * recognisable jobs, so the report has something to show. Halfway through it "deploys a
 * new version" that also validates every request, so comparing the first and second half
 * in the UI shows a change (validate_request appears only in the second half).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile uint64_t demo_sink;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void parse_request(void)
{
	uint64_t x = demo_sink;
	for (int i = 0; i < 200000; i++)
		x = x * 31 + (uint64_t)i;
	demo_sink = x;
}

__attribute__((noinline)) static void compress_block(void)
{
	uint64_t x = demo_sink;
	for (int i = 0; i < 500000; i++)
		x ^= (x << 7) ^ (x >> 3) ^ (uint64_t)i;
	demo_sink = x;
}

__attribute__((noinline)) static void hash_password(void)
{
	uint64_t x = demo_sink | 1;
	for (int i = 0; i < 300000; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	demo_sink = x;
}

__attribute__((noinline)) static void validate_request(void)
{
	uint64_t x = demo_sink;
	for (int i = 0; i < 150000; i++)
		x += (x >> 5) ^ (uint64_t)i * 2654435761u;
	demo_sink = x;
}

static double half_time;

__attribute__((noinline)) static void handle_request(void)
{
	if (now() > half_time)
		validate_request();
	parse_request();
	compress_block();
	hash_password();
}

static double seconds = 10;

static void *worker(void *arg)
{
	double end = now() + seconds;
	while (now() < end)
		handle_request();
	return arg;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		seconds = strtod(argv[1], NULL);
	half_time = now() + seconds / 2;
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	worker(NULL);
	pthread_join(t, NULL);
	printf("kiln-demo: served requests for %.0f s\n", seconds);
	return 0;
}
