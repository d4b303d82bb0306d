// stco/layout/index_entity.hpp — the base of every layout's index entity (TIE).
//
// An index entity is immutable once built and is shared (std::shared_ptr<const E>) by every tensor
// of its pattern: the weight, its gradient, optimizer state, masks. Address maps derived from it
// (the transposed traversal, a tensor-core metadata order) are built lazily, once, and cached
// inside it, so every user of the pattern reuses them.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <typeindex>
#include <unordered_map>

#include "stco/core/checked.hpp"
#include "stco/core/error.hpp"
#include "stco/core/index.hpp"

namespace stco {

class index_entity {
 public:
  /// Refuses (index_error naming `who`, the layout) a logical shape with a negative extent or
  /// more than 2^63 - 1 positions: every entity's dense form must be addressable, and the derived
  /// classes size their checks from it.
  index_entity(matrix_shape logical, const std::string& who) : logical_(checked(logical, who)) {}
  index_entity(const index_entity&) = delete;
  index_entity& operator=(const index_entity&) = delete;
  virtual ~index_entity() = default;

  /// The logical (dense) shape [R, K] the entity describes.
  matrix_shape logical_shape() const noexcept { return logical_; }
  /// Shape of the values array a tensor of this pattern stores.
  virtual matrix_shape compressed_shape() const = 0;
  /// Bytes of index storage (the entity itself; derived caches not counted).
  virtual std::size_t index_bytes() const = 0;
  /// Stored slots that fall inside the logical shape (padding slots excluded).
  virtual index_t kept() const = 0;
  /// kept() / (R·K).
  double density() const {
    return logical_.size() == 0
               ? 0.0
               : static_cast<double>(kept()) / static_cast<double>(logical_.size());
  }

  /// The derived map of type Map, built by `build(*this)` on first request and cached. Thread-safe;
  /// the returned reference lives as long as the entity.
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
  static matrix_shape checked(matrix_shape s, const std::string& who) {
    if (s.rows < 0 || s.cols < 0) throw index_error(detail::message(who, ": negative shape ", s));
    detail::checked_mul<index_error>(s.rows, s.cols, (who + ": logical shape R * K").c_str());
    return s;
  }

  matrix_shape logical_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::type_index, std::shared_ptr<const void>> cache_;
  mutable std::size_t builds_ = 0;
};

}  // namespace stco
