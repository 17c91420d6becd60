/* Unit tests of base containers: buf, vec, hmap (against a brute-force model), hindex,
 * arena, strtab. */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/hmap.h"
#include "base/strtab.h"
#include "base/vec.h"
#include "test.h"

static void test_buf(void)
{
	struct buf b = BUF_INIT;
	CHECK(buf_puts(&b, "hello") == 0);
	CHECK(buf_printf(&b, " %d %s", 42, "world") == 0);
	CHECK_STR_EQ(b.data, "hello 42 world");
	CHECK_INT_EQ(b.len, 14);
	/* A long printf forces a regrow inside buf_vprintf. */
	char big[5000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(buf_printf(&b, "%s", big) == 0);
	CHECK_INT_EQ(b.len, 14 + 4999);
	CHECK_INT_EQ(b.data[b.len], 0);
	buf_truncate(&b, 5);
	CHECK_STR_EQ(b.data, "hello");
	CHECK(buf_append(&b, "\0z", 2) == 0);
	CHECK_INT_EQ(b.len, 7);
	size_t len;
	char *p = buf_detach(&b, &len);
	CHECK_INT_EQ(len, 7);
	CHECK(p[6] == 'z');
	CHECK(b.data == NULL && b.len == 0);
	free(p);
	buf_release(&b);
	buf_release(NULL);
}

static void test_buf_files(void)
{
	char path[] = "/tmp/kiln-test-buf-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct buf b = BUF_INIT, r = BUF_INIT;
	for (int i = 0; i < 100000; i++)
		buf_putc(&b, (char)('a' + i % 26));
	CHECK(buf_write_file(&b, path) == 0);
	CHECK(buf_read_file(&r, path, 0) == 0);
	CHECK_INT_EQ(r.len, b.len);
	CHECK(r.len == b.len && !memcmp(r.data, b.data, b.len));
	buf_reset(&r);
	CHECK_INT_EQ(buf_read_file(&r, path, 1000), -EFBIG);
	CHECK_INT_EQ(buf_read_file(&r, "/nonexistent/kiln", 0), -ENOENT);
	unlink(path);
	buf_release(&b);
	buf_release(&r);
}

static void test_vec(void)
{
	VEC(uint64_t) v = VEC_INIT;
	for (uint64_t i = 0; i < 1000; i++)
		CHECK(vec_push(&v, i * 3) == 0);
	CHECK_INT_EQ(v.len, 1000);
	CHECK_INT_EQ(v.items[999], 2997);
	CHECK_INT_EQ(*vec_last(&v), 2997);
	uint64_t *z = vec_grow_zero(&v, 10);
	CHECK(z && z[9] == 0 && v.len == 1010);
	vec_release(&v);
	CHECK(v.items == NULL && v.cap == 0);
}

/* The hash map against a direct-mapped model over a small key space, with many deletes
 * (exercises backward-shift deletion across wrapped clusters). */
static void test_hmap_model(void)
{
	enum { KEYS = 4096 };
	static uint64_t model[KEYS];
	static bool present[KEYS];
	struct hmap m;
	CHECK(hmap_init(&m, 0) == 0);
	uint64_t x = 12345;
	for (int step = 0; step < 200000; step++) {
		x = hash_u64(x + (uint64_t)step);
		uint64_t k = x % KEYS;
		/* Keys are spread over a huge range so collisions are real, not trivial. */
		uint64_t key = k * 0x100000001ULL;
		if (x & 0x300) {
			CHECK(hmap_put(&m, key, x) == 0);
			model[k] = x;
			present[k] = true;
		} else {
			uint64_t val = 0;
			bool had = hmap_del(&m, key, &val);
			CHECK(had == present[k]);
			if (had)
				CHECK(val == model[k]);
			present[k] = false;
		}
	}
	size_t count = 0;
	for (int k = 0; k < KEYS; k++) {
		uint64_t *v = hmap_get(&m, (uint64_t)k * 0x100000001ULL);
		CHECK((v != NULL) == present[k]);
		if (v)
			CHECK(*v == model[k]);
		count += present[k];
	}
	CHECK_INT_EQ(m.len, count);
	size_t seen = 0;
	uint64_t key, val;
	for (size_t it = 0; hmap_next(&m, &it, &key, &val);)
		seen++;
	CHECK_INT_EQ(seen, count);
	bool created;
	uint64_t *slot = hmap_upsert(&m, 0, &created);
	CHECK(slot && created && *slot == 0);
	*slot = 7;
	slot = hmap_upsert(&m, 0, &created);
	CHECK(slot && !created && *slot == 7);
	hmap_clear(&m);
	CHECK(hmap_get(&m, 0) == NULL);
	hmap_release(&m);
	hmap_release(NULL);
}

static void test_hindex(void)
{
	struct hindex ix;
	CHECK(hindex_init(&ix, 0) == 0);
	/* Two ids under one hash, then many others. */
	CHECK(hindex_insert(&ix, 99, 1) == 0);
	CHECK(hindex_insert(&ix, 99, 2) == 0);
	for (uint32_t i = 10; i < 5000; i++)
		CHECK(hindex_insert(&ix, hash_u64(i), i) == 0);
	uint32_t id, found = 0;
	for (size_t it = 0; hindex_probe(&ix, 99, &it, &id);)
		found |= 1u << id;
	CHECK_INT_EQ(found, 6);
	size_t it = 0;
	CHECK(hindex_probe(&ix, hash_u64(4321), &it, &id) && id == 4321);
	it = 0;
	CHECK(!hindex_probe(&ix, 12345678, &it, &id));
	hindex_release(&ix);
}

static void test_arena(void)
{
	struct arena a;
	arena_init(&a, 1024);
	char *s = arena_strdup(&a, "kiln");
	CHECK_STR_EQ(s, "kiln");
	void *big = arena_alloc(&a, 100000);
	CHECK(big != NULL && ((uintptr_t)big & 15) == 0);
	memset(big, 1, 100000);
	/* Small allocations after a big one still come from the small chunk. */
	char *t = arena_strndup(&a, "abcdef", 3);
	CHECK_STR_EQ(t, "abc");
	int *z = arena_zalloc(&a, 64 * sizeof(int));
	CHECK(z && z[63] == 0);
	CHECK(a.total >= 100000);
	arena_release(&a);
	arena_release(NULL);
}

static void test_strtab(void)
{
	struct strtab t;
	CHECK(strtab_init(&t) == 0);
	CHECK_INT_EQ(strtab_count(&t), 1);
	CHECK_STR_EQ(strtab_get(&t, 0, NULL), "");
	int64_t a = strtab_intern_str(&t, "main");
	int64_t b = strtab_intern_str(&t, "work");
	CHECK(a == 1 && b == 2);
	CHECK_INT_EQ(strtab_intern_str(&t, "main"), a);
	CHECK_INT_EQ(strtab_intern(&t, "", 0), 0);
	/* add keeps duplicates; lookups find the first. */
	int64_t dup = strtab_add(&t, "main", 4);
	CHECK_INT_EQ(dup, 3);
	CHECK_INT_EQ(strtab_find(&t, "main", 4), a);
	CHECK_INT_EQ(strtab_find(&t, "nope", 4), -ENOENT);
	/* Embedded NUL bytes count. */
	int64_t n = strtab_intern(&t, "a\0b", 3);
	size_t len;
	const char *s = strtab_get(&t, n, &len);
	CHECK(len == 3 && s[1] == '\0' && s[2] == 'b');
	CHECK(strtab_get(&t, 999, NULL) == NULL);
	CHECK(strtab_get(&t, -1, NULL) == NULL);
	char name[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "fn_%d", i);
		strtab_intern_str(&t, name);
	}
	CHECK_INT_EQ(strtab_find(&t, "fn_19999", 8), 5 + 19999);
	strtab_release(&t);
}

int main(void)
{
	RUN(test_buf);
	RUN(test_buf_files);
	RUN(test_vec);
	RUN(test_hmap_model);
	RUN(test_hindex);
	RUN(test_arena);
	RUN(test_strtab);
	return test_done();
}
