#include <doctest/doctest.h>

#include "stco/core/extents.hpp"

using stco::dynamic_extent;
using stco::extents;

// Compile-time facts.
static_assert(extents<3, 4>::rank() == 2 && extents<3, 4>::rank_dynamic() == 0);
static_assert(extents<3, dynamic_extent, 5>::rank_dynamic() == 1);
static_assert(extents<3, 4>{}.size() == 12);
static_assert(extents<3, dynamic_extent>(7).extent(1) == 7);
static_assert(stco::dextents<3>::rank_dynamic() == 3);
static_assert(stco::to_shape(extents<6, 8>{}) == stco::matrix_shape{6, 8});
static_assert(stco::kept_count(10, 0.75) == 3 && stco::kept_count(10, 0.5) == 5 &&
              stco::kept_count(7, 1.0) == 0);

TEST_CASE("extents: static and dynamic dimensions") {
  extents<3, dynamic_extent> a(9);
  CHECK(a.extent(0) == 3);
  CHECK(a.extent(1) == 9);
  CHECK(a.size() == 27);
  extents<3, dynamic_extent> b(3, 9);  // all extents given: static ones are checked
  CHECK(a == b);
  CHECK_THROWS_AS((extents<3, dynamic_extent>(4, 9)), stco::shape_error);
  CHECK_THROWS_AS((stco::dextents<2>(-1, 2)), stco::shape_error);
}

TEST_CASE("extents: conversions check what is static") {
  stco::dextents<2> d(3, 4);
  extents<3, 4> s(d);  // dynamic → static, checked at run time
  CHECK(s == d);
  stco::dextents<2> back(s);
  CHECK(back == s);
  CHECK_THROWS_WITH_AS((extents<3, 5>(d)), doctest::Contains("dimension 1 is static 5 but got 4"),
                       stco::shape_error);
}
