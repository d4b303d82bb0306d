// stco/kernel/cuda/sparse_tc/metadata.hpp — the nm<2,4> index entity in the sparse tensor core's
// metadata register order (the "tensorization-aware" form of the TIE), derived on the host.
//
// Host order (nm.hpp): 2-bit offsets, LSB-first, slot (r·G + g)·2 + s, G = ⌈K/4⌉. So the two
// offsets of group (r, g) form one aligned nibble o0 | o1 << 2: exactly the 4-bit field the
// instruction wants for one 4-wide chunk (first kept index in the low bits).
//
// Instruction order. mma.sp m16n8k32 (f16/bf16, sparsity selector 0) and wgmma.sp m64nNk32 (each
// of its four warps covering 16 rows) read, per warp and per 16×32 block of A, one 32-bit word
// from lanes 4q and 4q+1 of each quad q: lane 4q+h holds, for row q, the four chunks of columns
// 16h..16h+15 in bits 0..15 (chunk c at bits 4c) and, for row q+8, the same chunks in bits 16..31.
// We store these 16 words per 16×32 block ("atom"), word q·2 + h, atoms ordered [row block][k
// block]. Rows are padded to a multiple of 128 and K to a multiple of 64 (the largest tiles a
// kernel reads), padding chunks hold 0b0100 (a valid pattern over zero values).
//
// Values need no reordering: the values array [R, 2G] already is the compressed A operand.
#pragma once

#include <cstdint>
#include <vector>

#include "stco/core/index.hpp"
#include "stco/layout/nm.hpp"

namespace stco::cuda::sparse_tc {

/// Geometry of the metadata atoms: 16 rows × 32 logical columns, 16 words each.
struct meta_geometry {
  static constexpr index_t atom_rows = 16, atom_cols = 32, atom_words = 16;
  static constexpr index_t row_pad = 128, col_pad = 64;
  index_t row_blocks = 0;  ///< ⌈R / 128⌉·8
  index_t k_blocks = 0;    ///< ⌈K / 64⌉·2
  static meta_geometry of(matrix_shape s) {
    return {round_up(s.rows, row_pad) / atom_rows, round_up(s.cols, col_pad) / atom_cols};
  }
  index_t words() const { return row_blocks * k_blocks * atom_words; }
  /// Words of one row of atoms (the row pitch of the [row_blocks, k_blocks·16] word matrix).
  index_t pitch() const { return k_blocks * atom_words; }
};

/// The nibble (o0 | o1 << 2) of group g of row r, 0b0100 outside the entity.
inline unsigned group_nibble(const nm_entity<2, 4>& e, index_t r, index_t g) {
  if (r >= e.logical_shape().rows || g >= e.groups()) return 0x4u;
  const index_t slot = (r * e.groups() + g) * 2;
  return e.offset(slot) | (e.offset(slot + 1) << 2);
}

/// The derived map: metadata words in instruction order (cached in the entity, see metadata()).
struct mma_metadata {
  meta_geometry geom;
  std::vector<std::uint32_t> words;
};

/// Builds the instruction-order metadata of `e` (use metadata(), which caches it).
inline mma_metadata build_mma_metadata(const nm_entity<2, 4>& e) {
  mma_metadata m;
  m.geom = meta_geometry::of(e.logical_shape());
  m.words.assign(static_cast<std::size_t>(m.geom.words()), 0u);
  const index_t G = e.groups(), R = e.logical_shape().rows;
  const bool dense_rows = R > 0 && G > 0;
  for (index_t rb = 0; rb < m.geom.row_blocks; ++rb)
    for (index_t kb = 0; kb < m.geom.k_blocks; ++kb) {
      std::uint32_t* atom =
          m.words.data() + (rb * m.geom.k_blocks + kb) * meta_geometry::atom_words;
      for (index_t q = 0; q < 8; ++q)
        for (index_t h = 0; h < 2; ++h) {
          std::uint32_t w = 0;
          for (index_t c = 0; c < 4; ++c) {
            const index_t g = kb * 8 + h * 4 + c;
            const index_t r0 = rb * 16 + q;
            const unsigned lo = dense_rows ? group_nibble(e, r0, g) : 0x4u;
            const unsigned hi = dense_rows ? group_nibble(e, r0 + 8, g) : 0x4u;
            w |= static_cast<std::uint32_t>(lo) << (4 * c);
            w |= static_cast<std::uint32_t>(hi) << (16 + 4 * c);
          }
          atom[q * 2 + h] = w;
        }
    }
  return m;
}

/// The instruction-order metadata of `e`, built on first request and cached inside the entity.
inline const mma_metadata& metadata(const nm_entity<2, 4>& e) {
  return e.derived<mma_metadata>([](const index_entity& b) {
    return build_mma_metadata(static_cast<const nm_entity<2, 4>&>(b));
  });
}

}  // namespace stco::cuda::sparse_tc
