// stco/kernel/cpu/tile_vector.hpp — tile-vector-wise on the CPU. Forward walks each tile row's
// N:M slots over the tile's kept columns straight from the entity (column list + packed offsets);
// the transposed and sampled products use the generic cached slot maps.
#pragma once

#include "stco/kernel/cpu/layout_kernel.hpp"
#include "stco/layout/tile_vector.hpp"

namespace stco::kernel::cpu {

template <int T, int N, int M>
struct layout_kernel<tile_vector<T, N, M>> : generic_kernel<tile_vector<T, N, M>> {
  using E = tile_vector_entity<T, N, M>;
  static constexpr bool uses_column_map = true;
  static constexpr kernel_names names{"tile_vector: tile lists plus N:M offsets",
                                      "generic: the cached column map (Wᵀ's slot lists)",
                                      "generic: one dot product per kept slot"};

  static index_t units(const E& e) { return e.tiles(); }
  static index_t padded_rows(const E& e) { return e.tiles() * T; }
  static index_t t_units(const E& e) { return e.logical_shape().cols; }

  template <class C>
  static void forward(const E& e, const C* vals, const C* B, index_t ldb, C* acc, index_t u0,
                      index_t u1) {
    constexpr index_t CH = chunk_cols<C>;
    e.columns().visit([&](const auto* cols, index_t) {
      index_t base = 0;
      for (index_t t = 0; t < u0; ++t) base += e.tile_groups(t) * N * T;
      for (index_t t = u0; t < u1; ++t) {
        const index_t c0 = e.tile_ptr()[t], kt = e.tile_count(t), G = e.tile_groups(t);
        for (index_t r = 0; r < T; ++r)
          row_accumulate(acc + (t * T + r) * CH, B, ldb, [&](auto&& emit) {
            for (index_t g = 0; g < G; ++g)
              for (int j = 0; j < N; ++j) {
                const index_t p = base + (g * N + j) * T + r;
                const index_t cc = g * M + e.offset(p);
                if (cc < kt) emit(static_cast<index_t>(cols[c0 + cc]), vals[p]);
              }
          });
        base += G * N * T;
      }
    });
  }

  /// The generic sampled product over the rows of tiles [u0, u1).
  template <class C>
  static void sampled(const E& e, const C* G, index_t ldg, const C* B, index_t ldb, index_t n,
                      C* dvals, index_t u0, index_t u1) {
    const index_t R = e.logical_shape().rows;
    generic_kernel<tile_vector<T, N, M>>::sampled(e, G, ldg, B, ldb, n, dvals, std::min(R, u0 * T),
                                                  std::min(R, u1 * T));
  }
};

}  // namespace stco::kernel::cpu
