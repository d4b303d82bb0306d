// stco/interop/eigen.hpp — Eigen in and out: dense tensors as Eigen::Map, Eigen row-major
// matrices as stco views, and csr <-> Eigen::SparseMatrix<T, RowMajor>.
#pragma once

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include <algorithm>
#include <numeric>
#include <type_traits>
#include <vector>

#include "stco/core/error.hpp"
#include "stco/core/tensor.hpp"
#include "stco/layout/csr.hpp"
#include "stco/layout/sparse_matrix.hpp"

namespace stco {

template <class T>
using eigen_row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// A rank-2 view (or tensor) as an Eigen::Map over the same memory; writes go through.
template <class T>
Eigen::Map<eigen_row_matrix<T>> as_eigen(matrix_view<T> v) {
  return {v.data(), v.extent(0), v.extent(1)};
}
template <class T>
Eigen::Map<const eigen_row_matrix<T>> as_eigen(matrix_view<const T> v) {
  return {v.data(), v.extent(0), v.extent(1)};
}
template <class T, class E>
auto as_eigen(basic_tensor<T, E>& t) {
  return as_eigen(matrix_view<T>(t.view()));
}
template <class T, class E>
auto as_eigen(const basic_tensor<T, E>& t) {
  return as_eigen(matrix_view<const T>(t.view()));
}

/// A view of an Eigen dense expression with direct, row-major, contiguous storage (a RowMajor
/// Matrix, a Map of one, a block of full rows). Throws shape_error for strided storage.
template <class Derived>
auto as_view(Eigen::PlainObjectBase<Derived>& m) {
  static_assert(Derived::IsRowMajor || Derived::ColsAtCompileTime == 1,
                "stco::as_view: stco tensors are row-major; use an Eigen::RowMajor matrix");
  using T = typename Derived::Scalar;
  return make_matrix_view<T>(m.data(), m.rows(), m.cols());
}
template <class Derived>
auto as_view(const Eigen::PlainObjectBase<Derived>& m) {
  static_assert(Derived::IsRowMajor || Derived::ColsAtCompileTime == 1,
                "stco::as_view: stco tensors are row-major; use an Eigen::RowMajor matrix");
  using T = typename Derived::Scalar;
  return make_matrix_view<const T>(m.data(), m.rows(), m.cols());
}
template <class P, int Opt, class S>
auto as_view(const Eigen::Map<P, Opt, S>& m) {
  static_assert(P::IsRowMajor, "stco::as_view: stco tensors are row-major; map a RowMajor matrix");
  using T = std::remove_pointer_t<decltype(m.data())>;
  if (m.innerStride() != 1 || (m.rows() > 1 && m.outerStride() != m.cols()))
    throw shape_error(detail::message("stco::as_view: Eigen map with strides (", m.outerStride(),
                                      ", ", m.innerStride(), ") is not contiguous row-major ",
                                      m.rows(), "x", m.cols()));
  return make_matrix_view<T>(m.data(), m.rows(), m.cols());
}

/// Copies any Eigen dense expression into a new stco tensor.
template <class Derived>
tensor<typename Derived::Scalar, 2> from_eigen(const Eigen::DenseBase<Derived>& m) {
  tensor<typename Derived::Scalar, 2> t(dextents<2>(m.rows(), m.cols()));
  as_eigen(t) = m;
  return t;
}

/// A csr matrix as an Eigen::SparseMatrix<T, RowMajor, I> (compressed, same entries and order).
template <class I = int, class T>
Eigen::SparseMatrix<T, Eigen::RowMajor, I> to_eigen(const sparse_matrix<T, csr>& a) {
  static_assert(std::is_floating_point_v<T>,
                "stco::to_eigen: Eigen interop is for float and double");
  const auto& e = a.entity();
  Eigen::SparseMatrix<T, Eigen::RowMajor, I> m(a.rows(), a.cols());
  m.resizeNonZeros(static_cast<Eigen::Index>(e.nnz()));
  for (index_t r = 0; r <= a.rows(); ++r) m.outerIndexPtr()[r] = static_cast<I>(e.row_ptr()[r]);
  for (index_t p = 0; p < e.nnz(); ++p) {
    m.innerIndexPtr()[p] = static_cast<I>(e.col_index()[p]);
    m.valuePtr()[p] = a.values()[p];
  }
  return m;
}

/// An Eigen row-major sparse matrix as csr (explicitly stored zeros are kept). Column indices are
/// sorted within each row; the result is validated like any entity from outside.
template <class T, class I>
sparse_matrix<T, csr> from_eigen(const Eigen::SparseMatrix<T, Eigen::RowMajor, I>& in) {
  Eigen::SparseMatrix<T, Eigen::RowMajor, I> m = in;
  m.makeCompressed();
  const index_t R = m.rows(), nnz = m.nonZeros();
  std::vector<index_t> ptr(static_cast<std::size_t>(R + 1)), cols(static_cast<std::size_t>(nnz));
  host_buffer<T> vals(nnz);
  std::vector<index_t> order;
  for (index_t r = 0; r <= R; ++r) ptr[r] = m.outerIndexPtr()[r];
  for (index_t r = 0; r < R; ++r) {
    order.resize(static_cast<std::size_t>(ptr[r + 1] - ptr[r]));
    std::iota(order.begin(), order.end(), ptr[r]);
    std::sort(order.begin(), order.end(),
              [&](index_t a, index_t b) { return m.innerIndexPtr()[a] < m.innerIndexPtr()[b]; });
    for (std::size_t i = 0; i < order.size(); ++i) {
      cols[ptr[r] + i] = m.innerIndexPtr()[order[i]];
      vals[ptr[r] + i] = m.valuePtr()[order[i]];
    }
  }
  return sparse_matrix<T, csr>(
      csr_entity::from_parts({R, static_cast<index_t>(m.cols())}, ptr, cols), std::move(vals));
}
template <class T, class I>
sparse_matrix<T, csr> from_eigen(const Eigen::SparseMatrix<T, Eigen::ColMajor, I>&) {
  static_assert(sizeof(T) == 0,
                "stco::from_eigen: csr is row-major; convert first: Eigen::SparseMatrix<T, "
                "Eigen::RowMajor> r = m;");
  return sparse_matrix<T, csr>(nullptr);
}

}  // namespace stco
