// Optimizers on compressed values and the mask update: sgd, adam and adamw against an independent
// double-precision dense reference over layouts × value types × ragged shapes, with a mask update
// in the middle of the run; state shares the weight's entity; padding stays zero; bad input throws
// and leaves the weight and the state unchanged; a mask update carries values and state exactly.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "../layout/layout_list.hpp"
#include "../support/random.hpp"
#include "stco/optim.hpp"

using namespace stco_test;
using stco::index_t;
using stco::matrix_shape;

#define OPTIM_CASES(T)                                                        \
  lt<stco::nm<2, 4>, T>, lt<stco::tile_wise<8>, T>, lt<stco::block<4, 4>, T>, \
      lt<stco::channel, T>, lt<stco::csr, T>, lt<stco::dense, T>,             \
      lt<stco::tile_vector<8, 2, 4>, T>
#define OPTIM_LAYOUTS                                                                           \
  stco::nm<2, 4>, stco::tile_wise<8>, stco::block<4, 4>, stco::channel, stco::csr, stco::dense, \
      stco::tile_vector<8, 2, 4>

namespace {

// Ragged shapes: K not a multiple of 4 (nm, block), R not a multiple of 8 (tiles) or 4 (blocks),
// K < M, a single row, and an empty matrix.
const std::vector<matrix_shape>& optim_shapes() {
  static const std::vector<matrix_shape> s{{13, 30}, {16, 64}, {7, 5}, {1, 3}, {33, 70}, {0, 6}};
  return s;
}

template <class T>
double tolerance() {
  if constexpr (std::is_same_v<T, double>) return 1e-12;
  if constexpr (std::is_same_v<T, float>) return 2e-5;
  if constexpr (std::is_same_v<T, stco::half>) return 4e-3;
  return 3e-2;  // bfloat16
}

template <class T, class L>
std::vector<double> dense_values(const stco::sparse_matrix<T, L>& s) {
  const auto d = stco::decode(s);
  std::vector<double> out(static_cast<std::size_t>(d.size()));
  for (index_t i = 0; i < d.size(); ++i) out[i] = stco::to_double(d[i]);
  return out;
}

template <class E>
std::vector<unsigned char> mask_of(const E& e) {
  const auto m = stco::kept_mask(e);
  return std::vector<unsigned char>(m.begin(), m.end());
}

/// Every padding slot (outside the logical shape) of s holds zero.
template <class T, class L>
bool padding_is_zero(const stco::sparse_matrix<T, L>& s) {
  bool ok = true;
  const matrix_shape sh = s.shape();
  L::for_each_slot(s.entity(), [&](index_t p, index_t r, index_t c) {
    if ((r >= sh.rows || c >= sh.cols) && stco::to_double(s.values()[p]) != 0.0) ok = false;
  });
  return ok;
}

/// Same entity object and bit-identical values.
template <class T, class L>
bool identical(const stco::sparse_matrix<T, L>& a, const stco::sparse_matrix<T, L>& b) {
  return a.entity_ptr() == b.entity_ptr() && a.value_count() == b.value_count() &&
         (a.value_count() == 0 || std::memcmp(a.values(), b.values(), a.value_bytes()) == 0);
}

bool close(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  bool ok = got.size() == want.size();
  for (std::size_t i = 0; ok && i < got.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= tol * (1.0 + std::fabs(want[i])))) {
      MESSAGE("position " << i << ": got " << got[i] << ", want " << want[i]);
      ok = false;
    }
  return ok;
}

// ---- independent double-precision references on dense matrices, applied at kept positions ----

struct sgd_ref {
  double lr, mu, wd;
  bool nesterov;
  std::vector<double> buf;
  bool started = false;

  explicit sgd_ref(const stco::optim::sgd& o)
      : lr(o.lr), mu(o.momentum), wd(o.weight_decay), nesterov(o.nesterov) {}

  void step(std::vector<double>& w, const std::vector<double>& g,
            const std::vector<unsigned char>& keep) {
    if (buf.empty()) buf.assign(w.size(), 0.0);
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (!keep[i]) continue;
      double d = g[i] + wd * w[i];
      if (mu != 0) {
        buf[i] = started ? mu * buf[i] + d : d;
        d = nesterov ? d + mu * buf[i] : buf[i];
      }
      w[i] -= lr * d;
    }
    started = true;
  }
  void drop(std::size_t i) {
    if (!buf.empty()) buf[i] = 0;
  }
};

template <bool Decoupled>
struct adam_ref {
  double lr, b1, b2, eps, wd;
  std::vector<double> m, v;
  long t = 0;

  explicit adam_ref(const stco::optim::basic_adam<Decoupled>& o)
      : lr(o.lr), b1(o.beta1), b2(o.beta2), eps(o.eps), wd(o.weight_decay) {}

