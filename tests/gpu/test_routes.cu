// The planner's routes on a GPU (label `gpu`): for representative shapes of every kernel family,
// the route of forward, dX and dW is asserted (so a silent fallback to a slower kernel fails here),
// and the same calls are checked against the double-precision dense reference on fresh random
// data (check_matmul / check_conv, gpu_support.hpp). Expectations depend on whether this binary's
// sm_90a code runs on the device: on an H100 built for 90a every Hopper route is taken.
#include "gpu_support.hpp"
#include "stco/kernel/cuda/arch/device.cuh"
#include "stco/kernel/cuda/sparse_tc/transposable.hpp"

namespace {

using namespace stco_gpu_test;
namespace kc = stco::kernel::cuda;
using kc::family;
using kc::instruction;
using kc::kernel_name;

bool hopper() { return stco::kernel::cuda::arch::sm90a_available(); }

/// What a route must be; tile_n, splits and terms checked where not negative.
struct expect {
  family fam;
  kernel_name kernel;
  instruction instr;
  int tile_n = -1, splits = -1, terms = -1;
  bool dz_formed = false;
};

void check(const kc::route& r, const expect& e) {
  INFO("route: ", kc::to_string(r));
  CHECK(r.family == e.fam);
  CHECK(r.kernel == e.kernel);
  CHECK(r.instruction == e.instr);
  if (e.tile_n >= 0) CHECK(r.tile_n == e.tile_n);
  if (e.splits >= 0) CHECK(r.splits == e.splits);
  if (e.terms >= 0) CHECK(r.terms == e.terms);
  CHECK(r.dz_formed == e.dz_formed);
}
void check(const expect& f, const expect& dx, const expect& dw) {
  check(last_routes().forward, f);
  check(last_routes().grad_x, dx);
  check(last_routes().grad_w, dw);
}

const expect portable_fwd{family::portable, kernel_name::unit_product, instruction::none};
const expect portable_dw{family::portable, kernel_name::sampled_product, instruction::none};

using plain = epis<epi::none>;
using with_relu = epis<epi::scale_bias_relu_residual>;

}  // namespace

TEST_CASE("routes: gather_tc on tile layouts") {
  using V = stco::half;
  const bool h = hopper();
  const instruction mma = h ? instruction::wgmma : instruction::mma_sync;
  const expect gathered{family::gather_tc, kernel_name::gathered_gemm, mma};
  const expect segmented{family::gather_tc, kernel_name::segmented_grad_x, instruction::mma_sync};
  const expect ws{family::gather_tc, kernel_name::warp_specialized, instruction::wgmma};

  SUBCASE(
      "tile_wise<128>, N % 8 == 0: warp-specialized forward and dX; dW with few units "
      "on the gathered GEMM") {
    check_matmul<stco::tile_wise<128>, V>(256, 512, 256, 0.75, plain{});
    check(h ? ws : gathered, h ? ws : segmented, gathered);
  }
  SUBCASE("tile_wise<128>: dW on the warp-specialized kernel when units suffice (options)") {
    sc::options o;
    o.gather_tc.grad_w_min_units = 0;
    const scoped_options use(o);
    check_matmul<stco::tile_wise<128>, V>(256, 512, 256, 0.75, with_relu{});
    check(h ? ws : gathered, h ? ws : segmented, h ? ws : gathered);
  }
  SUBCASE("tile_wise<128>, N odd: the gathered GEMM and the segmented dX") {
    check_matmul<stco::tile_wise<128>, V>(256, 256, 99, 0.5, plain{});
    check(gathered, segmented, gathered);
  }
  // Tiles of fewer than 64 rows have no wgmma mainloop (their CTA tile is 16 or 32 rows high).
  const expect gathered_sync{family::gather_tc, kernel_name::gathered_gemm, instruction::mma_sync};
  SUBCASE("tile_wise<32>: no warp-specialized form, and mma.sync") {
    check_matmul<stco::tile_wise<32>, V>(96, 128, 64, 0.5, plain{});
    check(gathered_sync, segmented, gathered_sync);
  }
  SUBCASE("wgmma off in the options: mma.sync everywhere") {
    sc::options o;
    o.gather_tc.wgmma = false;
    const scoped_options use(o);
    check_matmul<stco::tile_wise<128>, V>(256, 256, 128, 0.5, plain{});
    const expect sync{family::gather_tc, kernel_name::gathered_gemm, instruction::mma_sync};
    check(sync, segmented, sync);
  }
  SUBCASE("warp-specialized off in the options: the gathered GEMM on wgmma") {
    sc::options o;
    o.gather_tc.warp_specialized = false;
    const scoped_options use(o);
    check_matmul<stco::tile_wise<128>, V>(256, 256, 128, 0.5, plain{});
    check(gathered, segmented, gathered);
  }
  SUBCASE("tile_vector<128, 2, 4>: warp-specialized through tile_wise panels") {
    check_matmul<stco::tile_vector<128, 2, 4>, V>(256, 256, 128, 0.5, plain{});
    check(h ? ws : gathered, h ? ws : segmented, gathered);
  }
  SUBCASE("channel and dense: warp-specialized forward, gathered GEMM dX and dW") {
    check_matmul<stco::channel, V>(128, 256, 128, 0.5, plain{});
    check(h ? ws : gathered, gathered, gathered);
    check_matmul<stco::dense, V>(64, 128, 64, 0.0, plain{});
    check(h ? ws : gathered, gathered, gathered);
  }
  SUBCASE("block<16, 16>: the gathered GEMM for all three, on mma.sync (16-row tiles)") {
    check_matmul<stco::block<16, 16>, V>(64, 128, 64, 0.5, plain{});
    check(gathered_sync, gathered_sync, gathered_sync);
  }
}

