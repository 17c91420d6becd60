// ks_cxx.cpp: C++ names (a template member, a lambda) for the demangling test.
#include "ks_lib.h"

namespace ks {
template <class T> struct Widget {
	T v;
	__attribute__((noinline)) T frob(T x)
	{
		ks_pcs[KS_TEMPLATE] = ks_here();
		return v + x;
	}
};

__attribute__((noinline)) int run()
{
	Widget<int> w{1};
	auto f = [&](int y) __attribute__((noinline)) {
		ks_pcs[KS_LAMBDA] = ks_here();
		return w.frob(y) + 1;
	};
	return f(2);
}
} // namespace ks

volatile int ks_cxx_sink;

extern "C" void ks_run_cxx(void)
{
	ks_cxx_sink = ks::run();
}
