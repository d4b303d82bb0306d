// nm<2,4> on sparse tensor cores (label gpu): forward with each epilogue, dX (transposable mask on
// sparse tensor cores, any mask through on-the-fly decompression) and dW at kept addresses, on
// both kernel paths (portable mma.sp and, on an sm_90a device, wgmma.sp), f16 and bf16, ragged
// and tile-aligned shapes, against a double-precision reference on fresh random data. Also dX of
// a mask that is not transposable through the dense Wᵀ (decompress + dense wgmma), dW written
// in the value type, and the public expression path (stco::grad(...).wrt) over both kinds of
// mask across steps whose values change (cached scratch, re-gathered every call).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <iterator>
#include <vector>

#include "../../support/random.hpp"
#include "../../support/reference_epilogue.hpp"
#include "stco/core/cuda/check.cuh"
#include "stco/core/cuda/device_buffer.cuh"
#include "stco/core/cuda/stream.cuh"
#include "stco/cuda.cuh"
#include "stco/expr/epilogue.hpp"
#include "stco/kernel/cuda/sparse_tc/metadata.hpp"
#include "stco/kernel/cuda/sparse_tc/ops.cuh"
#include "stco/kernel/cuda/sparse_tc/transposable.hpp"
#include "stco/kernel/cuda/sparse_tc/transpose.cuh"
#include "stco/kernel/reference/dense.hpp"
#include "stco/layouts.hpp"

