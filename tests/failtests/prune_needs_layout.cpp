// prune's template argument must be a layout.
#include "stco/layouts.hpp"
int main() {
  stco::tensor<float, 2> w({4, 4});
#ifdef STCO_FAILTEST_OK
  auto s = stco::prune<stco::channel>(w, 0.5);
#else
  auto s = stco::prune<float>(w, 0.5);
#endif
  return static_cast<int>(s.kept());
}
