// stco/layout/layout_contract.hpp — what a layout type must provide, checked at compile time.
//
// A layout is a compile-time description (a struct of static members), one header each:
//
//   using entity = E;                        // its index entity, derived from stco::index_entity,
//                                            // with `using layout_type = L;`
//   static std::string name();               // "nm<2,4>"
//   static constexpr double default_sparsity, min_sparsity, max_sparsity;
//   static constexpr matrix_shape compressed_shape(matrix_shape logical, double sparsity);
//                                            // the values' shape prune(·, sparsity) produces
//   static std::shared_ptr<const E> select(matrix_view<const double> scores, double sparsity);
//                                            // keep the highest-scoring units
//   template <class T> static std::shared_ptr<const E> infer(matrix_view<const T> w);
//                                            // the pattern of w's nonzeros; pattern_error if none
//                                            fits
//   template <class F> static void for_each_slot(const E&, F&& f);
//                                            // f(slot, row, col) for every stored value; row ≥ R
//                                            or
//                                            // col ≥ K marks a padding slot
//   static std::string locate(const E&, index_t row, index_t col);
//                                            // names the unit (group, tile, block) holding (row,
//                                            col)
//   static void validate(const E&);          // index_error if the entity breaks an invariant
//
// Everything else — prune, encode, decode, sparse_matrix, the Eigen interop — is written once
// against this contract.
#pragma once

#include <memory>
#include <string>
#include <type_traits>

#include "stco/core/extents.hpp"
#include "stco/core/tensor_view.hpp"
#include "stco/layout/index_entity.hpp"

namespace stco {

namespace detail {
template <class L, class = void>
struct models_layout : std::false_type {};
template <class L>
struct models_layout<
    L, std::void_t<typename L::entity, decltype(L::name()), decltype(L::default_sparsity),
                   decltype(L::min_sparsity), decltype(L::max_sparsity),
                   decltype(L::compressed_shape(matrix_shape{}, 0.0)),
                   decltype(L::select(std::declval<matrix_view<const double>>(), 0.0)),
                   decltype(L::template infer<float>(std::declval<matrix_view<const float>>())),
                   decltype(L::locate(std::declval<const typename L::entity&>(), 0, 0)),
                   decltype(L::validate(std::declval<const typename L::entity&>()))>>
    : std::bool_constant<std::is_base_of_v<index_entity, typename L::entity> &&
                         std::is_same_v<typename L::entity::layout_type, L>> {};
}  // namespace detail

/// True when L models the layout contract above.
template <class L>
inline constexpr bool is_layout_v = detail::models_layout<L>::value;

/// The extents of the values array for a logical matrix of extents Ext: static where the layout
/// makes them static (dense, nm), dynamic otherwise. Layouts specialise this.
template <class L, class Ext>
struct compressed_extents {
  using type = dextents<2>;
};
template <class L, class Ext>
using compressed_extents_t = typename compressed_extents<L, Ext>::type;

}  // namespace stco
