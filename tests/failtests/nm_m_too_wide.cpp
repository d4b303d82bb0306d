// nm<N, M> supports M ≤ 16.
#include "stco/layouts.hpp"
#ifdef STCO_FAILTEST_OK
using L = stco::nm<2, 16>;
#else
using L = stco::nm<2, 32>;
#endif
int main() { return static_cast<int>(L::compressed_shape({4, 4}).cols); }