namespace {
using stco::index_t;
namespace sparse_tc = stco::cuda::sparse_tc;

// The test's epilogues, written out in double (../../support/reference_epilogue.hpp).
using stco_test::all_epilogues;
using stco_test::epi;
using stco_test::epi_name;
using stco_test::gelu_grad_ref;
using stco_test::max_rel_error;
double y_ref(epi e, double z, double b, double res) {
  return stco_test::epi_ref(e, z, b, res, 0).y;
}
template <class V>
std::vector<double> dbl(const V& v) {
  return stco_test::to_doubles(v);
}

template <class U>
stco::cuda::device_buffer<U> upload(const U* p, index_t n, stco::cuda::stream s) {
  stco::cuda::device_buffer<U> d(n, s);
  d.copy_from_host(p, n, s);
  return d;
}
template <class U>
std::vector<U> download(const stco::cuda::device_buffer<U>& d, stco::cuda::stream s) {
  std::vector<U> h(static_cast<std::size_t>(d.size()));
  d.copy_to_host(h.data(), d.size(), s);
  s.synchronize();
  return h;
}

/// A 2:4 weight on the device: values, offsets, metadata (kept alive together).
template <class T>
struct dev_weight {
  stco::cuda::device_buffer<T> values;
  stco::cuda::device_buffer<std::uint32_t> offsets, meta;
  sparse_tc::device_sparse_tc<T> view;
  dev_weight(const stco::nm_entity<2, 4>& e, const T* v, stco::cuda::stream s) {
    const auto& m = sparse_tc::metadata(e);
    values = upload(v, e.compressed_shape().size(), s);
    const auto& w = e.offsets().words();
    offsets = upload(w.data(), static_cast<index_t>(w.size()), s);
    meta = upload(m.words.data(), static_cast<index_t>(m.words.size()), s);
    view = {values.data(),  offsets.data(),         meta.data(),
            m.geom.pitch(), e.logical_shape().rows, e.logical_shape().cols};
  }
};

/// The device chain of each test epilogue (bias, residual: device pointers).
template <class T, class F>
void with_chain(epi which, const T* bias, const T* res, F&& f) {
  namespace o = stco::ops;
  switch (which) {
    case epi::none:
      f(stco::chain<>{});
      break;
    case epi::bias_relu:
      f(stco::chain<o::bias<T>, o::relu>{{o::bias<T>{bias}, {o::relu{}, {}}}});
      break;
    case epi::bias_gelu_scale:
      f(stco::chain<o::bias<T>, o::gelu, o::scale>{
          {o::bias<T>{bias}, {o::gelu{}, {o::scale{0.75}, {}}}}});
      break;
    default:
      f(stco::chain<o::scale, o::bias<T>, o::relu, o::residual<T>>{
          {o::scale{1.5}, {o::bias<T>{bias}, {o::relu{}, {o::residual<T>{res}, {}}}}}});
  }
}

/// dL/dz from dy at activation input a (the device's stash), written out independently.
double dz_at(epi which, double a, double dy) {
  switch (which) {
    case epi::none:
      return dy;
    case epi::bias_relu:
      return a > 0 ? dy : 0;
    case epi::bias_gelu_scale:
      return dy * 0.75 * gelu_grad_ref(a);
    default:
      return (a > 0 ? dy : 0) * 1.5;
  }
}
/// The activation input for core output z (what the stash must hold).
double act_in(epi which, double z, double b) {
  return which == epi::scale_bias_relu_residual ? 1.5 * z + b : z + b;
}

struct shape {
  index_t R, K, N;
};

template <class T>
void run_case(shape sh, epi which, sparse_tc::path p, bool transposable, int bn = 256) {
  const index_t R = sh.R, K = sh.K, N = sh.N;
  CAPTURE(R);
  CAPTURE(K);
  CAPTURE(N);
  CAPTURE(epi_name(which));
  CAPTURE(static_cast<int>(p));
  CAPTURE(transposable);
  stco::cuda::owned_stream os;
  const stco::cuda::stream s = os.get();

  const auto Wd = stco_test::random_matrix<T>(R, K);
  std::shared_ptr<const stco::nm_entity<2, 4>> e =
      transposable ? sparse_tc::prune_transposable(stco_test::random_matrix<double>(R, K).view())
                   : stco::prune<stco::nm<2, 4>>(Wd).entity_ptr();
  std::vector<T> vals(static_cast<std::size_t>(e->compressed_shape().size()));
  stco::nm<2, 4>::for_each_slot(*e, [&](index_t q, index_t r, index_t k) {
    vals[static_cast<std::size_t>(q)] = k < K ? Wd(r, k) : T(0.0f);
  });
  const auto X = stco_test::random_matrix<T>(K, N);
  const auto dY = stco_test::random_matrix<T>(R, N);
  const auto bias = stco_test::random_matrix<T>(1, R);
  const auto res = stco_test::random_matrix<T>(R, N);

  // Dense double reference operands.
  std::vector<double> Wdense(static_cast<std::size_t>(R * K), 0.0);
  stco::nm<2, 4>::for_each_slot(*e, [&](index_t q, index_t r, index_t k) {
    if (k < K) Wdense[static_cast<std::size_t>(r * K + k)] = stco::to_double(vals[q]);
  });
  std::vector<double> Xd(X.begin(), X.end()), dYd(dY.begin(), dY.end());
  for (index_t i = 0; i < X.size(); ++i) Xd[i] = stco::to_double(X.data()[i]);
  for (index_t i = 0; i < dY.size(); ++i) dYd[i] = stco::to_double(dY.data()[i]);
  const auto Z = stco::reference::matmul(Wdense, Xd, R, K, N);

  dev_weight<T> dw(*e, vals.data(), s);
  auto dX_in = upload(X.data(), X.size(), s);
  auto d_dY = upload(dY.data(), dY.size(), s);
  auto d_bias = upload(bias.data(), bias.size(), s);
  auto d_res = upload(res.data(), res.size(), s);
  stco::cuda::device_buffer<T> dYout(R * N, s), d_dX(K * N, s);
  stco::cuda::device_buffer<float> d_stash(R * N, s), d_dW(e->compressed_shape().size(), s);
  // Poison the outputs: every element must be written.
  STCO_CUDA_CHECK(cudaMemsetAsync(dYout.data(), 0xFF, dYout.bytes(), s.get()));
  STCO_CUDA_CHECK(cudaMemsetAsync(d_dX.data(), 0xFF, d_dX.bytes(), s.get()));
  STCO_CUDA_CHECK(cudaMemsetAsync(d_dW.data(), 0xFF, d_dW.bytes(), s.get()));

  std::unique_ptr<dev_weight<T>> dwt;
  stco::cuda::device_buffer<std::uint32_t> t_off;
  if (transposable) {
    const auto& te = *sparse_tc::transposed(*e);
    // Wᵀ's values come from the device gather (checked against the host one below).
    const auto host_t = sparse_tc::transpose_values(*e, vals.data());
    dwt = std::make_unique<dev_weight<T>>(te, host_t.data(), s);
    STCO_CUDA_CHECK(cudaMemsetAsync(dwt->values.data(), 0xFF, dwt->values.bytes(), s.get()));
    sparse_tc::transpose_values(dw.view.values, dw.view.offsets, dwt->view.offsets,
                                dwt->values.data(), R, K, s.get());
    const auto got_t = download(dwt->values, s);
    for (std::size_t i = 0; i < host_t.size(); ++i) REQUIRE(got_t[i].bits == host_t[i].bits);
  }

  with_chain<T>(which, d_bias.data(), d_res.data(), [&](const auto& chain) {
    sparse_tc::forward(dw.view, dX_in.data(), N, dYout.data(), chain, d_stash.data(), s.get(), p,
                       bn);
    const auto Y = dbl(download(dYout, s));
    const auto st = download(d_stash, s);
    std::vector<double> Yref(Y.size());
    for (index_t r = 0; r < R; ++r)
      for (index_t n = 0; n < N; ++n) {
        const index_t pos = r * N + n;
        Yref[pos] =
            y_ref(which, Z[pos], stco::to_double(bias.data()[r]), stco::to_double(res.data()[pos]));
      }
    std::size_t at = 0;
    const double err = max_rel_error(Y, Yref, &at);
    CAPTURE(at);
    CHECK(err < 2e-2);
    std::vector<double> dzref(Y.size());
    for (index_t r = 0; r < R; ++r)
      for (index_t n = 0; n < N; ++n) {
        const index_t pos = r * N + n;
        double a = 0;
        if (which != epi::none) {
          a = act_in(which, Z[pos], stco::to_double(bias.data()[r]));
          REQUIRE(std::fabs(st[pos] - a) <= 2e-2 * (1 + std::fabs(a)));
          a = st[pos];  // the derivative is taken where the device evaluated it
        }
        dzref[pos] = dz_at(which, a, dYd[pos]);
      }
    std::vector<double> dWref, dXref;
    stco::reference::matmul_grads(Wdense, Xd, dzref, R, K, N, dWref, dXref);

    // Chains with an activation form dZ while loading: the portable path does that.
    const sparse_tc::path pg =
        which != epi::none && p == sparse_tc::path::sm90 ? sparse_tc::path::sm80 : p;
    sparse_tc::grad_x(dw.view, transposable ? &dwt->view : nullptr, d_dY.data(),
                      which == epi::none ? nullptr : d_stash.data(), N, chain, d_dX.data(), s.get(),
                      pg, bn);
    const auto gX = dbl(download(d_dX, s));
    const double ex = max_rel_error(gX, dXref, &at);
    CAPTURE(at);
    CHECK(ex < 2e-2);

    sparse_tc::grad_w(dw.view, dX_in.data(), d_dY.data(),
                      which == epi::none ? nullptr : d_stash.data(), N, chain, d_dW.data(), s.get(),
                      pg, nullptr, bn);
    const auto gW = download(d_dW, s);
    std::vector<double> gWd(gW.begin(), gW.end()), gWref(gW.size(), 0.0);
    stco::nm<2, 4>::for_each_slot(*e, [&](index_t q, index_t r, index_t k) {
      gWref[static_cast<std::size_t>(q)] = k < K ? dWref[static_cast<std::size_t>(r * K + k)] : 0.0;
    });
    const double ew = max_rel_error(gWd, gWref, &at);
    CAPTURE(at);
    CHECK(ew < 2e-2);
  });
}

/// Non-transposable mask: dX through decompress_transposed + grad_x_dense (sm_90a), and dW in the
/// value type (with a split reduction where the shape asks for one) against the double reference.
template <class T>
void run_dense_dx_case(shape sh) {
  const index_t R = sh.R, K = sh.K, N = sh.N;
  CAPTURE(R);
  CAPTURE(K);
  CAPTURE(N);
  stco::cuda::owned_stream os;
  const stco::cuda::stream s = os.get();
  const auto Wh = stco::prune<stco::nm<2, 4>>(stco_test::random_matrix<T>(R, K));
  const auto& e = Wh.entity();
  const auto X = stco_test::random_matrix<T>(K, N);
  const auto dY = stco_test::random_matrix<T>(R, N);
  std::vector<double> Wdense(static_cast<std::size_t>(R * K), 0.0), Xd, dYd;
  stco::nm<2, 4>::for_each_slot(e, [&](index_t q, index_t r, index_t k) {
    if (k < K) Wdense[static_cast<std::size_t>(r * K + k)] = stco::to_double(Wh.values()[q]);
  });
  for (index_t i = 0; i < X.size(); ++i) Xd.push_back(stco::to_double(X.data()[i]));
  for (index_t i = 0; i < dY.size(); ++i) dYd.push_back(stco::to_double(dY.data()[i]));
  std::vector<double> dWref, dXref;
  stco::reference::matmul_grads(Wdense, Xd, dYd, R, K, N, dWref, dXref);

  dev_weight<T> dw(e, Wh.values(), s);
  auto d_X = upload(X.data(), X.size(), s);
  auto d_dY = upload(dY.data(), dY.size(), s);
  const index_t ld = (R + 7) / 8 * 8;
  stco::cuda::device_buffer<T> wt(K * ld, s), d_dX(K * N, s), d_dW(e.compressed_shape().size(), s);
  STCO_CUDA_CHECK(cudaMemsetAsync(wt.data(), 0xFF, wt.bytes(), s.get()));
  STCO_CUDA_CHECK(cudaMemsetAsync(d_dX.data(), 0xFF, d_dX.bytes(), s.get()));
  STCO_CUDA_CHECK(cudaMemsetAsync(d_dW.data(), 0xFF, d_dW.bytes(), s.get()));
  sparse_tc::decompress_transposed(dw.view.values, dw.view.offsets, wt.data(), R, K, ld, s.get());
  const auto wth = download(wt, s);
  for (index_t k = 0; k < K; ++k)
    for (index_t r = 0; r < ld; ++r) {
      const double want = r < R ? Wdense[static_cast<std::size_t>(r * K + k)] : 0.0;
      REQUIRE(stco::to_double(wth[static_cast<std::size_t>(k * ld + r)]) == want);
    }
  REQUIRE(
      sparse_tc::grad_x_dense_fits<T, stco::chain<>>(wt.data(), ld, d_dY.data(), N, d_dX.data()));
  sparse_tc::grad_x_dense(static_cast<const T*>(wt.data()), ld, R, K, d_dY.data(), N,
                          stco::chain<>{}, d_dX.data(), s.get());
  std::size_t at = 0;
  const double ex = max_rel_error(dbl(download(d_dX, s)), dXref, &at);
  CAPTURE(at);
  CHECK(ex < 2e-2);

  const index_t ws =
      sparse_tc::grad_w_workspace<T, stco::chain<>>(dw.view, d_X.data(), d_dY.data(), N);
  stco::cuda::device_buffer<float> work(ws, s);
  sparse_tc::grad_w(dw.view, d_X.data(), d_dY.data(), nullptr, N, stco::chain<>{}, d_dW.data(),
                    s.get(), sparse_tc::path::automatic, ws > 0 ? work.data() : nullptr);
  const auto gW = dbl(download(d_dW, s));
  std::vector<double> gWref(gW.size(), 0.0);
  stco::nm<2, 4>::for_each_slot(e, [&](index_t q, index_t r, index_t k) {
    gWref[static_cast<std::size_t>(q)] = k < K ? dWref[static_cast<std::size_t>(r * K + k)] : 0.0;
  });
  const double ew = max_rel_error(gW, gWref, &at);
  CAPTURE(ws);
  CAPTURE(at);
  CHECK(ew < 2e-2);
}

/// The public expression path (fast_paths.cuh's sparse_tc glue): Y, dX and dW of Y = W·X (linear
/// chain: the sm90 kernels where the shape allows) over a transposable or a magnitude mask, three
/// steps whose weight values change, against the double reference; the entity's derived maps
/// are built in the first step only.
template <class T>
void run_expr_case(shape sh, bool transposable) {
  namespace sc = stco::cuda;
  const index_t R = sh.R, K = sh.K, N = sh.N;
  CAPTURE(R);
  CAPTURE(K);
  CAPTURE(N);
  CAPTURE(transposable);
  stco::cuda::owned_stream os;
  const sc::stream s = os.get();
  const auto W0 = stco_test::random_matrix<T>(R, K);
  const auto Wh0 =
      transposable ? stco::gather<T>(W0.view(), sparse_tc::prune_transposable(
                                                    stco_test::random_matrix<double>(R, K).view()))
                   : stco::prune<stco::nm<2, 4>>(W0);
  if (transposable) REQUIRE(sparse_tc::is_transposable(Wh0.entity()));
  auto W = sc::device_sparse_matrix<T, stco::nm<2, 4>>::from_host(Wh0, s);
  auto dW = W.zeros_like(s);
  const auto X = stco_test::random_matrix<T>(K, N);
  const auto dY = stco_test::random_matrix<T>(R, N);
  const auto Xd_dev = sc::device_tensor<T, 2>::from_host(X, s);
  const auto dY_dev = sc::device_tensor<T, 2>::from_host(dY, s);
  sc::device_tensor<T, 2> Y(stco::dextents<2>(R, N), s), dX(stco::dextents<2>(K, N), s);
  std::vector<double> Xd, dYd;
  for (index_t i = 0; i < X.size(); ++i) Xd.push_back(stco::to_double(X.data()[i]));
  for (index_t i = 0; i < dY.size(); ++i) dYd.push_back(stco::to_double(dY.data()[i]));
  std::size_t builds = 0;
  for (int step = 0; step < 3; ++step) {
    CAPTURE(step);
    const auto Wh = stco::gather<T>(stco_test::random_matrix<T>(R, K).view(), Wh0.entity_ptr());
    W.copy_from_host(Wh, s);
    STCO_CUDA_CHECK(
        cudaMemsetAsync(dX.data(), 0xFF, static_cast<std::size_t>(dX.size()) * sizeof(T), s.get()));
    STCO_CUDA_CHECK(cudaMemsetAsync(dW.values(), 0xFF, dW.value_count() * sizeof(T), s.get()));
    stco::eval(Y, stco::matmul(W, Xd_dev), s);
    const auto g = stco::grad(stco::matmul(W, Xd_dev), dY_dev, s);
    g.wrt_into(Xd_dev, dX);
    g.wrt_into(W, dW);
    std::vector<double> Wdense(static_cast<std::size_t>(R * K), 0.0);
    stco::nm<2, 4>::for_each_slot(Wh.entity(), [&](index_t q, index_t r, index_t k) {
      if (k < K) Wdense[static_cast<std::size_t>(r * K + k)] = stco::to_double(Wh.values()[q]);
    });
    const auto Z = stco::reference::matmul(Wdense, Xd, R, K, N);
    std::vector<double> dWref, dXref;
    stco::reference::matmul_grads(Wdense, Xd, dYd, R, K, N, dWref, dXref);
    const auto Yh = Y.to_host(s);
    const auto dXh = dX.to_host(s);
    const auto dWh = dW.to_host(s);
    std::vector<double> y, gx, gw, gwref(static_cast<std::size_t>(dWh.value_count()), 0.0);
    for (index_t i = 0; i < Yh.size(); ++i) y.push_back(stco::to_double(Yh.data()[i]));
    for (index_t i = 0; i < dXh.size(); ++i) gx.push_back(stco::to_double(dXh.data()[i]));
    for (index_t i = 0; i < dWh.value_count(); ++i) gw.push_back(stco::to_double(dWh.values()[i]));
    stco::nm<2, 4>::for_each_slot(Wh.entity(), [&](index_t q, index_t r, index_t k) {
      gwref[static_cast<std::size_t>(q)] = k < K ? dWref[static_cast<std::size_t>(r * K + k)] : 0.0;
    });
    std::size_t at = 0;
    CHECK(max_rel_error(y, Z, &at) < 2e-2);
    CAPTURE(at);
    CHECK(max_rel_error(gx, dXref, &at) < 2e-2);
    CHECK(max_rel_error(gw, gwref, &at) < 2e-2);
    if (step == 0) builds = W.entity().derived_builds();
    CHECK(W.entity().derived_builds() == builds);
  }
}

/// STCO_SPARSE_TC_QUICK=1 (the sanitizer runs): one ragged shape and two epilogues per path.
bool quick() { return std::getenv("STCO_SPARSE_TC_QUICK") != nullptr; }
std::vector<epi> epilogues() {
  if (quick()) return {epi::none, epi::bias_relu};
  return {std::begin(all_epilogues), std::end(all_epilogues)};
}

bool has_sm90a() {
  try {
    return stco::kernel::cuda::arch::sm90a_available();
  } catch (...) {
    return false;
  }
}
}  // namespace