  void step(std::vector<double>& w, const std::vector<double>& g,
            const std::vector<unsigned char>& keep) {
    if (m.empty()) m.assign(w.size(), 0.0), v.assign(w.size(), 0.0);
    ++t;
    const double bc1 = 1 - std::pow(b1, static_cast<double>(t));
    const double bc2 = 1 - std::pow(b2, static_cast<double>(t));
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (!keep[i]) continue;
      double d = g[i];
      if (Decoupled)
        w[i] *= 1 - lr * wd;
      else
        d += wd * w[i];
      m[i] = b1 * m[i] + (1 - b1) * d;
      v[i] = b2 * v[i] + (1 - b2) * d * d;
      const double m_hat = m[i] / bc1, v_hat = v[i] / bc2;
      w[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
  void drop(std::size_t i) {
    if (!m.empty()) m[i] = v[i] = 0;
  }
};

// The optimizer's state for W matches the reference's, shares W's entity and is zero in padding.
template <class W>
void check_state(const stco::optim::sgd& opt, const sgd_ref& ref, const W& w, double tol) {
  const auto* buf = opt.momentum_of(w);
  if (ref.mu == 0) {
    CHECK(buf == nullptr);
    return;
  }
  REQUIRE(buf != nullptr);
  CHECK(buf->entity_ptr() == w.entity_ptr());
  CHECK(padding_is_zero(*buf));
  CHECK(close(dense_values(*buf), ref.buf, tol));
}

template <bool D, class W>
void check_state(const stco::optim::basic_adam<D>& opt, const adam_ref<D>& ref, const W& w,
                 double tol) {
  const auto* m = opt.first_moment_of(w);
  const auto* v = opt.second_moment_of(w);
  REQUIRE(m != nullptr);
  REQUIRE(v != nullptr);
  CHECK(m->entity_ptr() == w.entity_ptr());
  CHECK(v->entity_ptr() == w.entity_ptr());
  CHECK(padding_is_zero(*m));
  CHECK(padding_is_zero(*v));
  CHECK(opt.step_count(w) == ref.t);
  CHECK(close(dense_values(*m), ref.m, tol));
  CHECK(close(dense_values(*v), ref.v, tol));
}

/// Runs `steps` steps of the optimizer made by make_opt on a weight of layout L and value type T,
/// with a mask update (scores random, newly kept positions from a random dense fill) before step
/// `update_at`, and compares weight and state with the reference after every step.
template <class L, class T, class Ref, class MakeOpt>
void run_against_reference(MakeOpt make_opt, matrix_shape shape, int steps, int update_at) {
  const double s = L::default_sparsity, tol = tolerance<T>();
  auto opt = make_opt();
  Ref ref(opt);
  auto W = stco::prune<L>(random_matrix<T>(shape.rows, shape.cols), s);
  auto keep = mask_of(W.entity());
  auto w = dense_values(W);
  for (int step = 0; step < steps; ++step) {
    CAPTURE(step);
    if (step == update_at) {
      const auto scores =
          stco::optim::magnitude_scores(random_matrix<double>(shape.rows, shape.cols));
      const auto fill = random_matrix<T>(shape.rows, shape.cols);
      const auto old_entity = W.entity_ptr();
      const auto old_keep = keep;
      stco::optim::update_mask(W, scores, s, opt, fill);
      CHECK(W.entity_ptr() != old_entity);
      keep = mask_of(W.entity());
      for (std::size_t i = 0; i < keep.size(); ++i)
        if (!keep[i]) {
          w[i] = 0;
          ref.drop(i);
        } else if (!old_keep[i]) {
          w[i] = stco::to_double(fill[static_cast<index_t>(i)]);
          ref.drop(i);
        }
      CHECK(close(dense_values(W), w, tol));
    }
    const auto G = random_matrix<T>(shape.rows, shape.cols);
    const auto dW = stco::gather<T>(G, W.entity_ptr());
    std::vector<double> g(w.size());
    for (std::size_t i = 0; i < g.size(); ++i)
      g[i] = keep[i] ? stco::to_double(G[static_cast<index_t>(i)]) : 0.0;
    const auto entity_before = W.entity_ptr();
    opt.step(W, dW);
    ref.step(w, g, keep);
    for (auto& x : w) x = stco::to_double(stco::from_double<T>(x));  // W is stored as T
    CHECK(W.entity_ptr() == entity_before);  // a step never builds an entity
    CHECK(padding_is_zero(W));
    CHECK(close(dense_values(W), w, tol));
    check_state(opt, ref, W, tol);
  }
}

struct sgd_options {
  float lr, momentum, weight_decay;
  bool nesterov;
};
const std::vector<sgd_options>& sgd_configs() {
  static const std::vector<sgd_options> c{{0.1f, 0.0f, 0.0f, false},
                                          {0.1f, 0.9f, 0.0f, false},
                                          {0.05f, 0.9f, 0.01f, false},
                                          {0.05f, 0.8f, 0.02f, true},
                                          {0.2f, 0.0f, 0.05f, false}};
  return c;
}

struct adam_options {
  float lr, beta1, beta2, eps, weight_decay;
};
const std::vector<adam_options>& adam_configs() {
  static const std::vector<adam_options> c{{1e-2f, 0.9f, 0.999f, 1e-8f, 0.0f},
                                           {2e-2f, 0.8f, 0.99f, 1e-6f, 0.05f},
                                           {5e-3f, 0.0f, 0.5f, 0.0f, 0.1f}};
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Numerics against the reference.

TEST_CASE_TEMPLATE("sgd matches a double-precision dense reference", C, OPTIM_CASES(float),
                   OPTIM_CASES(double)) {
  using L = typename C::layout;
  using T = typename C::value;
  for (const auto& o : sgd_configs())
    for (auto shape : optim_shapes()) {
      CAPTURE(shape);
      CAPTURE(o.momentum);
      CAPTURE(o.nesterov);
      run_against_reference<L, T, sgd_ref>(
          [&] { return stco::optim::sgd(o.lr, o.momentum, o.weight_decay, o.nesterov); }, shape, 6,
          3);
    }
}

TEST_CASE_TEMPLATE("adam matches a double-precision dense reference", C, OPTIM_CASES(float),
                   OPTIM_CASES(double)) {
  using L = typename C::layout;
  using T = typename C::value;
  for (const auto& o : adam_configs())
    for (auto shape : optim_shapes()) {
      CAPTURE(shape);
      CAPTURE(o.weight_decay);
      run_against_reference<L, T, adam_ref<false>>(
          [&] { return stco::optim::adam(o.lr, o.beta1, o.beta2, o.eps, o.weight_decay); }, shape,
          6, 3);
    }
}

TEST_CASE_TEMPLATE("adamw matches a double-precision dense reference", C, OPTIM_CASES(float),
                   OPTIM_CASES(double)) {
  using L = typename C::layout;
  using T = typename C::value;
  for (const auto& o : adam_configs())
    for (auto shape : optim_shapes()) {
      CAPTURE(shape);
      CAPTURE(o.weight_decay);
      run_against_reference<L, T, adam_ref<true>>(
          [&] { return stco::optim::adamw(o.lr, o.beta1, o.beta2, o.eps, o.weight_decay); }, shape,
          6, 3);
    }
}

TEST_CASE_TEMPLATE("16-bit weights keep float state and match the reference", C,
                   lt<stco::nm<2, 4>, stco::half>, lt<stco::tile_wise<8>, stco::half>,
                   lt<stco::nm<2, 4>, stco::bfloat16>, lt<stco::csr, stco::bfloat16>) {
  using L = typename C::layout;
  using T = typename C::value;
  static_assert(std::is_same_v<stco::optim::state_value_t<T>, float>);
  static_assert(std::is_same_v<decltype(std::declval<const stco::optim::sgd&>().momentum_of(
                                   std::declval<const stco::sparse_matrix<T, L>&>())),
                               const stco::sparse_matrix<float, L>*>);
  static_assert(std::is_same_v<decltype(std::declval<const stco::optim::adam&>().first_moment_of(
                                   std::declval<const stco::sparse_matrix<T, L>&>())),
                               const stco::sparse_matrix<float, L>*>);
  for (auto shape : optim_shapes()) {
    CAPTURE(shape);
    run_against_reference<L, T, sgd_ref>([] { return stco::optim::sgd(0.05f, 0.9f, 0.01f, true); },
                                         shape, 4, 2);
    run_against_reference<L, T, adam_ref<true>>([] { return stco::optim::adamw(1e-2f); }, shape, 4,
                                                2);
  }
}

TEST_CASE_TEMPLATE("dense parameters (biases) match the reference", T, float, double) {
  auto run = [](auto opt, auto ref, auto b) {
    using P = decltype(b);
    const double tol = tolerance<T>();
    const std::vector<unsigned char> keep(static_cast<std::size_t>(b.size()), 1);
    std::vector<double> w(keep.size());
    for (index_t i = 0; i < b.size(); ++i)
      w[i] = stco::to_double(b[i] = stco::from_double<T>(0.5 - 0.01 * static_cast<double>(i)));
    for (int step = 0; step < 5; ++step) {
      P db(b.extents());
      std::vector<double> g(keep.size());
      const auto r = random_matrix<T>(1, b.size());
      for (index_t i = 0; i < b.size(); ++i) g[i] = stco::to_double(db[i] = r[i]);
      opt.step(b, db);
      ref.step(w, g, keep);
      std::vector<double> got(keep.size());
      for (index_t i = 0; i < b.size(); ++i) got[i] = stco::to_double(b[i]);
      CHECK(close(got, w, tol));
    }
    return opt;
  };
  {
    const auto opt =
        run(stco::optim::sgd(0.1f, 0.9f, 0.01f), sgd_ref(stco::optim::sgd(0.1f, 0.9f, 0.01f)),
            stco::tensor<T, 1>(stco::dextents<1>(37)));
    CHECK(opt.state_count() == 1);
  }
  run(stco::optim::adam(1e-2f, 0.9f, 0.99f, 1e-8f, 0.01f),
      adam_ref<false>(stco::optim::adam(1e-2f, 0.9f, 0.99f, 1e-8f, 0.01f)),
      stco::tensor<T, 2>(stco::dextents<2>(3, 11)));
  run(stco::optim::adamw(1e-2f), adam_ref<true>(stco::optim::adamw(1e-2f)),
      stco::tensor<T, 1>(stco::dextents<1>(19)));

  // State of a dense parameter has its extents and is reported through the same accessors.
  stco::tensor<T, 2> b(stco::dextents<2>(2, 3)), db(stco::dextents<2>(2, 3));
  db.fill(stco::from_double<T>(1.0));
  stco::optim::adam opt(1e-3f);
  CHECK(opt.first_moment_of(b) == nullptr);
  opt.step(b, db);
  REQUIRE(opt.first_moment_of(b) != nullptr);
  CHECK(opt.first_moment_of(b)->extents() == b.extents());
  CHECK(opt.step_count(b) == 1);
  static_assert(std::is_same_v<decltype(opt.second_moment_of(b)), const stco::tensor<T, 2>*>);
}

// ---------------------------------------------------------------------------------------------
// Address carrying.

TEST_CASE_TEMPLATE("optimizer state shares the weight's entity", L, OPTIM_LAYOUTS) {
  auto W = stco::prune<L>(random_matrix<float>(13, 30), L::default_sparsity);
  auto dW = W.zeros_like();
  stco::optim::sgd sgd(0.1f, 0.9f);
  stco::optim::adam adam(1e-3f);
  CHECK(sgd.momentum_of(W) == nullptr);
  CHECK(adam.first_moment_of(W) == nullptr);
  CHECK(adam.step_count(W) == 0);
  sgd.step(W, dW);
  adam.step(W, dW);
  CHECK(sgd.momentum_of(W)->entity_ptr() == W.entity_ptr());
  CHECK(adam.first_moment_of(W)->entity_ptr() == W.entity_ptr());
  CHECK(adam.second_moment_of(W)->entity_ptr() == W.entity_ptr());
  // W, dW, one buffer, two moments: no optimizer holds a copy of the index.
  CHECK(W.entity_ptr().use_count() == 5);
  sgd.forget(W);
  CHECK(sgd.momentum_of(W) == nullptr);
  CHECK(W.entity_ptr().use_count() == 4);
  adam.clear();
  CHECK(adam.state_count() == 0);
  CHECK(W.entity_ptr().use_count() == 2);
}

TEST_CASE("momentum 0 keeps no state, as PyTorch") {
  auto W = stco::prune<stco::nm<2, 4>>(random_matrix<float>(8, 16));
  stco::optim::sgd opt(0.1f);
  opt.step(W, W.zeros_like());
  CHECK(opt.state_count() == 0);
  CHECK(opt.momentum_of(W) == nullptr);
}

// ---------------------------------------------------------------------------------------------
// Bad input: throws, leaves W (and the state) unchanged.

TEST_CASE("bad hyperparameters are argument_errors") {
  using stco::argument_error;
  using stco::optim::adam;
  using stco::optim::adamw;
  using stco::optim::sgd;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  CHECK_THROWS_AS(sgd(0.0f), argument_error);
  CHECK_THROWS_AS(sgd(-0.1f), argument_error);
  CHECK_THROWS_AS(sgd{nan}, argument_error);
  CHECK_THROWS_AS(sgd{inf}, argument_error);
  CHECK_THROWS_AS(sgd(0.1f, -0.5f), argument_error);
  CHECK_THROWS_AS(sgd(0.1f, 0.0f, -1.0f), argument_error);
  CHECK_THROWS_AS(sgd(0.1f, 0.0f, 0.0f, true), argument_error);  // Nesterov needs momentum
  CHECK_NOTHROW(sgd(0.1f, 0.9f, 0.0f, true));
  CHECK_THROWS_WITH_AS(sgd(-1.0f), doctest::Contains("learning rate"), argument_error);
  CHECK_THROWS_AS(adam(0.0f), argument_error);
  CHECK_THROWS_AS(adam(1e-3f, 1.0f), argument_error);
  CHECK_THROWS_AS(adam(1e-3f, -0.1f), argument_error);
  CHECK_THROWS_AS(adam(1e-3f, 0.9f, 1.0f), argument_error);
  CHECK_THROWS_AS(adam(1e-3f, 0.9f, nan), argument_error);
  CHECK_THROWS_AS(adam(1e-3f, 0.9f, 0.999f, -1e-8f), argument_error);
  CHECK_THROWS_AS(adam(1e-3f, 0.9f, 0.999f, 1e-8f, -0.1f), argument_error);
  CHECK_THROWS_AS(adamw(1e-3f, 0.9f, 1.5f), argument_error);
  CHECK_THROWS_WITH_AS(adamw(1e-3f, 0.9f, 1.5f), doctest::Contains("stco::optim::adamw"),
                       argument_error);
  CHECK(adam().weight_decay == 0.0f);  // PyTorch's defaults
  CHECK(adamw().weight_decay == 0.01f);
}

TEST_CASE_TEMPLATE("hyperparameters changed to bad values fail the step, W unchanged", L,
                   stco::nm<2, 4>, stco::tile_wise<8>) {
  auto W = stco::prune<L>(random_matrix<float>(10, 21), L::default_sparsity);
  const auto dW = stco::gather<float>(random_matrix<float>(10, 21), W.entity_ptr());
  stco::optim::sgd sgd(0.1f, 0.9f);
  stco::optim::adamw adamw(1e-3f);
  sgd.step(W, dW);
  adamw.step(W, dW);
  const auto before = W;
  const auto buf_before = *sgd.momentum_of(W);
  const auto m_before = *adamw.first_moment_of(W);
  sgd.lr = -1.0f;
  CHECK_THROWS_AS(sgd.step(W, dW), stco::argument_error);
  sgd.lr = 0.1f;
  sgd.momentum = 0.0f;
  sgd.nesterov = true;
  CHECK_THROWS_AS(sgd.step(W, dW), stco::argument_error);
  adamw.beta1 = 1.0f;
  CHECK_THROWS_AS(adamw.step(W, dW), stco::argument_error);
  CHECK(identical(W, before));
  CHECK(identical(*sgd.momentum_of(W), buf_before));
  CHECK(identical(*adamw.first_moment_of(W), m_before));
  CHECK(adamw.step_count(W) == 1);
}

TEST_CASE_TEMPLATE("a gradient over another entity is a shape_error, W unchanged", L,
                   OPTIM_LAYOUTS) {
  const auto X = random_matrix<float>(13, 30);
  auto W = stco::prune<L>(X, L::default_sparsity);
  // The same pattern, but another entity object: address carrying requires the very same one.
  const auto W2 = stco::prune<L>(X, L::default_sparsity);
  const auto dW2 = stco::gather<float>(random_matrix<float>(13, 30), W2.entity_ptr());
  const auto before = W;
  stco::optim::sgd sgd(0.1f, 0.9f);
  stco::optim::adam adam(1e-3f);
  stco::optim::adamw adamw(1e-3f);
  CHECK_THROWS_WITH_AS(sgd.step(W, dW2),
                       doctest::Contains("gradient does not share the weight's index entity"),
                       stco::shape_error);
  CHECK_THROWS_WITH_AS(adam.step(W, dW2), doctest::Contains("[13, 30]"), stco::shape_error);
  CHECK_THROWS_AS(adamw.step(W, dW2), stco::shape_error);
  CHECK(identical(W, before));
  // A failed first step creates no state.
  CHECK(sgd.state_count() == 0);
  CHECK(adam.state_count() == 0);
  CHECK(adamw.state_count() == 0);
}

TEST_CASE("a dense gradient of another shape is a shape_error, b unchanged") {
  stco::tensor<float, 1> b(stco::dextents<1>(5)), db(stco::dextents<1>(6));
  b.fill(1.0f);
  stco::optim::sgd sgd(0.1f, 0.9f);
  stco::optim::adam adam(1e-3f);
  CHECK_THROWS_WITH_AS(sgd.step(b, db), doctest::Contains("[6]"), stco::shape_error);
  CHECK_THROWS_AS(adam.step(b, db), stco::shape_error);
  for (float x : b) CHECK(x == 1.0f);
  CHECK(sgd.state_count() == 0);
  CHECK(adam.state_count() == 0);
}

TEST_CASE_TEMPLATE("state over a stale entity (mask changed without remap) is a shape_error", L,
                   stco::nm<2, 4>, stco::tile_wise<8>, stco::csr) {
  auto W = stco::prune<L>(random_matrix<float>(12, 24), L::default_sparsity);
  stco::optim::sgd sgd(0.1f, 0.9f);
  stco::optim::adam adam(1e-3f);
  sgd.step(W, W.zeros_like());
  adam.step(W, W.zeros_like());
  // Re-prune W in place behind the optimizers' back: same address, new entity.
  W = stco::prune<L>(random_matrix<float>(12, 24), L::default_sparsity);
  const auto before = W;
  const auto dW = stco::gather<float>(random_matrix<float>(12, 24), W.entity_ptr());
  CHECK_THROWS_WITH_AS(sgd.step(W, dW), doctest::Contains("without a remap"), stco::shape_error);
  CHECK_THROWS_AS(adam.step(W, dW), stco::shape_error);
  CHECK(identical(W, before));
  CHECK(adam.step_count(W) == 1);
  // forget() restarts the state over the new entity.
  sgd.forget(W);
  adam.forget(W);
  sgd.step(W, dW);
  adam.step(W, dW);
  CHECK(sgd.momentum_of(W)->entity_ptr() == W.entity_ptr());
  CHECK(adam.first_moment_of(W)->entity_ptr() == W.entity_ptr());
  CHECK(adam.step_count(W) == 1);
}

TEST_CASE("state of another parameter type at the same address is refused") {
  using A = stco::sparse_matrix<float, stco::nm<2, 4>>;
  using B = stco::sparse_matrix<double, stco::nm<2, 4>>;
  alignas(A) alignas(B) unsigned char storage[sizeof(A) > sizeof(B) ? sizeof(A) : sizeof(B)];
  stco::optim::sgd opt(0.1f, 0.9f);
  {
    A* a = new (storage) A(stco::prune<stco::nm<2, 4>>(random_matrix<float>(4, 8)));
    opt.step(*a, a->zeros_like());
    a->~A();
  }
  B* b = new (storage) B(stco::prune<stco::nm<2, 4>>(random_matrix<double>(4, 8)));
  const B before = *b;
  CHECK(opt.momentum_of(*b) == nullptr);  // no state of b's type
  CHECK_THROWS_WITH_AS(opt.step(*b, b->zeros_like()), doctest::Contains("forget"),
                       stco::argument_error);
  CHECK(identical(*b, before));
  opt.forget(*b);
  opt.step(*b, b->zeros_like());
  CHECK(opt.momentum_of(*b) != nullptr);
  b->~B();
}

// ---------------------------------------------------------------------------------------------
// Mask update.

TEST_CASE("score helpers") {
  const auto w = random_matrix<float>(5, 7);
  const auto g = random_matrix<double>(5, 7);
  const auto m = stco::optim::magnitude_scores(w);
  const auto mg = stco::optim::magnitude_gradient_scores(w, g.view(), 0.25);
  for (index_t i = 0; i < w.size(); ++i) {
    CHECK(m[i] == std::fabs(static_cast<double>(w[i])));
    CHECK(mg[i] == std::fabs(static_cast<double>(w[i])) + 0.25 * std::fabs(g[i]));
  }
  CHECK_THROWS_AS(stco::optim::magnitude_gradient_scores(w, random_matrix<float>(5, 6), 0.1),
                  stco::shape_error);
  CHECK_THROWS_AS(stco::optim::magnitude_gradient_scores(w, g, -0.1), stco::argument_error);
  CHECK_THROWS_AS(stco::optim::magnitude_gradient_scores(w, g, std::nan("")), stco::argument_error);
}

TEST_CASE_TEMPLATE("reselect picks what prune by the same scores picks", L, OPTIM_LAYOUTS) {
  const auto X = random_matrix<float>(13, 30);
  const auto W = stco::prune<L>(X, L::default_sparsity);
  const auto scores = random_matrix<float>(13, 30);  // any value type
  const auto e = stco::optim::reselect(W, scores, L::default_sparsity);
  CHECK(e != W.entity_ptr());
  CHECK(mask_of(*e) == mask_of(stco::prune<L>(X, scores, L::default_sparsity).entity()));
  CHECK_THROWS_AS(stco::optim::reselect(W, random_matrix<float>(13, 29), L::default_sparsity),
                  stco::shape_error);
  CHECK_THROWS_AS(stco::optim::reselect(W, scores, 1.5), stco::argument_error);
  auto bad = random_matrix<double>(13, 30);
  bad(4, 5) = std::nan("");
  CHECK_THROWS_WITH_AS(stco::optim::reselect(W, bad, L::default_sparsity),
                       doctest::Contains("(4, 5)"), stco::argument_error);
}

namespace {

template <class T, class L>
auto states_of(const stco::optim::sgd& o, const stco::sparse_matrix<T, L>& W) {
  return std::vector{o.momentum_of(W)};
}
template <bool D, class T, class L>
auto states_of(const stco::optim::basic_adam<D>& o, const stco::sparse_matrix<T, L>& W) {
  return std::vector{o.first_moment_of(W), o.second_moment_of(W)};
}

/// Two steps, then a mask update (with a fill matrix or without): kept-in-both positions keep
/// their value and state bit for bit, newly kept ones take the fill (or 0) and zero state, dropped
/// ones vanish; W and the state share the new entity, and nothing holds the old one any more.
template <class L, class Opt>
void check_mask_update_carries(Opt opt, bool with_fill) {
  const matrix_shape sh{13, 30};
  const double s = L::default_sparsity;
  auto W = stco::prune<L>(random_matrix<float>(sh.rows, sh.cols), s);
  for (int i = 0; i < 2; ++i)
    opt.step(W, stco::gather<float>(random_matrix<float>(sh.rows, sh.cols), W.entity_ptr()));
  std::shared_ptr<const typename L::entity> old_entity = W.entity_ptr();
  const auto old_keep = mask_of(W.entity());
  const auto old_w = dense_values(W);
  std::vector<std::vector<double>> old_state;
  for (const auto* st : states_of(opt, W)) old_state.push_back(dense_values(*st));
  const auto scores = stco::optim::magnitude_scores(random_matrix<float>(sh.rows, sh.cols));
  const auto fill = random_matrix<float>(sh.rows, sh.cols);

  if (with_fill)
    stco::optim::update_mask(W, scores, s, opt, fill);
  else
    stco::optim::update_mask(W, scores, s, opt);

  CHECK(W.entity_ptr() != old_entity);
  CHECK(old_entity.use_count() == 1);  // neither W nor the state still holds the old entity
  const auto keep = mask_of(W.entity());
  CHECK(keep == mask_of(*L::select(scores.view(), s)));
  CHECK(padding_is_zero(W));
  const auto w = dense_values(W);
  const auto states = states_of(opt, W);
  std::vector<std::vector<double>> state;
  for (const auto* st : states) {
    REQUIRE(st != nullptr);
    CHECK(st->entity_ptr() == W.entity_ptr());
    CHECK(padding_is_zero(*st));
    state.push_back(dense_values(*st));
  }
  index_t both = 0, fresh = 0;
  bool ok = true;
  for (std::size_t i = 0; i < keep.size(); ++i) {
    const double want_new = with_fill ? static_cast<double>(fill[static_cast<index_t>(i)]) : 0.0;
    if (keep[i] && old_keep[i]) {
      ++both;
      ok = ok && w[i] == old_w[i];
      for (std::size_t k = 0; k < state.size(); ++k) ok = ok && state[k][i] == old_state[k][i];
    } else if (keep[i]) {
      ++fresh;
      ok = ok && w[i] == want_new;
      for (const auto& st : state) ok = ok && st[i] == 0.0;
    } else {
      ok = ok && w[i] == 0.0;
      for (const auto& st : state) ok = ok && st[i] == 0.0;
    }
  }
  CHECK(ok);
  CHECK(both + fresh == W.kept());
  if (!std::is_same_v<L, stco::dense>) CHECK(fresh > 0);  // random scores do move the mask
  // Training goes on over the new entity.
  opt.step(W, stco::gather<float>(random_matrix<float>(sh.rows, sh.cols), W.entity_ptr()));
  for (const auto* st : states_of(opt, W)) CHECK(st->entity_ptr() == W.entity_ptr());
}

}  // namespace

TEST_CASE_TEMPLATE("a mask update carries values and state exactly", L, OPTIM_LAYOUTS) {
  for (bool with_fill : {false, true}) {
    CAPTURE(with_fill);
    check_mask_update_carries<L>(stco::optim::sgd(0.1f, 0.9f, 0.01f), with_fill);
    check_mask_update_carries<L>(stco::optim::adam(1e-2f), with_fill);
    check_mask_update_carries<L>(stco::optim::adamw(1e-2f, 0.9f, 0.99f), with_fill);
  }
  // The step count carries on through a mask update (bias correction does not restart).
  auto W = stco::prune<L>(random_matrix<float>(9, 20), L::default_sparsity);
  stco::optim::adam adam(1e-2f);
  adam.step(W, W.zeros_like());
  adam.step(W, W.zeros_like());
  stco::optim::update_mask(W, random_matrix<float>(9, 20), L::default_sparsity, adam);
  CHECK(adam.step_count(W) == 2);
}

TEST_CASE_TEMPLATE("a mask update without an optimizer", L, stco::nm<2, 4>, stco::tile_wise<8>,
                   stco::csr) {
  const double s = L::default_sparsity;
  auto W = stco::prune<L>(random_matrix<double>(10, 22), s);
  const auto scores = random_matrix<double>(10, 22);
  const auto fill = random_matrix<double>(10, 22);
  auto V = W;
  const auto old_keep = mask_of(W.entity());
  const auto old_w = dense_values(W);
  stco::optim::update_mask(W, scores, s);  // newly kept start at 0
  stco::optim::update_mask(V, scores, s,
                           fill);  // newly kept from fill (a matrix, not an optimizer)
  const auto keep = mask_of(W.entity());
  CHECK(keep == mask_of(V.entity()));
  CHECK(W.entity_ptr() != V.entity_ptr());  // each update builds its own entity
  const auto w = dense_values(W), v = dense_values(V);
  bool ok = true;
  for (std::size_t i = 0; i < keep.size(); ++i) {
    const double carried = keep[i] && old_keep[i] ? old_w[i] : 0.0;
    ok = ok && w[i] == carried;
    ok = ok && v[i] == (keep[i] && !old_keep[i] ? fill[static_cast<index_t>(i)] : carried);
  }
  CHECK(ok);
  // A view works as fill too.
  CHECK_NOTHROW(stco::optim::update_mask(V, scores, s, fill.view()));
}

TEST_CASE_TEMPLATE("a failed mask update leaves W and the state unchanged", L, OPTIM_LAYOUTS) {
  const matrix_shape sh{13, 30};
  const double s = L::default_sparsity;
  auto W = stco::prune<L>(random_matrix<float>(sh.rows, sh.cols), s);
  stco::optim::adam opt(1e-2f);
  for (int i = 0; i < 2; ++i)
    opt.step(W, stco::gather<float>(random_matrix<float>(sh.rows, sh.cols), W.entity_ptr()));
  const auto before = W;
  const auto m_before = *opt.first_moment_of(W);
  const auto v_before = *opt.second_moment_of(W);
  auto unchanged = [&] {
    CHECK(identical(W, before));
    CHECK(identical(*opt.first_moment_of(W), m_before));
    CHECK(identical(*opt.second_moment_of(W), v_before));
    CHECK(opt.step_count(W) == 2);
  };
  const auto scores = random_matrix<float>(sh.rows, sh.cols);
  const auto fill = random_matrix<float>(sh.rows, sh.cols);
  // reselect fails: bad sparsity, scores of the wrong shape, a NaN score.
  CHECK_THROWS_AS(stco::optim::update_mask(W, scores, 1.5, opt), stco::argument_error);
  unchanged();
  CHECK_THROWS_AS(stco::optim::update_mask(W, scores, -0.25, opt, fill), stco::argument_error);
  unchanged();
  if (L::min_sparsity == L::max_sparsity && L::min_sparsity != 0.25) {
    CHECK_THROWS_AS(stco::optim::update_mask(W, scores, 0.25, opt), stco::argument_error);
    unchanged();
  }
  CHECK_THROWS_AS(stco::optim::update_mask(W, random_matrix<float>(sh.rows + 1, sh.cols), s, opt),
                  stco::shape_error);
  unchanged();
  auto nan_scores = scores;
  nan_scores(3, 3) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(stco::optim::update_mask(W, nan_scores, s, opt), stco::argument_error);
  unchanged();
  // reselect succeeds, carrying W fails: a fill of the wrong shape.
  CHECK_THROWS_AS(
      stco::optim::update_mask(W, scores, s, opt, random_matrix<float>(sh.rows, sh.cols + 2)),
      stco::shape_error);
  unchanged();
  // After all that, a good update goes through.
  stco::optim::update_mask(W, scores, s, opt, fill);
  CHECK(W.entity_ptr() != before.entity_ptr());
  CHECK(opt.first_moment_of(W)->entity_ptr() == W.entity_ptr());
}

TEST_CASE_TEMPLATE("a mask update whose optimizer remap fails leaves W unchanged", L,
                   stco::nm<2, 4>, stco::tile_wise<8>, stco::block<4, 4>) {
  const double s = L::default_sparsity;
  auto W = stco::prune<L>(random_matrix<float>(12, 24), s);
  stco::optim::sgd opt(0.1f, 0.9f);
  opt.step(W, stco::gather<float>(random_matrix<float>(12, 24), W.entity_ptr()));
  const auto buf_before = *opt.momentum_of(W);
  // W's mask changes behind the optimizer's back, so its state is stale and its remap throws
  // after W's new values are already computed.
  W = stco::prune<L>(random_matrix<float>(12, 24), s);
  const auto before = W;
  CHECK_THROWS_AS(stco::optim::update_mask(W, random_matrix<float>(12, 24), s, opt),
                  stco::shape_error);
  CHECK(identical(W, before));
  CHECK(identical(*opt.momentum_of(W), buf_before));
}

TEST_CASE("remap and remap_plan") {
  using L = stco::tile_wise<8>;
  const matrix_shape sh{20, 33};
  const auto W = stco::prune<L>(random_matrix<float>(sh.rows, sh.cols), 0.5);
  const auto e = stco::optim::reselect(W, random_matrix<float>(sh.rows, sh.cols), 0.5);
  const auto fill = random_matrix<double>(sh.rows, sh.cols);  // converted to float
  const auto zero = stco::optim::remap(W, e);
  const auto filled = stco::optim::remap(W, e, fill);
  CHECK(zero.entity_ptr() == e);
  CHECK(filled.entity_ptr() == e);
  const stco::optim::remap_plan<L> plan(W.entity_ptr(), e);
  CHECK(plan.source() == W.entity_ptr());
  CHECK(plan.target() == e);
  CHECK(plan.carried() + plan.fresh() == e->kept());
  const auto old_keep = mask_of(W.entity()), keep = mask_of(*e);
  const auto w = dense_values(W), z = dense_values(zero), f = dense_values(filled);
  index_t both = 0;
  bool ok = true;
  for (std::size_t i = 0; i < keep.size(); ++i) {
    both += keep[i] && old_keep[i];
    const double carried = keep[i] && old_keep[i] ? w[i] : 0.0;
    const double fresh =
        keep[i] && !old_keep[i]
            ? static_cast<double>(static_cast<float>(fill[static_cast<index_t>(i)]))
            : carried;
    ok = ok && z[i] == carried && f[i] == fresh;
  }
  CHECK(ok);
  CHECK(plan.carried() == both);
  // Onto its own entity: a copy.
  CHECK(identical(stco::optim::remap(W, W.entity_ptr()), W));
  // Bad input.
  CHECK_THROWS_AS(stco::optim::remap(W, nullptr), stco::argument_error);
  const auto other = stco::prune<L>(random_matrix<float>(sh.rows, sh.cols + 1), 0.5);
  CHECK_THROWS_WITH_AS(stco::optim::remap(W, other.entity_ptr()), doctest::Contains("[20, 34]"),
                       stco::shape_error);
  CHECK_THROWS_AS(stco::optim::remap(W, e, random_matrix<float>(sh.rows - 1, sh.cols)),
                  stco::shape_error);
  CHECK_THROWS_AS(plan.apply(zero), stco::shape_error);  // zero is over e, not the plan's source
  // An optimizer with no state for W only checks the arguments.
  stco::optim::sgd sgd(0.1f, 0.9f);
  stco::optim::adam adam(1e-3f);
  CHECK_NOTHROW(sgd.remap(W, e));
  CHECK_NOTHROW(adam.remap(W, e));
  CHECK(sgd.state_count() == 0);
  CHECK_THROWS_AS(sgd.remap(W, nullptr), stco::argument_error);
  CHECK_THROWS_AS(adam.remap(W, other.entity_ptr()), stco::shape_error);
}
