// The tile tensor-core conv2d kernels on a GPU (label `gpu`): forward (implicit im2col of NHWC X,
// output [pixels, Cout]) with epilogues and stash, dW at the kept addresses and dX, for 3x3 and
// 1x1 kernels at stride 1 and 2, odd image sizes, Cin = 3 (the element-wise gather), ragged Cout,
// against the double-precision dense reference on fresh random data.
#include <doctest/doctest.h>

#include <cstring>

#include "gather_tc_support.cuh"
#include "stco/kernel/cuda/gather_tc/ops.cuh"

namespace {

using namespace gather_tc_test;
namespace tc = stco::kernel::cuda::gather_tc;
/// One convolution: X [batch, h, w, cin] NHWC, a k×k kernel, Cout output channels.
struct conv_setting {
  const char* name;
  index_t batch, h, w, cin, cout, k, stride, pad;
  /// The geometry, output extents counted by window placements (not the library's formula).
  stco::conv_geometry geometry() const {
    auto out = [&](index_t in) {
      index_t o = 0;
      while (o * stride + k - 1 <= in + 2 * pad - 1) ++o;
      return o;
    };
    stco::conv_geometry g{};
    g.batch = batch, g.in_h = h, g.in_w = w, g.in_c = cin, g.out_h = out(h), g.out_w = out(w);
    g.out_c = cout, g.kh = g.kw = k, g.groups = 1, g.stride_h = g.stride_w = stride;
    g.pad_h = g.pad_w = pad, g.dil_h = g.dil_w = 1;
    return g;
  }
};

template <class L, class V, class Epis>
void conv_case(const conv_setting& cs, double sparsity, Epis) {
  stco::cuda::owned_stream os;
  const stco::cuda::stream s = os.get();
  const stco::conv_geometry g = cs.geometry();
  const index_t Cout = g.out_c, K = g.k(), P = g.pixels(), NX = g.batch * g.in_h * g.in_w * g.in_c;
  const auto W = stco::prune<L>(stco_test::random_matrix<V>(Cout, K), sparsity);
  const auto dense = stco::decode(W);
  const std::vector<double> w = doubles(std::vector<V>(dense.begin(), dense.end()));
  const auto kept = stco::kept_mask(W.entity());
  const auto X = random_values<V>(NX), b = random_values<V>(Cout), res = random_values<V>(P * Cout),
             dY = random_values<V>(P * Cout);
  const auto x = doubles(X), bd = doubles(b), rd = doubles(res), dy = doubles(dY);
  const auto Wd = stco::cuda::device_sparse_matrix<V, L>::from_host(W, s);
  auto dXin = upload(X, s), db = upload(b, s), dres = upload(res, s), ddY = upload(dY, s);
  const auto Z = stco::reference::conv2d(w, x, g);

  for (const bool wgmma : {true, false})
    for_each_epi(Epis{}, [&](auto tag) {
      constexpr epi E = decltype(tag)::value;
      const epi e = E;
      stco::cuda::options o;
      o.gather_tc.wgmma = wgmma;
      const stco::cuda::stream so = s.with(o);
      INFO(L::name(), " conv ", cs.name, " sparsity ", sparsity, " epilogue ", epi_name(e),
           wgmma && stco::kernel::cuda::arch::sm90a_available() ? " (wgmma)" : " (mma.sync)");
      with_chain<E, V>(db.data(), dres.data(), [&](const auto& chain) {
        using Chain = std::decay_t<decltype(chain)>;
        stco::cuda::device_buffer<V> Y(P * Cout, s), dX(NX, s), dW(W.value_count(), s);
        stco::cuda::device_buffer<float> st(P * Cout, s);
        poison(Y, s), poison(dX, s), poison(dW, s), poison(st, s);

        namespace kc = stco::kernel::cuda;
        const auto rf = tc::plan_conv<Chain>(kc::op::conv2d_forward, Wd, so);
        CHECK(rf.kernel == kc::kernel_name::implicit_conv);
        if (!wgmma) CHECK(rf.instruction == kc::instruction::mma_sync);
        tc::conv_forward(rf, Wd, dXin.data(), Y.data(), g, chain, st.data(), so);
        std::vector<double> yref(Z.size()), aref(Z.size());
        for (index_t i = 0; i < P * Cout; ++i) {
          yref[i] = y_ref(e, Z[i], bd[i % Cout], rd[i]);
          aref[i] = act_ref(e, Z[i], bd[i % Cout]);
        }
        check_close(doubles(download(Y, s)), yref, tol<V>(), "conv forward Y");
        std::vector<float> a(static_cast<std::size_t>(P * Cout), 0.f);
        if constexpr (Chain::has_activation) {
          a = download(st, s);
          check_close(std::vector<double>(a.begin(), a.end()), aref, 1e-4, "conv forward stash");
        }

        const float* z = Chain::has_activation ? st.data() : nullptr;
        tc::conv_grad_w(tc::plan_conv<Chain>(kc::op::conv2d_grad_w, Wd, so), Wd, dXin.data(),
                        ddY.data(), z, dW.data(), g, chain, so);
        tc::conv_grad_x(tc::plan_conv<Chain>(kc::op::conv2d_grad_x, Wd, so), Wd, ddY.data(), z,
                        dX.data(), g, chain, so);
        std::vector<double> dZ(static_cast<std::size_t>(P * Cout)), dWref, dXref;
        for (index_t i = 0; i < P * Cout; ++i) dZ[i] = dz_ref(e, a[i], dy[i]);
        stco::reference::conv2d_grads(w, x, dZ, g, dWref, dXref);
        check_close(doubles(download(dX, s)), dXref, tol<V>(), "conv dX");

        const auto dWv = download(dW, s);
        stco::sparse_matrix<V, L> dWs(W.entity_ptr());
        std::memcpy(static_cast<void*>(dWs.values()), dWv.data(), dWv.size() * sizeof(V));
        const auto dWdense = stco::decode(dWs);
        std::vector<double> got(static_cast<std::size_t>(Cout * K));
        for (index_t i = 0; i < Cout * K; ++i) {
          got[i] = stco::to_double(dWdense[i]);
          if (!kept[i]) dWref[i] = 0;
        }
        bool all_written = true;
        for (const V& v : dWv) all_written = all_written && !std::isnan(stco::to_double(v));
        CHECK(all_written);
        check_close(got, dWref, tol<V>(), "conv dW");
      });
    });
}

// name, batch, h, w, cin, cout, kernel, stride, pad
const conv_setting k3s1{"3x3 s1 p1", 2, 9, 9, 16, 64, 3, 1, 1};
const conv_setting k3s2{"3x3 s2 p1", 2, 11, 10, 24, 40, 3, 2, 1};
const conv_setting k1s1{"1x1 s1", 3, 7, 7, 64, 128, 1, 1, 0};
const conv_setting k1s2{"1x1 s2", 2, 8, 9, 32, 64, 1, 2, 0};
const conv_setting first{"3x3 s1 p1, Cin 3", 2, 8, 8, 3, 32, 3, 1, 1};
const conv_setting k3wide{"3x3 s1 p1, Cin 32", 2, 6, 7, 32, 48, 3, 1, 1};

}  // namespace

