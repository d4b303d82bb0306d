// stco/nn/prunable.hpp — what a layer with a prunable weight offers the pruning schedules.
#pragma once

#include <string>

#include "stco/core/index.hpp"
#include "stco/nn/optimizer.hpp"

namespace stco::nn {

/// How a mask update scores the positions of a weight.
struct mask_rule {
  enum class kind {
    magnitude,  ///< |w|: keeps the largest kept weights (pruned positions score 0)
    regrow,     ///< |w| + λ·|g| with the dense gradient g: pruned positions with a large gradient
                ///< regrow, starting from 0 (RigL-style)
    sr_ste,     ///< SR-STE-style: pruned weights live on in a dense shadow, moved at each update by
                ///< the dense gradient (scaled by the steps since the last update) and decayed by
                ///< λ; positions are scored by |shadow| and regrow with their shadow value
  };
  kind how = kind::magnitude;
  double lambda = 0;     ///< regrow: gradient weight; sr_ste: decay of pruned weights
  index_t interval = 1;  ///< steps since the previous update (sr_ste's gradient scale)

  /// Whether the rule needs the dense weight gradient of the step it runs at.
  bool needs_dense_grad() const { return how != kind::magnitude; }
  const char* name() const {
    return how == kind::magnitude ? "magnitude" : how == kind::regrow ? "regrow" : "sr_ste";
  }
};

/// A layer whose weight can be pruned into a layout and whose mask can change during training,
/// stepped by optimizers of type Opt (its backend's optimizer variant).
template <class Opt>
class basic_prunable {
 public:
  using optimizer_type = Opt;
  virtual ~basic_prunable() = default;

  /// L::name() of the layout the weight is pruned into.
  virtual std::string layout_name() const = 0;
  /// True once the weight is in its layout (before: dense warm-up).
  virtual bool is_pruned() const = 0;
  /// The share of the weight's logical positions not kept (0 before pruning).
  virtual double sparsity() const = 0;
  /// The sparsities the layout accepts.
  virtual double min_sparsity() const = 0;
  virtual double max_sparsity() const = 0;
  /// The logical weight shape [R, K].
  virtual matrix_shape weight_shape() const = 0;

  /// Prunes the weight into its layout by magnitude at `sparsity` (or, if already pruned,
  /// re-prunes it: a magnitude mask update). The optimizer's state for the weight follows (a
  /// dense warm-up's state is dropped: the layout's weight is a new parameter).
  virtual void prune(double sparsity, Opt& opt) = 0;
  /// Whether the next backward pass also computes the dense weight gradient (off by default;
  /// mask updates that regrow ask for it at their steps only).
  virtual void request_dense_grad(bool on) = 0;
  /// Re-selects the mask by `rule` at `sparsity`, carrying values and optimizer state onto the new
  /// index entity (stco::optim::update_mask). Rules that need the dense gradient need
  /// request_dense_grad(true) before the last backward (argument_error otherwise).
  virtual void update_mask(const mask_rule& rule, double sparsity, Opt& opt) = 0;
};

/// The host backend's prunable layers.
using prunable = basic_prunable<optimizer>;

}  // namespace stco::nn
