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

template <class T, class L, class Chain>
void conv2d_grad_w(const sparse_matrix<T, L>& W, const T* X, const conv_geometry& g, const T* dY,
                   const acc_t<T>* stash, const Chain& ch, acc_t<T>* dvals) {
  using C = acc_t<T>;
  using KL = layout_kernel<L>;
  using GK = generic_kernel<L>;
  constexpr index_t CW = dw_chunk<C>;
  const auto& e = W.entity();
  const index_t Cout = g.out_c, Kg = g.k(), P = g.pixels(), nvals = W.value_count();
  const index_t PR = std::max(KL::padded_rows(e), Cout);
  const index_t slices = std::min<index_t>(num_threads(), ceil_div(P, CW));
  std::vector<C> partial(static_cast<std::size_t>(std::max<index_t>(slices - 1, 0) * nvals));
  parallel_for(slices, [&](index_t s) {
    C* dv = s == 0 ? dvals : partial.data() + (s - 1) * nvals;
    std::fill(dv, dv + nvals, C(0));
    C* G = scratch<C, 0>(PR * CW);
    C* B = scratch<C, 1>(Kg * CW);
    const index_t q0 = ceil_div(P, CW) * s / slices * CW;
    const index_t q1 = std::min(P, ceil_div(P, CW) * (s + 1) / slices * CW);
    for (index_t p0 = q0; p0 < q1; p0 += CW) {
      const index_t np = std::min(CW, q1 - p0);
      pack_conv_dz(dY, stash, Cout, PR, p0, np, CW, ch, G);
      for (index_t gi = 0; gi < g.groups; ++gi) {
        gather_patches(X, g, gi, p0, np, CW, B);
        if (g.groups == 1)
          KL::sampled(e, G, CW, B, CW, CW, dv, 0, KL::units(e));
        else
          GK::sampled(e, G, CW, B, CW, CW, dv, gi * g.cout_g(), (gi + 1) * g.cout_g());
      }
    }
  });
  for (index_t s = 1; s < slices; ++s)
    for (index_t i = 0; i < nvals; ++i) dvals[i] += partial[(s - 1) * nvals + i];
}

}  // namespace stco::kernel::cpu
