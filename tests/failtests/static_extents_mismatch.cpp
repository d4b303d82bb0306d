// Converting between extents whose static values differ fails at compile time.
#include "stco/core.hpp"
int main() {
  stco::extents<3, 4> a;
#ifdef STCO_FAILTEST_OK
  stco::extents<3, stco::dynamic_extent> b(a);
#else
  stco::extents<3, 5> b(a);
#endif
  return static_cast<int>(b.extent(0));
}
