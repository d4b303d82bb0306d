// stco/kernel/cuda/gather_tc/smem_tile.cuh — geometry of one operand tile in shared memory: 16-bit
// elements, `C` contiguous (in 16-byte chunks of 8) by `S` strided rows, with the chunks of each
// row XOR-swizzled so that ldmatrix (8 rows × 16 bytes) and 16-byte stores hit 8 distinct bank
// groups. Rows wider than 64 elements are split in 64-wide column blocks stored one after another.
#pragma once

namespace stco::kernel::cuda::gather_tc {

template <int C, int S>
struct smem_tile {
  static_assert(C == 8 || C == 16 || C == 32 || C % 64 == 0,
                "smem_tile: the contiguous extent must be 8, 16, 32 or a multiple of 64");
  static constexpr int contiguous = C, rows = S;
  static constexpr int chunks = C / 8;                    // 16-byte chunks per row
  static constexpr int row_chunks = C >= 64 ? 8 : C / 8;  // chunks per row of one column block
  static constexpr int elems = C * S;
  /// Rows that share one 128-byte bank line.
  static constexpr int rows_per_line = 8 / row_chunks;

  /// Element offset of chunk `ch` (0 ≤ ch < chunks) of row `row`.
  __device__ __forceinline__ static int offset(int row, int ch) {
    const int blk = ch / row_chunks, c = ch % row_chunks;
    const int sw = (row / rows_per_line) % row_chunks;
    return ((blk * S + row) * row_chunks + (c ^ sw)) * 8;
  }
  /// Element offset of element `col` of row `row`.
  __device__ __forceinline__ static int element(int row, int col) {
    return offset(row, col >> 3) + (col & 7);
  }
};

}  // namespace stco::kernel::cuda::gather_tc
