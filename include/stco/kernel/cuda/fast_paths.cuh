// stco/kernel/cuda/fast_paths.cuh — the tensor-core families wired into the planner
// (specializations of fast_path, see dispatch.cuh and planner.cuh): each plans its route for a
// call, then runs exactly that route. Everything they do not take runs the portable kernels.
//
// gather_tc (kernel/cuda/gather_tc/): tile_wise, tile_vector, block, channel and dense in half or
//   bfloat16. The kept columns of a tile are gathered into shared memory and multiplied as a dense
//   tensor-core GEMM; matmul, and conv2d with groups = 1 (conv_applicable decides).
//
// sparse_tc (kernel/cuda/sparse_tc/): nm<2,4> in half or bfloat16 on the sparse tensor cores
//   (mma.sp; wgmma.sp on sm_90a), its metadata in instruction order cached in the device entity;
//   matmul forward, dX and dW.
//   - dX: a transposable mask (sparse_tc/transposable.hpp; prune with
//     stco::cuda::sparse_tc::prune_transposable_weight) runs Wᵀ·dZ on the sparse tensor cores,
//     Wᵀ's entity and metadata derived once per entity and its values gathered per call; any other
//     mask decompresses Wᵀ densely per call (one kernel) and runs the dense wgmma kernel on sm_90a
//     (else mma.sync from shared memory).
//   - dW is written in the value type directly; a split reduction accumulates in a float workspace.
//   - A chain with an activation has dZ formed in scratch first (one elementwise kernel) so that
//   the
//     sm90 kernels run the linear problem. Scratch buffers are cached per (entity, stream): no
//     allocation or host sync per call in steady state.
//   - Every other N:M mask (sparse_tc/embed_nm.cuh) runs the same kernels on a 2:4 entity derived
//     once per entity: one term where each quad keeps at most two (1:2, 1:4, 1:8, 2:8, …), else two
//     terms side by side over [X; X] (4:8, 2:3, 5:16, …: W = Wa + Wb, the dense amount of work at
//     the sparse rate); values gathered into 2:4 order per call, dW scattered back, dX's halves
//     summed.
//
// options::fast_kernels = false on the stream (core/cuda/options.cuh) routes a call to the portable
// kernels at run time; defining STCO_CUDA_NO_FAST_PATHS (or STCO_CUDA_NO_GATHER_TC /
// STCO_CUDA_NO_SPARSE_TC) leaves the families out of the build (portable kernels only, shorter
// compiles).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "stco/kernel/cuda/dispatch.cuh"
#include "stco/kernel/cuda/launch.cuh"
#include "stco/kernel/cuda/values.cuh"

#if !defined(STCO_CUDA_EMULATE) && !defined(STCO_CUDA_NO_FAST_PATHS) && defined(__CUDACC__)
#if __has_include("stco/kernel/cuda/gather_tc/fast_path.cuh") && !defined(STCO_CUDA_NO_GATHER_TC)
#include "stco/kernel/cuda/gather_tc/fast_path.cuh"
#endif
#if __has_include("stco/kernel/cuda/sparse_tc/ops.cuh") &&                    \
                  __has_include("stco/kernel/cuda/sparse_tc/metadata.hpp") && \
                                !defined(STCO_CUDA_NO_SPARSE_TC)
#include "stco/kernel/cuda/sparse_tc/embed_nm.cuh"
#include "stco/kernel/cuda/sparse_tc/metadata.hpp"
#include "stco/kernel/cuda/sparse_tc/ops.cuh"
#include "stco/kernel/cuda/sparse_tc/transposable.hpp"
#include "stco/kernel/cuda/sparse_tc/transpose.cuh"
#include "stco/layout/cuda/nm.cuh"
#define STCO_CUDA_SPARSE_TC 1
#endif
#endif

