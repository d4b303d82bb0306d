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

TEST_CASE("tensor: one-dimensional tensors build like two-dimensional ones") {
  // tensor<float, 1> b({R}) was ambiguous (the braced list also converted, through the extents,
  // to a tensor for the copy and move constructors); b(R) and b{R} must keep working beside it.
  const stco::index_t R = 7;
  const std::size_t n = 5;
  stco::tensor<float, 1> a({R});
  stco::tensor<float, 1> b(R);
  stco::tensor<float, 1> c{R};
  stco::tensor<float, 1> d({n});
  stco::tensor<double, 1> e({3});
  CHECK(a.size() == R);
  CHECK(b.size() == R);
  CHECK(c.size() == R);
  CHECK(d.extent(0) == 5);
  CHECK(e.extent(0) == 3);
  for (float x : a) CHECK(x == 0.0f);
  a[6] = 2.0f;
  CHECK(a(6) == 2.0f);
  stco::tensor<float, 1> copy(a);  // still the copy constructor, not a tensor of a.size()
  CHECK(copy.size() == R);
  CHECK(copy[6] == 2.0f);

  // Two-dimensional and static forms are unchanged, mixed integer types included.
  stco::tensor<float, 2> W({R, R + 1});
  CHECK(W.shape() == stco::matrix_shape{7, 8});
  stco::tensor<float, 2> M({n, 3});
  CHECK(M.shape() == stco::matrix_shape{5, 3});
  stco::basic_tensor<float, stco::extents<4, stco::dynamic_extent>> S({6});
  CHECK(S.shape() == stco::matrix_shape{4, 6});
  stco::basic_tensor<float, stco::extents<4, stco::dynamic_extent>> S2({4, 6});
  CHECK(S2.size() == 24);
  CHECK_THROWS_AS((stco::basic_tensor<float, stco::extents<4, stco::dynamic_extent>>({5, 6})),
                  stco::shape_error);
  CHECK_THROWS_AS((stco::tensor<float, 1>({-1})), stco::shape_error);
}
