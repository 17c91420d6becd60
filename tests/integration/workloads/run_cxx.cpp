// run_cxx.cpp: a C++ workload for kiln run's demangling test: a class template, a lambda,
// and exceptions thrown and caught on the hot path.
#include <cstdint>
#include <cstdlib>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <vector>

static volatile uint64_t cxx_sink;

namespace kilntest
{

template <typename T> struct Accumulator {
	__attribute__((noipa)) T churn(int n)
	{
		T x = static_cast<T>(cxx_sink + 1);
		for (int i = 0; i < n; i++)
			x = x * static_cast<T>(6364136223846793005ULL) + static_cast<T>(1);
		cxx_sink = static_cast<uint64_t>(x);
		return x;
	}
};

__attribute__((noipa)) int thrower(int i)
{
	if (i % 2)
		throw std::runtime_error("odd");
	return i;
}

} // namespace kilntest

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? std::strtod(argv[1], nullptr) : 1.0;
	auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
	kilntest::Accumulator<uint64_t> acc;
	std::function<void()> lambda = [&acc]() __attribute__((noipa))
	{
		uint64_t r = acc.churn(200000);
		cxx_sink = cxx_sink + r; // not a tail call: the lambda stays on the stack
	};
	int caught = 0;
	while (std::chrono::steady_clock::now() < end) {
		lambda();
		for (int i = 0; i < 50; i++) {
			try {
				kilntest::thrower(i);
			} catch (const std::exception &) {
				caught++;
			}
		}
	}
	return caught > 0 ? 0 : 1;
}