namespace stco::kernel::cuda {

#if defined(STCO_CUDA_SPARSE_TC)
namespace sparse_tc_glue {
/// The nm<2,4> metadata in the sparse tensor core's register order, on the device: derived once
/// per device entity from the host entity's (cached) instruction-order words.
struct device_metadata {
  stco::cuda::device_buffer<std::uint32_t> words;
  index_t pitch = 0;
};
inline const device_metadata& metadata_of(const stco::cuda::device_entity<nm<2, 4>>& e,
                                          stco::cuda::stream s) {
  return e.derived<device_metadata>([s, &e](const stco::cuda::device_entity_base&) {
    const auto& m = stco::cuda::sparse_tc::metadata(*e.host(s));
    const stco::cuda::stream home = e.home_stream();  // freed with the entity, on its stream
    device_metadata d{
        stco::cuda::device_buffer<std::uint32_t>(static_cast<index_t>(m.words.size()), home),
        m.geom.pitch()};
    d.words.copy_from_host(m.words.data(), static_cast<index_t>(m.words.size()), home);
    home.synchronize();
    return d;
  });
}
template <class T>
stco::cuda::sparse_tc::device_sparse_tc<T> operand(
    const stco::cuda::device_sparse_matrix<T, nm<2, 4>>& w, stco::cuda::stream s) {
  const auto& m = metadata_of(w.entity(), s);
  return {w.values(), w.entity().index().words.data(), m.words.data(), m.pitch, w.rows(), w.cols()};
}
/// Wᵀ's index side on the device where W's mask is transposable (derived once per entity).
struct device_transposed {
  bool transposable = false;
  stco::cuda::device_buffer<std::uint32_t> offsets, meta;
  index_t pitch = 0;
};
inline const device_transposed& transposed_of(const stco::cuda::device_entity<nm<2, 4>>& e,
                                              stco::cuda::stream s) {
  return e.derived<device_transposed>([s, &e](const stco::cuda::device_entity_base&) {
    const auto h = e.host(s);
    device_transposed d;
    if (!stco::cuda::sparse_tc::is_transposable(*h)) return d;
    const auto& t = *stco::cuda::sparse_tc::transposed(*h);
    const auto& m = stco::cuda::sparse_tc::metadata(t);
    const auto& w = t.offsets().words();
    const stco::cuda::stream home = e.home_stream();
    d.transposable = true;
    d.offsets = stco::cuda::device_buffer<std::uint32_t>(static_cast<index_t>(w.size()), home);
    d.offsets.copy_from_host(w.data(), static_cast<index_t>(w.size()), home);
    d.meta = stco::cuda::device_buffer<std::uint32_t>(static_cast<index_t>(m.words.size()), home);
    d.meta.copy_from_host(m.words.data(), static_cast<index_t>(m.words.size()), home);
    d.pitch = m.geom.pitch();
    home.synchronize();
    return d;
  });
}

/// Device scratch memory kept in the entity per (stream, use): Wᵀ's values, dense Wᵀ, dW's float
/// workspace. Allocated on first use (cudaMalloc, once), rewritten by every call before it is
/// read, in stream order; freed with the entity.
class scratch_store {
 public:
  enum use : int {
    wt_values,
    wt_dense,
    dw_workspace,
    dz_values,
    // the other N:M masks on their 2:4 form (below)
    x_stacked,
    dx_stacked,
    wt_summed,
    dw_embedded
  };
  scratch_store() = default;
  scratch_store(const scratch_store&) = delete;
  scratch_store& operator=(const scratch_store&) = delete;
  ~scratch_store() {
    for (auto& e : list_) cudaFree(e.p);  // errors cannot be reported from a destructor
  }
  template <class U>
  U* get(stco::cuda::stream s, use u, index_t n) {
    const std::size_t bytes = static_cast<std::size_t>(std::max<index_t>(n, 1)) * sizeof(U);
    std::lock_guard<std::mutex> lock(m_);
    for (auto& e : list_)
      if (e.s == s.get() && e.u == u) {
        if (e.bytes < bytes) {
          STCO_CUDA_CHECK(cudaFree(e.p));  // waits for the work that used it
          e.p = nullptr;
          STCO_CUDA_CHECK(cudaMalloc(&e.p, bytes));
          e.bytes = bytes;
        }
        return static_cast<U*>(e.p);
      }
    entry e{s.get(), u, nullptr, bytes};
    STCO_CUDA_CHECK(cudaMalloc(&e.p, bytes));
    list_.push_back(e);
    return static_cast<U*>(e.p);
  }

