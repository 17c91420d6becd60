/* Unit tests of the intake wire format: URL forms, time stamps, tags, container ids,
 * event.json and the multipart body. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/buf.h"
#include "export/agent.h"
#include "export/spool.h"
#include "test.h"

static void test_endpoint_forms(void)
{
	struct agent_endpoint ep;
	struct buf err = BUF_INIT;

	CHECK_INT_EQ(agent_endpoint_parse("http://localhost:8126", &ep, NULL), 0);
	CHECK_STR_EQ(ep.url, "http://localhost:8126/profiling/v1/input");
	CHECK_STR_EQ(ep.unix_path, "");
	CHECK_INT_EQ(agent_endpoint_parse("https://agent.example:443/base/", &ep, NULL), 0);
	CHECK_STR_EQ(ep.url, "https://agent.example:443/base/profiling/v1/input");
	CHECK_INT_EQ(agent_endpoint_parse("http://h:1/profiling/v1/input", &ep, NULL), 0);
	CHECK_STR_EQ(ep.url, "http://h:1/profiling/v1/input");
	CHECK_INT_EQ(agent_endpoint_parse("127.0.0.1:9000", &ep, NULL), 0);
	CHECK_STR_EQ(ep.url, "http://127.0.0.1:9000/profiling/v1/input");
	CHECK_INT_EQ(agent_endpoint_parse("unix:///var/run/datadog/apm.socket", &ep, NULL), 0);
	CHECK_STR_EQ(ep.unix_path, "/var/run/datadog/apm.socket");
	CHECK_STR_EQ(ep.url, "http://localhost/profiling/v1/input");
	CHECK_INT_EQ(agent_endpoint_parse("/tmp/agent.sock", &ep, NULL), 0);
	CHECK_STR_EQ(ep.unix_path, "/tmp/agent.sock");

	CHECK_INT_EQ(agent_endpoint_parse("ftp://x:1", &ep, &err), -EINVAL);
	CHECK(strstr(err.data, "unsupported scheme") != NULL);
	buf_reset(&err);
	CHECK_INT_EQ(agent_endpoint_parse("localhost", &ep, &err), -EINVAL);
	CHECK(strstr(err.data, "needs a port") != NULL);
	CHECK_INT_EQ(agent_endpoint_parse("", &ep, NULL), -EINVAL);
	CHECK_INT_EQ(agent_endpoint_parse("http://", &ep, NULL), -EINVAL);
	CHECK_INT_EQ(agent_endpoint_parse("unix://relative", &ep, NULL), -EINVAL);
	CHECK_INT_EQ(agent_endpoint_parse("http://a b:1", &ep, NULL), -EINVAL);
	char longp[300];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	CHECK_INT_EQ(agent_endpoint_parse(longp, &ep, NULL), -EINVAL);
	buf_release(&err);
}

static void test_default_address(void)
{
	struct buf b = BUF_INIT;

	unsetenv("DD_TRACE_AGENT_URL");
	setenv("DD_AGENT_HOST", "agent", 1);
	unsetenv("DD_TRACE_AGENT_PORT");
	CHECK_INT_EQ(agent_default_address(&b), 0);
	CHECK_STR_EQ(b.data, "http://agent:8126");
	buf_reset(&b);
	unsetenv("DD_AGENT_HOST");
	setenv("DD_TRACE_AGENT_PORT", "9126", 1);
	agent_default_address(&b);
	CHECK_STR_EQ(b.data, "http://localhost:9126");
	buf_reset(&b);
	setenv("DD_TRACE_AGENT_URL", "unix:///x.sock", 1);
	agent_default_address(&b);
	CHECK_STR_EQ(b.data, "unix:///x.sock");
	unsetenv("DD_TRACE_AGENT_URL");
	unsetenv("DD_TRACE_AGENT_PORT");
	buf_release(&b);
}

static void test_rfc3339(void)
{
	char s[40];

	CHECK_INT_EQ(agent_rfc3339(1795558449488000000LL, s, sizeof(s)), 0);
	CHECK_STR_EQ(s, "2026-11-24T22:14:09.488000000Z");
	CHECK_INT_EQ(agent_rfc3339(0, s, sizeof(s)), 0);
	CHECK_STR_EQ(s, "1970-01-01T00:00:00.000000000Z");
	CHECK_INT_EQ(agent_rfc3339(1, s, sizeof(s)), 0);
	CHECK_STR_EQ(s, "1970-01-01T00:00:00.000000001Z");
	CHECK_INT_EQ(agent_rfc3339(1795558449488000000LL, s, 10), -EINVAL);
}

static void test_uuid_boundary(void)
{
	char a[37], b[37], bd[17];

	agent_uuid(a);
	agent_uuid(b);
	CHECK_INT_EQ(strlen(a), 36);
	CHECK(strcmp(a, b) != 0);
	CHECK(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
	CHECK(a[14] == '4');
	CHECK(strchr("89ab", a[19]) != NULL);
	agent_boundary(bd);
	CHECK_INT_EQ(strlen(bd), 16);
	CHECK(strspn(bd, "0123456789abcdef") == 16);
}

static void test_container_id(void)
{
	char id[80];
	const char *docker =
	    "0::/system.slice/docker-"
	    "3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860.scope\n";
	const char *k8s = "12:memory:/kubepods/burstable/pod2d3da189_6407_48e3_9ab6_78188d75e609/"
			  "7b8952daecf4c0e44bbcefe1b5c5ebc7b4839d4eefeccefe694709d3809b6199\n";
	const char *uuid = "1:name=systemd:/ecs/"
			   "34dc0b5e626f2c5c4c5170e34b10e765-1234567890\n";
	const char *pod = "1:cpu:/kubepods/pod2d3da189-6407-48e3-9ab6-78188d75e609\n";
	const char *host = "0::/init.scope\n0::/user.slice/user-1000.slice/session-3.scope\n";

	CHECK_INT_EQ(agent_container_id(docker, strlen(docker), id, sizeof(id)), 64);
	CHECK_STR_EQ(id, "3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860");
	CHECK_INT_EQ(agent_container_id(k8s, strlen(k8s), id, sizeof(id)), 64);
	CHECK_STR_EQ(id, "7b8952daecf4c0e44bbcefe1b5c5ebc7b4839d4eefeccefe694709d3809b6199");
	CHECK_INT_EQ(agent_container_id(uuid, strlen(uuid), id, sizeof(id)), 43);
	CHECK_STR_EQ(id, "34dc0b5e626f2c5c4c5170e34b10e765-1234567890");
	CHECK_INT_EQ(agent_container_id(pod, strlen(pod), id, sizeof(id)), 36);
	CHECK_STR_EQ(id, "2d3da189-6407-48e3-9ab6-78188d75e609");
	CHECK_INT_EQ(agent_container_id(host, strlen(host), id, sizeof(id)), 0);
	CHECK_STR_EQ(id, "");
	CHECK_INT_EQ(agent_container_id("", 0, id, sizeof(id)), 0);
	/* Too small an output buffer: no id rather than a truncated one. */
	CHECK_INT_EQ(agent_container_id(docker, strlen(docker), id, 10), 0);
}