TEST_CASE("gather_tc conv: tile_wise<64> half, every epilogue, 3x3 and 1x1 at stride 1 and 2") {
  conv_case<stco::tile_wise<64>, stco::half>(k3s1, 0.75, all_epis{});
  conv_case<stco::tile_wise<64>, stco::half>(k1s2, 0.5, epis<epi::bias_relu>{});
  conv_case<stco::tile_wise<64>, stco::half>(k3s2, 0.75, epis<epi::scale_bias_relu_residual>{});
}

TEST_CASE("gather_tc conv: tile_wise<32> bfloat16 (ragged Cout), tile_wise<128> half 1x1") {
  conv_case<stco::tile_wise<32>, stco::bfloat16>(k3s2, 0.75, epis<epi::bias_relu>{});
  conv_case<stco::tile_wise<128>, stco::half>(k1s1, 0.75, epis<epi::bias_relu>{});
}

TEST_CASE("gather_tc conv: tile_vector<32,2,4> half") {
  conv_case<stco::tile_vector<32, 2, 4>, stco::half>(k3s2, 0.75, epis<epi::bias_relu>{});
}

TEST_CASE("gather_tc conv: block<16,16> half") {
  conv_case<stco::block<16, 16>, stco::half>(k3wide, 0.75, epis<epi::bias_relu>{});
  conv_case<stco::block<16, 16>, stco::half>(k1s2, 0.5, epis<epi::bias_relu>{});
}

TEST_CASE("gather_tc conv: channel and dense half, Cin 3") {
  conv_case<stco::channel, stco::half>(k3s1, 0.75, epis<epi::bias_relu>{});
  conv_case<stco::channel, stco::half>(k3s2, 0.5, epis<epi::bias_relu>{});
  conv_case<stco::dense, stco::half>(first, 0.0, epis<epi::bias_relu>{});
  conv_case<stco::dense, stco::half>(k1s2, 0.0, epis<epi::bias_relu>{});
}
