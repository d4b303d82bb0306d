// tests/support/size_limits.hpp — what the hostile-size tests share: the largest index, powers of
// two, and whether AddressSanitizer is on (its operator new aborts on huge requests instead of
// throwing, so the tests that really ask for one are left out under it).
#pragma once

#include <limits>

#include "stco/core/index.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define STCO_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STCO_TEST_ASAN 1
#endif
#endif

namespace stco_test {
constexpr stco::index_t max_index = std::numeric_limits<stco::index_t>::max();
constexpr stco::index_t two_to(int e) { return stco::index_t{1} << e; }
}  // namespace stco_test
