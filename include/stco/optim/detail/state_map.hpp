// stco/optim/detail/state_map.hpp — per-parameter optimizer state, keyed by the parameter's
// address and type-erased, so one optimizer can hold state for parameters of every layout and
// value type.
#pragma once

#include <memory>
#include <typeindex>
#include <typeinfo>
#include <unordered_map>
#include <utility>

#include "stco/core/error.hpp"

namespace stco::optim::detail {

/// Maps a parameter's address to its state object. Each entry remembers the state's type, so a
/// lookup with another type (a different parameter later built at a freed address) is reported,
/// not reinterpreted. Move-only: copying an optimizer would either share state between the copies
/// or need a deep copy whose parameters still live at the old addresses; neither is what a caller
/// copying an optimizer would expect.
class state_map {
 public:
  state_map() = default;
  state_map(const state_map&) = delete;
  state_map& operator=(const state_map&) = delete;
  state_map(state_map&&) = default;
  state_map& operator=(state_map&&) = default;

  /// The state of `key` if it holds a `State`; nullptr if there is none or it has another type.
  template <class State>
  State* find(const void* key) const noexcept {
    const auto it = map_.find(key);
    if (it == map_.end() || it->second.type != std::type_index(typeid(State))) return nullptr;
    return static_cast<State*>(it->second.state.get());
  }

  /// As find, but state of another type is an argument_error naming `op` (the caller's parameter
  /// lives where a parameter of another type did; `forget` it first).
  template <class State>
  State* find_checked(const void* key, const char* op) const {
    const auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    if (it->second.type != std::type_index(typeid(State)))
      throw argument_error(stco::detail::message(
          op,
          ": the optimizer holds state of another parameter type at this parameter's address "
          "(a parameter was destroyed and another built in its place); call forget(param) "
          "first"));
    return static_cast<State*>(it->second.state.get());
  }

  /// Stores `state` for `key` (replacing nothing: the key must be new) and returns it. Strong
  /// guarantee: on a throw the map is unchanged.
  template <class State>
  State& insert(const void* key, std::shared_ptr<State> state) {
    State& ref = *state;
    map_.emplace(key, entry{std::type_index(typeid(State)), std::move(state)});
    return ref;
  }

  void erase(const void* key) noexcept { map_.erase(key); }
  void clear() noexcept { map_.clear(); }
  std::size_t size() const noexcept { return map_.size(); }

 private:
  struct entry {
    std::type_index type;
    std::shared_ptr<void> state;
  };
  std::unordered_map<const void*, entry> map_;
};

}  // namespace stco::optim::detail
