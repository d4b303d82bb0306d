// The tile tensor-core matmul kernels on a GPU (label `gpu`): forward with each epilogue (and its
// stash), dW at the kept addresses and dX = Wᵀ·dZ, for tile_wise, tile_vector, block, channel and
// dense in half and bfloat16, against the double-precision dense reference on fresh random data,
// on aligned and ragged shapes (R not a multiple of the tile, K and N not multiples of the CTA
// tile, N odd: the element-wise paths).
#include <doctest/doctest.h>

#include <cstring>

#include "gather_tc_support.cuh"
#include "stco/kernel/cuda/gather_tc/ops.cuh"

namespace {

using namespace gather_tc_test;
namespace tc = stco::kernel::cuda::gather_tc;

enum class mode { ws, ws_two_ctas, ws_tma, ws_tma_two_ctas, wgmma, sync };
const char* mode_name(mode m, bool sm90a) {
  if (!sm90a) return "mma.sync";
  return m == mode::ws                ? "warp-specialized, cp.async gathers (if it applies)"
         : m == mode::ws_two_ctas     ? "warp-specialized, cp.async gathers, 2 CTAs"
         : m == mode::ws_tma          ? "warp-specialized, 1-row TMA gathers (if it applies)"
         : m == mode::ws_tma_two_ctas ? "warp-specialized, 1-row TMA gathers, 2 CTAs"
         : m == mode::wgmma           ? "wgmma"
                                      : "mma.sync";
}
bool ws_mode(mode m) { return m != mode::wgmma && m != mode::sync; }

/// The route follows the mode's options: mma.sync when wgmma is off; the gathered GEMM (never
/// the warp-specialized kernel) when that is off.
void check_route(const stco::kernel::cuda::route& r, mode m) {
  namespace kc = stco::kernel::cuda;
  CHECK(r.family == kc::family::gather_tc);
  if (m == mode::sync) CHECK(r.instruction != kc::instruction::wgmma);
  if (!ws_mode(m)) CHECK(r.kernel != kc::kernel_name::warp_specialized);
  if (stco::kernel::cuda::arch::sm90a_available() && m == mode::wgmma &&
      r.kernel == kc::kernel_name::gathered_gemm)
    CHECK(r.instruction == kc::instruction::wgmma);
}

template <class L, class V, class Epis>
void matmul_case(index_t R, index_t K, index_t N, double sparsity, Epis) {
  stco::cuda::owned_stream os;
  const stco::cuda::stream s = os.get();
  const auto W = stco::prune<L>(stco_test::random_matrix<V>(R, K), sparsity);
  const auto dense = stco::decode(W);
  const std::vector<double> w = doubles(std::vector<V>(dense.begin(), dense.end()));
  const auto kept = stco::kept_mask(W.entity());
  const auto X = random_values<V>(K * N), b = random_values<V>(R), res = random_values<V>(R * N),
             dY = random_values<V>(R * N);
  const auto x = doubles(X), bd = doubles(b), rd = doubles(res), dy = doubles(dY);
  const auto Wd = stco::cuda::device_sparse_matrix<V, L>::from_host(W, s);
  auto dXin = upload(X, s), db = upload(b, s), dres = upload(res, s), ddY = upload(dY, s);
  const auto Z = stco::reference::matmul(w, x, R, K, N);

  // Mainloops: the warp-specialized persistent kernel (tile_wise<128> and tile_vector<128, ..>,
  // channel, dense where it applies), its gathered rows by cp.async and by 1-row TMA boxes, each
  // once with two CTAs so that each walks several units through its mbarrier ring; the
  // gathered-GEMM kernel on wgmma, and on mma.sync.
  for (const mode m :
       {mode::ws, mode::ws_two_ctas, mode::ws_tma, mode::ws_tma_two_ctas, mode::wgmma, mode::sync})
    for_each_epi(Epis{}, [&](auto tag) {
      constexpr epi E = decltype(tag)::value;
      const epi e = E;
      stco::cuda::options o;
      o.gather_tc.wgmma = m != mode::sync;
      o.gather_tc.warp_specialized = ws_mode(m);
      o.gather_tc.grid_limit = m == mode::ws_two_ctas || m == mode::ws_tma_two_ctas ? 2 : 0;
      o.gather_tc.grad_w_min_units = 0;  // dW on the ws kernel even with a handful of work units
      o.gather_tc.gather = m == mode::ws_tma || m == mode::ws_tma_two_ctas
                               ? stco::cuda::options::gather_tc_tuning::copy::tma_rows
                               : stco::cuda::options::gather_tc_tuning::copy::cp_async;
      const stco::cuda::stream so = s.with(o);
      INFO(L::name(), " R=", R, " K=", K, " N=", N, " sparsity ", sparsity, " epilogue ",
           epi_name(e), " mainloop ", mode_name(m, stco::kernel::cuda::arch::sm90a_available()));
      with_chain<E, V>(db.data(), dres.data(), [&](const auto& chain) {
        using Chain = std::decay_t<decltype(chain)>;
        stco::cuda::device_buffer<V> Y(R * N, s), dX(K * N, s), dW(W.value_count(), s);
        stco::cuda::device_buffer<float> st(R * N, s);
        poison(Y, s), poison(dX, s), poison(dW, s), poison(st, s);

        const auto rf = tc::plan_forward<Chain>(Wd, dXin.data(), Y.data(), N, st.data(), so);
        INFO("forward route: ", stco::kernel::cuda::to_string(rf));
        check_route(rf, m);
        tc::forward(rf, Wd, dXin.data(), Y.data(), N, chain, st.data(), so);
        std::vector<double> yref(Z.size()), aref(Z.size());
        for (index_t i = 0; i < R * N; ++i) {
          yref[i] = y_ref(e, Z[i], bd[i / N], rd[i]);
          aref[i] = act_ref(e, Z[i], bd[i / N]);
        }
        check_close(doubles(download(Y, s)), yref, tol<V>(), "forward Y");
        std::vector<float> a(static_cast<std::size_t>(R * N), 0.f);
        if constexpr (Chain::has_activation) {
          a = download(st, s);
          check_close(std::vector<double>(a.begin(), a.end()), aref, 1e-4, "forward stash");
        }

        const float* z = Chain::has_activation ? st.data() : nullptr;
        const auto rw = tc::plan_grad_w<Chain>(Wd, dXin.data(), ddY.data(), z, dW.data(), N, so);
        const auto rx = tc::plan_grad_x<Chain>(Wd, ddY.data(), z, dX.data(), N, so);
        INFO("dW route: ", stco::kernel::cuda::to_string(rw));
        INFO("dX route: ", stco::kernel::cuda::to_string(rx));
        check_route(rw, m);
        tc::grad_w(rw, Wd, dXin.data(), ddY.data(), z, dW.data(), N, chain, so);
        tc::grad_x(rx, Wd, ddY.data(), z, dX.data(), N, chain, so);
        std::vector<double> dZ(static_cast<std::size_t>(R * N)), dWref, dXref;
        for (index_t i = 0; i < R * N; ++i) dZ[i] = dz_ref(e, a[i], dy[i]);
        stco::reference::matmul_grads(w, x, dZ, R, K, N, dWref, dXref);
        check_close(doubles(download(dX, s)), dXref, tol<V>(), "dX");

        const auto dWv = download(dW, s);
        stco::sparse_matrix<V, L> dWs(W.entity_ptr());
        std::memcpy(static_cast<void*>(dWs.values()), dWv.data(), dWv.size() * sizeof(V));
        const auto dWdense = stco::decode(dWs);
        std::vector<double> got(static_cast<std::size_t>(R * K));
        for (index_t i = 0; i < R * K; ++i) {
          got[i] = stco::to_double(dWdense[i]);
          if (!kept[i]) dWref[i] = 0;
        }
        bool all_written = true;
        for (const V& v : dWv) all_written = all_written && !std::isnan(stco::to_double(v));
        CHECK(all_written);
        check_close(got, dWref, tol<V>(), "dW");
      });
    });
}

}  // namespace

