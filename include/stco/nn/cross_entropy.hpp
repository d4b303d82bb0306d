// stco/nn/cross_entropy.hpp — softmax cross-entropy loss, numerically stable, mean over the batch.
//
//     auto l = stco::nn::softmax_cross_entropy(logits, labels.data());   // logits [N, 1, 1, C]
//     model.backward(l.dlogits);
#pragma once

#include <type_traits>

#include "stco/nn/backend.hpp"
#include "stco/nn/cpu/cross_entropy.hpp"

namespace stco::nn {

template <class T, class B = cpu>
struct loss_result {
  double loss = 0;                            ///< mean over the batch of −log p(label)
  typename B::template tensor<T, 4> dlogits;  ///< dloss/dlogits, same shape as the logits
};

/// Loss and gradient for logits [N, 1, 1, C] and N integer labels in [0, C). argument_error
/// naming the sample for a label outside [0, C); shape_error for logits of another shape.
/// (A device backend overloads this on its tensor type.)
template <class T, class Label>
loss_result<T, cpu> softmax_cross_entropy(const stco::tensor<T, 4>& logits, const Label* labels) {
  using B = cpu;
  static_assert(std::is_integral_v<Label>, "stco::nn::softmax_cross_entropy: integer labels");
  const shape4 s = detail::shape_of(logits);
  if (s[1] != 1 || s[2] != 1 || s[3] < 1)
    throw shape_error(stco::detail::message("stco::nn::softmax_cross_entropy: logits ",
                                            detail::shape_text(s), " must be [N, 1, 1, classes]"));
  for (index_t n = 0; n < s[0]; ++n)
    if (static_cast<long long>(labels[n]) < 0 || static_cast<long long>(labels[n]) >= s[3])
      throw argument_error(stco::detail::message("stco::nn::softmax_cross_entropy: label ",
                                                 static_cast<long long>(labels[n]), " of sample ",
                                                 n, " is outside [0, ", s[3], ")"));
  loss_result<T, B> r;
  r.dlogits = typename B::template tensor<T, 4>(dextents<4>(s[0], 1, 1, s[3]));
  r.loss = softmax_cross_entropy(B{}, logits.data(), labels, s[0], s[3], r.dlogits.data());
  return r;
}

/// How many of the N samples' largest logits are at their label (ties: the lowest class).
template <class T, class Label>
index_t count_correct(const stco::tensor<T, 4>& logits, const Label* labels) {
  const index_t N = logits.extent(0), C = logits.extent(3);
  index_t ok = 0;
  for (index_t n = 0; n < N; ++n) {
    const T* z = logits.data() + n * C;
    index_t best = 0;
    for (index_t c = 1; c < C; ++c)
      if (z[c] > z[best]) best = c;
    ok += best == static_cast<index_t>(labels[n]);
  }
  return ok;
}

}  // namespace stco::nn
