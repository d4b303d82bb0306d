// Address carrying: W, its gradient (grad.wrt and wrt_into) and the optimizer state share one
// index entity object; the derived address maps (the transposed traversal) are built once per
// entity and reused by every later training step; a mask update builds a new entity, and with it
// the maps once more.
#include <doctest/doctest.h>

#include <cstddef>
#include <string>

#include "../layout/layout_list.hpp"
#include "../support/reference_epilogue.hpp"
#include "conv_support.hpp"
#include "stco/stco.hpp"

namespace {

using namespace stco_test;
using stco::index_t;

/// relu(W·X + b) on [24, 40]·[40, 20]: ragged for every tile height and N:M group in the lists.
template <class L>
struct matmul_problem {
  static constexpr const char* name = "matmul";
  stco::sparse_matrix<float, L> W;
  stco::tensor<float, 2> X, Y, dY;
  stco::tensor<float, 1> b;

  explicit matmul_problem(double sparsity)
      : W(stco::prune<L>(random_matrix<float>(24, 40), sparsity)),
        X(random_matrix<float>(40, 20)),
        Y(stco::dextents<2>(24, 20)),
        dY(random_matrix<float>(24, 20)),
        b(random_vector<float>(24)) {}
  auto expr() const { return stco::relu(stco::matmul(W, X) + stco::bias(b)); }
  /// A fresh batch: new inputs and upstream gradient, same weight.
  void next_batch() {
    X = random_matrix<float>(40, 20);
    dY = random_matrix<float>(24, 20);
  }
};

/// relu(conv2d(W, X) + b), 3x3 pad 1, with `groups` groups.
template <class L>
struct conv_problem {
  static constexpr const char* name = "conv2d";
  conv_setting s;
  stco::sparse_matrix<float, L> W;
  stco::tensor<float, 4> X, Y, dY;
  stco::tensor<float, 1> b;

