// Size arithmetic from outside input: extents, host buffers, tensors and the checked helpers throw
// a stco::error instead of wrapping, so a huge shape never becomes a small allocation.
//
// One test asks the allocator for 2^62 bytes: its std::bad_alloc must come back as an
// allocation_error. AddressSanitizer's operator new reports such a request and aborts instead of
// throwing, so that test is left out of sanitizer builds.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

#include "../support/size_limits.hpp"
#include "stco/core.hpp"

using doctest::Contains;
using stco::index_t;

using stco_test::max_index;
using stco_test::two_to;

// The helpers are usable in constant expressions.
static_assert(stco::detail::checked_mul(two_to(31), two_to(31), "test") == two_to(62));
static_assert(stco::detail::checked_add(max_index - 1, 1, "test") == max_index);
static_assert(stco::ceil_div(max_index, 2) == two_to(62));
static_assert(stco::ceil_div(max_index, 1) == max_index);
static_assert(stco::ceil_div(0, 7) == 0 && stco::ceil_div(7, 7) == 1 && stco::ceil_div(8, 7) == 2);
static_assert(stco::round_up(13, 4) == 16);
static_assert(stco::checked_round_up(max_index - 7, 8, "test") == max_index - 7);
static_assert(stco::kept_count(max_index, 0.0) == max_index);
static_assert(stco::matrix_shape{two_to(31), two_to(31)}.size() == two_to(62));

TEST_CASE("checked_mul and checked_add throw on overflow and negative sizes") {
  using stco::detail::checked_add;
  using stco::detail::checked_mul;
  CHECK(checked_mul(0, max_index, "x") == 0);
  CHECK(checked_mul(max_index, 1, "x") == max_index);
  CHECK_THROWS_WITH_AS(checked_mul(two_to(32), two_to(31), "stco::test"),
                       "stco::test: 4294967296 * 2147483648 exceeds the largest size, 2^63 - 1",
                       stco::shape_error);
  CHECK_THROWS_AS(checked_mul(-1, 2, "x"), stco::shape_error);
  CHECK_THROWS_AS(checked_mul<stco::index_error>(max_index, 2, "x"), stco::index_error);
  CHECK_THROWS_AS(checked_add(max_index, 1, "x"), stco::shape_error);
  CHECK_THROWS_AS(checked_add(1, -1, "x"), stco::shape_error);
  CHECK_THROWS_AS(stco::checked_round_up(max_index - 6, 8, "x"), stco::shape_error);
}

TEST_CASE("extents refuse an element count beyond 2^63 - 1") {
  CHECK_THROWS_WITH_AS(stco::dextents<2>(two_to(32), two_to(32)),
                       "stco::extents: [4294967296, 4294967296] hold more than 2^63 - 1 elements",
                       stco::shape_error);
  CHECK_THROWS_AS(stco::dextents<3>(two_to(21), two_to(21), two_to(21)), stco::shape_error);
  CHECK_THROWS_AS((stco::extents<two_to(40), stco::dynamic_extent>(two_to(30))), stco::shape_error);
  // A zero extent makes the count zero however large the others are.
  CHECK(stco::dextents<3>(max_index, 0, max_index).size() == 0);
  CHECK(stco::dextents<2>(max_index, 1).size() == max_index);
  CHECK_THROWS_AS((stco::matrix_shape{two_to(32), two_to(31)}.size()), stco::shape_error);
}

TEST_CASE("tensor {2^31, 2^31} of float: the byte count overflows size_t; refused, not wrapped") {
  // 2^62 elements fit index_t, but 2^62 * 4 bytes wrapped to 0 and the first write overflowed the
  // heap.
  CHECK_THROWS_WITH_AS((stco::tensor<float, 2>({two_to(31), two_to(31)})),
                       Contains("stco::host_buffer: elements * element size: 4611686018427387904 "
                                "* 4 exceeds"),
                       stco::allocation_error);
  CHECK_THROWS_AS((stco::tensor<double, 2>({two_to(61), 2})), stco::allocation_error);
  CHECK_THROWS_AS((stco::tensor<float, 2>({two_to(32), two_to(32)})), stco::shape_error);
  CHECK_THROWS_AS(stco::host_buffer<std::uint64_t>{max_index}, stco::allocation_error);
}

TEST_CASE("host_buffer: an allocation the system refuses is an allocation_error naming the bytes") {
  // 2^62 bytes fit the size type but no machine: operator new throws std::bad_alloc.
#ifndef STCO_TEST_ASAN
  CHECK_THROWS_WITH_AS(stco::host_buffer<char>(two_to(62)),
                       "stco::host_buffer: cannot allocate 4611686018427387904 bytes "
                       "(4611686018427387904 elements of 1 bytes)",
                       stco::allocation_error);
#endif
  CHECK_THROWS_AS(stco::host_buffer<float>(-1), stco::argument_error);
  stco::host_buffer<float> ok(3);
  CHECK(ok.bytes() == 12);
}
