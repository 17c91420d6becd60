/* test_options.c: kiln run's command line, environment and event grammar. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "profiler/options.h"
#include "test.h"

static const char *const env_names[] = {
    "DD_SERVICE",
    "DD_ENV",
    "DD_VERSION",
    "DD_TAGS",
    "DD_TRACE_AGENT_URL",
    "DD_AGENT_HOST",
    "DD_TRACE_AGENT_PORT",
    "DD_PROFILING_UPLOAD_PERIOD",
    "DD_PROFILING_NATIVE_EVENTS",
    "DD_PROFILING_NATIVE_PRESET",
    "DD_PROFILING_TIMELINE_ENABLE",
    "DD_PROFILING_ENABLED",
    "DD_PROFILING_SAMPLE_STACK_USER",
    "DD_PROFILING_INLINED_FUNCTIONS",
    "KILN_OUTPUT_DIR",
};

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
		unsetenv(env_names[i]);
}

/* Parses a NULL-terminated argument list; returns options_parse's result. */
static int parse(struct run_options *o, struct buf *out, struct buf *warn, struct buf *err,
		 char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	options_defaults(o);
	buf_reset(out);
	buf_reset(warn);
	buf_reset(err);
	return options_parse(o, argc, argv, out, warn, err);
}

static void test_defaults_and_command(void)
{
	struct run_options o;
	struct buf out = BUF_INIT, warn = BUF_INIT, err = BUF_INIT;
	clear_env();
	char *argv[] = {"run", "./myapp", "--arg1", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, argv), 0);
	CHECK_STR_EQ(o.command[0], "./myapp");
	CHECK_STR_EQ(o.command[1], "--arg1");
	CHECK_INT_EQ(o.command_argc, 2);
	CHECK_INT_EQ(o.upload_period_ms, 59000);
	CHECK(o.cpu.use_freq && o.cpu.value == 99);
	CHECK_INT_EQ(o.stack_sample_size, 32768);
	CHECK_INT_EQ(o.max_frames, 512);
	CHECK(o.timeline && o.enable && !o.agent_explicit);
	struct buf url = BUF_INIT;
	options_agent_url(&o, &url);
	CHECK_STR_EQ(url.data, "http://localhost:8126");
	buf_release(&url);
	buf_release(&out);
	buf_release(&warn);
	buf_release(&err);
}

static void test_flags_win_over_env(void)
{
	struct run_options o;
	struct buf out = BUF_INIT, warn = BUF_INIT, err = BUF_INIT;
	clear_env();
	setenv("DD_SERVICE", "from-env", 1);
	setenv("DD_ENV", "staging", 1);
	setenv("DD_AGENT_HOST", "agent", 1);
	setenv("DD_TRACE_AGENT_PORT", "9126", 1);
	setenv("DD_PROFILING_UPLOAD_PERIOD", "30", 1);
	char *argv[] = {"run", "-S", "my-svc", "-V", "1.0.3", "-u",
			"10",  "--", "./app",  "-x", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, argv), 0);
	CHECK_STR_EQ(o.service, "my-svc");
	CHECK_STR_EQ(o.environment, "staging");
	CHECK_STR_EQ(o.service_version, "1.0.3");
	CHECK_INT_EQ(o.upload_period_ms, 10000);
	CHECK(o.agent_explicit);
	CHECK_STR_EQ(o.command[0], "./app");
	CHECK_STR_EQ(o.command[1], "-x");
	struct buf url = BUF_INIT;
	options_agent_url(&o, &url);
	CHECK_STR_EQ(url.data, "http://agent:9126");
	buf_reset(&url);
	char *argv2[] = {"run", "-U", "unix:///var/run/datadog/apm.socket", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, argv2), 0);
	options_agent_url(&o, &url);
	CHECK_STR_EQ(url.data, "unix:///var/run/datadog/apm.socket");
	buf_release(&url);
	clear_env();
	buf_release(&out);
	buf_release(&warn);
	buf_release(&err);
}

