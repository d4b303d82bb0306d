// nm<N, M> needs N < M: nm<3, 2> must not compile.
#include "stco/layouts.hpp"
#ifdef STCO_FAILTEST_OK
using L = stco::nm<1, 2>;
#else
using L = stco::nm<3, 2>;
#endif
int main() { return static_cast<int>(L::compressed_shape({4, 4}).cols); }
