// Device sparse matrices and entities: transfers of values and index entity for every layout,
// entity sharing (upload, zeros_like, gradients, downloads), the cached transposed traversal
// built once over 100 device training steps, derived maps that outlive the stream which first
// asked for them, and bad input.
#include "gpu_support.hpp"

#include "stco/optim/cuda/sgd.cuh"

namespace {
using namespace stco_gpu_test;

template <class L>
double test_sparsity() {
  return L::min_sparsity == L::max_sparsity ? L::min_sparsity : std::max(L::min_sparsity, 0.6);
}

template <class L, class V>
struct layout_value {
  using layout = L;
  using value = V;
};
}  // namespace

TEST_CASE_TEMPLATE("device matrices round-trip values and share entities with the host", L,
                   STCO_TEST_NM_LAYOUTS, STCO_TEST_OTHER_LAYOUTS) {
  CAPTURE(L::name());
  const auto s = test_stream();
  for (const auto sh : shapes()) {
    CAPTURE(sh);
    const auto W = stco::prune<L>(random_matrix<float>(sh.rows, sh.cols), test_sparsity<L>());
    const auto G = W.zeros_like();
    const auto Wd = sc::device_sparse_matrix<float, L>::from_host(W, s);
    const auto Gd = sc::device_sparse_matrix<float, L>::from_host(G, s);
    // One device entity per host entity, shared by everything over it.
    CHECK(Wd.entity_ptr() == Gd.entity_ptr());
    CHECK(Wd.zeros_like(s).entity_ptr() == Wd.entity_ptr());
    CHECK(Wd.template zeros_like<stco::half>(s).entity_ptr() == Wd.entity_ptr());
    CHECK(Wd.entity().host(s) == W.entity_ptr());
    CHECK(Wd.compressed_shape() == W.compressed_shape());
    CHECK(Wd.entity().kept() == W.kept());
    // Values come back bit for bit, over the original host entity.
    const auto back = Wd.to_host(s);
    CHECK(back.entity_ptr() == W.entity_ptr());
    for (index_t i = 0; i < W.value_count(); ++i) REQUIRE(back.values()[i] == W.values()[i]);
    // The device index downloads to an equal host entity.
    const auto h = Wd.entity().index().download(W.shape(), s);
    CHECK(stco::kept_mask(*h).size() == stco::kept_mask(W.entity()).size());
    const auto m1 = stco::kept_mask(*h), m2 = stco::kept_mask(W.entity());
    for (index_t i = 0; i < m1.size(); ++i) REQUIRE(m1[i] == m2[i]);
    // Device decode equals host decode; gather onto the entity reproduces the values.
    const auto D = sc::decode(Wd, s);
    const auto Dh = D.to_host(s), ref = stco::decode(W);
    for (index_t i = 0; i < ref.size(); ++i) REQUIRE(Dh[i] == ref[i]);
    const auto again = sc::gather(D, Wd.entity_ptr(), s).to_host(s);
    for (index_t i = 0; i < W.value_count(); ++i) REQUIRE(again.values()[i] == W.values()[i]);
  }
}

TEST_CASE("an entity uploaded again while in use is the same object; released, a new one") {
  const auto s = test_stream();
  const auto W = stco::prune<stco::csr>(random_matrix<float>(20, 30), 0.7);
  const void* first = nullptr;
  {
    const auto a = sc::device_sparse_matrix<float, stco::csr>::from_host(W, s);
    const auto b = sc::device_sparse_matrix<float, stco::csr>::from_host(W, s);
    CHECK(a.entity_ptr() == b.entity_ptr());
    first = a.entity_ptr().get();
    CHECK(first != nullptr);
  }
  // Everything over the first mirror is gone: a new upload builds (and shares) a new one.
  const auto c = sc::device_sparse_matrix<float, stco::csr>::from_host(W, s);
  const auto d = sc::device_sparse_matrix<float, stco::csr>::from_host(W.zeros_like(), s);
  CHECK(c.entity_ptr() == d.entity_ptr());
}

