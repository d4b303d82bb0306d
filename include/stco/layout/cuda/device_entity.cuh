// stco/layout/cuda/device_entity.cuh — the device mirror of a layout's index entity: uploaded
// once per host entity (and device), shared by every device tensor of its pattern, with its own
// cache of derived device maps.
//
// Sharing follows the host: two device matrices uploaded from host matrices over one host entity
// hold one device_entity (pointer-equal), as do zeros_like, gradients and optimizer state. The
// device maps derived from it — the transposed traversal, slot coordinates, the fast paths'
// metadata orders — are built on first use, once, and cached in it (as index_entity::derived on
// the host). An entity built on the device (device pruning) downloads its host form on first
// request and is then registered as that host entity's mirror.
//
// Lifetime: device memory is allocated on the stream the entity was built on (its home stream)
// and freed on it — the derived maps too, whichever call's stream first asks for them; destroy
// device objects before the streams they were built on.
#pragma once

#include <cuda_runtime.h>

#include <memory>
#include <mutex>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "stco/core/cuda/check.cuh"
#include "stco/core/cuda/stream.cuh"
#include "stco/core/error.hpp"
#include "stco/layout/cuda/device_index_list.cuh"
#include "stco/layout/index_entity.hpp"

namespace stco::cuda {

/// The device storage of layout L's index entity and the view kernels traverse it with. Each
/// layout specializes it in stco/layout/cuda/<layout>.cuh:
///
///   using view_type = ...;                       // trivially copyable, host/device traversal
///   static device_index upload(const typename L::entity&, stream);
///   std::shared_ptr<const typename L::entity> download(matrix_shape, stream) const;  // waits
///   matrix_shape compressed_shape(matrix_shape logical) const;
///   view_type view(matrix_shape logical) const;
///   std::size_t bytes() const;
template <class L>
struct device_index;

/// Shapes, the home stream, the device, and the cache of derived device maps.
class device_entity_base {
 public:
  device_entity_base(matrix_shape logical, matrix_shape compressed, stream home)
      : logical_(logical), compressed_(compressed), home_(home) {
    STCO_CUDA_CHECK(cudaGetDevice(&device_));
  }
  device_entity_base(const device_entity_base&) = delete;
  device_entity_base& operator=(const device_entity_base&) = delete;
  virtual ~device_entity_base() = default;

  /// The logical (dense) shape [R, K].
  matrix_shape logical_shape() const noexcept { return logical_; }
  /// Shape of the values array a device tensor of this pattern stores (as on the host).
  matrix_shape compressed_shape() const noexcept { return compressed_; }
  /// The stream the entity's memory was allocated on.
  stream home_stream() const noexcept { return home_; }
  /// The CUDA device the entity lives on.
  int device() const noexcept { return device_; }

  /// The derived device map of type Map, built by `build(*this)` on first request and cached.
  /// Thread-safe; the reference lives as long as the entity. Builders wait for their own work
  /// (the map is then ready for any stream).
  template <class Map, class Build>
  const Map& derived(Build&& build) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& slot = cache_[std::type_index(typeid(Map))];
    if (!slot) {
      slot = std::make_shared<const Map>(build(*this));
      ++builds_;
    }
    return *static_cast<const Map*>(slot.get());
  }
  /// How many derived maps were built over the entity's life (tests count cache misses with it).
  std::size_t derived_builds() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return builds_;
  }

 private:
  matrix_shape logical_, compressed_;
  stream home_;
  int device_ = 0;
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::type_index, std::shared_ptr<const void>> cache_;
  mutable std::size_t builds_ = 0;
};

namespace detail {
/// Kept in a host entity's derived cache: its device mirrors, one per device, held weakly (a
/// mirror lives while device tensors use it).
struct device_mirrors {
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<std::pair<int, std::weak_ptr<const void>>>> list =
      std::make_shared<std::vector<std::pair<int, std::weak_ptr<const void>>>>();
};
inline const device_mirrors& mirrors_of(const index_entity& h) {
  return h.derived<device_mirrors>([](const index_entity&) { return device_mirrors{}; });
}
inline int current_device() {
  int d = 0;
  STCO_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}
}  // namespace detail