static void test_events(void)
{
	struct run_options o;
	struct buf out = BUF_INIT, warn = BUF_INIT, err = BUF_INIT;
	clear_env();
	char *argv[] = {"run", "-e", "sCPU freq=999", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, argv), 0);
	CHECK(o.cpu.use_freq && o.cpu.value == 999);
	char *argv2[] = {"run", "-e", "sCPU,period=1000000,st=16384", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, argv2), 0);
	CHECK(!o.cpu.use_freq && o.cpu.value == 1000000);
	CHECK_INT_EQ(o.stack_sample_size, 16384);
	/* environment events, ';'-separated; unimplemented ones warn */
	setenv("DD_PROFILING_NATIVE_EVENTS", "sALLOC period=-524288;sCPU p=2000000", 1);
	char *argv3[] = {"run", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, argv3), 0);
	CHECK(!o.cpu.use_freq && o.cpu.value == 2000000);
	CHECK(o.cpu_enabled && o.alloc.enabled && o.alloc.sum && !o.alloc.live);
	CHECK(o.alloc.period == -524288);
	CHECK(o.alloc.explicit_request);
	clear_env();
	/* errors */
	char *bad1[] = {"run", "-e", "sCPU bogus=1", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, bad1), -EINVAL);
	CHECK(strstr(err.data, "unknown key 'bogus'"));
	char *bad2[] = {"run", "-e", "nosuch", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, bad2), -EINVAL);
	char *bad3[] = {"run", "-e", "sCPU freq=0", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, bad3), -EINVAL);
	char *bad4[] = {"run", "-e", "sCPU st=13", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, bad4), -EINVAL);
	/* recognised but not implemented: warned, CPU goes on */
	char *w1[] = {"run", "-e", "hCPU", "-e", "sCPU f=49", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, w1), 0);
	CHECK(strstr(warn.data, "only sCPU and sALLOC are implemented"));
	CHECK_INT_EQ(o.cpu.value, 49);
	char *help[] = {"run", "-e", "help", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, help), 1);
	CHECK(strstr(out.data, "frequency"));
	buf_release(&out);
	buf_release(&warn);
	buf_release(&err);
}

static void test_alloc(void)
{
	struct run_options o;
	struct buf out = BUF_INIT, warn = BUF_INIT, err = BUF_INIT;
	clear_env();
	/* no preset, no event: ddprof's default, CPU + allocations (not explicit) */
	char *d[] = {"run", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, d), 0);
	CHECK(o.cpu_enabled && o.alloc.enabled && o.alloc.sum && !o.alloc.live);
	CHECK(!o.alloc.explicit_request);
	CHECK(o.alloc.period == 524288);
	CHECK_INT_EQ(o.alloc.stack_size, 32768);
	/* -e alone: only those events */
	char *e1[] = {"run", "-e", "sCPU", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, e1), 0);
	CHECK(o.cpu_enabled && !o.alloc.enabled);
	char *e2[] = {"run", "-e", "sALLOC mode=l,period=-4096", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, e2), 0);
	CHECK(!o.cpu_enabled && o.alloc.enabled && !o.alloc.sum && o.alloc.live);
	CHECK(o.alloc.period == -4096 && o.alloc.explicit_request);
	char *e3[] = {"run", "-e", "sALLOC,mode=sl", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, e3), 0);
	CHECK(o.alloc.sum && o.alloc.live);
	char *e4[] = {"run", "-e", "sALLOC m=a", "-e", "sCPU", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, e4), 0);
	CHECK(o.cpu_enabled && o.alloc.sum && o.alloc.live);
	char *e5[] = {"run", "-e", "sALLOC mode=x", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, e5), -EINVAL);
	CHECK(strstr(err.data, "mode"));
	/* presets */
	char *p1[] = {"run", "--preset", "cpu_live_heap", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, p1), 0);
	CHECK(o.cpu_enabled && o.alloc.enabled && o.alloc.sum && o.alloc.live);
	CHECK(o.alloc.explicit_request);
	char *p2[] = {"run", "--preset", "alloc_live_heap", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, p2), 0);
	CHECK(!o.cpu_enabled && o.alloc.sum && o.alloc.live);
	char *p3[] = {"run", "--preset", "cpu_only", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, p3), 0);
	CHECK(o.cpu_enabled && !o.alloc.enabled);
	/* an -e event wins over the preset's event of the same type */
	char *p4[] = {"run", "--preset", "cpu_live_heap", "-e", "sALLOC period=1000", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, p4), 0);
	CHECK(o.cpu_enabled && o.alloc.period == 1000 && !o.alloc.live);
	setenv("DD_PROFILING_NATIVE_PRESET", "alloc_only", 1);
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, d), 0);
	CHECK(!o.cpu_enabled && o.alloc.enabled);
	clear_env();
	/* running processes: CPU by default; allocations need libkiln's ring */
	char *r1[] = {"run", "--pid", "12", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, r1), 0);
	CHECK(o.cpu_enabled && !o.alloc.enabled && o.alloc_ring_fd == -1);
	char *r2[] = {"run", "--pid", "12", "--alloc-ring", "7", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, r2), 0);
	CHECK(o.cpu_enabled && o.alloc.enabled && o.alloc_ring_fd == 7);
	char *r3[] = {"run", "--alloc-ring", "7", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, r3), -EINVAL);
	char *r4[] = {"run", "--pid", "12", "--alloc-ring", "x", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, r4), -EINVAL);
	char *r5[] = {"run", "--pid", "12", "--preset", "alloc_only", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, r5), 0);
	CHECK(!o.alloc.enabled && strstr(warn.data, "--alloc-ring"));
	char *r6[] = {"run", "-g", "-e", "sALLOC", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, r6), 0);
	CHECK(!o.alloc.enabled && o.cpu_enabled && strstr(warn.data, "--global"));
	buf_release(&out);
	buf_release(&warn);
	buf_release(&err);
}

