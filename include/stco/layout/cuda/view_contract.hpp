// stco/layout/cuda/view_contract.hpp — how device kernels traverse an index entity: the view
// every layout's device_index provides (documentation and the shared constants; no code).
//
// A view is a trivially copyable struct of device pointers and sizes with host/device members.
// It walks a matrix (W, or Wᵀ for the transposed views) as *units*: `unit_rows` consecutive rows
// u·unit_rows + i that share one list of stored columns (a tile, a block row, a single N:M row).
//
//   static constexpr int unit_rows;         // rows per unit (1 when every row has its own list)
//   int rows, cols;                          // the traversed matrix's logical shape
//   int units() const;                       // ⌈rows / unit_rows⌉ (or fewer: no padded units)
//   int list_begin(int u) const;             // the unit's list: positions [begin, end), in
//   int list_end(int u) const;               //   increasing column order
//   int col(int u, int p) const;             // column of the entry at p; ≥ cols marks padding,
//                                            //   which only ever ends a list
//   int slot(int u, int p, int i) const;     // the values slot of row i of the unit at p, or -1
//                                            //   (no stored value: a padded or removed row)
//   int segments() const;                    // 1, except for traversals split per filter tap
//   int segment_unit(int u, int seg) const;  // the unit whose list output unit u reads in
//                                            //   segment seg (u itself when segments() == 1)
//
// Kernels need nothing else, so the portable kernels are written once for every layout.
#pragma once

namespace stco::cuda {

/// Rows per unit of the layouts whose rows are independent (dense, channel): enough rows to
/// reuse each loaded right-hand value across a warp's register tile.
inline constexpr int row_block_units = 8;

}  // namespace stco::cuda
