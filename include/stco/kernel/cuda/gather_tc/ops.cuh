// stco/kernel/cuda/gather_tc/ops.cuh — the tile tensor-core operations on a device sparse matrix:
// forward with a fused epilogue, dX = Wᵀ·dZ and dW at the kept addresses, for matmul (X [K, N])
// and conv2d (NHWC, groups = 1), for tile_wise, tile_vector, block, channel and dense weights in
// stco::half or stco::bfloat16 (fp32 accumulation).
//
// Each call derives (once per entity, cached in its device mirror) the index-only maps it needs
// (device_maps.cuh), builds the kernel's view and launches on the given stream. dZ =
// chain.core_gradient(dY, ch, pos, z[pos]) is formed inside the gradient kernels; z is the
// forward's stash (activation inputs, float), needed when the chain has an activation.
//
//     namespace tc = stco::kernel::cuda::gather_tc;
//     const route r = tc::plan_forward<Chain>(W, X, Y, N, stash, s);   // what will run, and why
//     tc::forward(r, W, X, Y, N, chain, stash, s);
#pragma once

#include <cstdint>
#include <type_traits>

#include "stco/core/error.hpp"
#include "stco/expr/conv_params.hpp"
#include "stco/kernel/cuda/gather_tc/conv_forward.cuh"
#include "stco/kernel/cuda/gather_tc/conv_grad_w.cuh"
#include "stco/kernel/cuda/gather_tc/conv_grad_x.cuh"
#include "stco/kernel/cuda/gather_tc/device_maps.cuh"
#include "stco/kernel/cuda/gather_tc/matmul_forward.cuh"
#include "stco/kernel/cuda/gather_tc/matmul_grad_w.cuh"
#include "stco/kernel/cuda/gather_tc/matmul_grad_x.cuh"
#include "stco/kernel/cuda/gather_tc/ws_launch.cuh"
#include "stco/kernel/cuda/gather_tc/ws_tile_vector.cuh"
#include "stco/kernel/cuda/route.cuh"
#include "stco/layout/cuda/layouts.cuh"
#include "stco/layout/dense.hpp"