TEST_CASE("gather_tc matmul: tile_wise<128> half, every epilogue, aligned and ragged") {
  matmul_case<stco::tile_wise<128>, stco::half>(256, 512, 512, 0.75, all_epis{});
  matmul_case<stco::tile_wise<128>, stco::half>(200, 333, 200, 0.5, all_epis{});
  matmul_case<stco::tile_wise<128>, stco::half>(130, 700, 37, 0.75, epis<epi::bias_relu>{});
}

TEST_CASE("gather_tc matmul: tile_wise<128> half, partial k-step and column blocks past N") {
  // 130 kept columns per tile: the third k-step gathers 2 rows (62 zeroed); N = 136: the
  // 256-column tile's third block is partly past N, its fourth wholly.
  matmul_case<stco::tile_wise<128>, stco::half>(256, 520, 136, 0.75,
                                                epis<epi::none, epi::bias_relu>{});
}

TEST_CASE("gather_tc matmul: tile_wise<128> bfloat16, long reduction and many work units") {
  matmul_case<stco::tile_wise<128>, stco::bfloat16>(512, 1536, 768, 0.5, epis<epi::bias_relu>{});
}

TEST_CASE("gather_tc matmul: tile_wise<64> bfloat16 and tile_wise<32> half") {
  matmul_case<stco::tile_wise<64>, stco::bfloat16>(
      192, 1024, 264, 0.75, epis<epi::bias_relu, epi::scale_bias_relu_residual>{});
  matmul_case<stco::tile_wise<64>, stco::bfloat16>(100, 250, 99, 0.5, epis<epi::bias_relu>{});
  matmul_case<stco::tile_wise<32>, stco::half>(96, 600, 136, 0.75, epis<epi::none>{});
}