  conv_problem(double sparsity, index_t groups)
      : s{"3x3 pad 1", 2, 6, 5, 4, 12, 3, 3, 1, 1, 1, 1, 1, 1, groups, false},
        W(stco::prune<L>(random_matrix<float>(s.cout, s.k()), sparsity)),
        X(random_tensor4<float>(s.batch, s.h, s.w, s.cin)),
        Y(stco::dextents<4>(s.batch, s.h, s.w, s.cout)),
        dY(random_tensor4<float>(s.batch, s.h, s.w, s.cout)),
        b(random_vector<float>(s.cout)) {}
  auto expr() const { return stco::relu(stco::conv2d(W, X, s.params()) + stco::bias(b)); }
  void next_batch() {
    X = random_tensor4<float>(s.batch, s.h, s.w, s.cin);
    dY = random_tensor4<float>(s.batch, s.h, s.w, s.cout);
  }
};

/// One training step: forward, dX, dW (into the caller's dW), db and the optimizer's update.
template <class P, class DW, class Opt>
void train_step(P& p, DW& dW, Opt& opt) {
  p.next_batch();
  const auto e = p.expr();
  stco::activation_stash<float> stash;
  stco::eval(p.Y, e, stash);
  auto g = stco::grad(e, p.dY, stash);
  static_cast<void>(g.wrt(p.X));  // dX walks the transposed traversal
  g.wrt_into(p.W, dW);
  const auto db = g.wrt(p.b);
  opt.step(p.W, dW);
  opt.step(p.b, db);
}

/// W, grad.wrt(W), grad.wrt_into(W, dW), and the sgd and adam state all hold W's entity object.
template <class P>
void check_sharing(P& p) {
  const std::string op = P::name;
  CAPTURE(op);
  using L = typename decltype(p.W)::layout_type;
  const auto* entity = p.W.entity_ptr().get();
  const auto e = p.expr();
  stco::activation_stash<float> stash;
  stco::eval(p.Y, e, stash);
  auto g = stco::grad(e, p.dY, stash);
  const auto dW = g.wrt(p.W);
  CHECK(dW.entity_ptr().get() == entity);
  auto dW2 = p.W.zeros_like();
  CHECK(dW2.entity_ptr().get() == entity);
  g.wrt_into(p.W, dW2);
  CHECK(dW2.entity_ptr().get() == entity);
  CHECK(to_doubles(stco::decode(dW2)) == to_doubles(stco::decode(dW)));

  stco::optim::sgd sgd{0.01f, 0.9f};
  auto W_sgd = p.W;  // a copy shares the entity too
  CHECK(W_sgd.entity_ptr().get() == entity);
  sgd.step(W_sgd, dW);
  sgd.step(W_sgd, dW2);
  CHECK(W_sgd.entity_ptr().get() == entity);
  REQUIRE(sgd.momentum_of(W_sgd) != nullptr);
  CHECK(sgd.momentum_of(W_sgd)->entity_ptr().get() == entity);

  stco::optim::adam adam{1e-3f};
  adam.step(p.W, dW);
  adam.step(p.W, dW2);
  CHECK(p.W.entity_ptr().get() == entity);
  REQUIRE(adam.first_moment_of(p.W) != nullptr);
  REQUIRE(adam.second_moment_of(p.W) != nullptr);
  CHECK(adam.first_moment_of(p.W)->entity_ptr().get() == entity);
  CHECK(adam.second_moment_of(p.W)->entity_ptr().get() == entity);

  // A mask update moves W and the optimizer's state onto one new entity together.
  const auto scores = stco::optim::magnitude_scores(random_matrix<double>(p.W.rows(), p.W.cols()));
  stco::optim::update_mask(p.W, scores, L::default_sparsity, adam);
  const auto* fresh = p.W.entity_ptr().get();
  CHECK(fresh != entity);
  CHECK(adam.first_moment_of(p.W)->entity_ptr().get() == fresh);
  CHECK(adam.second_moment_of(p.W)->entity_ptr().get() == fresh);
  stco::optim::update_mask(W_sgd, scores, L::default_sparsity, sgd);
  CHECK(W_sgd.entity_ptr().get() != entity);
  CHECK(sgd.momentum_of(W_sgd)->entity_ptr().get() == W_sgd.entity_ptr().get());
  // and a new gradient lands on the new entity
  const auto e2 = p.expr();
  stco::eval(p.Y, e2, stash);
  CHECK(stco::grad(e2, p.dY, stash).wrt(p.W).entity_ptr().get() == fresh);
}

/// Derived-map builds over 100 steps: those after step 1 are all there will be, and a layout whose
/// dX walks a cached column map has built at least that one. A mask update starts a new entity at
/// 0 builds, which then builds its maps once and keeps them.
template <class L, class P>
void check_build_count(P& p) {
  const std::string op = P::name;
  CAPTURE(op);
  stco::optim::sgd opt{0.01f, 0.9f};
  auto dW = p.W.zeros_like();
  train_step(p, dW, opt);
  const std::size_t after_first = p.W.entity().derived_builds();
  if (stco::kernel::cpu::layout_kernel<L>::uses_column_map) CHECK(after_first >= 1);
  for (int step = 2; step <= 100; ++step) {
    train_step(p, dW, opt);
    if (p.W.entity().derived_builds() != after_first) {
      CAPTURE(step);
      CHECK(p.W.entity().derived_builds() == after_first);
      break;
    }
  }
  CHECK(p.W.entity().derived_builds() == after_first);

  const auto old = p.W.entity_ptr();
  const auto scores = stco::optim::magnitude_scores(random_matrix<double>(p.W.rows(), p.W.cols()));
  stco::optim::update_mask(p.W, scores, L::default_sparsity, opt);
  REQUIRE(p.W.entity_ptr() != old);
  CHECK(p.W.entity().derived_builds() == 0);
  dW = p.W.zeros_like();
  for (int step = 1; step <= 20; ++step) train_step(p, dW, opt);
  CHECK(p.W.entity().derived_builds() == after_first);
  CHECK(old->derived_builds() == after_first);  // the old entity gained nothing
}

}  // namespace

TEST_CASE_TEMPLATE("W, dW and optimizer state share one entity", L, STCO_TEST_NM_LAYOUTS,
                   STCO_TEST_OTHER_LAYOUTS) {
  CAPTURE(L::name());
  {
    matmul_problem<L> p(L::default_sparsity);
    check_sharing(p);
  }
  {
    conv_problem<L> p(L::default_sparsity, 1);
    check_sharing(p);
  }
}

TEST_CASE_TEMPLATE("the transposed traversal is built once per entity over 100 steps", L,
                   STCO_TEST_NM_LAYOUTS, STCO_TEST_OTHER_LAYOUTS) {
  CAPTURE(L::name());
  {
    matmul_problem<L> p(L::default_sparsity);
    check_build_count<L>(p);
  }
  {
    conv_problem<L> p(L::default_sparsity, 1);
    check_build_count<L>(p);
  }
  {
    conv_problem<L> p(L::default_sparsity, 2);  // grouped: runs per-group row ranges
    check_build_count<L>(p);
  }
}