namespace stco::kernel::cuda::gather_tc {

/// What the tensor-core paths know of a layout: its family, and whether they take it.
enum class layout_kind { other, tiles, block, rows };
template <class L>
struct layout_traits {
  static constexpr layout_kind kind = layout_kind::other;
  static constexpr bool supported = false;
  static constexpr int group = 1;
};
template <int T>
struct layout_traits<tile_wise<T>> {
  static constexpr layout_kind kind = layout_kind::tiles;
  static constexpr bool supported = tile_rows_supported<T>::value;
  static constexpr int group = 1;
};
template <int T, int N, int M>
struct layout_traits<tile_vector<T, N, M>> {
  static constexpr layout_kind kind = layout_kind::tiles;
  static constexpr bool supported =
      tile_rows_supported<T>::value && (M == 2 || M == 4 || M == 8 || M == 16) && M <= T;
  static constexpr int group = M;  // positions padded to whole groups
};
template <int BR, int BC>
struct layout_traits<block<BR, BC>> {
  static constexpr layout_kind kind = layout_kind::block;
  static constexpr bool supported = tile_rows_supported<BR>::value && BC >= 1;
  static constexpr int group = 1;
  static constexpr bool conv_grad_x_ok(index_t in_c) {
    return BC % 16 == 0 && BC <= 128 && in_c % BC == 0;
  }
};
template <>
struct layout_traits<channel> {
  static constexpr layout_kind kind = layout_kind::rows;
  static constexpr bool supported = true;
  static constexpr int group = 1;
};
template <>
struct layout_traits<dense> {
  static constexpr layout_kind kind = layout_kind::rows;
  static constexpr bool supported = true;
  static constexpr int group = 1;
};

/// Whether the tensor-core paths take layout L in value type V at all (compile time).
template <class L, class V>
inline constexpr bool supported_v = layout_traits<L>::supported&& is_tc_value_v<V>;

/// Whether a conv call fits these kernels (groups = 1, at most 64 taps, 32-bit sizes; block dX
/// needs Cin to split into whole block-columns of ≥ 16).
template <class L>
bool conv_applicable(const conv_geometry& g, bool grad_x) {
  if (g.groups != 1 || g.kh * g.kw > conv_max_taps) return false;
  const index_t lim = index_t{1} << 31;
  if (g.batch * g.in_h * g.in_w * g.in_c >= lim || g.pixels() * g.out_c >= lim) return false;
  if constexpr (layout_traits<L>::kind == layout_kind::block)
    if (grad_x && !layout_traits<L>::conv_grad_x_ok(g.in_c)) return false;
  return true;
}

namespace detail {

/// Calls f(cols) with the device column list typed by its width.
template <class F>
decltype(auto) with_cols(const stco::cuda::index_list_view& v, F&& f) {
  if (v.wide) return f(static_cast<const std::uint32_t*>(v.data));
  return f(static_cast<const std::uint16_t*>(v.data));
}

template <class L>
const tile_maps& tiles_of(const stco::cuda::device_entity<L>& e, stco::cuda::stream s) {
  return e.template derived<tile_maps>([&](const auto&) {
    return tile_maps::build(*e.host(s), layout_traits<L>::group, matmul_seg_kb, e.home_stream());
  });
}

template <class L>
const block_maps& blocks_of(const stco::cuda::device_entity<L>& e, stco::cuda::stream s) {
  return e.template derived<block_maps>(
      [&](const auto&) { return block_maps::build(*e.host(s), e.home_stream()); });
}

/// Calls f(view, max_kcount) with the row-tile view of W (BM: row tile of channel/dense).
template <int BM, class V, class L, class F>
void with_row_view(const stco::cuda::device_sparse_matrix<V, L>& W, stco::cuda::stream s, F&& f) {
  const auto& e = W.entity();
  const matrix_shape sh = e.logical_shape();
  if constexpr (std::is_same_v<L, dense>) {
    f(rows_view<BM, std::int32_t>{nullptr, nullptr, sh.rows, sh.rows, sh.cols}, sh.cols);
  } else if constexpr (std::is_same_v<L, channel>) {
    const auto& m = e.template derived<channel_maps>(
        [&](const auto&) { return channel_maps::build(*e.host(s), e.home_stream()); });
    f(rows_view<BM, std::int32_t>{m.kept.data(), m.removed.data(), m.kept_count, sh.rows, sh.cols},
      sh.cols);
  } else if constexpr (layout_traits<L>::kind == layout_kind::block) {
    const auto& m = detail::blocks_of(e, s);
    with_cols(e.index().cols.view(), [&](const auto* cols) {
      using Col = std::remove_cv_t<std::remove_pointer_t<decltype(cols)>>;
      f(block_view<L::block_rows, L::block_cols, Col>{m.row_ptr.data(), cols, sh.rows, sh.cols},
        m.max_kcount);
    });
  } else if constexpr (layout_traits<L>::kind == layout_kind::tiles &&
                       layout_traits<L>::group == 1) {
    const auto& m = tiles_of(e, s);
    with_cols(e.index().cols.view(), [&](const auto* cols) {
      using Col = std::remove_cv_t<std::remove_pointer_t<decltype(cols)>>;
      f(tile_wise_view<L::tile, Col>{m.ptr.data(), cols, sh.rows, sh.cols}, m.max_kcount);
    });
  } else {
    const auto& m = tiles_of(e, s);
    with_cols(e.index().cols.view(), [&](const auto* cols) {
      using Col = std::remove_cv_t<std::remove_pointer_t<decltype(cols)>>;
      f(tile_vector_view<L::tile, L::n, L::m, Col>{m.ptr.data(), cols, m.gptr.data(),
                                                   e.index().words.data(), sh.rows, sh.cols,
                                                   m.host_ptr.empty() ? 0 : m.host_ptr.back(),
                                                   m.max_kcount / L::m},
        m.max_kcount);
    });
  }
}

template <class L, class V>
void check_supported() {
  static_assert(
      supported_v<L, V>,
      "stco gather_tc: this layout / value type has no tensor-core path (half or bfloat16; "
      "tiles of 16, 32, 64 or 128 rows; tile_vector M in {2, 4, 8, 16}); use the "
      "portable CUDA kernels");
}

}  // namespace detail

namespace detail {

/// The route's instruction for the gathered kernels under the call's options, and why wgmma
/// was not taken.
inline route gathered(op o, kernel_name k, const stco::cuda::options& opt, bool shape_has_wgmma) {
  route r = make_route(o, cuda::family::gather_tc, k, instruction::mma_sync);
  if (shape_has_wgmma && use_wgmma(opt)) {
    r.instruction = instruction::wgmma;
  } else {
    r.why = !shape_has_wgmma      ? "mma.sync: this tile shape has no wgmma mainloop"
            : opt.gather_tc.wgmma ? "mma.sync: this device does not run the binary's sm_90a code"
                                  : "mma.sync: wgmma is off in the stream's options";
  }
  return r;
}

/// Why the warp-specialized kernel did not take a call whose layout it has a form for.
inline const char* ws_declined(const stco::cuda::options& o, bool grad_w) {
  if (!o.gather_tc.warp_specialized || !o.gather_tc.wgmma)
    return "not warp-specialized: off in the stream's options";
  if (!use_wgmma(o))
    return "not warp-specialized: this device does not run the binary's sm_90a code";
  return grad_w ? "not warp-specialized: N % 8 != 0, an operand not 16-byte aligned, or fewer "
                  "work units than half the multiprocessors"
                : "not warp-specialized: N % 8 != 0 or an operand not 16-byte aligned";
}

/// Whether the warp-specialized kernel has a form for this view and op (tile_wise<128>,
/// tile_vector<128, N, M>; channel and dense forward).
template <class View>
struct ws_form {
  static constexpr bool forward = false, grads = false;
};
template <class Col>
struct ws_form<tile_wise_view<128, Col>> {
  static constexpr bool forward = true, grads = true;
};
template <int N, int M, class Col>
struct ws_form<tile_vector_view<128, N, M, Col>> {
  static constexpr bool forward = true, grads = true;
};
template <int BM, class Row>
struct ws_form<rows_view<BM, Row>> {
  static constexpr bool forward = true, grads = false;
};

}  // namespace detail

/// The route of Y = chain(W·X): the warp-specialized kernel where it takes the call, else the
/// gathered GEMM.
template <class Chain, class V, class L>
route plan_forward(const stco::cuda::device_sparse_matrix<V, L>& W, const V* X, const V* Y,
                   index_t N, const float* stash, const stco::cuda::stream& s) {
  detail::check_supported<L, V>();
  const auto& o = s.options();
  route r;
  detail::with_row_view<128>(W, s, [&](const auto& v, index_t) {
    using View = std::decay_t<decltype(v)>;
    r = detail::gathered(op::matmul_forward, kernel_name::gathered_gemm, o,
                         wgmma_shape<matmul_forward_problem_of<View, V, Chain>>());
    if (ws_forward_fits<Chain>(v, W.value_count(), W.values(), X, Y, N, stash, o)) {
      r.kernel = kernel_name::warp_specialized;
      r.instruction = instruction::wgmma;
      r.why = "";
    } else if (detail::ws_form<View>::forward && r.why[0] == '\0') {
      r.why = detail::ws_declined(o, false);
    }
  });
  return r;
}

/// The route of dW.
template <class Chain, class V, class L>
route plan_grad_w(const stco::cuda::device_sparse_matrix<V, L>& W, const V* X, const V* dY,
                  const float* z, const V* dW, index_t N, const stco::cuda::stream& s) {
  detail::check_supported<L, V>();
  const auto& o = s.options();
  route r;
  detail::with_row_view<128>(W, s, [&](const auto& v, index_t max_kc) {
    using View = std::decay_t<decltype(v)>;
    r = detail::gathered(op::matmul_grad_w, kernel_name::gathered_gemm, o,
                         wgmma_shape<matmul_grad_w_problem_of<View, V, Chain>>());
    if (ws_grad_w_fits<Chain>(v, max_kc, W.value_count(), X, dY, z, dW, N, o)) {
      r.kernel = kernel_name::warp_specialized;
      r.instruction = instruction::wgmma;
      r.why = "";
    } else if (detail::ws_form<View>::grads && r.why[0] == '\0') {
      r.why = detail::ws_declined(o, true);
    }
  });
  return r;
}

/// The route of dX: rows (channel, dense) and block run the gathered GEMM over the transposed
/// view; tile layouts the warp-specialized kernel where it takes the call, else the segmented
/// mma.sync kernel.
template <class Chain, class V, class L>
route plan_grad_x(const stco::cuda::device_sparse_matrix<V, L>& W, const V* dY, const float* z,
                  const V* dX, index_t N, const stco::cuda::stream& s) {
  detail::check_supported<L, V>();
  const auto& o = s.options();
  if constexpr (layout_traits<L>::kind == layout_kind::rows) {
    return detail::gathered(
        op::matmul_grad_x, kernel_name::gathered_gemm, o,
        wgmma_shape<matmul_grad_x_problem_of<rows_t_view<128, std::int32_t>, V, Chain>>());
  } else if constexpr (layout_traits<L>::kind == layout_kind::block) {
    using TView = block_t_view<L::block_rows, L::block_cols, std::int32_t>;
    return detail::gathered(op::matmul_grad_x, kernel_name::gathered_gemm, o,
                            wgmma_shape<matmul_grad_x_problem_of<TView, V, Chain>>());
  } else {
    route r = detail::gathered(op::matmul_grad_x, kernel_name::segmented_grad_x, o, false);
    r.why = "";
    detail::with_row_view<128>(W, s, [&](const auto& v, index_t) {
      using View = std::decay_t<decltype(v)>;
      if (ws_grad_x_fits<Chain>(v, W.value_count(), W.values(), dY, z, dX, N, o)) {
        r.kernel = kernel_name::warp_specialized;
        r.instruction = instruction::wgmma;
      } else if (detail::ws_form<View>::grads) {
        r.why = detail::ws_declined(o, false);
      }
    });
    return r;
  }
}

/// The route of a conv op: the implicit-im2col kernels; the dX of tile layouts over tile lists.
template <class Chain, class V, class L>
route plan_conv(op o, const stco::cuda::device_sparse_matrix<V, L>& W,
                const stco::cuda::stream& s) {
  detail::check_supported<L, V>();
  const auto& opt = s.options();
  route r;
  if (o == op::conv2d_grad_x) {
    if constexpr (layout_traits<L>::kind == layout_kind::rows) {
      r = detail::gathered(
          o, kernel_name::implicit_conv, opt,
          wgmma_shape<conv_grad_x_problem_of<rows_t_view<64, std::int32_t>, V, Chain>>());
    } else if constexpr (layout_traits<L>::kind == layout_kind::block) {
      using TView = block_t_view<L::block_rows, L::block_cols, std::int32_t>;
      r = detail::gathered(o, kernel_name::implicit_conv, opt,
                           wgmma_shape<conv_grad_x_problem_of<TView, V, Chain>>());
    } else {
      r = detail::gathered(o, kernel_name::segmented_grad_x, opt, false);
      r.why = "";
    }
  } else if (o == op::conv2d_forward) {
    detail::with_row_view<64>(W, s, [&](const auto& v, index_t) {
      using View = std::decay_t<decltype(v)>;
      r = detail::gathered(o, kernel_name::implicit_conv, opt,
                           wgmma_shape<conv_forward_problem_of<View, V, Chain>>());
    });
  } else {
    detail::with_row_view<128>(W, s, [&](const auto& v, index_t) {
      using View = std::decay_t<decltype(v)>;
      r = detail::gathered(o, kernel_name::implicit_conv, opt,
                           wgmma_shape<conv_grad_w_problem_of<View, V, Chain>>());
    });
  }
  return r;
}

/// Y[R, N] = chain(W·X) on route r (plan_forward); stash (R·N floats) receives the activation
/// input when not null.
template <class V, class L, class Chain>
void forward(const route& r, const stco::cuda::device_sparse_matrix<V, L>& W, const V* X, V* Y,
             index_t N, const Chain& chain, float* stash, const stco::cuda::stream& s) {
  detail::check_supported<L, V>();
  detail::with_row_view<128>(W, s, [&](const auto& v, index_t) {
    if (r.kernel == kernel_name::warp_specialized)
      ws_forward(v, W.value_count(), W.values(), X, Y, N, chain, stash, s);
    else
      matmul_forward(v, W.values(), X, Y, N, chain, stash, s.get(),
                     r.instruction == instruction::wgmma);
  });
}

/// dW (W's compressed values, every slot written) = (dZ·Xᵀ) at the kept addresses, on route r.
/// memo: where the warp-specialized kernel keeps the dZ it forms (one gradient's calls share
/// it), or null.
template <class V, class L, class Chain>
void grad_w(const route& r, const stco::cuda::device_sparse_matrix<V, L>& W, const V* X,
            const V* dY, const float* z, V* dW, index_t N, const Chain& chain,
            const stco::cuda::stream& s, dz_memo* memo = nullptr) {
  detail::check_supported<L, V>();
  detail::with_row_view<128>(W, s, [&](const auto& v, index_t max_kc) {
    if (r.kernel == kernel_name::warp_specialized)
      ws_grad_w(v, max_kc, W.value_count(), X, dY, z, dW, N, chain, s, memo);
    else
      matmul_grad_w(v, max_kc, W.value_count(), X, dY, z, dW, N, chain, s.get(),
                    r.instruction == instruction::wgmma);
  });
}

/// dX[K, N] = Wᵀ·dZ on route r; memo as grad_w.
template <class V, class L, class Chain>
void grad_x(const route& r, const stco::cuda::device_sparse_matrix<V, L>& W, const V* dY,
            const float* z, V* dX, index_t N, const Chain& chain, const stco::cuda::stream& s,
            dz_memo* memo = nullptr) {
  detail::check_supported<L, V>();
  const auto& e = W.entity();
  const matrix_shape sh = e.logical_shape();
  const bool wgmma = r.instruction == instruction::wgmma;
  if constexpr (layout_traits<L>::kind == layout_kind::rows) {
    detail::with_row_view<128>(W, s, [&](const auto& v, index_t) {
      rows_t_view<128, std::int32_t> t{v.rows, v.kr, sh.rows, sh.cols};
      matmul_grad_x(t, W.values(), dY, z, dX, N, chain, s.get(), wgmma);
    });
  } else if constexpr (layout_traits<L>::kind == layout_kind::block) {
    const auto& m = detail::blocks_of(e, s);
    block_t_view<L::block_rows, L::block_cols, std::int32_t> t{m.col_ptr.data(), m.col_blk.data(),
                                                               m.col_brow.data(), sh.rows, sh.cols};
    matmul_grad_x(t, W.values(), dY, z, dX, N, chain, s.get(), wgmma);
  } else {
    detail::with_row_view<128>(W, s, [&](const auto& v, index_t) {
      const auto& m = detail::tiles_of(e, s);
      if (r.kernel == kernel_name::warp_specialized)
        ws_grad_x(v, m, W.value_count(), W.values(), dY, z, dX, N, chain, s, memo);
      else
        matmul_grad_x_tiles(v, m.kstart.data(), W.values(), dY, z, dX, N, chain, s.get());
    });
  }
}

/// Y [pixels, Cout] = chain(conv(W, X)), X NHWC, on route r (plan_conv); stash as forward.
template <class V, class L, class Chain>
void conv_forward(const route& r, const stco::cuda::device_sparse_matrix<V, L>& W, const V* X, V* Y,
                  const conv_geometry& g, const Chain& chain, float* stash,
                  const stco::cuda::stream& s) {
  detail::check_supported<L, V>();
  detail::with_row_view<64>(W, s, [&](const auto& v, index_t) {
    gather_tc::conv_forward(v, W.values(), X, Y, conv_dims::from(g), chain, stash, s.get(),
                            r.instruction == instruction::wgmma);
  });
}

/// conv dW at the kept addresses, on route r.
template <class V, class L, class Chain>
void conv_grad_w(const route& r, const stco::cuda::device_sparse_matrix<V, L>& W, const V* X,
                 const V* dY, const float* z, V* dW, const conv_geometry& g, const Chain& chain,
                 const stco::cuda::stream& s) {
  detail::check_supported<L, V>();
  detail::with_row_view<128>(W, s, [&](const auto& v, index_t max_kc) {
    gather_tc::conv_grad_w(v, max_kc, W.value_count(), X, dY, z, dW, conv_dims::from(g), chain,
                           s.get(), r.instruction == instruction::wgmma);
  });
}

/// conv dX (NHWC [batch, H, W, Cin]), on route r.
template <class V, class L, class Chain>
void conv_grad_x(const route& r, const stco::cuda::device_sparse_matrix<V, L>& W, const V* dY,
                 const float* z, V* dX, const conv_geometry& g, const Chain& chain,
                 const stco::cuda::stream& s) {
  detail::check_supported<L, V>();
  const auto& e = W.entity();
  const matrix_shape sh = e.logical_shape();
  const conv_dims d = conv_dims::from(g);
  const bool wgmma = r.instruction == instruction::wgmma;
  if constexpr (layout_traits<L>::kind == layout_kind::rows) {
    detail::with_row_view<64>(W, s, [&](const auto& v, index_t) {
      rows_t_view<64, std::int32_t> t{v.rows, v.kr, sh.rows, sh.cols};
      gather_tc::conv_grad_x(t, W.values(), dY, z, dX, d, chain, s.get(), wgmma);
    });
  } else if constexpr (layout_traits<L>::kind == layout_kind::block) {
    const auto& m = detail::blocks_of(e, s);
    block_t_view<L::block_rows, L::block_cols, std::int32_t> t{m.col_ptr.data(), m.col_blk.data(),
                                                               m.col_brow.data(), sh.rows, sh.cols};
    gather_tc::conv_grad_x(t, W.values(), dY, z, dX, d, chain, s.get(), wgmma);
  } else {
    detail::with_row_view<128>(W, s, [&](const auto& v, index_t) {
      const auto& m = detail::tiles_of(e, s);
      conv_grad_x_tiles(v, m.conv_kstart(sh.cols, g.in_c, conv_seg_kb), W.values(), dY, z, dX, d,
                        chain, s.get());
    });
  }
}

}  // namespace stco::kernel::cuda::gather_tc
