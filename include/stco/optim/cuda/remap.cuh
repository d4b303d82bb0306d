// stco/optim/cuda/remap.cuh — carrying device values from one device entity to another of the
// same shape (a mask update): positions kept in both keep their values, newly kept ones start
// from a dense device matrix or zero. The slot correspondence is built once on the device from
// both entities' cached slot coordinates (an R·K map, transient) and applied to the weight and
// each optimizer state tensor.
#pragma once

#include <cstdint>
#include <memory>

#include "stco/core/cuda/device_buffer.cuh"
#include "stco/core/cuda/device_tensor.cuh"
#include "stco/kernel/cuda/launch.cuh"
#include "stco/kernel/cuda/portable/slot_maps.cuh"
#include "stco/kernel/cuda/values.cuh"
#include "stco/layout/cuda/device_sparse_matrix.cuh"

namespace stco::cuda::optim {

namespace detail {
/// map[at[s]] = s for every stored slot of the old entity.
struct slot_lookup {
  static constexpr int threads = 256;
  struct params {
    const index_t* at;
    index_t n;
    std::int32_t* map;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t s = b.block_x() * threads + b.thread();
    if (s < p.n && p.at[s] >= 0) p.map[p.at[s]] = static_cast<std::int32_t>(s);
  }
};
/// src[s] = the old slot of new slot s's position, or -1 (newly kept, or padding).
struct remap_sources {
  static constexpr int threads = 256;
  struct params {
    const index_t* at;
    const std::int32_t* map;
    index_t n;
    std::int32_t* src;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t s = b.block_x() * threads + b.thread();
    if (s < p.n) p.src[s] = p.at[s] >= 0 ? p.map[p.at[s]] : -1;
  }
};
/// out[s] = in[src[s]], else fill at the new position (converted), else 0.
template <class U, class V>
struct remap_apply {
  static constexpr int threads = 256;
  struct params {
    const U* in;
    const std::int32_t* src;
    const index_t* at;
    const V* fill;
    index_t n;
    U* out;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t s = b.block_x() * threads + b.thread();
    if (s >= p.n) return;
    if (p.src[s] >= 0) {
      p.out[s] = p.in[p.src[s]];
    } else if (p.fill && p.at[s] >= 0) {
      if constexpr (std::is_same_v<U, V>)
        p.out[s] = p.fill[p.at[s]];
      else
        p.out[s] = from_double<U>(to_double(p.fill[p.at[s]]));
    } else {
      p.out[s] = U{};
    }
  }
};
}  // namespace detail

template <class L>
class remap_plan {
 public:
  using entity_type = device_entity<L>;

  /// argument_error if either entity is null, shape_error if their logical shapes differ.
  remap_plan(std::shared_ptr<const entity_type> from, std::shared_ptr<const entity_type> to,
             stream s)
      : from_(std::move(from)), to_(std::move(to)) {
    check_target(from_.get(), to_.get());
    const matrix_shape sh = from_->logical_shape();
    const auto& old_at = kernel::cuda::coords_of(*from_, s);
    const auto& new_at = kernel::cuda::coords_of(*to_, s);
    new_at_ = new_at.at.data();
    device_buffer<std::int32_t> map(sh.size(), s);
    if (map.size() > 0) STCO_CUDA_CHECK(cudaMemsetAsync(map.data(), 0xff, map.bytes(), s.get()));
    const index_t n_old = from_->compressed_shape().size();
    n_ = to_->compressed_shape().size();
    kernel::cuda::launch<detail::slot_lookup>({ceil_div(n_old, 256), 1}, s,
                                              {old_at.at.data(), n_old, map.data()});
    src_ = device_buffer<std::int32_t>(n_, s);
    kernel::cuda::launch<detail::remap_sources>({ceil_div(n_, 256), 1}, s,
                                                {new_at_, map.data(), n_, src_.data()});
  }

  static void check_target(const entity_type* from, const entity_type* to) {
    if (!from || !to)
      throw argument_error(
          stco::detail::message("stco::cuda::optim::remap<", L::name(), ">: null device entity"));
    if (to->logical_shape() != from->logical_shape())
      throw shape_error(stco::detail::message("stco::cuda::optim::remap<", L::name(),
                                              ">: the new entity's shape ", to->logical_shape(),
                                              " differs from the old ", from->logical_shape()));
  }

  /// `old` carried onto the new entity (newly kept positions 0), queued on `s`.
  template <class U>
  device_sparse_matrix<U, L> apply(const device_sparse_matrix<U, L>& old, stream s) const {
    return apply_fill<U, U>(old, nullptr, s);
  }
  /// As apply(old), newly kept positions taken from the dense device [R, K] matrix `fill`.
  template <class U, class V, class E>
  device_sparse_matrix<U, L> apply(const device_sparse_matrix<U, L>& old,
                                   const basic_device_tensor<V, E>& fill, stream s) const {
    if (fill.size() != from_->logical_shape().size())
      throw shape_error(stco::detail::message(
          "stco::cuda::optim::remap<", L::name(), ">: fill matrix of ", fill.size(),
          " elements for the weight's shape ", from_->logical_shape()));
    return apply_fill<U, V>(old, fill.data(), s);
  }

 private:
  template <class U, class V>
  device_sparse_matrix<U, L> apply_fill(const device_sparse_matrix<U, L>& old, const V* fill,
                                        stream s) const {
    if (old.entity_ptr() != from_)
      throw shape_error(stco::detail::message("stco::cuda::optim::remap<", L::name(),
                                              ">: the matrix ", old.shape(),
                                              " is not over the plan's source entity"));
    device_sparse_matrix<U, L> out(to_, s);
    kernel::cuda::launch<detail::remap_apply<U, V>>(
        {ceil_div(n_, 256), 1}, s, {old.values(), src_.data(), new_at_, fill, n_, out.values()});
    return out;
  }

  std::shared_ptr<const entity_type> from_, to_;
  const index_t* new_at_ = nullptr;
  index_t n_ = 0;
  device_buffer<std::int32_t> src_;
};

/// A new device matrix over `new_entity` holding `old`'s values where both patterns keep a
/// position and zero at newly kept positions (queued on `s`).
template <class U, class L>
device_sparse_matrix<U, L> remap(const device_sparse_matrix<U, L>& old,
                                 std::shared_ptr<const device_entity<L>> new_entity, stream s) {
  return remap_plan<L>(old.entity_ptr(), std::move(new_entity), s).apply(old, s);
}

}  // namespace stco::cuda::optim
