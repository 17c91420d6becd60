/* Unit tests of base/log (levels, targets, callback) and base/json (structure, escaping). */
#include <errno.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "test.h"

static struct buf captured = BUF_INIT;

static void capture(enum log_level level, const char *msg, void *ctx)
{
	buf_printf(&captured, "%s|%s|%s\n", (const char *)ctx, log_level_name(level), msg);
}

static void test_log_callback(void)
{
	log_set_callback(capture, "ctx");
	log_set_level(LOG_LEVEL_WARN);
	LOG_DEBUG("hidden %d", 1);
	LOG_INFO("hidden too");
	LOG_WARN("elf: cannot open '%s': %s", "/x", "No such file");
	LOG_ERROR("trailing newline is dropped\n");
	CHECK_STR_EQ(captured.data, "ctx|warn|elf: cannot open '/x': No such file\n"
				    "ctx|error|trailing newline is dropped\n");
	/* errno survives logging. */
	errno = EAGAIN;
	LOG_ERROR("x");
	CHECK_INT_EQ(errno, EAGAIN);
	log_set_callback(NULL, NULL);
	buf_release(&captured);
}

static void test_log_levels(void)
{
	enum log_level l;
	CHECK(log_level_parse("informational", &l) == 0 && l == LOG_LEVEL_INFO);
	CHECK(log_level_parse("WARN", &l) == 0 && l == LOG_LEVEL_WARN);
	CHECK(log_level_parse("debug", &l) == 0 && l == LOG_LEVEL_DEBUG);
	CHECK_INT_EQ(log_level_parse("loud", &l), -EINVAL);
}

static void test_log_file(void)
{
	char path[] = "/tmp/kiln-test-log-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	CHECK(log_set_mode(path) == 0);
	log_set_level(LOG_LEVEL_INFO);
	LOG_INFO("first line");
	LOG_NOTICE("second line");
	CHECK(log_set_mode("disabled") == 0);
	LOG_ERROR("not written");
	struct buf b = BUF_INIT;
	CHECK(buf_read_file(&b, path, 0) == 0);
	CHECK(strstr(b.data, "info: first line\n") != NULL);
	CHECK(strstr(b.data, "notice: second line\n") != NULL);
	CHECK(strstr(b.data, "not written") == NULL);
	CHECK(strstr(b.data, "Z kiln[") != NULL); /* timestamp + ident + pid */
	CHECK_INT_EQ(log_set_mode("/nonexistent-dir/kiln.log"), -ENOENT);
	CHECK(log_set_mode("stderr") == 0);
	unlink(path);
	buf_release(&b);
}

static void test_json_structure(void)
{
	struct buf b = BUF_INIT;
	struct json_w w;
	json_w_init(&w, &b);
	json_obj_begin(&w);
	json_key(&w, "a");
	json_int(&w, -5);
	json_key(&w, "list");
	json_arr_begin(&w);
	json_uint(&w, 18446744073709551615ULL);
	json_double(&w, 0.25);
	json_double(&w, 1.0 / 0.0);
	json_bool(&w, true);
	json_null(&w);
	json_obj_begin(&w);
	json_obj_end(&w);
	json_arr_end(&w);
	json_key(&w, "raw");
	json_raw(&w, "[1,2]", 5);
	json_obj_end(&w);
	CHECK(json_w_error(&w) == 0);
	CHECK_STR_EQ(b.data, "{\"a\":-5,\"list\":[18446744073709551615,0.25,null,true,null,{}],"
			     "\"raw\":[1,2]}");
	json_obj_end(&w);
	CHECK_INT_EQ(json_w_error(&w), -EINVAL);
	buf_release(&b);
}

static void test_json_escape(void)
{
	struct buf b = BUF_INIT;
	/* Markup, quotes, control bytes, valid UTF-8, an invalid byte, an overlong form. */
	const char in[] = "<img src=x onerror=\"alert(1)\">\\\n\x01\xc3\xa9\xff\xc0\xaf&";
	CHECK(json_escape(&b, in, sizeof(in) - 1) == 0);
	CHECK_STR_EQ(b.data, "\"\\u003cimg src=x onerror=\\\"alert(1)\\\"\\u003e\\\\\\n\\u0001"
			     "\xc3\xa9\\ufffd\\ufffd\\ufffd\\u0026\"");
	buf_reset(&b);
	const char emoji[] = "\xf0\x9f\x94\xa5 \xed\xa0\x80";
	CHECK(json_escape(&b, emoji, sizeof(emoji) - 1) == 0);
	CHECK_STR_EQ(b.data, "\"\xf0\x9f\x94\xa5 \\ufffd\\ufffd\\ufffd\"");
	buf_release(&b);
}

int main(void)
{
	RUN(test_log_callback);
	RUN(test_log_levels);
	RUN(test_log_file);
	RUN(test_json_structure);
	RUN(test_json_escape);
	return test_done();
}