static void test_misc(void)
{
	struct run_options o;
	struct buf out = BUF_INIT, warn = BUF_INIT, err = BUF_INIT;
	clear_env();
	char *a1[] = {"run", "--preset", "alloc_only", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, a1), 0);
	CHECK(o.alloc.enabled && !o.cpu_enabled && o.alloc.sum && !o.alloc.live);
	CHECK(!warn.len);
	char *a2[] = {"run", "--preset", "nope", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, a2), -EINVAL);
	char *a3[] = {"run", "--pid", "12", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, a3), 0);
	CHECK_INT_EQ(o.pid, 12);
	CHECK(o.command == NULL);
	char *a4[] = {"run", "-g", "--maximum-pids", "7", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, a4), 0);
	CHECK(o.global);
	CHECK_INT_EQ(o.max_pids, 7);
	char *a4b[] = {"run", "-p", "12", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, a4b), -EINVAL);
	char *a4c[] = {"run", "-p", "12", "-g", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, a4c), -EINVAL);
	char *a4d[] = {"run", "-p", "x", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, a4d), -EINVAL);
	char *a5[] = {"run", "--stack_sample_size", "1001", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, a5), -EINVAL);
	char *a6[] = {"run",
		      "--no-timeline",
		      "--no-include-kernel",
		      "--enable",
		      "false",
		      "--max-frames",
		      "64",
		      "-I",
		      "--output-dir",
		      "/tmp/x",
		      "app",
		      NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, a6), 0);
	CHECK(!o.timeline && !o.enable && o.inlined_functions);
	CHECK_INT_EQ(o.include_kernel, TRI_OFF);
	CHECK_INT_EQ(o.max_frames, 64);
	CHECK_STR_EQ(o.output_dir, "/tmp/x");
	char *a7[] = {"run", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, a7), -EINVAL);
	CHECK(strstr(err.data, "no command"));
	char *a8[] = {"run", "--port", "http", "app", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, a8), -EINVAL);
	char *a9[] = {"run", "--help", NULL};
	CHECK_INT_EQ(parse(&o, &out, &warn, &err, a9), 1);
	CHECK(strstr(out.data, "DD_TRACE_AGENT_URL"));
	bool b = false;
	CHECK_INT_EQ(options_parse_bool("Yes", &b), 0);
	CHECK(b);
	CHECK_INT_EQ(options_parse_bool("maybe", &b), -EINVAL);
	buf_release(&out);
	buf_release(&warn);
	buf_release(&err);
}

int main(void)
{
	RUN(test_defaults_and_command);
	RUN(test_flags_win_over_env);
	RUN(test_events);
	RUN(test_misc);
	RUN(test_alloc);
	return test_done();
}