TEST_CASE_TEMPLATE("the transposed traversal is built once over 100 device training steps", L,
                   stco::csr, stco::nm<2, 4>, stco::tile_wise<8>, stco::block<4, 4>,
                   stco::tile_vector<4, 2, 4>, stco::dense, stco::channel) {
  CAPTURE(L::name());
  const auto s = test_stream();
  const index_t R = 48, K = 72, N = 40;
  auto Wd = sc::device_sparse_matrix<float, L>::from_host(
      stco::prune<L>(random_matrix<float>(R, K), test_sparsity<L>()), s);
  const auto Xd = upload(random_matrix<float>(K, N));
  const auto bd = upload(random_vector<float>(R));
  const auto dYd = upload(random_matrix<float>(R, N));
  sc::device_tensor<float, 2> Yd(stco::dextents<2>(R, N), s);
  sc::activation_stash<float> stash;
  sc::optim::sgd opt(0.01f, 0.9f);
  std::size_t after_first = 0;
  const int steps = quick() ? 3 : 100;
  for (int step = 0; step < steps; ++step) {
    const auto e = stco::relu(stco::matmul(Wd, Xd) + stco::bias(bd));
    stco::eval(Yd, e, stash, s);
    const auto g = stco::grad(e, dYd, stash, s);
    const auto dW = g.wrt(Wd);
    const auto dX = g.wrt(Xd);
    CHECK(dW.entity_ptr() == Wd.entity_ptr());
    opt.step(Wd, dW, s);
    if (step == 0) after_first = Wd.entity().derived_builds();
  }
  s.synchronize();
  CHECK(Wd.entity().derived_builds() == after_first);
  CHECK(opt.momentum_of(Wd)->entity_ptr() == Wd.entity_ptr());
  // Layouts whose transposed traversal is structured need no map at all.
  if (stco::kernel::cuda::transposed_traversal<L>::uses_map)
    CHECK(after_first >= 1);
  else
    CHECK(after_first == 0);
}

// The maps a layout derives on first use (slot coordinates and the transposed traversal, 2:4
// metadata, the 2:4 form of an N:M mask and its per-stream weight, tile / block / channel maps)
// are allocated on the entity's home stream, so a weight may outlive the stream of the call that
// built them: freeing them there would be a stream-ordered free on a destroyed stream.
TEST_CASE_TEMPLATE("derived maps outlive the stream of the call that built them", P,
                   layout_value<stco::csr, float>, layout_value<stco::nm<2, 4>, stco::half>,
                   layout_value<stco::nm<1, 4>, stco::half>,
                   layout_value<stco::tile_wise<128>, stco::half>,
                   layout_value<stco::tile_vector<128, 2, 4>, stco::half>,
                   layout_value<stco::block<32, 32>, stco::half>,
                   layout_value<stco::channel, stco::half>) {
  using L = typename P::layout;
  using V = typename P::value;
  CAPTURE(L::name());
  const index_t R = 256, K = 256, N = 64;  // N % 8 == 0: the Hopper paths take the calls
  REQUIRE(cudaGetLastError() == cudaSuccess);
  sc::owned_stream home;
  {
    const auto Wd = sc::device_sparse_matrix<V, L>::from_host(
        stco::prune<L>(random_matrix<V>(R, K), test_sparsity<L>()), home);
    const auto Xd = sc::device_tensor<V, 2>::from_host(random_matrix<V>(K, N), home);
    const auto dYd = sc::device_tensor<V, 2>::from_host(random_matrix<V>(R, N), home);
    home.get().synchronize();
    {
      sc::owned_stream call;  // destroyed before the weight
      sc::device_tensor<V, 2> Yd(stco::dextents<2>(R, N), call);
      sc::activation_stash<V> stash;
      const auto e = stco::relu(stco::matmul(Wd, Xd));
      stco::eval(Yd, e, stash, call);
      const auto g = stco::grad(e, dYd, stash, call);
      const auto dW = g.wrt(Wd);
      const auto dX = g.wrt(Xd);
      call.get().synchronize();
      CHECK(Wd.entity().derived_builds() >= 1);
    }
    CHECK(cudaGetLastError() == cudaSuccess);
  }  // the weight, its entity and the derived maps go here, on `home`
  home.get().synchronize();
  CHECK(cudaGetLastError() == cudaSuccess);
}