 private:
  struct entry {
    cudaStream_t s;
    use u;
    void* p;
    std::size_t bytes;
  };
  std::mutex m_;
  std::vector<entry> list_;
};
struct device_scratch {
  std::shared_ptr<scratch_store> store = std::make_shared<scratch_store>();
};
inline scratch_store& scratch_of(const stco::cuda::device_entity<nm<2, 4>>& e) {
  return *e.derived<device_scratch>([](const stco::cuda::device_entity_base&) {
             return device_scratch{};
           }).store;
}

/// Whether dZ is formed into memory first so that the sm90 kernels run the gradient as the
/// linear call: an activation in the chain, on an sm_90a device, N % 8 == 0.
template <class T, class Chain>
bool forms_dz(const gemm_call<T, nm<2, 4>, Chain>& c) {
  if constexpr (Chain::has_activation) return c.z && c.n % 8 == 0 && arch::sm90a_available();
  (void)c;
  return false;
}
/// dZ formed once per gradient object where the call comes from one; else per call, in scratch.
template <class T, class Chain>
const T* formed_dz(const gemm_call<T, nm<2, 4>, Chain>& c) {
  return form_dz(c.dy, c.z, c.r, c.n, c.chain, c.s, c.memo, [&] {
    return scratch_of(c.w->entity()).template get<T>(c.s, scratch_store::dz_values, c.r * c.n);
  });
}
/// The call as the linear one on dZ (dz: formed_dz's result, or a stand-in when planning).
template <class T, class Chain>
gemm_call<T, nm<2, 4>, stco::chain<>> linear_on(const gemm_call<T, nm<2, 4>, Chain>& c,
                                                const T* dz) {
  return {c.w, c.x, dz, nullptr, c.out, nullptr, stco::chain<>{}, c.r, c.k, c.n, c.s, nullptr};
}
/// Gradient op O planned as the linear call on a formed dZ where forms_dz says so (true, r set).
template <op O, class T, class Chain>
bool plan_on_formed_dz(const gemm_call<T, nm<2, 4>, Chain>& c, route& r);
/// Runs route r as the linear call on the formed dZ when it says so (true).
template <op O, class T, class Chain>
bool run_on_formed_dz(const gemm_call<T, nm<2, 4>, Chain>& c, const route& r);
inline route sparse_route(op o, kernel_name k, instruction i, int bn = 0) {
  return make_route(o, cuda::family::sparse_tc, k, i, bn);
}
inline const char* no_sm90a() {
  return arch::sm90a_available() ? nullptr
                                 : "sm_80 form: this device does not run the binary's sm_90a code";
}

template <class T>
inline constexpr bool takes = std::is_same_v<T, half> || std::is_same_v<T, bfloat16>;
}  // namespace sparse_tc_glue

template <class T, class Chain>
struct fast_path<op::matmul_forward, nm<2, 4>, T, Chain,
                 std::enable_if_t<sparse_tc_glue::takes<T>>> {
  static constexpr bool available = true;
  static route plan(const gemm_call<T, nm<2, 4>, Chain>& c) {
    namespace g = sparse_tc_glue;
    const int bn = c.s.options().sparse_tc.sparse_bn == 128 ? 128 : 256;
    route r = g::sparse_route(op::matmul_forward, kernel_name::sparse_gemm, instruction::mma_sp);
    // The shape first: the device probe runs only for calls the sm90 kernel could take.
    if (!stco::cuda::sparse_tc::forward_sm90_fits(g::operand(*c.w, c.s), c.x, c.n, c.out))
      r.why = "sm_80 form: ⌈K/4⌉ % 4 != 0, N % 8 != 0 or an operand not 16-byte aligned";
    else if (const char* why = g::no_sm90a())
      r.why = why;
    else
      r = g::sparse_route(op::matmul_forward, kernel_name::sparse_gemm, instruction::wgmma_sp, bn);
    return r;
  }
  static void run(const gemm_call<T, nm<2, 4>, Chain>& c, const route& r) {
    namespace sp = stco::cuda::sparse_tc;
    const sp::path p = r.instruction == instruction::wgmma_sp ? sp::path::sm90 : sp::path::sm80;
    sp::forward(sparse_tc_glue::operand(*c.w, c.s), c.x, c.n, c.out, c.chain, c.stash, c.s.get(), p,
                r.tile_n);
  }
};
template <class T, class Chain>
struct fast_path<op::matmul_grad_x, nm<2, 4>, T, Chain,
                 std::enable_if_t<sparse_tc_glue::takes<T>>> {
  static constexpr bool available = true;
  static route plan(const gemm_call<T, nm<2, 4>, Chain>& c) {
    namespace g = sparse_tc_glue;
    namespace sp = stco::cuda::sparse_tc;
    if (route r; g::plan_on_formed_dz<op::matmul_grad_x>(c, r)) return r;
    const auto& tr = g::transposed_of(c.w->entity(), c.s);
    const int bn = c.s.options().sparse_tc.sparse_bn == 128 ? 128 : 256;
    if (tr.transposable) {  // Wᵀ is 2:4: its values gathered, then the sparse tensor cores
      const sp::device_sparse_tc<T> WT{
          stand_in<T>(), tr.offsets.data(), tr.meta.data(), tr.pitch, c.k, c.r};
      route r = g::sparse_route(op::matmul_grad_x, kernel_name::sparse_gemm, instruction::mma_sp);
      if (!sp::grad_x_sm90_fits<T, Chain>(WT, c.dy, c.n, c.out))
        r.why =
            "sm_80 form: an activation in the chain, ⌈R/4⌉ % 4 != 0, N % 8 != 0 or an operand "
            "not 16-byte aligned";
      else if (const char* why = g::no_sm90a())
        r.why = why;
      else
        r = g::sparse_route(op::matmul_grad_x, kernel_name::sparse_gemm, instruction::wgmma_sp, bn);
      return r;
    }
    // Any other mask: Wᵀ decompressed densely, then the dense wgmma kernel (the scratch is
    // cudaMalloc'd, so alignment is checked on the other operands).
    const index_t ld = ceil_div(c.r, index_t{8}) * 8;
    if (sp::grad_x_dense_fits<T, Chain>(static_cast<const T*>(nullptr), ld, c.dy, c.n, c.out)) {
      route r = g::sparse_route(op::matmul_grad_x, kernel_name::dense_transposed,
                                instruction::wgmma, 256);
      r.why = "Wᵀ is not 2:4 (the mask is not transposable): Wᵀ decompressed densely";
      return r;
    }
    route r =
        g::sparse_route(op::matmul_grad_x, kernel_name::decompressed_tiles, instruction::mma_sync);
    r.why =
        "Wᵀ is not 2:4, and the dense wgmma kernel does not take the call (sm_90a device, "
        "no activation, N % 8 == 0, 16-byte aligned operands)";
    return r;
  }
  static void run(const gemm_call<T, nm<2, 4>, Chain>& c, const route& r) {
    namespace sp = stco::cuda::sparse_tc;
    namespace g = sparse_tc_glue;
    if (g::run_on_formed_dz<op::matmul_grad_x>(c, r)) return;
    const auto& ent = c.w->entity();
    const auto W = g::operand(*c.w, c.s);
    const index_t R = c.r, K = c.k;
    auto& scratch = g::scratch_of(ent);
    if (r.kernel == kernel_name::sparse_gemm) {
      const auto& tr = g::transposed_of(ent, c.s);
      const index_t Gt = ceil_div(R, index_t{4});
      T* wt = scratch.template get<T>(c.s, g::scratch_store::wt_values, K * 2 * Gt);
      sp::transpose_values(c.w->values(), W.offsets, tr.offsets.data(), wt, R, K, c.s.get());
      const sp::device_sparse_tc<T> WT{wt, tr.offsets.data(), tr.meta.data(), tr.pitch, K, R};
      const sp::path p = r.instruction == instruction::wgmma_sp ? sp::path::sm90 : sp::path::sm80;
      sp::grad_x<T>(W, &WT, c.dy, c.z, c.n, c.chain, c.out, c.s.get(), p, r.tile_n);
    } else if (r.kernel == kernel_name::dense_transposed) {
      const index_t ld = ceil_div(R, index_t{8}) * 8;
      T* wt = scratch.template get<T>(c.s, g::scratch_store::wt_dense, K * ld);
      sp::decompress_transposed(c.w->values(), W.offsets, wt, R, K, ld, c.s.get());
      sp::grad_x_dense(static_cast<const T*>(wt), ld, R, K, c.dy, c.n, c.chain, c.out, c.s.get());
    } else {
      sp::grad_x<T>(W, nullptr, c.dy, c.z, c.n, c.chain, c.out, c.s.get(), sp::path::sm80);
    }
  }
};
template <class T, class Chain>
struct fast_path<op::matmul_grad_w, nm<2, 4>, T, Chain,
                 std::enable_if_t<sparse_tc_glue::takes<T>>> {
  static constexpr bool available = true;
  static route plan(const gemm_call<T, nm<2, 4>, Chain>& c) {
    namespace g = sparse_tc_glue;
    namespace sp = stco::cuda::sparse_tc;
    if (route r; g::plan_on_formed_dz<op::matmul_grad_w>(c, r)) return r;
    const int bn = c.s.options().sparse_tc.dense_bn == 128 ? 128 : 256;
    const auto p = sp::detail::plan_grad_w<T, Chain>(g::operand(*c.w, c.s), c.x, c.dy, c.n,
                                                     sp::path::automatic, bn);
    if (p.sm90) {
      route r = g::sparse_route(op::matmul_grad_w, kernel_name::compressed_grad_w,
                                instruction::wgmma, p.bn);
      r.splits = p.splits;
      return r;
    }
    route r =
        g::sparse_route(op::matmul_grad_w, kernel_name::compressed_grad_w, instruction::mma_sync);
    const char* why = g::no_sm90a();
    r.why = why ? why
                : "sm_80 form: an activation in the chain, N % 8 != 0 or an operand not 16-byte "
                  "aligned";
    return r;
  }
  static void run(const gemm_call<T, nm<2, 4>, Chain>& c, const route& r) {
    namespace sp = stco::cuda::sparse_tc;
    namespace g = sparse_tc_glue;
    if (g::run_on_formed_dz<op::matmul_grad_w>(c, r)) return;
    const auto W = g::operand(*c.w, c.s);
    const sp::path p = r.instruction == instruction::wgmma ? sp::path::sm90 : sp::path::sm80;
    const int bn = r.tile_n > 0 ? r.tile_n : 256;
    const index_t ws = sp::grad_w_workspace<T, Chain>(W, c.x, c.dy, c.n, p, bn);
    float* work = ws > 0 ? g::scratch_of(c.w->entity())
                               .template get<float>(c.s, g::scratch_store::dw_workspace, ws)
                         : nullptr;
    sp::grad_w(W, c.x, c.dy, c.z, c.n, c.chain, c.out, c.s.get(), p, work, bn);
  }
};

namespace sparse_tc_glue {
template <op O, class T, class Chain>
bool plan_on_formed_dz(const gemm_call<T, nm<2, 4>, Chain>& c, route& r) {
  if constexpr (Chain::has_activation) {
    if (forms_dz(c)) {
      r = fast_path<O, nm<2, 4>, T, stco::chain<>>::plan(linear_on(c, stand_in<T>()));
      r.dz_formed = true;
      return true;
    }
  }
  (void)c, (void)r;
  return false;
}
template <op O, class T, class Chain>
bool run_on_formed_dz(const gemm_call<T, nm<2, 4>, Chain>& c, const route& r) {
  if constexpr (Chain::has_activation) {
    if (r.dz_formed) {
      fast_path<O, nm<2, 4>, T, stco::chain<>>::run(linear_on(c, formed_dz(c)), r);
      return true;
    }
  }
  (void)c, (void)r;
  return false;
}
}  // namespace sparse_tc_glue

namespace sparse_tc_glue {
/// An N:M weight on the 2:4 paths (sparse_tc/embed_nm.cuh): its 2:4 entity on the device (one term,
/// or two side by side over K' = 8·⌈K/4⌉), derived once per N:M entity.
template <int N, int M>
struct embedded24 {
  std::shared_ptr<const stco::cuda::device_entity<nm<2, 4>>> entity;
};
template <int N, int M>
const embedded24<N, M>& embedded_of(const stco::cuda::device_entity<nm<N, M>>& e,
                                    stco::cuda::stream s) {
  return e.template derived<embedded24<N, M>>([s, &e](const stco::cuda::device_entity_base&) {
    namespace sp = stco::cuda::sparse_tc;
    const auto h = e.host(s);
    std::shared_ptr<const nm_entity<2, 4>> h24;
    if constexpr (sp::terms_24<N, M> == 1)
      h24 = sp::embed_entity(*h);
    else
      h24 = sp::split_entity(*h);
    const stco::cuda::stream home = e.home_stream();
    embedded24<N, M> d{stco::cuda::device_entity<nm<2, 4>>::of(h24, home)};
    home.synchronize();
    return d;
  });
}
/// Per stream, the 2:4 weight over an embedded entity whose values each call gathers (the kernels
/// take a device_sparse_matrix); the other per-call arrays are the 2:4 entity's scratch_store.
template <class T>
class embedded_weights {
 public:
  using matrix = stco::cuda::device_sparse_matrix<T, nm<2, 4>>;
  matrix& get(const std::shared_ptr<const stco::cuda::device_entity<nm<2, 4>>>& e,
              stco::cuda::stream s) {
    std::lock_guard<std::mutex> lock(m_);
    for (auto& [st, m] : list_)
      if (st == s.get()) return *m;
    // Allocated on the entity's home stream (freed there with it, whatever becomes of s).
    const stco::cuda::stream home = e->home_stream();
    list_.emplace_back(s.get(), std::make_unique<matrix>(e, home));
    home.synchronize();
    return *list_.back().second;
  }

