// bench/gpu/peers/cudnn_conv.hpp — cuDNN at its best as the convolution peer: forward,
// backward-data and backward-filter of a 2-D convolution on NHWC activations and a KRSC filter
// (in cuDNN's terms: NCHW dimensions with channels-last strides), fp16 or bf16 tensors with fp32
// compute (CUDNN_DATA_FLOAT), alpha 1, beta 0.
//
// Through the backend (graph) API of cuDNN 9, as PyTorch's cudnn.benchmark does it: one
// operation graph per (op, shape, type); engine configurations from heuristics mode A, then the
// fallback list; those that note DOWN_CONVERT_INPUTS or REDUCED_PRECISION_REDUCTION (which would
// break fp32 accumulation) are dropped; the first `limit` (default 10, PyTorch's
// cudnn.benchmark_limit; STCO_CUDNN_BENCHMARK_LIMIT, 0 = all) that finalize into an execution
// plan with at most 2 GiB of workspace are each run and timed (warm-up, median of five), and the
// fastest plan is kept with its workspace. All of that happens in tune(), outside any timing;
// run() is one cudnnBackendExecute.
// Available where STCO_HAS_CUDNN is defined (CMake: STCO_CUDNN_ROOT).
#pragma once

#if defined(STCO_HAS_CUDNN)

#include <cuda_runtime.h>
#include <cudnn.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "peer_log.hpp"
#include "timer.hpp"

namespace stco_bench::gpu {

/// fwd: Y = conv(X, W); bwd_data: dX from dY and W; bwd_filter: dW from X and dY.
enum class conv_op { fwd, bwd_data, bwd_filter };

class cudnn_conv {
 public:
  static std::string method() {
    return "cuDNN " + std::to_string(version()) +
           " backend API: heuristics mode A then fallback, DOWN_CONVERT_INPUTS / "
           "REDUCED_PRECISION_REDUCTION engines dropped, the first " +
           std::to_string(limit_from_env()) +
           " plans that finalize (<= 2 GiB workspace) timed, fastest kept; NHWC fp16, fp32 "
           "compute; tuning not timed";
  }
  static std::size_t version() { return cudnnGetVersion(); }

  /// A cuDNN that cannot start (libraries missing at run time) leaves the peer unavailable:
  /// every tune() is false and its columns are skipped.
  cudnn_conv() {
    const cudnnStatus_t st = cudnnCreate(&h_);
    if (st != CUDNN_STATUS_SUCCESS) {
      std::fprintf(stderr, "cuDNN: cudnnCreate failed (%s): its columns are skipped\n",
                   cudnnGetErrorString(st));
      h_ = nullptr;
    }
  }
  cudnn_conv(const cudnn_conv&) = delete;
  cudnn_conv& operator=(const cudnn_conv&) = delete;
  ~cudnn_conv() {
    plans_.clear();
    cudaFree(ws_);
    if (h_) cudnnDestroy(h_);
  }

  /// Finds the fastest plan for op on c (once per (op, c, type); not timed). x, w and y are the
  /// activations, the filter and the output (fwd: reads x, w, writes y; bwd_data: reads y = dY
  /// and w, writes x = dX; bwd_filter: reads x and y = dY, writes w = dW). False where cuDNN
  /// has no plan.
  bool tune(cudaStream_t s, conv_op op, const conv_shape& c, cudnnDataType_t type, void* x, void* w,
            void* y) {
    const key k{op, c.n, c.h, c.w, c.c, c.k, c.r, c.s, c.stride, c.pad, c.dil, c.groups, type};
    if (plans_.count(k)) return plans_[k] != nullptr;
    if (!h_) return false;
    ok(cudnnSetStream(h_, s), "cudnnSetStream");
    auto p = search(s, op, c, type, x, w, y);
    const bool found = p != nullptr;
    if (!found)
      std::fprintf(stderr,
                   "cuDNN: no plan for %s n%ld %ldx%ldx%ld -> %ld, %ldx%ld/%ld: column skipped\n",
                   name(op), c.n, c.h, c.w, c.c, c.k, c.r, c.s, c.stride);
    plans_[k] = std::move(p);
    return found;
  }