TEST_CASE("routes: gather_tc convolutions, and the portable grouped kernels") {
  using V = stco::half;
  const instruction mma = hopper() ? instruction::wgmma : instruction::mma_sync;
  const expect implicit{family::gather_tc, kernel_name::implicit_conv, mma};
  const expect implicit_sync{family::gather_tc, kernel_name::implicit_conv, instruction::mma_sync};
  const expect segmented{family::gather_tc, kernel_name::segmented_grad_x, instruction::mma_sync};
  const conv_case c{"3x3 pad 1", 2, 9, 7, 16, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1};
  // 16-wide channel tiles have no wgmma mainloop; 64-wide ones do.
  check_conv<stco::tile_wise<16>, V>(c, 0.5, plain{});
  check(implicit_sync, segmented, implicit_sync);
  check_conv<stco::block<16, 16>, V>(c, 0.5, plain{});
  check(implicit_sync, implicit_sync, implicit_sync);
  const conv_case wide{"3x3 pad 1, 64 channels", 2, 8, 8, 64, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1};
  check_conv<stco::tile_wise<64>, V>(wide, 0.5, plain{});
  check(implicit, segmented, implicit_sync);  // dW: the 64-row dW tile is mma.sync only
  const conv_case grouped{"3x3 groups 2", 1, 8, 8, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 2};
  check_conv<stco::tile_wise<16>, V>(grouped, 0.5, plain{});
  const expect g_fwd{family::portable, kernel_name::grouped_conv, instruction::none};
  check(g_fwd, g_fwd, g_fwd);
}

TEST_CASE("routes: sparse_tc on N:M weights") {
  using V = stco::half;
  const bool h = hopper();
  const expect sparse_fwd{family::sparse_tc, kernel_name::sparse_gemm,
                          h ? instruction::wgmma_sp : instruction::mma_sp, h ? 256 : 0};
  const expect dw{family::sparse_tc, kernel_name::compressed_grad_w,
                  h ? instruction::wgmma : instruction::mma_sync, h ? 256 : 0, 1};
  const expect dx_dense{family::sparse_tc, kernel_name::dense_transposed, instruction::wgmma, 256};
  const expect dx_tiles{family::sparse_tc, kernel_name::decompressed_tiles, instruction::mma_sync};

  SUBCASE("nm<2,4>, a random mask: Wᵀ decompressed for dX") {
    check_matmul<stco::nm<2, 4>, V>(256, 256, 256, 0.5, plain{});
    check(sparse_fwd, h ? dx_dense : dx_tiles, dw);
  }
  SUBCASE("nm<2,4> with an activation: dZ formed first for the sm90 gradients") {
    check_matmul<stco::nm<2, 4>, V>(256, 256, 256, 0.5, with_relu{});
    expect dx = h ? dx_dense : dx_tiles, dwr = dw;
    dx.dz_formed = dwr.dz_formed = h;
    check(sparse_fwd, dx, dwr);
  }
  SUBCASE("nm<2,4>, N odd: the sm_80 forms") {
    check_matmul<stco::nm<2, 4>, V>(64, 128, 37, 0.5, plain{});
    const expect f{family::sparse_tc, kernel_name::sparse_gemm, instruction::mma_sp, 0};
    const expect w{family::sparse_tc, kernel_name::compressed_grad_w, instruction::mma_sync, 0, 1};
    check(f, dx_tiles, w);
  }
  SUBCASE("nm<2,4>: the 128-wide tiles (options)") {
    sc::options o;
    o.sparse_tc.sparse_bn = 128;
    o.sparse_tc.dense_bn = 128;
    const scoped_options use(o);
    check_matmul<stco::nm<2, 4>, V>(256, 256, 256, 0.5, plain{});
    expect f = sparse_fwd, w = dw;
    if (h) f.tile_n = w.tile_n = 128;
    check(f, h ? dx_dense : dx_tiles, w);
  }
  SUBCASE("nm<2,4>, a long reduction over few output tiles: dW split") {
    check_matmul<stco::nm<2, 4>, V>(128, 256, 8192, 0.5, plain{});
    CHECK(last_routes().grad_w.splits == (h ? 16 : 1));
  }
  SUBCASE("nm<1,4> as one 2:4 term, nm<4,8> as two") {
    check_matmul<stco::nm<1, 4>, V>(128, 256, 128, 0.75, plain{});
    expect f = sparse_fwd, x = h ? dx_dense : dx_tiles, w = dw;
    f.terms = x.terms = w.terms = 1;
    check(f, x, w);
    check_matmul<stco::nm<4, 8>, V>(128, 256, 128, 0.5, plain{});
    f.terms = w.terms = 2;
    // dX of two terms: Waᵀ + Wbᵀ summed densely, one dense GEMM (sm_90a); else the two-term
    // product on the decompressed tiles and a sum of halves.
    x = h ? expect{family::sparse_tc,
                   kernel_name::dense_transposed_sum,
                   instruction::wgmma,
                   256,
                   -1,
                   2}
          : expect{family::sparse_tc,
                   kernel_name::decompressed_tiles,
                   instruction::mma_sync,
                   -1,
                   -1,
                   2};
    check(f, x, w);
  }
}

