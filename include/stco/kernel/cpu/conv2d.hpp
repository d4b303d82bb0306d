// stco/kernel/cpu/conv2d.hpp — the CPU drivers of NHWC convolution as an implicit GEMM:
// Y[p, co] = Σ_k W[co, k]·patch(p)[k], K = KH·KW·Cin/groups in (kh, kw, c) order.
//
// Output pixels are cut into chunks; each chunk's patches are gathered into a k-major scratch
// panel (the full im2col matrix is never formed) and fed to the same layout kernels as matmul.
// dX scatters Wᵀ·dZ back through the windows (col2im) one image per task, so no two tasks touch
// the same input pixel. dW accumulates per slice of images and sums the slices. A grouped
// convolution runs each group's rows through the generic kernel (tiles may straddle groups).
#pragma once

#include <algorithm>
#include <vector>

#include "stco/expr/conv_params.hpp"
#include "stco/kernel/cpu/matmul.hpp"

namespace stco::kernel::cpu {

/// B[kk][j] = X at the window tap kk of output pixel p0 + j, channels of group gi; zero outside
/// the image and for j ≥ np.
template <class T, class C>
void gather_patches(const T* X, const conv_geometry& g, index_t gi, index_t p0, index_t np,
                    index_t width, C* B) {
  const index_t Kg = g.k(), cg = g.cin_g(), hw = g.out_h * g.out_w;
  for (index_t j = 0; j < width; ++j) {
    if (j >= np) {
      for (index_t kk = 0; kk < Kg; ++kk) B[kk * width + j] = C(0);
      continue;
    }
    const index_t p = p0 + j, n = p / hw, oh = (p % hw) / g.out_w, ow = p % g.out_w;
    for (index_t kh = 0; kh < g.kh; ++kh)
      for (index_t kw = 0; kw < g.kw; ++kw) {
        const index_t ih = oh * g.stride_h - g.pad_h + kh * g.dil_h;
        const index_t iw = ow * g.stride_w - g.pad_w + kw * g.dil_w;
        C* b = B + (kh * g.kw + kw) * cg * width + j;
        if (ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w) {
          for (index_t c = 0; c < cg; ++c) b[c * width] = C(0);
        } else {
          const T* x = X + ((n * g.in_h + ih) * g.in_w + iw) * g.in_c + gi * cg;
          for (index_t c = 0; c < cg; ++c) b[c * width] = to_compute<C>(x[c]);
        }
      }
  }
}

/// dX at the windows of output pixels p0.. += D[kk][j] (group gi): the adjoint of gather_patches.
/// dX holds the image of pixel p0 alone (the caller's per-image scratch).
template <class T, class C>
void scatter_patches(const C* D, const conv_geometry& g, index_t gi, index_t p0, index_t np,
                     index_t width, C* dX) {
  const index_t cg = g.cin_g(), hw = g.out_h * g.out_w;
  for (index_t j = 0; j < np; ++j) {
    const index_t p = p0 + j, oh = (p % hw) / g.out_w, ow = p % g.out_w;
    for (index_t kh = 0; kh < g.kh; ++kh)
      for (index_t kw = 0; kw < g.kw; ++kw) {
        const index_t ih = oh * g.stride_h - g.pad_h + kh * g.dil_h;
        const index_t iw = ow * g.stride_w - g.pad_w + kw * g.dil_w;
        if (ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w) continue;
        const C* d = D + (kh * g.kw + kw) * cg * width + j;
        C* x = dX + (ih * g.in_w + iw) * g.in_c + gi * cg;
        for (index_t c = 0; c < cg; ++c) x[c] += d[c * width];
      }
  }
}

/// G[co][j] = dZ of output pixel p0 + j, channel co; zero for padded rows and j ≥ np.
template <class T, class Chain>
void pack_conv_dz(const T* dY, const acc_t<T>* stash, index_t Cout, index_t PR, index_t p0,
                  index_t np, index_t width, const Chain& ch, acc_t<T>* G) {
  using C = acc_t<T>;
  std::fill(G, G + PR * width, C(0));
  for (index_t j = 0; j < np; ++j)
    for (index_t co = 0; co < Cout; ++co) {
      const index_t pos = (p0 + j) * Cout + co;
      G[co * width + j] =
          ch.core_gradient(to_compute<C>(dY[pos]), co, pos, stash ? stash[pos] : C(0));
    }
}

template <class T, class L, class Chain>
void conv2d_forward(const sparse_matrix<T, L>& W, const T* X, const conv_geometry& g, T* Y,
                    const Chain& ch, acc_t<T>* stash) {
  using C = acc_t<T>;
  using KL = layout_kernel<L>;
  using GK = generic_kernel<L>;
  constexpr index_t CH = chunk_cols<C>;
  const auto& e = W.entity();
  const index_t Cout = g.out_c, P = g.pixels(), Kg = g.k();
  const index_t PR = std::max(KL::padded_rows(e), Cout);
  std::vector<C> keep;
  const C* vals = compute_values<C>(W.values(), W.value_count(), keep);
  parallel_for(ceil_div(P, CH), [&](index_t c) {
    const index_t p0 = c * CH, np = std::min(CH, P - p0);
    C* acc = scratch<C, 0>(PR * CH);
    std::fill(acc, acc + PR * CH, C(0));
    C* B = scratch<C, 1>(Kg * CH);
    for (index_t gi = 0; gi < g.groups; ++gi) {
      gather_patches(X, g, gi, p0, np, CH, B);
      if (g.groups == 1)
        for_l1_units<KL, C>(e, 0, KL::units(e),
                            [&](index_t a, index_t b) { KL::forward(e, vals, B, CH, acc, a, b); });
      else
        GK::forward(e, vals, B, CH, acc, gi * g.cout_g(), (gi + 1) * g.cout_g());
    }
    for (index_t j = 0; j < np; ++j)
      for (index_t co = 0; co < Cout; ++co) {
        const index_t pos = (p0 + j) * Cout + co;
        Y[pos] =
            from_compute<T>(ch.apply(acc[co * CH + j], co, pos, stash ? stash + pos : nullptr));
      }
  });
}

template <class T, class L, class Chain>
void conv2d_grad_x(const sparse_matrix<T, L>& W, const conv_geometry& g, const T* dY,
                   const acc_t<T>* stash, const Chain& ch, T* dX) {
  using C = acc_t<T>;
  using KL = layout_kernel<L>;
  using GK = generic_kernel<L>;
  constexpr index_t CH = chunk_cols<C>;
  const auto& e = W.entity();
  const index_t Cout = g.out_c, Kg = g.k(), hw = g.out_h * g.out_w;
  const index_t PR = std::max(KL::padded_rows(e), Cout);
  const index_t image = g.in_h * g.in_w * g.in_c;
  std::vector<C> keep;
  const C* vals = compute_values<C>(W.values(), W.value_count(), keep);
  aligned_array<C> keep_t;
  const C* tvals = g.groups == 1 ? KL::transposed_values(e, vals, keep_t) : vals;
  parallel_for(g.batch, [&](index_t n) {
    C* dx = scratch<C, 2>(image);
    std::fill(dx, dx + image, C(0));
    C* G = scratch<C, 0>(PR * CH);
    C* D = scratch<C, 1>(Kg * CH);
    for (index_t p0 = n * hw; p0 < (n + 1) * hw; p0 += CH) {
      const index_t np = std::min(CH, (n + 1) * hw - p0);
      pack_conv_dz(dY, stash, Cout, PR, p0, np, CH, ch, G);
      for (index_t gi = 0; gi < g.groups; ++gi) {
        std::fill(D, D + Kg * CH, C(0));
        if (g.groups == 1 && KL::t_units(e) == Kg)  // per-column units: L1-sized runs
          for (index_t v = 0; v < Kg; v += l1_rows<C>)
            KL::transposed(e, tvals, G, D, v, std::min(Kg, v + l1_rows<C>));
        else if (g.groups == 1)
          KL::transposed(e, tvals, G, D, 0, KL::t_units(e));
        else
          GK::transposed_rows(e, vals, G, D, gi * g.cout_g(), (gi + 1) * g.cout_g());
        scatter_patches<T>(D, g, gi, p0, np, CH, dx);
      }
    }
    for (index_t i = 0; i < image; ++i) dX[n * image + i] = from_compute<T>(dx[i]);
  });
}

/// pack_conv_dz for rows [r0, r1) of G only (zero beyond Cout and for j ≥ np).
template <class T, class Chain>
void pack_conv_dz_rows(const T* dY, const acc_t<T>* stash, index_t Cout, index_t r0, index_t r1,
                       index_t p0, index_t np, index_t width, const Chain& ch, acc_t<T>* G) {
  using C = acc_t<T>;
  std::fill(G + r0 * width, G + r1 * width, C(0));
  const index_t c1 = std::min(r1, Cout);
  for (index_t j = 0; j < np; ++j)
    for (index_t co = r0; co < c1; ++co) {
      const index_t pos = (p0 + j) * Cout + co;
      G[co * width + j] =
          ch.core_gradient(to_compute<C>(dY[pos]), co, pos, stash ? stash[pos] : C(0));
    }
}

/// dW of a convolution. Tasks are slices of the pixels (each accumulating its own partial dW,
/// summed at the end) times blocks of units; few pixels give one slice and row blocks instead,
/// so small layers still use every thread. A slice walks its pixels in chunks sized to it
/// (dw_chunk_for: never padded to a fixed width), and each chunk's units in L2-sized runs.
template <class T, class L, class Chain>
void conv2d_grad_w(const sparse_matrix<T, L>& W, const T* X, const conv_geometry& g, const T* dY,
                   const acc_t<T>* stash, const Chain& ch, acc_t<T>* dvals) {
  using C = acc_t<T>;
  using KL = layout_kernel<L>;
  using GK = generic_kernel<L>;
  constexpr index_t Wd = simd<C>::width;
  const auto& e = W.entity();
  const index_t Cout = g.out_c, Kg = g.k(), P = g.pixels(), nvals = W.value_count();
  const index_t PR = std::max(KL::padded_rows(e), Cout);
  const index_t U = KL::units(e), threads = num_threads();
  // The gathered patches of one chunk (Kg rows) stay within about 16 MiB (L3); a 4 MiB bound
  // shortened the chunks of the deep layers and cost them a third of their speed.
  const index_t cap = std::max<index_t>(
      2 * chunk_cols<C>, (index_t{16} << 20) / (Kg * static_cast<index_t>(sizeof(C))));
  // Slices of at least 128 pixels (shorter dots lose to their sums); with fewer slices than
  // threads, row blocks share a slice (each gathers the slice's patches again).
  const index_t slices = std::clamp<index_t>(P / 128, 1, std::max<index_t>(threads, 1));
  const index_t rblocks =
      g.groups == 1 && U > 0 ? std::clamp<index_t>(ceil_div(threads, slices), 1, U) : 1;
  const index_t rows_per_unit =
      std::is_same_v<L, channel> ? 1 : std::max<index_t>(1, PR / std::max<index_t>(U, 1));
  std::fill(dvals, dvals + nvals, C(0));
  std::vector<C> partial(static_cast<std::size_t>((slices - 1) * nvals));
  parallel_for(slices * rblocks, [&](index_t task) {
    const index_t s = task / rblocks, b = task % rblocks;
    C* dv = s == 0 ? dvals : partial.data() + (s - 1) * nvals;
    const index_t q0 = P * s / slices, q1 = P * (s + 1) / slices;
    const index_t CW = dw_chunk_for<C>(q1 - q0, cap), ldb = dw_ld<C>(CW);
    const index_t run = dw_run_units<C>(CW, rows_per_unit);
    const index_t u0 = U * b / rblocks, u1 = U * (b + 1) / rblocks;
    C* G = scratch<C, 0>(PR * CW);
    C* B = scratch<C, 1>(Kg * ldb);
    for (index_t p0 = q0; p0 < q1; p0 += CW) {
      const index_t np = std::min(CW, q1 - p0), nv = round_up(np, Wd);
      if (g.groups != 1) {
        pack_conv_dz_rows(dY, stash, Cout, 0, PR, p0, np, CW, ch, G);
        for (index_t gi = 0; gi < g.groups; ++gi) {
          gather_patches(X, g, gi, p0, np, nv, B);
          GK::sampled(e, G, CW, B, nv, nv, dv, gi * g.cout_g(), (gi + 1) * g.cout_g());
        }
        continue;
      }
      gather_patches(X, g, 0, p0, np, ldb, B);
      for (index_t a = u0; a < u1; a += run) {
        const index_t a1 = std::min(u1, a + run);
        if constexpr (std::is_same_v<L, channel>) {
          for (index_t u = a; u < a1; ++u) {
            const auto [r0, r1] = dw_unit_rows<L, KL>(e, u);
            pack_conv_dz_rows(dY, stash, Cout, r0, r1, p0, np, CW, ch, G);
          }
        } else {
          const index_t r0 = dw_unit_rows<L, KL>(e, a).first;
          const index_t r1 = std::min(PR, dw_unit_rows<L, KL>(e, a1 - 1).second);
          pack_conv_dz_rows(dY, stash, Cout, r0, r1, p0, np, CW, ch, G);
        }
        KL::sampled(e, G, CW, B, ldb, nv, dv, a, a1);
      }
    }
  });
  if (slices > 1) {
    const index_t pieces = std::min<index_t>(ceil_div(nvals, 4096), 4 * threads);
    parallel_for(pieces, [&](index_t b) {
      const index_t i0 = nvals * b / pieces, i1 = nvals * (b + 1) / pieces;
      for (index_t s = 1; s < slices; ++s) {
        const C* src = partial.data() + (s - 1) * nvals;
        for (index_t i = i0; i < i1; ++i) dvals[i] += src[i];
      }
    });
  }
}

}  // namespace stco::kernel::cpu