TEST_CASE_TEMPLATE("nm<2,4> forward, dX, dW on the portable sparse tensor-core path", T, stco::half,
                   stco::bfloat16) {
  INFO("seed " << stco_test::seed());
  std::vector<shape> shapes{{70, 52, 45}, {128, 128, 128}, {131, 99, 257}, {8, 4, 3}};
  if (quick()) shapes = {{70, 52, 45}};
  for (shape sh : shapes)
    for (epi which : epilogues()) {
      run_case<T>(sh, which, sparse_tc::path::sm80, false);
      if (sh.K % 4 == 0) run_case<T>(sh, which, sparse_tc::path::sm80, true);
    }
}

TEST_CASE_TEMPLATE("nm<2,4> forward, dX, dW on the Hopper wgmma.sp path", T, stco::half,
                   stco::bfloat16) {
  if (!has_sm90a()) {
    MESSAGE("no sm_90a device: Hopper path not run");
    return;
  }
  INFO("seed " << stco_test::seed());
  // Tile-aligned, and ragged in every dimension while keeping 16-byte row pitches.
  // Both W and Wᵀ need 16-byte row pitches here: ⌈K/4⌉ and ⌈R/4⌉ multiples of 4, N of 8.
  // {64, 48, 4096}: one dW tile over a long reduction, split across CTAs (atomic epilogue).
  std::vector<shape> shapes{{256, 256, 512}, {208, 176, 136}, {64, 80, 264}, {64, 48, 4096}};
  if (quick()) shapes = {{208, 176, 136}};
  for (shape sh : shapes)
    for (epi which : epilogues()) {
      run_case<T>(sh, which, sparse_tc::path::sm90, true);
      run_case<T>(sh, which, sparse_tc::path::automatic, false);
    }
  // The 128-wide tile variants of both sm90 kernels.
  for (epi which : epilogues())
    run_case<T>(shape{208, 176, 136}, which, sparse_tc::path::sm90, true, 128);
  run_case<T>(shape{64, 48, 4096}, epi::none, sparse_tc::path::sm90, true, 128);
}

