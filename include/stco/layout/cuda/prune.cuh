// stco/layout/cuda/prune.cuh — pruning and index construction on the device, and gather / decode
// between dense device matrices and device sparse matrices.
//
//     auto Wd = stco::cuda::prune<stco::nm<2, 4>>(W_dense_d, 0.5, s);      // by magnitude
//     auto e  = stco::cuda::select<stco::block<4, 4>>(scores_d, 0.75, s);  // by given scores
//     auto Gd = stco::cuda::gather(G_dense_d, e, s);                        // values at e's slots
//     auto Dd = stco::cuda::decode(Wd, s);                                  // dense again
//
// The choice equals stco::prune / L::select on the host for the same input, to the index (same
// score sums, same tie rule: larger first, ties to the lower index). N:M selects per group in one
// thread; tile_wise, block, channel and csr rank unit scores with one CUB radix sort of
// order-preserving keys (tile_wise adds a stable sort by tile) and build their lists with an
// exclusive scan. tile_vector selects on the host (the scores go down, the entity comes up).
#pragma once

#include <climits>
#include <cstdint>
#include <memory>
#include <vector>

#include "stco/core/cuda/device_buffer.cuh"
#include "stco/core/cuda/device_tensor.cuh"
#include "stco/kernel/cuda/device_algorithms.cuh"
#include "stco/kernel/cuda/launch.cuh"
#include "stco/kernel/cuda/portable/selection.cuh"
#include "stco/kernel/cuda/portable/slot_maps.cuh"
#include "stco/layout/cuda/layouts.cuh"
#include "stco/layout/prune.hpp"

