#include <doctest/doctest.h>

#include <cstdint>

#include "stco/core.hpp"

TEST_CASE("tensor: owning, row-major, zero-initialised, aligned") {
  stco::tensor<float, 2> t({3, 5});
  CHECK(t.size() == 15);
  CHECK(t.shape() == stco::matrix_shape{3, 5});
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
  for (float x : t) CHECK(x == 0.0f);
  t(1, 2) = 7.0f;
  CHECK(t[1 * 5 + 2] == 7.0f);

  auto u = t;  // deep copy
  u(1, 2) = 1.0f;
  CHECK(t(1, 2) == 7.0f);
  stco::tensor<float, 2> m = std::move(u);
  CHECK(m(1, 2) == 1.0f);
}

TEST_CASE("tensor: static extents and views") {
  stco::basic_tensor<double, stco::extents<2, 3>> s;
  static_assert(decltype(s)::extents_type::is_static());
  CHECK(s.size() == 6);
  s(1, 1) = 4.0;
  stco::matrix_view<const double> v = s;  // static → dynamic, const
  CHECK(v(1, 1) == 4.0);
  CHECK(v.shape() == stco::matrix_shape{2, 3});
  stco::tensor_view<double, 3> v3(s.data(), stco::dextents<3>(1, 2, 3));
  CHECK(v3(0, 1, 1) == 4.0);
  stco::tensor<double, 2> copy(v);
  CHECK(copy(1, 1) == 4.0);
  CHECK(copy.data() != s.data());
}

TEST_CASE("tensor: adopting a buffer of the wrong size throws") {
  CHECK_THROWS_AS((stco::tensor<float, 2>(stco::dextents<2>(2, 2), stco::host_buffer<float>(3))),
                  stco::shape_error);
  CHECK_THROWS_AS(stco::host_buffer<float>(-1), stco::argument_error);
}