 private:
  std::mutex m_;
  std::vector<std::pair<cudaStream_t, std::unique_ptr<matrix>>> list_;
};
template <class T>
struct embedded_values {
  std::shared_ptr<embedded_weights<T>> weights = std::make_shared<embedded_weights<T>>();
};
/// One call of an N:M weight on its 2:4 form: the 2:4 weight (values gathered when `gather`), its
/// scratch, the reduction length K' and the activations the 2:4 GEMM reads (X, or [X; 0; X; 0]).
template <class T, int N, int M, class Chain>
struct embedded_call {
  static constexpr int terms = stco::cuda::sparse_tc::terms_24<N, M>;
  const std::shared_ptr<const stco::cuda::device_entity<nm<2, 4>>>& e24;
  stco::cuda::device_sparse_matrix<T, nm<2, 4>>& w24;
  scratch_store& scratch;
  index_t k;

  embedded_call(const gemm_call<T, nm<N, M>, Chain>& c, bool gather)
      : e24(embedded_of(c.w->entity(), c.s).entity),
        w24(c.w->entity()
                .template derived<embedded_values<T>>(
                    [](const stco::cuda::device_entity_base&) { return embedded_values<T>{}; })
                .weights->get(e24, c.s)),
        scratch(scratch_of(*e24)),
        k(terms == 1 ? c.k : 8 * ceil_div(c.k, index_t{4})) {
    if (gather)
      stco::cuda::sparse_tc::gather_embedded<N, M>(
          c.w->values(), c.w->entity().index().words.data(), e24->index().words.data(),
          w24.buffer().data(), c.r, c.k, c.s.get());
  }
  /// X as the 2:4 GEMM reads it.
  const T* x(const gemm_call<T, nm<N, M>, Chain>& c) {
    if constexpr (terms == 1) {
      return c.x;
    } else {
      T* xs = scratch.template get<T>(c.s, scratch_store::x_stacked, k * c.n);
      stco::cuda::sparse_tc::stack_activations(c.x, xs, c.k, c.n, c.s.get());
      return xs;
    }
  }
  /// The call on the 2:4 weight.
  gemm_call<T, nm<2, 4>, Chain> on_24(const gemm_call<T, nm<N, M>, Chain>& c, const T* x,
                                      T* out) const {
    return {&w24, x, c.dy, c.z, out, c.stash, c.chain, c.r, k, c.n, c.s, c.memo};
  }
};
template <int N, int M, class T>
inline constexpr bool runs_on_24 = takes<T> && (stco::cuda::sparse_tc::embeds_in_24<N, M> ||
                                                stco::cuda::sparse_tc::splits_in_24<N, M>);
}  // namespace sparse_tc_glue

// Every other N:M mask on the nm<2,4> paths above, through its one- or two-term 2:4 form.
template <int N, int M, class T, class Chain>
struct fast_path<op::matmul_forward, nm<N, M>, T, Chain,
                 std::enable_if_t<sparse_tc_glue::runs_on_24<N, M, T>>> {
  static constexpr bool available = true;
  using F24 = fast_path<op::matmul_forward, nm<2, 4>, T, Chain>;
  static route plan(const gemm_call<T, nm<N, M>, Chain>& c) {
    sparse_tc_glue::embedded_call<T, N, M, Chain> e(c, false);
    const T* x = e.terms == 1 ? c.x : stand_in<T>();
    route r = F24::plan(e.on_24(c, x, c.out));
    r.terms = e.terms;
    return r;
  }
  static void run(const gemm_call<T, nm<N, M>, Chain>& c, const route& r) {
    sparse_tc_glue::embedded_call<T, N, M, Chain> e(c, true);
    F24::run(e.on_24(c, e.x(c), c.out), r);
  }
};
template <int N, int M, class T, class Chain>
struct fast_path<op::matmul_grad_x, nm<N, M>, T, Chain,
                 std::enable_if_t<sparse_tc_glue::runs_on_24<N, M, T>>> {
  static constexpr bool available = true;
  using F24 = fast_path<op::matmul_grad_x, nm<2, 4>, T, Chain>;
  using E = sparse_tc_glue::embedded_call<T, N, M, Chain>;
  // With two terms, Wᵀ = Waᵀ + Wbᵀ is decoded densely (the terms' supports are disjoint) and
  // multiplied once over K: the dense amount of work once, where the 2:4 path would decode
  // [K', R] and do it twice. That needs dZ in memory and the sm_90a dense kernel; otherwise the
  // two-term product and a sum of halves.
  static route plan(const gemm_call<T, nm<N, M>, Chain>& c) {
    namespace g = sparse_tc_glue;
    E e(c, false);
    if constexpr (E::terms == 2) {
      const bool dz = !Chain::has_activation || g::forms_dz(e.on_24(c, nullptr, c.out));
      const index_t ld = ceil_div(c.r, index_t{8}) * 8;
      // dZ as the dense GEMM reads it: dY, or the formed dZ (an aligned allocation).
      const T* dz_in = Chain::has_activation ? stand_in<T>() : c.dy;
      if (dz && stco::cuda::sparse_tc::grad_x_dense_fits<T, stco::chain<>>(
                    static_cast<const T*>(nullptr), ld, dz_in, c.n, c.out)) {
        route r = g::sparse_route(op::matmul_grad_x, kernel_name::dense_transposed_sum,
                                  instruction::wgmma, 256);
        r.terms = 2;
        r.dz_formed = Chain::has_activation;
        return r;
      }
      route r = F24::plan(e.on_24(c, nullptr, stand_in<T>()));
      r.terms = 2;
      return r;
    } else {
      route r = F24::plan(e.on_24(c, nullptr, c.out));
      r.terms = 1;
      return r;
    }
  }
  static void run(const gemm_call<T, nm<N, M>, Chain>& c, const route& r) {
    namespace sp = stco::cuda::sparse_tc;
    using S = sparse_tc_glue::scratch_store;
    E e(c, true);
    if constexpr (E::terms == 1) {
      F24::run(e.on_24(c, nullptr, c.out), r);
    } else {
      if (r.kernel == kernel_name::dense_transposed_sum) {
        const T* dz = c.dy;
        if constexpr (Chain::has_activation)
          dz = sparse_tc_glue::formed_dz(e.on_24(c, nullptr, c.out));
        const index_t ld = ceil_div(c.r, index_t{8}) * 8;
        T* wts = e.scratch.template get<T>(c.s, S::wt_dense, e.k * ld);
        T* wt = e.scratch.template get<T>(c.s, S::wt_summed, c.k * ld);
        sp::decompress_transposed(e.w24.values(), e.e24->index().words.data(), wts, c.r, e.k, ld,
                                  c.s.get());
        sp::sum_halves(static_cast<const T*>(wts), wt, c.k, ld, c.s.get());
        if constexpr (Chain::has_activation)
          sp::grad_x_dense(static_cast<const T*>(wt), ld, c.r, c.k, dz, c.n, stco::chain<>{}, c.out,
                           c.s.get());
        else
          sp::grad_x_dense(static_cast<const T*>(wt), ld, c.r, c.k, dz, c.n, c.chain, c.out,
                           c.s.get());
        return;
      }
      T* dxs = e.scratch.template get<T>(c.s, S::dx_stacked, e.k * c.n);
      F24::run(e.on_24(c, nullptr, dxs), r);
      sp::sum_halves(static_cast<const T*>(dxs), c.out, c.k, c.n, c.s.get());
    }
  }
};
template <int N, int M, class T, class Chain>
struct fast_path<op::matmul_grad_w, nm<N, M>, T, Chain,
                 std::enable_if_t<sparse_tc_glue::runs_on_24<N, M, T>>> {
  static constexpr bool available = true;
  using F24 = fast_path<op::matmul_grad_w, nm<2, 4>, T, Chain>;
  // dW reads only the 2:4 index side of W, so W's values are not gathered.
  static route plan(const gemm_call<T, nm<N, M>, Chain>& c) {
    sparse_tc_glue::embedded_call<T, N, M, Chain> e(c, false);
    const T* x = e.terms == 1 ? c.x : stand_in<T>();
    route r = F24::plan(e.on_24(c, x, stand_in<T>()));
    r.terms = e.terms;
    return r;
  }
  static void run(const gemm_call<T, nm<N, M>, Chain>& c, const route& r) {
    sparse_tc_glue::embedded_call<T, N, M, Chain> e(c, false);
    T* dw24 = e.scratch.template get<T>(c.s, sparse_tc_glue::scratch_store::dw_embedded,
                                        e.e24->compressed_shape().size());
    F24::run(e.on_24(c, e.x(c), dw24), r);
    stco::cuda::sparse_tc::scatter_embedded<N, M>(
        static_cast<const T*>(dw24), c.w->entity().index().words.data(),
        e.e24->index().words.data(), c.out, c.r, c.k, c.s.get());
  }
};
#endif  // STCO_CUDA_SPARSE_TC

}  // namespace stco::kernel::cuda