/// Layout L's index entity in device memory.
template <class L>
class device_entity final : public device_entity_base,
                            public std::enable_shared_from_this<device_entity<L>> {
 public:
  using layout_type = L;
  using host_entity_type = typename L::entity;
  using index_type = device_index<L>;
  using view_type = typename index_type::view_type;

  /// Use of() or build(); public for std::make_shared.
  device_entity(matrix_shape logical, index_type idx, stream home,
                std::shared_ptr<const host_entity_type> host)
      : device_entity_base(logical, idx.compressed_shape(logical), home),
        idx_(std::move(idx)),
        host_(std::move(host)) {}

  /// The device mirror of `h` on the current device: uploaded on `s` on first request, the same
  /// object afterwards while any device tensor holds it. argument_error if `h` is null.
  static std::shared_ptr<const device_entity> of(std::shared_ptr<const host_entity_type> h,
                                                 stream s) {
    if (!h)
      throw argument_error(
          stco::detail::message("stco::cuda::device_entity<", L::name(), ">: null host entity"));
    const int dev = detail::current_device();
    const auto& m = detail::mirrors_of(*h);
    std::lock_guard<std::mutex> lock(*m.mutex);
    for (auto& [d, w] : *m.list)
      if (d == dev)
        if (auto p = w.lock()) return std::static_pointer_cast<const device_entity>(p);
    check_shape(h->logical_shape(), h->compressed_shape());
    auto e =
        std::make_shared<const device_entity>(h->logical_shape(), index_type::upload(*h, s), s, h);
    remember(*m.list, dev, e);
    return e;
  }

  /// An entity whose index was built on the device (on `s`).
  static std::shared_ptr<const device_entity> build(matrix_shape logical, index_type idx,
                                                    stream s) {
    check_shape(logical, idx.compressed_shape(logical));
    return std::make_shared<const device_entity>(logical, std::move(idx), s, nullptr);
  }

  /// The host entity this mirrors: the one it was uploaded from, or (built on the device) one
  /// downloaded on `s` on first request and shared afterwards. Waits for `s`.
  std::shared_ptr<const host_entity_type> host(stream s) const {
    std::lock_guard<std::mutex> lock(host_mutex_);
    if (!host_) {
      host_ = idx_.download(logical_shape(), s);
      const auto& m = detail::mirrors_of(*host_);
      std::lock_guard<std::mutex> lock2(*m.mutex);
      remember(*m.list, device(), this->shared_from_this());
    }
    return host_;
  }
  /// The host entity, if it is known without a download (uploaded, or already downloaded).
  std::shared_ptr<const host_entity_type> host_if_known() const {
    std::lock_guard<std::mutex> lock(host_mutex_);
    return host_;
  }

  /// Kept positions inside the logical shape (from the host form; downloads it if needed).
  index_t kept() const { return host(home_stream())->kept(); }
  double density() const { return host(home_stream())->density(); }

  const index_type& index() const noexcept { return idx_; }
  /// The traversal view kernels take (see stco/layout/cuda/<layout>.cuh).
  view_type view() const { return idx_.view(logical_shape()); }
  /// Bytes of device index storage (derived maps not counted).
  std::size_t index_bytes() const { return idx_.bytes(); }

 private:
  static void check_shape(matrix_shape logical, matrix_shape compressed) {
    if (logical.rows > device_index_limit || logical.cols > device_index_limit ||
        compressed.size() > device_index_limit)
      throw shape_error(stco::detail::message(
          "stco::cuda::device_entity<", L::name(), ">: logical ", logical, " with ",
          compressed.size(), " stored values exceeds the device kernels' 2^31 - 1 limit"));
  }
  static void remember(std::vector<std::pair<int, std::weak_ptr<const void>>>& list, int dev,
                       const std::shared_ptr<const device_entity>& e) {
    for (auto& [d, w] : list)
      if (d == dev) {
        w = e;
        return;
      }
    list.emplace_back(dev, e);
  }

  index_type idx_;
  mutable std::mutex host_mutex_;
  mutable std::shared_ptr<const host_entity_type> host_;
};

}  // namespace stco::cuda