  /// Runs op with its tuned plan (tune() first; aborts where there is none).
  void run(cudaStream_t s, conv_op op, const conv_shape& c, cudnnDataType_t type, void* x, void* w,
           void* y) {
    const key k{op, c.n, c.h, c.w, c.c, c.k, c.r, c.s, c.stride, c.pad, c.dil, c.groups, type};
    const auto it = plans_.find(k);
    if (it == plans_.end() || !it->second) {
      std::fprintf(stderr, "cudnn_conv::run: %s not tuned (or no plan)\n", name(op));
      std::abort();
    }
    ok(cudnnSetStream(h_, s), "cudnnSetStream");
    ok(cudnnBackendExecute(h_, it->second->plan.d, pack(*it->second, x, w, y)),
       "cudnnBackendExecute");
  }

  std::string choice(conv_op op, const conv_shape& c, cudnnDataType_t type) const {
    const key k{op, c.n, c.h, c.w, c.c, c.k, c.r, c.s, c.stride, c.pad, c.dil, c.groups, type};
    const auto it = plans_.find(k);
    return it == plans_.end() || !it->second ? "" : it->second->text;
  }

  static const char* name(conv_op op) {
    return op == conv_op::fwd ? "fwd" : op == conv_op::bwd_data ? "bwd_data" : "bwd_filter";
  }

 private:
  using key = std::tuple<conv_op, long, long, long, long, long, long, long, long, long, long, long,
                         cudnnDataType_t>;

  static void ok(cudnnStatus_t st, const char* what) {
    if (st != CUDNN_STATUS_SUCCESS) {
      char msg[512] = {};
      cudnnGetLastErrorString(msg, sizeof msg);
      std::fprintf(stderr, "%s failed: %s (%s)\n", what, cudnnGetErrorString(st), msg);
      std::abort();
    }
  }
  static int limit_from_env() {
    const char* e = std::getenv("STCO_CUDNN_BENCHMARK_LIMIT");
    return e ? std::atoi(e) : 10;
  }

  /// One backend descriptor, destroyed with its owner.
  struct bdesc {
    cudnnBackendDescriptor_t d = nullptr;
    explicit bdesc(cudnnBackendDescriptorType_t t) {
      ok(cudnnBackendCreateDescriptor(t, &d), "cudnnBackendCreateDescriptor");
    }
    bdesc(const bdesc&) = delete;
    bdesc& operator=(const bdesc&) = delete;
    ~bdesc() {
      if (d) cudnnBackendDestroyDescriptor(d);
    }
    bool set(cudnnBackendAttributeName_t a, cudnnBackendAttributeType_t t, std::int64_t n,
             const void* v) {
      return cudnnBackendSetAttribute(d, a, t, n, v) == CUDNN_STATUS_SUCCESS;
    }
    bool finalize() { return cudnnBackendFinalize(d) == CUDNN_STATUS_SUCCESS; }
  };
  using bptr = std::unique_ptr<bdesc>;

  struct plan_t {
    std::vector<bptr> keep;  // the graph's descriptors, alive as long as the plan
    bdesc plan{CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR};
    std::int64_t ws = 0;
    std::string text;
    std::map<std::tuple<void*, void*, void*, void*>, bptr> packs;  // per (x, w, y, workspace)
  };