TEST_CASE("routes: a transposable 2:4 mask runs dX on the sparse tensor cores") {
  using V = stco::half;
  const auto s = test_stream();
  const auto W = sc::sparse_tc::prune_transposable_weight(random_matrix<V>(256, 256));
  const auto Wd = sc::device_sparse_matrix<V, stco::nm<2, 4>>::from_host(W, s);
  const auto Xd = upload(random_matrix<V>(256, 128));
  const auto ex = sc::explain(stco::matmul(Wd, Xd), s);
  INFO(ex);
  CHECK(ex.grad_x.kernel == kernel_name::sparse_gemm);
  CHECK(ex.grad_x.instruction == (hopper() ? instruction::wgmma_sp : instruction::mma_sp));
}

TEST_CASE("routes: the portable kernels, and why") {
  SUBCASE("float values") {
    check_matmul<stco::tile_wise<16>, float>(64, 64, 32, 0.5, plain{});
    check(portable_fwd, portable_fwd, portable_dw);
    CHECK(std::string(last_routes().forward.why).find("half and bfloat16") != std::string::npos);
  }
  SUBCASE("csr in half") {
    check_matmul<stco::csr, stco::half>(64, 64, 32, 0.7, plain{});
    check(portable_fwd, portable_fwd, portable_dw);
  }
  SUBCASE("tensor-core kernels off in the options") {
    sc::options o;
    o.fast_kernels = false;
    const scoped_options use(o);
    check_matmul<stco::nm<2, 4>, stco::half>(64, 64, 32, 0.5, plain{});
    check(portable_fwd, portable_fwd, portable_dw);
    CHECK(std::string(last_routes().forward.why).find("options") != std::string::npos);
  }
}

TEST_CASE("explain prints the route of each call of a layer") {
  using V = stco::half;
  const auto s = test_stream();
  const auto W = stco::prune<stco::nm<2, 4>>(random_matrix<V>(4096, 4096), 0.5);
  const auto Wd = sc::device_sparse_matrix<V, stco::nm<2, 4>>::from_host(W, s);
  const auto Xd = upload(random_matrix<V>(4096, 4096));
  const auto bd = upload(random_vector<V>(4096));
  const auto layer = stco::relu(stco::matmul(Wd, Xd) + stco::bias(bd));
  const std::string text = sc::to_string(sc::explain(layer, s));
  MESSAGE("explain(relu(matmul(W, X) + bias(b))), W nm<2,4> 4096 x 4096, X 4096 x 4096:\n", text);
  CHECK(text.find("matmul forward: sparse_tc/sparse_gemm") != std::string::npos);
  CHECK(text.find("matmul dX: sparse_tc/") != std::string::npos);
  CHECK(text.find("matmul dW: sparse_tc/compressed_grad_w") != std::string::npos);

  const auto T = stco::prune<stco::tile_wise<128>>(random_matrix<V>(4096, 4096), 0.75);
  const auto Td = sc::device_sparse_matrix<V, stco::tile_wise<128>>::from_host(T, s);
  const std::string tile = sc::to_string(sc::explain(stco::matmul(Td, Xd), s));
  MESSAGE("explain(matmul(W, X)), W tile_wise<128> 4096 x 4096 at 75 %:\n", tile);
  CHECK(tile.find("matmul forward: gather_tc/") != std::string::npos);

  sc::options o;
  o.fast_kernels = false;
  const std::string off = sc::to_string(sc::explain(stco::matmul(Td, Xd), s.with(o)));
  MESSAGE("the same with options.fast_kernels = false:\n", off);
  CHECK(off.find("portable/unit_product") != std::string::npos);
}