TEST_CASE("gather_tc matmul: tile_vector<64,2,4> half") {
  matmul_case<stco::tile_vector<64, 2, 4>, stco::half>(128, 512, 256, 0.75,
                                                       epis<epi::none, epi::bias_gelu_scale>{});
  matmul_case<stco::tile_vector<64, 2, 4>, stco::half>(90, 301, 77, 0.75,
                                                       epis<epi::bias_gelu_scale>{});
}

// tile_vector<128, N, M> runs on the warp-specialized kernels through tile_wise panels
// (ws_tile_vector.cuh): 2-bit and straddling 3-bit offset fields, a ragged last group (K = 333
// with every column kept: one real position and a padding slot), rows past R, N past the CTA.
TEST_CASE("gather_tc matmul: tile_vector<128,2,4> half and tile_vector<128,2,8> bfloat16") {
  matmul_case<stco::tile_vector<128, 2, 4>, stco::half>(256, 512, 256, 0.75,
                                                        epis<epi::none, epi::bias_relu>{});
  matmul_case<stco::tile_vector<128, 2, 4>, stco::half>(130, 333, 72, 0.5,
                                                        epis<epi::bias_gelu_scale>{});
  matmul_case<stco::tile_vector<128, 2, 8>, stco::bfloat16>(384, 1000, 264, 0.75,
                                                            epis<epi::bias_relu>{});
}

TEST_CASE("gather_tc matmul: block<16,16> half and block<32,32> bfloat16") {
  matmul_case<stco::block<16, 16>, stco::half>(128, 512, 256, 0.75, epis<epi::bias_relu>{});
  matmul_case<stco::block<16, 16>, stco::half>(70, 150, 65, 0.5, epis<epi::bias_relu>{});
  matmul_case<stco::block<32, 32>, stco::bfloat16>(160, 384, 128, 0.75, epis<epi::none>{});
}

TEST_CASE("gather_tc matmul: channel half and dense bfloat16") {
  matmul_case<stco::channel, stco::half>(256, 512, 256, 0.75,
                                         epis<epi::scale_bias_relu_residual>{});
  matmul_case<stco::channel, stco::half>(77, 203, 51, 0.5, epis<epi::scale_bias_relu_residual>{});
  matmul_case<stco::dense, stco::bfloat16>(200, 264, 136, 0.0, epis<epi::bias_relu>{});
  matmul_case<stco::dense, stco::bfloat16>(45, 99, 31, 0.0, epis<epi::bias_relu>{});
}