static void test_cgroup_dir(void)
{
	char dir[256];
	const char *v2 = "0::/system.slice/app.service\n";
	const char *mixed = "9:name=systemd:/\n4:memory:/process_api/86e8849\n1:cpu:/\n0::/\n";
	const char *v1 = "5:cpu,cpuacct:/x\n4:memory:/kubepods/pod1\n";
	const char *evil = "0::/../../etc\n";

	CHECK_INT_EQ(agent_cgroup_dir(v2, strlen(v2), dir, sizeof(dir)), 39);
	CHECK_STR_EQ(dir, "/sys/fs/cgroup/system.slice/app.service");
	CHECK(agent_cgroup_dir(mixed, strlen(mixed), dir, sizeof(dir)) > 0);
	CHECK_STR_EQ(dir, "/sys/fs/cgroup/");
	CHECK(agent_cgroup_dir(v1, strlen(v1), dir, sizeof(dir)) > 0);
	CHECK_STR_EQ(dir, "/sys/fs/cgroup/memory/kubepods/pod1");
	CHECK_INT_EQ(agent_cgroup_dir(evil, strlen(evil), dir, sizeof(dir)), 0);
	CHECK_INT_EQ(agent_cgroup_dir("", 0, dir, sizeof(dir)), 0);
	CHECK_INT_EQ(agent_cgroup_dir(v2, strlen(v2), dir, 10), 0);
}

static void test_tags(void)
{
	struct buf t = BUF_INIT;

	CHECK_INT_EQ(agent_tags_append(&t, " service:svc , env:test,,version:1.2.3 "), 0);
	CHECK_STR_EQ(t.data, "service:svc,env:test,version:1.2.3");
	CHECK_INT_EQ(agent_tags_append(&t, "profile_seq:3"), 0);
	CHECK_STR_EQ(t.data, "service:svc,env:test,version:1.2.3,profile_seq:3");
	CHECK_INT_EQ(agent_tags_append(&t, NULL), 0);
	CHECK(agent_tags_has_key(t.data, "env"));
	CHECK(agent_tags_has_key(t.data, "profile_seq"));
	CHECK(!agent_tags_has_key(t.data, "envx"));
	CHECK(!agent_tags_has_key(t.data, "serv"));
	CHECK(!agent_tags_has_key(NULL, "env"));
	buf_release(&t);
}