namespace stco::cuda {

namespace detail {

namespace ks = kernel::cuda::select;
using kernel::cuda::launch;
constexpr index_t select_threads = 256;

inline kernel::cuda::grid grid_over(index_t n) { return {ceil_div(n, select_threads), 1}; }

/// x ([R, K], device) as doubles (|x| with `magnitude`); argument_error names the first NaN.
template <class L, class U>
device_buffer<double> score_doubles(const U* x, matrix_shape sh, bool magnitude, const char* what,
                                    stream s) {
  const index_t n = sh.size();
  device_buffer<double> out(n, s);
  device_buffer<unsigned long long> nan_at(1, s);
  STCO_CUDA_CHECK(cudaMemsetAsync(nan_at.data(), 0xff, nan_at.bytes(), s.get()));
  launch<ks::score_doubles<U>>(grid_over(n), s, {x, n, magnitude, out.data(), nan_at.data()});
  const auto first = kernel::cuda::read_scalar(nan_at.data(), s);
  if (first != ULLONG_MAX) {
    const auto i = static_cast<index_t>(first);
    throw argument_error(stco::detail::message("stco::cuda::prune<", L::name(), ">: ", what,
                                               " at (", i / sh.cols, ", ", i % sh.cols,
                                               ") is NaN"));
  }
  return out;
}

/// Flags the k best of each segment of `seg` positions of s (n = segments·seg).
inline device_buffer<std::uint32_t> top_k_flags(const double* s, index_t n, index_t seg, index_t k,
                                                stream st) {
  device_buffer<std::uint32_t> flags(n, st);
  if (n == 0) return flags;
  device_buffer<std::uint64_t> keys(n, st), sorted_keys(n, st);
  device_buffer<std::uint32_t> values(n, st), order(n, st);
  launch<ks::descending_keys>(grid_over(n), st, {s, n, keys.data(), values.data()});
  kernel::cuda::sort_pairs(keys.data(), sorted_keys.data(), values.data(), order.data(), n, 64, st);
  const index_t segments = n / seg;
  if (segments > 1) {  // a stable sort by segment keeps each segment's best-first order
    launch<ks::segment_keys>(grid_over(n), st, {order.data(), n, seg, keys.data()});
    kernel::cuda::sort_pairs(keys.data(), sorted_keys.data(), order.data(), values.data(), n,
                             kernel::cuda::bits_for(static_cast<std::uint64_t>(segments - 1)), st);
    launch<ks::flag_top>(grid_over(n), st, {values.data(), n, seg, k, flags.data()});
  } else {
    launch<ks::flag_top>(grid_over(n), st, {order.data(), n, seg, k, flags.data()});
  }
  return flags;
}

/// Exclusive sum of the flags and their total.
struct scan_result {
  device_buffer<std::uint32_t> pos;
  index_t total = 0;
};
inline scan_result scan_flags(const device_buffer<std::uint32_t>& flags, stream s) {
  const index_t n = flags.size();
  scan_result r{device_buffer<std::uint32_t>(n, s), 0};
  if (n == 0) return r;
  kernel::cuda::exclusive_sum(flags.data(), r.pos.data(), n, s);
  r.total = index_t{kernel::cuda::read_scalar(r.pos.data() + n - 1, s)} +
            kernel::cuda::read_scalar(flags.data() + n - 1, s);
  return r;
}

/// The flagged positions mod `mod`, in increasing order.
inline device_buffer<std::int32_t> compact(const device_buffer<std::uint32_t>& flags,
                                           const scan_result& sc, index_t mod, stream s) {
  device_buffer<std::int32_t> out(sc.total, s);
  launch<ks::compact_flagged>(grid_over(flags.size()), s,
                              {flags.data(), sc.pos.data(), flags.size(), mod, out.data()});
  return out;
}

/// Pointers over segments of `seg` flagged positions (segments + 1 entries).
inline device_buffer<std::int32_t> pointers(const scan_result& sc, index_t n, index_t seg,
                                            index_t segments, stream s) {
  device_buffer<std::int32_t> ptr(segments + 1, s);
  launch<ks::segment_pointers>(grid_over(segments + 1), s,
                               {sc.pos.data(), n, seg, segments, sc.total, ptr.data()});
  return ptr;
}

}  // namespace detail

/// Builds layout L's device entity keeping the highest scores (doubles, [R, K], device). The
/// primary template selects on the host (scores downloaded, entity uploaded); the layouts with a
/// device selection specialize it.
template <class L>
struct device_selector {
  static std::shared_ptr<const device_entity<L>> select(const double* s, matrix_shape sh,
                                                        double sparsity, stream st) {
    tensor<double, 2> h(dextents<2>(sh.rows, sh.cols));
    if (h.size() > 0)
      STCO_CUDA_CHECK(cudaMemcpyAsync(h.data(), s,
                                      static_cast<std::size_t>(h.size()) * sizeof(double),
                                      cudaMemcpyDeviceToHost, st.get()));
    st.synchronize();
    return device_entity<L>::of(L::select(h.view(), sparsity), st);
  }
};

template <>
struct device_selector<dense> {
  static std::shared_ptr<const device_entity<dense>> select(const double*, matrix_shape sh, double,
                                                            stream st) {
    return device_entity<dense>::build(sh, {}, st);
  }
};

template <int N, int M>
struct device_selector<nm<N, M>> {
  static std::shared_ptr<const device_entity<nm<N, M>>> select(const double* s, matrix_shape sh,
                                                               double, stream st) {
    constexpr int bits = offset_bits(M);
    const index_t G = ceil_div(sh.cols, M), count = sh.rows * G * N;
    const index_t words = packed_bits::words_for(count, bits);
    device_buffer<std::uint8_t> off(count, st);
    detail::launch<kernel::cuda::select::nm_offsets<N, M>>(detail::grid_over(sh.rows * G), st,
                                                           {s, sh.rows, sh.cols, G, off.data()});
    device_index<nm<N, M>> idx{device_buffer<std::uint32_t>(words, st)};
    detail::launch<kernel::cuda::select::pack_fields<bits>>(
        detail::grid_over(words), st, {off.data(), count, words, idx.words.data()});
    return device_entity<nm<N, M>>::build(sh, std::move(idx), st);
  }
};

template <int T>
struct device_selector<tile_wise<T>> {
  static std::shared_ptr<const device_entity<tile_wise<T>>> select(const double* s, matrix_shape sh,
                                                                   double sparsity, stream st) {
    const index_t tiles = ceil_div(sh.rows, T), n = tiles * sh.cols;
    device_buffer<double> sums(n, st);
    detail::launch<kernel::cuda::select::tile_column_sums<T>>(
        detail::grid_over(n), st, {s, sh.rows, sh.cols, tiles, sums.data()});
    const auto flags =
        detail::top_k_flags(sums.data(), n, sh.cols, kept_count(sh.cols, sparsity), st);
    const auto sc = detail::scan_flags(flags, st);
    auto cols = detail::compact(flags, sc, sh.cols, st);
    auto ptr = detail::pointers(sc, n, sh.cols, tiles, st);
    device_index<tile_wise<T>> idx{device_index_list::adopt(std::move(ptr), sc.total, st),
                                   device_index_list::adopt(std::move(cols), sh.cols, st)};
    return device_entity<tile_wise<T>>::build(sh, std::move(idx), st);
  }
};

template <int BR, int BC>
struct device_selector<block<BR, BC>> {
  static std::shared_ptr<const device_entity<block<BR, BC>>> select(const double* s,
                                                                    matrix_shape sh,
                                                                    double sparsity, stream st) {
    const index_t Rb = ceil_div(sh.rows, BR), Kb = ceil_div(sh.cols, BC), n = Rb * Kb;
    device_buffer<double> sums(n, st);
    detail::launch<kernel::cuda::select::block_sums<BR, BC>>(
        detail::grid_over(n), st, {s, sh.rows, sh.cols, Rb, Kb, sums.data()});
    const auto flags = detail::top_k_flags(sums.data(), n, n, kept_count(n, sparsity), st);
    const auto sc = detail::scan_flags(flags, st);
    auto cols = detail::compact(flags, sc, Kb, st);
    auto ptr = detail::pointers(sc, n, Kb, Rb, st);
    device_index<block<BR, BC>> idx{device_index_list::adopt(std::move(ptr), sc.total, st),
                                    device_index_list::adopt(std::move(cols), Kb, st)};
    return device_entity<block<BR, BC>>::build(sh, std::move(idx), st);
  }
};

template <>
struct device_selector<channel> {
  static std::shared_ptr<const device_entity<channel>> select(const double* s, matrix_shape sh,
                                                              double sparsity, stream st) {
    device_buffer<double> sums(sh.rows, st);
    detail::launch<kernel::cuda::select::row_sums>(detail::grid_over(sh.rows), st,
                                                   {s, sh.rows, sh.cols, sums.data()});
    const auto flags =
        detail::top_k_flags(sums.data(), sh.rows, sh.rows, kept_count(sh.rows, sparsity), st);
    const auto sc = detail::scan_flags(flags, st);
    auto rows = detail::compact(flags, sc, sh.rows, st);
    return device_entity<channel>::build(
        sh,
        device_index<channel>::from_rows(device_index_list::adopt(std::move(rows), sh.rows, st),
                                         sh.rows, st),
        st);
  }
};

template <>
struct device_selector<csr> {
  static std::shared_ptr<const device_entity<csr>> select(const double* s, matrix_shape sh,
                                                          double sparsity, stream st) {
    const index_t n = sh.size();
    const auto flags = detail::top_k_flags(s, n, n, kept_count(n, sparsity), st);
    const auto sc = detail::scan_flags(flags, st);
    auto cols = detail::compact(flags, sc, sh.cols, st);
    auto ptr = detail::pointers(sc, n, sh.cols, sh.rows, st);
    device_index<csr> idx{device_index_list::adopt(std::move(ptr), sc.total, st),
                          device_index_list::adopt(std::move(cols), sh.cols, st)};
    return device_entity<csr>::build(sh, std::move(idx), st);
  }
};

/// A device entity of layout L keeping the highest `scores` (a device [R, K] matrix of any value
/// type, aggregated per unit of the layout as on the host) at `sparsity`. argument_error for a
/// sparsity the layout does not take or a NaN score.
template <class L, class U, class E>
std::shared_ptr<const device_entity<L>> select(const basic_device_tensor<U, E>& scores,
                                               double sparsity, stream s) {
  static_assert(is_layout_v<L>, "stco::cuda::select: the first template argument must be a layout");
  static_assert(E::rank() == 2, "stco::cuda::select: scores must be a rank-2 device tensor");
  stco::detail::check_sparsity<L>(sparsity, "cuda::select");
  const matrix_shape sh = scores.shape();
  const auto d = detail::score_doubles<L>(scores.data(), sh, false, "score", s);
  return device_selector<L>::select(d.data(), sh, sparsity, s);
}

/// The values of the dense device matrix W [R, K] at e's kept slots, as a device sparse matrix
/// sharing e (entries outside the pattern are dropped).
template <class T, class E, class L>
device_sparse_matrix<T, L> gather(const basic_device_tensor<T, E>& W,
                                  std::shared_ptr<const device_entity<L>> e, stream s) {
  static_assert(E::rank() == 2, "stco::cuda::gather: W must be a rank-2 device tensor");
  if (!e)
    throw argument_error(
        stco::detail::message("stco::cuda::gather<", L::name(), ">: null device entity"));
  if (W.shape() != e->logical_shape())
    throw shape_error(stco::detail::message("stco::cuda::gather<", L::name(), ">: dense matrix ",
                                            W.shape(), " does not match the entity's shape ",
                                            e->logical_shape()));
  const auto& co = kernel::cuda::coords_of(*e, s);
  device_sparse_matrix<T, L> out(std::move(e), s);
  detail::launch<kernel::cuda::select::gather_slots<T>>(
      detail::grid_over(out.value_count()), s,
      {W.data(), co.at.data(), out.value_count(), out.values()});
  return out;
}

/// Prunes the dense device matrix W [R, K] into layout L by magnitude (as stco::prune).
template <class L, class T, class E>
device_sparse_matrix<T, L> prune(const basic_device_tensor<T, E>& W,
                                 double sparsity = L::default_sparsity, stream s = stream{}) {
  static_assert(is_layout_v<L>, "stco::cuda::prune: the first template argument must be a layout");
  static_assert(E::rank() == 2, "stco::cuda::prune: W must be a rank-2 device tensor");
  stco::detail::check_sparsity<L>(sparsity, "cuda::prune");
  const matrix_shape sh = W.shape();
  const auto d = detail::score_doubles<L>(W.data(), sh, true, "weight", s);
  return gather(W, device_selector<L>::select(d.data(), sh, sparsity, s), s);
}

/// Prunes W keeping the entries with the largest `scores` (same shape), values from W.
template <class L, class T, class E, class U, class E2>
device_sparse_matrix<T, L> prune(const basic_device_tensor<T, E>& W,
                                 const basic_device_tensor<U, E2>& scores, double sparsity,
                                 stream s) {
  if (scores.shape() != W.shape())
    throw shape_error(stco::detail::message("stco::cuda::prune<", L::name(), ">: scores ",
                                            scores.shape(), " do not match the weight ",
                                            W.shape()));
  return gather(W, select<L>(scores, sparsity, s), s);
}

/// The dense [R, K] device form of `w` (zeros off the pattern).
template <class T, class L>
device_tensor<T, 2> decode(const device_sparse_matrix<T, L>& w, stream s) {
  device_tensor<T, 2> out(dextents<2>(w.rows(), w.cols()), s);
  const auto& co = kernel::cuda::coords_of(w.entity(), s);
  detail::launch<kernel::cuda::select::scatter_slots<T>>(
      detail::grid_over(w.value_count()), s,
      {w.values(), co.at.data(), w.value_count(), out.data()});
  return out;
}

}  // namespace stco::cuda
