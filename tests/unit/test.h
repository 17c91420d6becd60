/*
 * test.h: the few macros kiln's unit tests need. A failed CHECK prints where and why and
 * the test goes on; test_done() prints "N passed, N failed" and gives the exit status.
 *
 *	static void test_push(void) { CHECK_INT_EQ(vec.len, 1); }
 *	int main(void) { RUN(test_push); return test_done(); }
 */
#ifndef KILN_TEST_H
#define KILN_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_checks_failed;
static int test_cases_failed;
static int test_cases_passed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
			test_checks_failed++;                                                      \
		}                                                                                  \
	} while (0)

#define CHECK_INT_EQ(a, b)                                                                         \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_) {                                                                    \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", __FILE__, \
				__LINE__, #a, #b, a_, b_);                                         \
			test_checks_failed++;                                                      \
		}                                                                                  \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                                         \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (!a_ || !b_ || strcmp(a_, b_)) {                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n",      \
				__FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
			test_checks_failed++;                                                      \
		}                                                                                  \
	} while (0)

#define RUN(fn)                                                                                    \
	do {                                                                                       \
		int before_ = test_checks_failed;                                                  \
		fn();                                                                              \
		if (test_checks_failed == before_) {                                               \
			test_cases_passed++;                                                       \
		} else {                                                                           \
			test_cases_failed++;                                                       \
			fprintf(stderr, "FAIL %s\n", #fn);                                         \
		}                                                                                  \
	} while (0)

static inline int test_done(void)
{
	printf("%d passed, %d failed\n", test_cases_passed, test_cases_failed);
	return test_cases_failed ? 1 : 0;
}

/* Path of a fixture file below tests/fixtures (KILN_FIXTURES), in a static buffer. */
static inline const char *test_fixture(const char *rel)
{
	static char path[4096];
	const char *dir = getenv("KILN_FIXTURES");
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/fixtures", rel);
	return path;
}

#endif
