// stco/layout/cuda/device_index_list.cuh — an index_list mirrored in device memory at the width
// the host chose (16 or 32 bits), and the view kernels read it through.
//
// The device kernels index with 32-bit integers: lists whose values reach 2^31 (64-bit host lists
// included) are refused with a shape_error naming the list.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "stco/config.hpp"
#include "stco/core/cuda/device_buffer.cuh"
#include "stco/core/error.hpp"
#include "stco/kernel/cuda/launch.cuh"
#include "stco/layout/index_list.hpp"

namespace stco::cuda {

/// The largest index value (and element count) the device kernels handle.
inline constexpr index_t device_index_limit = std::numeric_limits<std::int32_t>::max();

/// Read-only view of a device index list of 16- or 32-bit entries.
struct index_list_view {
  const void* data = nullptr;
  bool wide = false;  // 32-bit entries (else 16-bit)

  STCO_HD int operator[](index_t i) const {
    return wide ? static_cast<int>(static_cast<const std::uint32_t*>(data)[i])
                : static_cast<int>(static_cast<const std::uint16_t*>(data)[i]);
  }
};

namespace detail {
/// out[i] = in[i], narrowed to U.
template <class U>
struct narrow_index {
  static constexpr int threads = 256;
  struct params {
    const std::int32_t* in;
    U* out;
    index_t n;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t i = b.block_x() * threads + b.thread();
    if (i < p.n) p.out[i] = static_cast<U>(p.in[i]);
  }
};
}  // namespace detail

/// An index list in device memory, 16- or 32-bit wide.
class device_index_list {
 public:
  device_index_list() = default;

  /// A device copy of `h` (same width), queued on `s`. shape_error if `h` is 64-bit wide.
  static device_index_list upload(const index_list& h, stream s, const char* what) {
    device_index_list d;
    if (h.width() > 4)
      throw shape_error(stco::detail::message("stco::cuda: the ", what, " list (", h.size(),
                                              " entries) needs 64-bit indices; the device "
                                              "kernels take at most 32-bit ones"));
    d.size_ = h.size();
    d.wide_ = h.width() == 4;
    h.visit([&](const auto* p, index_t n) {
      using U = std::remove_cv_t<std::remove_pointer_t<decltype(p)>>;
      if constexpr (sizeof(U) <= 4) {
        for (index_t i = 0; i < n; ++i)
          if (static_cast<index_t>(p[i]) > device_index_limit)
            throw shape_error(stco::detail::message("stco::cuda: the ", what, " list holds ",
                                                    static_cast<index_t>(p[i]), " at position ", i,
                                                    ", beyond the device limit 2^31 - 1"));
        if constexpr (sizeof(U) == 2) {
          d.w16_ = device_buffer<std::uint16_t>(n, s);
          d.w16_.copy_from_host(p, n, s);
        } else {
          d.w32_ = device_buffer<std::uint32_t>(n, s);
          d.w32_.copy_from_host(p, n, s);
        }
      }
    });
    return d;
  }

  /// Adopts 32-bit values computed on the device, narrowed to 16 bits when `bound` (the largest
  /// value the list may hold, as index_list::from takes it) fits, so that the list has the width
  /// the host would give it.
  static device_index_list adopt(device_buffer<std::int32_t> values, index_t bound, stream s) {
    device_index_list d;
    d.size_ = values.size();
    if (bound <= static_cast<index_t>(std::numeric_limits<std::uint16_t>::max())) {
      d.w16_ = device_buffer<std::uint16_t>(d.size_, s);
      narrow(values, d.w16_, s);
    } else {
      d.wide_ = true;
      d.w32_ = device_buffer<std::uint32_t>(d.size_, s);
      narrow(values, d.w32_, s);
    }
    return d;
  }

  index_list_view view() const {
    return {wide_ ? static_cast<const void*>(w32_.data()) : static_cast<const void*>(w16_.data()),
            wide_};
  }
  index_t size() const noexcept { return size_; }
  int width() const noexcept { return wide_ ? 4 : 2; }
  std::size_t bytes() const noexcept { return static_cast<std::size_t>(size_) * width(); }

  /// The entries, copied to the host (waits for `s`).
  std::vector<index_t> to_vector(stream s) const {
    std::vector<index_t> out(static_cast<std::size_t>(size_));
    if (wide_) {
      const auto h = w32_.to_host(s);
      for (index_t i = 0; i < size_; ++i) out[i] = h[i];
    } else {
      const auto h = w16_.to_host(s);
      for (index_t i = 0; i < size_; ++i) out[i] = h[i];
    }
    return out;
  }

 private:
  template <class U>
  static void narrow(const device_buffer<std::int32_t>& in, device_buffer<U>& out, stream s) {
    const index_t n = in.size();
    kernel::cuda::launch<detail::narrow_index<U>>({ceil_div(n, 256), 1}, s,
                                                  {in.data(), out.data(), n});
  }

  device_buffer<std::uint16_t> w16_;
  device_buffer<std::uint32_t> w32_;
  index_t size_ = 0;
  bool wide_ = false;
};

}  // namespace stco::cuda
