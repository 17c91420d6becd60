// preload-cxx: C++ new/delete (through libstdc++, which calls malloc: must be counted once),
// containers and strings; prints deterministic lines and exits 3.
#include <cstdint>
#include <cstdio>
#include <new>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct Big {
	char data[123457];
};

// Escapes the pointers so that the compiler cannot elide the new/delete pairs.
void *volatile sink;

int main()
{
	unsigned long sum = 0;
	for (int i = 0; i < 200; i++) {
		auto *b = new Big;
		sink = b;
		b->data[123456] = (char)i;
		sum += (unsigned char)b->data[123456];
		delete b;
		auto *arr = new int[1000];
		sink = arr;
		arr[999] = i;
		sum += (unsigned long)arr[999];
		delete[] arr;
	}
	std::map<std::string, std::vector<int>> m;
	for (int i = 0; i < 20000; i++) {
		m["key" + std::to_string(i % 500)].push_back(i);
	}
	for (auto &kv : m)
		sum += kv.second.size();
	auto u = std::make_unique<std::vector<std::string>>(1000, std::string(100, 'x'));
	sum += u->size();
	std::printf("cxx: %lu\n", sum);
	if (std::getenv("PRELOAD_CXX_THROW")) { // bad_alloc must cross the hook's operator new
		volatile size_t huge = SIZE_MAX / 4;
		try {
			char *p = new char[huge];
			sink = p;
			std::printf("huge new succeeded\n");
		} catch (const std::bad_alloc &) {
			std::printf("bad_alloc caught\n");
		}
	}
	return 3;
}