TEST_CASE("the sm90 path refuses shapes it cannot load and says why") {
  if (!has_sm90a()) return;
  stco::cuda::owned_stream s;
  const auto Wd = stco_test::random_matrix<stco::half>(16, 20);  // ⌈K/4⌉ = 5: pitch not 16 B
  const auto W = stco::prune<stco::nm<2, 4>>(Wd);
  dev_weight<stco::half> dw(W.entity(), W.values(), s);
  stco::cuda::device_buffer<stco::half> X(20 * 8, s), Y(16 * 8, s);
  CHECK_THROWS_AS(sparse_tc::forward(dw.view, X.data(), 8, Y.data(), stco::chain<>{}, nullptr,
                                     s.get().get(), sparse_tc::path::sm90),
                  stco::argument_error);
}

TEST_CASE_TEMPLATE("nm<2,4> dX of a non-transposable mask via dense Wᵀ, dW in the value type", T,
                   stco::half, stco::bfloat16) {
  if (!has_sm90a()) {
    MESSAGE("no sm_90a device: dense-Wᵀ path not run");
    return;
  }
  INFO("seed " << stco_test::seed());
  std::vector<shape> shapes{{256, 256, 512}, {70, 52, 136}, {64, 48, 4096}, {200, 300, 264}};
  if (quick()) shapes = {{70, 52, 136}};
  for (shape sh : shapes) run_dense_dx_case<T>(sh);
}

TEST_CASE_TEMPLATE("nm<2,4> through the public expressions: both masks, steps, cached scratch", T,
                   stco::half, stco::bfloat16) {
  INFO("seed " << stco_test::seed());
  // sm90-aligned, a split dW, and ragged shapes (portable paths).
  std::vector<shape> shapes{{256, 256, 512}, {64, 48, 4096}, {70, 52, 45}, {130, 100, 136}};
  if (quick()) shapes = {{64, 48, 4096}, {70, 52, 45}};
  for (shape sh : shapes) {
    run_expr_case<T>(sh, false);
    if (sh.K % 4 == 0) run_expr_case<T>(sh, true);
  }
}
