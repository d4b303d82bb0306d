// stco/nn/backend.hpp — the seam between the layers and the machine they run on.
//
// A backend is a tag type that names the storage its layers use (activations, weights, biases).
// Every numeric step of a layer — the fused expressions of Conv2d and Linear, pooling, batch norm,
// the loss — is a free function overloaded on the tag, called unqualified from the layer:
//
//     max_pool2d_forward(B{}, x, geometry, y, argmax);      // finds the overload for B by ADL
//
// `cpu` and its overloads (stco/nn/cpu/*.hpp) are the host implementation. A device backend is a
// second tag plus the same overloads in its own header; the layers, the container, pruning and
// save/load are written once against the tag.
#pragma once

#include <array>
#include <cstddef>

#include "stco/core/tensor.hpp"
#include "stco/expr/activation_stash.hpp"
#include "stco/layout/sparse_matrix.hpp"
#include "stco/nn/optimizer.hpp"

namespace stco::nn {

/// The host backend: stco::tensor activations, sparse_matrix weights, the CPU kernels, the
/// host optimizers. (A backend names: tensor<T, R> — constructible from dextents<R>, zero-filled —,
/// matrix<T, L>, stash<T> (the activation inputs a fused ReLU keeps) and optimizer.)
struct cpu {
  static constexpr const char* name() { return "cpu"; }
  template <class T, std::size_t R>
  using tensor = stco::tensor<T, R>;
  template <class T, class L>
  using matrix = stco::sparse_matrix<T, L>;
  template <class T>
  using stash = stco::activation_stash<T>;
  using optimizer = ::stco::nn::optimizer;
};

/// Names a layout in a backend call (prune_weight(B{}, layout_tag<L>{}, ...)).
template <class L>
struct layout_tag {};

/// Extents of an NHWC activation: [batch, height, width, channels].
using shape4 = std::array<index_t, 4>;

namespace detail {
/// Resizes `t` to `s` when its shape differs (contents then zero), keeping it otherwise: layers
/// reuse their output and gradient buffers from step to step.
/// (Any backend's tensor type: host or device.)
template <class Tn>
void ensure_shape(Tn& t, const shape4& s) {
  static_assert(Tn::rank() == 4, "stco::nn: activations are rank-4 NHWC tensors");
  if (t.extent(0) != s[0] || t.extent(1) != s[1] || t.extent(2) != s[2] || t.extent(3) != s[3])
    t = Tn(dextents<4>(s[0], s[1], s[2], s[3]));
}
template <class Tn>
void ensure_shape(Tn& t, index_t rows, index_t cols) {
  static_assert(Tn::rank() == 2, "stco::nn: ensure_shape(rows, cols) takes a rank-2 tensor");
  if (t.extent(0) != rows || t.extent(1) != cols) t = Tn(dextents<2>(rows, cols));
}
template <class Tn>
shape4 shape_of(const Tn& t) {
  static_assert(Tn::rank() == 4, "stco::nn: activations are rank-4 NHWC tensors");
  return {t.extent(0), t.extent(1), t.extent(2), t.extent(3)};
}
inline std::string shape_text(const shape4& s) {
  return stco::detail::message("[", s[0], ", ", s[1], ", ", s[2], ", ", s[3], "]");
}
}  // namespace detail

}  // namespace stco::nn
