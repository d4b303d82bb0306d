// bench/networks/gpu/case.cuh — the definition of make_case<L> (gpu/case.hpp): included only by
// the layout translation units gpu/layout_*.cu, each of which instantiates it for one layout.
#pragma once

#include <memory>
#include <random>
#include <type_traits>
#include <vector>

#include "../../common/gpu_random.cuh"
#include "case.hpp"
#include "stco/cuda.cuh"
#include "stco/kernel/cuda/sparse_tc/transposable.hpp"
#include "stco/layouts.hpp"

namespace stco_bench::networks_gpu {

namespace detail {

using T = stco::half;
namespace sc = stco::cuda;

/// The weight [R, K]: uniform random values, magnitude-pruned to layout L on the host (to a
/// transposable 2:4 mask for form::gemm_transposable where R and K allow it).
template <class L, form F>
stco::sparse_matrix<T, L> host_weight(const layer& l, double sparsity) {
  stco::tensor<T, 2> w(stco::dextents<2>(l.R, l.K));
  std::mt19937 g(static_cast<unsigned>(l.R * 131 + l.K * 7 + l.N));
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (stco::index_t i = 0; i < w.size(); ++i) w.data()[i] = T(u(g));
  if constexpr (F == form::gemm_transposable) {
    static_assert(std::is_same_v<L, stco::nm<2, 4>>, "transposable masks are 2:4 masks");
    // Transposable 4×4 blocks need R and K in multiples of 4 (the stems, K = 27 or 147, are not):
    // those layers keep the magnitude mask, and their dX the dense-Wᵀ path.
    if (l.R % 4 == 0 && l.K % 4 == 0) return stco::cuda::sparse_tc::prune_transposable_weight(w);
    return stco::prune<L>(w, sparsity);
  } else {
    return stco::prune<L>(w, sparsity);
  }
}

template <class Ext>
void randomize(sc::basic_device_tensor<T, Ext>& t, std::uint64_t key, sc::stream s) {
  stco_bench::gpu::fill_uniform_fp16(t.data(), static_cast<std::size_t>(t.size()), key, s.get());
}

template <class L, form F>
struct case_impl final : gpu_case {
  sc::stream s;
  stco::conv params;
  stco::sparse_matrix<T, L> host;  // kept until the upload has finished
  sc::device_sparse_matrix<T, L> W, dW;
  sc::device_tensor<T, 4> X4, Y4, dY4, dX4;  // conv form: NHWC
  sc::device_tensor<T, 2> X2, Y2, dY2, dX2;  // gemm form: X [K, N], Y [R, N]

  case_impl(const layer& l, double sparsity, cudaStream_t st)
      : s(st),
        params(l.params),
        host(host_weight<L, F>(l, sparsity)),
        W(sc::device_sparse_matrix<T, L>::from_host(host, s)),
        dW(W.zeros_like(s)) {
    if constexpr (F == form::conv) {
      X4 = sc::device_tensor<T, 4>(stco::dextents<4>(l.batch, l.hw, l.hw, l.cin), s);
      dX4 = sc::device_tensor<T, 4>(stco::dextents<4>(l.batch, l.hw, l.hw, l.cin), s);
      Y4 = sc::device_tensor<T, 4>(stco::dextents<4>(l.batch, l.out_hw, l.out_hw, l.R), s);
      dY4 = sc::device_tensor<T, 4>(stco::dextents<4>(l.batch, l.out_hw, l.out_hw, l.R), s);
      randomize(X4, 1, s), randomize(dY4, 2, s);
    } else {
      X2 = sc::device_tensor<T, 2>(stco::dextents<2>(l.K, l.N), s);
      dX2 = sc::device_tensor<T, 2>(stco::dextents<2>(l.K, l.N), s);
      Y2 = sc::device_tensor<T, 2>(stco::dextents<2>(l.R, l.N), s);
      dY2 = sc::device_tensor<T, 2>(stco::dextents<2>(l.R, l.N), s);
      randomize(X2, 1, s), randomize(dY2, 2, s);
    }
    density = host.density();
    const auto dense = stco::decode(host);
    decoded.resize(static_cast<std::size_t>(dense.size()));
    for (stco::index_t i = 0; i < dense.size(); ++i)
      decoded[static_cast<std::size_t>(i)] = dense.data()[i].bits;
    if constexpr (F == form::gemm_transposable) transposable = l.R % 4 == 0 && l.K % 4 == 0;
    // The mask as CSR for the cuSPARSE peer.
    const auto m = stco::kept_mask(host.entity());
    row_ptr.assign(1, 0);
    for (stco::index_t r = 0; r < l.R; ++r) {
      for (stco::index_t k = 0; k < l.K; ++k)
        if (m(r, k)) cols.push_back(static_cast<int>(k));
      row_ptr.push_back(static_cast<int>(cols.size()));
    }
    s.synchronize();
  }

  void step() override {
    if constexpr (F == form::conv) {
      stco::eval(Y4, stco::conv2d(W, X4, params), s);
      stco::grad(stco::conv2d(W, X4, params), dY4, s).wrt_into(X4, dX4);
      stco::grad(stco::conv2d(W, X4, params), dY4, s).wrt_into(W, dW);
    } else {
      stco::eval(Y2, stco::matmul(W, X2), s);
      stco::grad(stco::matmul(W, X2), dY2, s).wrt_into(X2, dX2);
      stco::grad(stco::matmul(W, X2), dY2, s).wrt_into(W, dW);
    }
  }
};

}  // namespace detail

template <class L, form F>
std::unique_ptr<gpu_case> make_case(const layer& l, double sparsity, cudaStream_t s) {
  return std::make_unique<detail::case_impl<L, F>>(l, sparsity, s);
}

}  // namespace stco_bench::networks_gpu