static void test_event_and_multipart(void)
{
	struct buf ev = BUF_INIT, body = BUF_INIT;
	struct agent_event e = {
	    .start_ns = 1795558449488000000LL,
	    .end_ns = 1795558459590123456LL,
	    .family = "native",
	    .tags_profiler = "service:a\"b,language:native",
	};

	CHECK_INT_EQ(agent_event_json(&e, &ev), 0);
	CHECK_STR_EQ(ev.data, "{\"attachments\":[\"profile.pprof\"],"
			      "\"tags_profiler\":\"service:a\\\"b,language:native\","
			      "\"start\":\"2026-11-24T22:14:09.488000000Z\","
			      "\"end\":\"2026-11-24T22:14:19.590123456Z\","
			      "\"family\":\"native\",\"version\":\"4\","
			      "\"internal\":{\"kiln_version\":\"" KILN_VERSION "\"},\"info\":{}}");
	buf_reset(&ev);
	e.info_json = "{\"profiler\":{\"hz\":99}}";
	CHECK_INT_EQ(agent_event_json(&e, &ev), 0);
	CHECK(strstr(ev.data, ",\"info\":{\"profiler\":{\"hz\":99}}}") != NULL);

	const uint8_t att[] = {0x28, 0xb5, 0x2f, 0xfd, 0, '\r', '\n'};
	CHECK_INT_EQ(agent_multipart("0123456789abcdef", &ev, att, sizeof(att), &body), 0);
	struct buf want = BUF_INIT;
	buf_printf(&want,
		   "--0123456789abcdef\r\n"
		   "Content-Disposition: form-data; name=\"event\"; filename=\"event.json\"\r\n"
		   "Content-Type: application/json\r\n\r\n%s\r\n"
		   "--0123456789abcdef\r\n"
		   "Content-Disposition: form-data; name=\"profile.pprof\"; "
		   "filename=\"profile.pprof\"\r\n"
		   "Content-Type: application/octet-stream\r\n\r\n",
		   ev.data);
	buf_append(&want, att, sizeof(att));
	buf_puts(&want, "\r\n--0123456789abcdef--\r\n");
	CHECK_INT_EQ(body.len, want.len);
	CHECK(body.len == want.len && memcmp(body.data, want.data, want.len) == 0);

	/* A boundary that occurs in the content must be refused. */
	buf_reset(&body);
	const char *clash = "xx0123456789abcdefxx";
	CHECK_INT_EQ(
	    agent_multipart("0123456789abcdef", &ev, (const uint8_t *)clash, strlen(clash), &body),
	    -EAGAIN);
	buf_release(&want);
	buf_release(&body);
	buf_release(&ev);
}

static void test_spool_format(void)
{
	struct spool_entry in = {1, 2, BUF_INIT, BUF_INIT}, out = {0, 0, BUF_INIT, BUF_INIT};
	struct buf path = BUF_INIT, data = BUF_INIT, err = BUF_INIT, paths = BUF_INIT;
	char dir[] = "/tmp/kiln-spool-XXXXXX";
	size_t n = 99;

	CHECK(mkdtemp(dir) != NULL);
	in.start_ns = 1795558449488000000LL;
	in.end_ns = 1795558459590000000LL;
	buf_puts(&in.tags, "service:x,runtime-id:abc");
	buf_append(&in.profile, "\x28\xb5\x2f\xfd\n\0zz", 8);
	CHECK_INT_EQ(spool_write(dir, 7, &in, &path), 0);
	CHECK_INT_EQ(spool_list(dir, &paths, &n), 0);
	CHECK_INT_EQ(n, 1);
	CHECK_STR_EQ(paths.data, path.data);
	CHECK_INT_EQ(buf_read_file(&data, path.data, 0), 0);
	CHECK_INT_EQ(spool_parse((const uint8_t *)data.data, data.len, &out, &err), 0);
	CHECK_INT_EQ(out.start_ns, in.start_ns);
	CHECK_INT_EQ(out.end_ns, in.end_ns);
	CHECK_STR_EQ(out.tags.data, "service:x,runtime-id:abc");
	CHECK_INT_EQ(out.profile.len, 8);
	CHECK(out.profile.len == 8 && memcmp(out.profile.data, in.profile.data, 8) == 0);
	CHECK_INT_EQ(spool_parse((const uint8_t *)"KILNSPOOL 2\n", 12, &out, &err), -EINVAL);
	CHECK_INT_EQ(spool_parse((const uint8_t *)"KILNSPOOL 1\n1 x\n\n", 17, &out, &err), -EINVAL);
	CHECK_INT_EQ(spool_parse((const uint8_t *)"KILNSPOOL 1\n1 2\nt", 17, &out, &err), -EINVAL);
	unlink(path.data);
	rmdir(dir);
	CHECK_INT_EQ(spool_list(dir, &paths, &n), 0);
	CHECK_INT_EQ(n, 0);
	buf_release(&in.tags);
	buf_release(&in.profile);
	buf_release(&out.tags);
	buf_release(&out.profile);
	buf_release(&path);
	buf_release(&paths);
	buf_release(&data);
	buf_release(&err);
}

int main(void)
{
	RUN(test_endpoint_forms);
	RUN(test_default_address);
	RUN(test_rfc3339);
	RUN(test_uuid_boundary);
	RUN(test_container_id);
	RUN(test_cgroup_dir);
	RUN(test_tags);
	RUN(test_event_and_multipart);
	RUN(test_spool_format);
	return test_done();
}