  static bptr tensor(std::int64_t uid, cudnnDataType_t t, const std::int64_t (&dims)[4],
                     const std::int64_t (&strides)[4]) {
    auto d = std::make_unique<bdesc>(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    const std::int64_t align = 16;
    const bool good = d->set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &t) &&
                      d->set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims) &&
                      d->set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides) &&
                      d->set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid) &&
                      d->set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align) &&
                      d->finalize();
    return good ? std::move(d) : nullptr;
  }

  /// The operation graph of op on c; its descriptors go to `keep` (graph last). Null on failure.
  cudnnBackendDescriptor_t graph(conv_op op, const conv_shape& c, cudnnDataType_t t,
                                 std::vector<bptr>& keep) {
    const std::int64_t cg = c.c / c.groups, P = c.p(), Q = c.q();
    auto X = tensor(1, t, {c.n, c.c, c.h, c.w}, {c.h * c.w * c.c, 1, c.w * c.c, c.c});
    auto W = tensor(2, t, {c.k, cg, c.r, c.s}, {c.r * c.s * cg, 1, c.s * cg, cg});
    auto Y = tensor(3, t, {c.n, c.k, P, Q}, {P * Q * c.k, 1, Q * c.k, c.k});
    if (!X || !W || !Y) return nullptr;
    auto conv = std::make_unique<bdesc>(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
    const cudnnDataType_t comp = CUDNN_DATA_FLOAT;
    const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    const std::int64_t dims = 2, pad[2] = {c.pad, c.pad}, dil[2] = {c.dil, c.dil},
                       str[2] = {c.stride, c.stride};
    if (!conv->set(CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp) ||
        !conv->set(CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode) ||
        !conv->set(CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &dims) ||
        !conv->set(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pad) ||
        !conv->set(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, pad) ||
        !conv->set(CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dil) ||
        !conv->set(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, str) ||
        !conv->finalize())
      return nullptr;
    const float alpha = 1.f, beta = 0.f;
    bptr o;
    bool good = false;
    const auto BD = CUDNN_TYPE_BACKEND_DESCRIPTOR;
    switch (op) {
      case conv_op::fwd:
        o = std::make_unique<bdesc>(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
        good =
            o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, BD, 1, &X->d) &&
            o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, BD, 1, &W->d) &&
            o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, BD, 1, &Y->d) &&
            o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, BD, 1, &conv->d) &&
            o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha) &&
            o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
        break;
      case conv_op::bwd_data:
        o = std::make_unique<bdesc>(CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR);
        good =
            o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX, BD, 1, &X->d) &&
            o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W, BD, 1, &W->d) &&
            o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY, BD, 1, &Y->d) &&
            o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC, BD, 1, &conv->d) &&
            o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha) &&
            o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
        break;
      case conv_op::bwd_filter:
        o = std::make_unique<bdesc>(CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR);
        good = o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X, BD, 1, &X->d) &&
               o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW, BD, 1, &W->d) &&
               o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY, BD, 1, &Y->d) &&
               o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC, BD, 1, &conv->d) &&
               o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA, CUDNN_TYPE_FLOAT, 1,
                      &alpha) &&
               o->set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
        break;
    }
    if (!good || !o->finalize()) return nullptr;
    auto g = std::make_unique<bdesc>(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    if (!g->set(CUDNN_ATTR_OPERATIONGRAPH_OPS, BD, 1, &o->d) ||
        !g->set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &h_) || !g->finalize())
      return nullptr;
    const cudnnBackendDescriptor_t out = g->d;
    for (auto* d : {&X, &W, &Y, &conv, &o, &g}) keep.push_back(std::move(*d));
    return out;
  }

  /// Engine configurations of graph g from heuristics `mode` (finalized heuristics kept alive).
  static std::vector<bptr> configs(cudnnBackendDescriptor_t g, cudnnBackendHeurMode_t mode,
                                   std::vector<bptr>& keep) {
    std::vector<bptr> out;
    auto heur = std::make_unique<bdesc>(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    if (!heur->set(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &g) ||
        !heur->set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode) || !heur->finalize())
      return out;
    std::int64_t count = 0;
    if (cudnnBackendGetAttribute(heur->d, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                 CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count,
                                 nullptr) != CUDNN_STATUS_SUCCESS ||
        count <= 0)
      return out;
    std::vector<cudnnBackendDescriptor_t> raw;
    for (std::int64_t i = 0; i < count; ++i) {
      out.push_back(std::make_unique<bdesc>(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR));
      raw.push_back(out.back()->d);
    }
    std::int64_t got = 0;
    if (cudnnBackendGetAttribute(heur->d, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                 CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &got,
                                 raw.data()) != CUDNN_STATUS_SUCCESS)
      return {};
    out.resize(static_cast<std::size_t>(std::min(got, count)));
    keep.push_back(std::move(heur));
    return out;
  }

  /// The engine's global index and whether its numerical notes allow it (fp32 accumulation).
  static std::pair<std::int64_t, bool> engine_of(cudnnBackendDescriptor_t cfg) {
    bdesc engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
    std::int64_t n = 0, index = -1;
    if (cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                                 &n, &engine.d) != CUDNN_STATUS_SUCCESS)
      return {-1, false};
    cudnnBackendGetAttribute(engine.d, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &n,
                             &index);
    cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
    std::int64_t nn = 0;
    if (cudnnBackendGetAttribute(engine.d, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE,
                                 CUDNN_TYPE_NUMERICAL_NOTE, CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &nn,
                                 notes) != CUDNN_STATUS_SUCCESS)
      nn = 0;
    for (std::int64_t i = 0; i < nn && i < CUDNN_NUMERICAL_NOTE_TYPE_COUNT; ++i)
      if (notes[i] == CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS ||
          notes[i] == CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION)
        return {index, false};
    return {index, true};
  }

  void grow_workspace(std::int64_t bytes) {
    if (bytes <= ws_bytes_) return;
    cudaFree(ws_);
    check(cudaMalloc(&ws_, static_cast<std::size_t>(bytes)), "cudaMalloc (cuDNN workspace)");
    ws_bytes_ = bytes;
  }

  cudnnBackendDescriptor_t pack(plan_t& p, void* x, void* w, void* y) {
    auto& slot = p.packs[{x, w, y, ws_}];
    if (slot) return slot->d;
    auto v = std::make_unique<bdesc>(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    const std::int64_t uids[3] = {1, 2, 3};
    void* ptrs[3] = {x, w, y};
    void* ws = ws_;
    if (!v->set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids) ||
        !v->set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, ptrs) ||
        !v->set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws) || !v->finalize()) {
      std::fprintf(stderr, "cudnn_conv: variant pack failed\n");
      std::abort();
    }
    slot = std::move(v);
    return slot->d;
  }

  std::unique_ptr<plan_t> search(cudaStream_t s, conv_op op, const conv_shape& c, cudnnDataType_t t,
                                 void* x, void* w, void* y) {
    constexpr std::int64_t kMaxWorkspace = std::int64_t{2} << 30;
    std::vector<bptr> keep;
    const cudnnBackendDescriptor_t g = graph(op, c, t, keep);
    if (!g) return nullptr;
    const int limit = limit_from_env();
    auto heur_a = configs(g, CUDNN_HEUR_MODE_A, keep);
    auto fallback = configs(g, CUDNN_HEUR_MODE_FALLBACK, keep);
    std::vector<std::pair<bdesc*, std::string>> cands;  // engine config, where it came from
    std::vector<std::int64_t> seen;
    int dropped = 0;
    for (auto* list : {&heur_a, &fallback})
      for (std::size_t i = 0; i < list->size(); ++i) {
        const auto [index, allowed] = engine_of((*list)[i]->d);
        if (!allowed) {
          ++dropped;
          continue;
        }
        // The fallback list repeats engines heuristics A already gave.
        if (list == &fallback && std::find(seen.begin(), seen.end(), index) != seen.end()) continue;
        seen.push_back(index);
        cands.push_back(
            {(*list)[i].get(), std::string(list == &heur_a ? "heuristic A #" : "fallback #") +
                                   std::to_string(i + 1) + ", engine " + std::to_string(index)});
      }
    std::unique_ptr<plan_t> best;
    double best_ms = 0;
    int timed = 0;
    for (const auto& [cfg, origin] : cands) {
      if (limit > 0 && timed >= limit) break;
      auto p = std::make_unique<plan_t>();
      if (!p->plan.set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &h_) ||
          !p->plan.set(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                       &cfg->d) ||
          !p->plan.finalize())
        continue;
      std::int64_t n = 0;
      if (cudnnBackendGetAttribute(p->plan.d, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                   CUDNN_TYPE_INT64, 1, &n, &p->ws) != CUDNN_STATUS_SUCCESS ||
          p->ws > kMaxWorkspace)
        continue;
      grow_workspace(p->ws);
      if (cudnnBackendExecute(h_, p->plan.d, pack(*p, x, w, y)) != CUDNN_STATUS_SUCCESS ||
          cudaStreamSynchronize(s) != cudaSuccess) {
        cudaGetLastError();
        continue;
      }
      ++timed;
      const double ms = median_ms(
          s, [&](int) { cudnnBackendExecute(h_, p->plan.d, pack(*p, x, w, y)); }, 3, 5, 30.0, 1,
          1.0);
      if (!best || ms < best_ms) {
        best_ms = ms;
        p->text = origin + ", workspace " + std::to_string(p->ws >> 20) + " MiB";
        best = std::move(p);
      }
    }
    if (!best) return nullptr;
    best->text += "; best of " + std::to_string(timed) + " timed (" + std::to_string(cands.size()) +
                  " candidates, " + std::to_string(dropped) + " dropped for precision)";
    best->packs.clear();  // the workspace may have moved since
    // The graph, heuristics and engine configurations stay alive with the plan made from them.
    for (auto* list : {&heur_a, &fallback})
      for (auto& d : *list) keep.push_back(std::move(d));
    best->keep = std::move(keep);
    return best;
  }

  cudnnHandle_t h_ = nullptr;
  void* ws_ = nullptr;
  std::int64_t ws_bytes_ = 0;
  std::map<key, std::unique_ptr<plan_t>> plans_;
};

}  // namespace stco_bench::gpu

#endif  // STCO_HAS_CUDNN
