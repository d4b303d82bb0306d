// Eigen interop: dense maps both ways, csr <-> Eigen::SparseMatrix, checked against products in
// double precision.
#include <doctest/doctest.h>

#include "../support/random.hpp"
#include "stco/interop/eigen.hpp"
#include "stco/layouts.hpp"

TEST_CASE("dense tensors map to Eigen and back without copies") {
  auto t = stco_test::random_matrix<float>(5, 7);
  auto m = stco::as_eigen(t);
  CHECK(m.data() == t.data());
  CHECK(m.rows() == 5);
  CHECK(m(2, 3) == t(2, 3));
  m(4, 6) = 42.0f;
  CHECK(t(4, 6) == 42.0f);

  stco::eigen_row_matrix<double> e = stco::eigen_row_matrix<double>::Random(4, 6);
  auto v = stco::as_view(e);
  CHECK(v.data() == e.data());
  CHECK(v(3, 5) == e(3, 5));
  const auto copy = stco::from_eigen(e.transpose());
  CHECK(copy.shape() == stco::matrix_shape{6, 4});
  CHECK(copy(5, 3) == e(3, 5));

  Eigen::Map<stco::eigen_row_matrix<double>, 0, Eigen::OuterStride<>> strided(
      e.data(), 2, 3, Eigen::OuterStride<>(6));
  CHECK_THROWS_AS(stco::as_view(strided), stco::shape_error);
}

TEST_CASE_TEMPLATE("csr converts to and from Eigen::SparseMatrix", T, float, double) {
  const auto X = stco_test::random_matrix<T>(37, 53);
  const auto S = stco::prune<stco::csr>(X, 0.8);
  const Eigen::SparseMatrix<T, Eigen::RowMajor> E = stco::to_eigen(S);
  CHECK(E.nonZeros() == S.kept());

  // The Eigen matrix equals the decoded one, and products agree with a double-precision reference.
  const auto D = stco::decode(S);
  const auto B = stco_test::random_matrix<double>(53, 9);
  const Eigen::MatrixXd got = E.template cast<double>() * stco::as_eigen(B);
  for (stco::index_t i = 0; i < 37; ++i)
    for (stco::index_t j = 0; j < 9; ++j) {
      double ref = 0;
      for (stco::index_t k = 0; k < 53; ++k) ref += static_cast<double>(D(i, k)) * B(k, j);
      REQUIRE(got(i, j) == doctest::Approx(ref).epsilon(1e-5));
    }

  // Back: built from unsorted triplets, with an explicit zero kept as stored.
  std::vector<Eigen::Triplet<T>> trip{{2, 5, T(1)}, {0, 3, T(2)}, {2, 1, T(3)}, {0, 0, T(0)}};
  Eigen::SparseMatrix<T, Eigen::RowMajor> F(3, 6);
  F.setFromTriplets(trip.begin(), trip.end());
  const auto G = stco::from_eigen(F);
  CHECK(G.entity().row_ptr().to_vector() == std::vector<stco::index_t>{0, 2, 2, 4});
  CHECK(G.entity().col_index().to_vector() == std::vector<stco::index_t>{0, 3, 1, 5});
  CHECK(stco::decode(G)(2, 5) == T(1));
  CHECK(stco::decode(G)(2, 1) == T(3));

  const auto back = stco::from_eigen(E);
  CHECK(back.entity().col_index() == S.entity().col_index());
  CHECK(back.entity().row_ptr() == S.entity().row_ptr());
}
