// bench/gpu/bench_nm24.cu — nm<2,4> on sparse tensor cores against its peers (bench/gpu/peers):
// cuBLAS dense, cuSPARSELt 2:4, cuSPARSE CSR on the same mask and, for the conv layers, cuDNN:
// forward, dX, dW and the full training step (forward + Wᵀ value gather + dX + dW, against the
// peers' three products), fp16, for 4096³, 8192³ and the im2col GEMM shapes of the VGG16 and
// ResNet-18 conv layers at batch 32, 224×224 (M = Cout, K = KH·KW·Cin, N = 32·H_out·W_out).
//
// Every number is the median of CUDA-event timings after warm-up, over input sets rotated so
// that the data exceed L2 (peers/timer.hpp). Counters: us (ours), TFLOPs (dense-equivalent
// 2·M·N·K / time), and per peer <peer>_us and vs_<peer> (peer time / our time: > 1 means faster
// than the peer). The dense peers run on two weights, named in every counter:
//   _rand    dense-random: the dense model's weight, uniform in [-1, 1), no zeros;
//   _pruned  pruned-dense: the row's 2:4 weight decoded, zeros in place.
// (dW reads no weight: its dense peers are one timing.) cuSPARSELt runs the pruned weight: the
// forward, dX where the mask is transposable (Wᵀ 2:4 too), and its step is cuSPARSELt forward +
// dX (cuBLAS pruned-dense where it cannot) + cuBLAS dW; cuSPARSE CSR the forward. cuDNN
// (cudnn_*: rand / pruned) runs the conv layer itself on NHWC tensors (fwd, backward-data,
// backward-filter, step), where the stco row runs its im2col GEMM (im2col not timed). Every peer
// timing is also written to --peers_out=FILE for torch_check.py.
// The mask is transposable (every 4×4 block 2:4 along rows and columns), so dX also runs on the
// sparse tensor cores; dW is computed at the kept addresses only.
//
// expr_* rows (4096³, 8192³, VGG16 conv4_2): the same operations through the public device
// expressions — eval(Y, matmul(W, X), s), grad(matmul(W, X), dY, s).wrt_into(X, dX) / (W, dW)
// on device_sparse_matrix / device_tensor — with the transposable mask above (expr_*) and with
// a plain magnitude-pruned mask (expr_mag_*, what stco::prune gives; dX decompresses Wᵀ).
// vs_direct = the direct kernel calls' time (transposable mask, float dW) / the expression's;
// their dense peers run the transposable weight (pruned-dense) and the random one.
// expr[_mag]_relu_step: the step of Y = relu(W·X) with an activation stash (dZ = dY ⊙ relu'
// formed per gradient), against the same direct (linear) step.
//
// embed_<layout> rows (4096³, 8192³): other N:M masks on the 2:4 paths (sparse_tc/embed_nm.cuh)
// through the same public expressions, magnitude-pruned: 1:4 (75 %) and 1:2 (50 %) as one 2:4 term,
// 4:8 (50 %) as two terms over the stacked [X; X]. The per-call value gather, dW scatter (and for
// two terms the stacking of X and the sum of dX's halves) are inside the timing. Peers: cuBLAS
// on the random weight and on the layout's own pruned weight, cuSPARSE CSR on the same mask
// (vs_csr, forward) and the portable kernels the layout ran on before (vs_portable:
// options::fast_kernels = false, same binary).
#define STCO_CUDA_NO_GATHER_TC 1  // nm<2,4> only: leave the tile kernels out of this build
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "../common/networks.hpp"
#include "peers/peers.hpp"
#include "stco/core.hpp"
#include "stco/cuda.cuh"
#include "stco/expr/epilogue.hpp"
#include "stco/kernel/cuda/sparse_tc/metadata.hpp"
#include "stco/kernel/cuda/sparse_tc/ops.cuh"
#include "stco/kernel/cuda/sparse_tc/transposable.hpp"
#include "stco/kernel/cuda/sparse_tc/transpose.cuh"
#include "stco/layout/decode.hpp"

namespace {
using stco::index_t;
namespace sparse_tc = stco::cuda::sparse_tc;
namespace bg = stco_bench::gpu;
using T = stco::half;

/// The kernel path the benchmark runs (STCO_BENCH_PATH=sm80 forces the portable one).
sparse_tc::path g_path = sparse_tc::path::automatic;
/// The sm90 kernels' tile widths (the *_bn128 rows switch them).
int g_sparse_bn = 256, g_dense_bn = 256;

struct shape {
  std::string name;
  long M, K, N;
  bg::conv_shape conv{};  // the conv layer the GEMM is the im2col of (n = 0: a plain GEMM)
};

template <class U>
U* dalloc(std::size_t n) {
  U* p = nullptr;
  bg::check(cudaMalloc(&p, std::max<std::size_t>(n, 1) * sizeof(U)), "cudaMalloc");
  return p;
}
template <class U>
U* dupload(const std::vector<U>& h) {
  U* p = dalloc<U>(h.size());
  bg::check(cudaMemcpy(p, h.data(), h.size() * sizeof(U), cudaMemcpyHostToDevice), "cudaMemcpy");
  return p;
}

/// Random fp16 in [-1, 1] on the device (a simple hash, so set-up costs no host time).
__global__ void fill_random(std::uint16_t* p, std::size_t n, unsigned seed) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x) {
    unsigned x = static_cast<unsigned>(i) * 2654435761u ^ seed;
    x ^= x >> 15, x *= 2246822519u, x ^= x >> 13, x *= 3266489917u, x ^= x >> 16;
    const float f = (static_cast<float>(x & 0xFFFFFF) / 16777216.f) * 2.f - 1.f;
    p[i] = __half_as_ushort(__float2half_rn(f));
  }
}
void random_fill(void* p, std::size_t n, unsigned seed) {
  fill_random<<<1024, 256>>>(static_cast<std::uint16_t*>(p), n, seed);
  bg::check(cudaGetLastError(), "fill_random");
}

/// Everything one shape needs, on the device (built on first use, one shape alive at a time).
struct fixture {
  shape sh;
  int sets = 1;
  bool transposable = true;
  std::string pattern;  // the pruned weight's mask, as the peer log names it
  cudaStream_t s{};
  std::shared_ptr<const stco::nm_entity<2, 4>> e, et;
  // ours
  T *w = nullptr, *wt = nullptr;
  std::uint32_t *w_off = nullptr, *w_meta = nullptr, *t_off = nullptr, *t_meta = nullptr;
  sparse_tc::device_sparse_tc<T> W, WT;
  // the peers' weights: pruned-dense (zeros off the mask) and dense-random; their outputs
  T *w_dense = nullptr, *w_rand = nullptr;
  std::vector<T*> X, dY, cX;  // rotating input sets (cX: the conv layer's NHWC input)
  T *Y = nullptr, *dX = nullptr, *dWd = nullptr, *cdX = nullptr;
  float* dW = nullptr;
  bg::cublaslt_gemm blas;
  std::unique_ptr<bg::dense_peers> dense;
  std::unique_ptr<bg::cusparse_csr> csr;
#if defined(STCO_HAS_CUSPARSELT)
  std::unique_ptr<bg::cusparselt_24> lt, lt_dx;
#endif
#if defined(STCO_HAS_CUDNN)
  bg::cudnn_conv dnn;
#endif

  explicit fixture(const shape& shp) : sh(shp) {
    bg::check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
    const long M = sh.M, K = sh.K, N = sh.N;
    // The weight: random values, a transposable 2:4 mask chosen by magnitude.
    std::mt19937 rng(12345u + static_cast<unsigned>(M * 7 + K * 3 + N));
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::vector<float> wf(static_cast<std::size_t>(M * K));
    for (auto& x : wf) x = u(rng);
    std::vector<double> score(wf.begin(), wf.end());
    const stco::matrix_view<const double> sv(score.data(), stco::dextents<2>(M, K));
    // A transposable mask where K allows it (then dX runs on the sparse tensor cores too);
    // otherwise plain magnitude 2:4, and dX decompresses W tile by tile.
    transposable = K % 4 == 0;
    pattern = transposable ? "nm<2,4>T" : "nm<2,4>";
    e = transposable ? sparse_tc::prune_transposable(sv) : stco::nm<2, 4>::select(sv, 0.5);
    if (transposable) et = sparse_tc::transposed(*e);
    std::vector<T> vals(static_cast<std::size_t>(e->compressed_shape().size()));
    std::vector<T> decoded(static_cast<std::size_t>(M * K), T(0.0f));
    std::vector<int> rp(static_cast<std::size_t>(M + 1), 0), ci;
    std::vector<std::uint16_t> cv;
    stco::nm<2, 4>::for_each_slot(*e, [&](index_t q, index_t r, index_t k) {
      vals[static_cast<std::size_t>(q)] = T(wf[static_cast<std::size_t>(r * K + k)]);
      decoded[static_cast<std::size_t>(r * K + k)] = vals[static_cast<std::size_t>(q)];
    });
    for (long r = 0; r < M; ++r) {
      for (long k = 0; k < K; ++k)
        if (decoded[static_cast<std::size_t>(r * K + k)].bits != 0) {
          ci.push_back(static_cast<int>(k));
          cv.push_back(decoded[static_cast<std::size_t>(r * K + k)].bits);
        }
      rp[static_cast<std::size_t>(r + 1)] = static_cast<int>(ci.size());
    }
    const auto& m = sparse_tc::metadata(*e);
    w = dupload(vals), w_off = dupload(e->offsets().words()), w_meta = dupload(m.words);
    W = {w, w_off, w_meta, m.geom.pitch(), M, K};
    if (transposable) {
      const auto tv = sparse_tc::transpose_values(*e, vals.data());
      const auto& mt = sparse_tc::metadata(*et);
      wt = dupload(tv), t_off = dupload(et->offsets().words()), t_meta = dupload(mt.words);
      WT = {wt, t_off, t_meta, mt.geom.pitch(), K, M};
    }
    w_dense = dupload(decoded);
    w_rand = dalloc<T>(static_cast<std::size_t>(M * K));
    random_fill(w_rand, static_cast<std::size_t>(M * K), 77u);
    const bool conv = sh.conv.valid();
    const long xc = conv ? sh.conv.x_elems() : 0;
    sets = bg::rotating_sets(static_cast<std::size_t>((K * N + M * N + xc) * 2));
    for (int i = 0; i < sets; ++i) {
      X.push_back(dalloc<T>(static_cast<std::size_t>(K * N)));
      dY.push_back(dalloc<T>(static_cast<std::size_t>(M * N)));
      random_fill(X.back(), static_cast<std::size_t>(K * N), 100u + i);
      random_fill(dY.back(), static_cast<std::size_t>(M * N), 200u + i);
      if (conv) {
        cX.push_back(dalloc<T>(static_cast<std::size_t>(xc)));
        random_fill(cX.back(), static_cast<std::size_t>(xc), 300u + i);
      }
    }
    Y = dalloc<T>(static_cast<std::size_t>(M * N));
    dX = dalloc<T>(static_cast<std::size_t>(K * N));
    dWd = dalloc<T>(static_cast<std::size_t>(M * K));
    dW = dalloc<float>(static_cast<std::size_t>(e->compressed_shape().size()));
    if (conv) cdX = dalloc<T>(static_cast<std::size_t>(xc));
    bg::check(cudaDeviceSynchronize(), "setup");
    // The dense peers: the im2col GEMM (cuBLAS) and the conv layer itself (cuDNN), whose NHWC
    // dY and Y have the GEMM's element counts and reuse its buffers.
    bg::peer_problem pb;
    pb.row = "nm24/*/" + sh.name;
    pb.kind = conv ? "conv" : "gemm";
    pb.M = M, pb.K = K, pb.N = N, pb.conv = sh.conv, pb.sets = sets;
    bg::dense_peers::buffers b;
    b.x = [this](int i) { return static_cast<const void*>(X[static_cast<std::size_t>(i % sets)]); };
    b.dy = [this](int i) {
      return static_cast<const void*>(dY[static_cast<std::size_t>(i % sets)]);
    };
    b.y = Y, b.dx = dX, b.dw = dWd;
    b.cx = [this](int i) { return static_cast<void*>(cX[static_cast<std::size_t>(i % sets)]); };
    b.cdy = [this](int i) { return static_cast<void*>(dY[static_cast<std::size_t>(i % sets)]); };
    b.cy = Y, b.cdx = cdX;
    dense = std::make_unique<bg::dense_peers>(pb, b, blas);
    csr = std::make_unique<bg::cusparse_csr>(CUDA_R_16F, M, K, N, rp, ci, cv);
#if defined(STCO_HAS_CUSPARSELT)
    lt = std::make_unique<bg::cusparselt_24>(CUDA_R_16F, false, M, K, N, w_dense, X[0], Y, s);
    // dX = Wᵀ·dY: W read transposed, 2:4 along M only where the mask is transposable.
    if (transposable)
      lt_dx = std::make_unique<bg::cusparselt_24>(CUDA_R_16F, true, K, M, N, w_dense, dY[0], dX, s);
#endif
  }
  ~fixture() {
    cudaDeviceSynchronize();
    for (auto p : X) cudaFree(p);
    for (auto p : dY) cudaFree(p);
    for (auto p : cX) cudaFree(p);
    for (void* p : {static_cast<void*>(w), static_cast<void*>(wt), static_cast<void*>(w_off),
                    static_cast<void*>(w_meta), static_cast<void*>(t_off),
                    static_cast<void*>(t_meta), static_cast<void*>(w_dense),
                    static_cast<void*>(w_rand), static_cast<void*>(Y), static_cast<void*>(dX),
                    static_cast<void*>(dWd), static_cast<void*>(dW), static_cast<void*>(cdX)})
      cudaFree(p);
    cudaStreamDestroy(s);
  }

  // The operations, call i on input set i % sets.
  void fwd(int i) {
    sparse_tc::forward(W, X[i % sets], sh.N, Y, stco::chain<>{}, nullptr, s, g_path, g_sparse_bn);
  }
  void gather() {
    if (transposable) sparse_tc::transpose_values(w, w_off, t_off, wt, sh.M, sh.K, s);
  }
  void dx(int i) {
    gather();
    sparse_tc::grad_x(W, transposable ? &WT : nullptr, dY[i % sets], nullptr, sh.N, stco::chain<>{},
                      dX, s, g_path, g_sparse_bn);
  }
  void dw(int i) {
    sparse_tc::grad_w(W, X[i % sets], dY[i % sets], nullptr, sh.N, stco::chain<>{}, dW, s, g_path,
                      nullptr, g_dense_bn);
  }

  /// The dense peers of op o: cuBLAS on both weights, and cuDNN on both where the shape is a
  /// conv layer (ms; 0 where absent).
  struct dense_times {
    double blas_rand = 0, blas_pruned = 0, dnn_rand = 0, dnn_pruned = 0;
  };
  dense_times dense_of(bg::step_op o) {
    dense_times t;
    t.blas_rand = dense->cublas(s, o, w_rand, bg::kDenseRandom);
    t.blas_pruned = dense->cublas(s, o, w_dense, bg::kPrunedDense, pattern, 0.5);
#if defined(STCO_HAS_CUDNN)
    t.dnn_rand = dense->cudnn(s, dnn, o, w_rand, bg::kDenseRandom);
    t.dnn_pruned = dense->cudnn(s, dnn, o, w_dense, bg::kPrunedDense, pattern, 0.5);
#endif
    return t;
  }

  /// cuSPARSELt's time of op o on the pruned weight (ms; 0 where cuSPARSELt cannot): forward,
  /// dX (transposable masks), and the step with cuBLAS for what it cannot (dW, dX otherwise).
  double cusparselt(bg::step_op o) {
#if defined(STCO_HAS_CUSPARSELT)
    if (!lt->available()) return 0;
    const bool has_dx = lt_dx && lt_dx->available();
    const auto cache = lt_ms.find(o);
    if (cache != lt_ms.end()) return cache->second;
    bg::peer_problem pb = dense->problem();
    pb.kind = "gemm", pb.conv = {};
    const auto dxd = bg::gemm_desc::dx(CUDA_R_16F, sh.M, sh.K, sh.N);
    const auto dwd = bg::gemm_desc::dw(CUDA_R_16F, sh.M, sh.K, sh.N);
    blas.tune(s, dxd, w_dense, dY[0], dX);
    blas.tune(s, dwd, dY[0], X[0], dWd);
    auto lfwd = [&](int i) { lt->run(s, X[i % sets], Y); };
    auto ldx = [&](int i) {
      if (has_dx)
        lt_dx->run(s, dY[i % sets], dX);
      else
        blas.run(s, dxd, w_dense, dY[i % sets], dX);
    };
    auto bdw = [&](int i) { blas.run(s, dwd, dY[i % sets], X[i % sets], dWd); };
    double ms = 0;
    if (o == bg::step_op::fwd)
      ms = bg::time_peer(s, pb, "cusparselt", "fwd", bg::kPruned, pattern, 0.5, lt->choice(), lfwd);
    else if (o == bg::step_op::dx && has_dx)
      ms =
          bg::time_peer(s, pb, "cusparselt", "dx", bg::kPruned, pattern, 0.5, lt_dx->choice(), ldx);
    else if (o == bg::step_op::step)
      ms = bg::time_peer(
          s, pb, "cusparselt", "step", bg::kPruned, pattern, 0.5,
          "fwd: " + lt->choice() + " | dx: " + (has_dx ? lt_dx->choice() : "cuBLAS pruned-dense"),
          [&](int i) { lfwd(i), ldx(i), bdw(i); }, {},
          has_dx ? "cusparselt,cusparselt,cublas" : "cusparselt,cublas,cublas");
    return lt_ms[o] = ms;
#else
    (void)o;
    return 0;
#endif
  }
  std::map<bg::step_op, double> lt_ms;
};

/// The public-expression side of a shape: device matrices over the transposable entity (Wt) and a
/// magnitude-pruned one (Wm), their gradients, and device-tensor inputs (rotated as above).
struct expr_state {
  stco::cuda::stream s;
  std::optional<stco::cuda::device_sparse_matrix<T, stco::nm<2, 4>>> Wt, dWt, Wm, dWm;
  std::vector<stco::cuda::device_tensor<T, 2>> X, dY;
  stco::cuda::device_tensor<T, 2> Y, dX;
  stco::cuda::activation_stash<T> stash;
};

std::unique_ptr<expr_state> make_expr(const fixture& f) {
  const long M = f.sh.M, K = f.sh.K, N = f.sh.N;
  auto x = std::make_unique<expr_state>();
  x->s = stco::cuda::stream(f.s);
  std::vector<T> vals(static_cast<std::size_t>(f.e->compressed_shape().size()));
  bg::check(cudaMemcpy(vals.data(), f.w, vals.size() * sizeof(T), cudaMemcpyDeviceToHost), "copy");
  stco::sparse_matrix<T, stco::nm<2, 4>> ht(f.e);
  std::copy(vals.begin(), vals.end(), ht.values());
  x->Wt.emplace(stco::cuda::device_sparse_matrix<T, stco::nm<2, 4>>::from_host(ht, x->s));
  x->dWt.emplace(x->Wt->zeros_like(x->s));
  std::mt19937 rng(777u + static_cast<unsigned>(M + K));
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<T> wd(static_cast<std::size_t>(M * K));
  for (auto& v : wd) v = T(u(rng));
  const auto hm =
      stco::prune<stco::nm<2, 4>>(stco::matrix_view<const T>(wd.data(), stco::dextents<2>(M, K)));
  x->Wm.emplace(stco::cuda::device_sparse_matrix<T, stco::nm<2, 4>>::from_host(hm, x->s));
  x->dWm.emplace(x->Wm->zeros_like(x->s));
  for (int i = 0; i < f.sets; ++i) {
    x->X.emplace_back(stco::dextents<2>(K, N), x->s);
    x->dY.emplace_back(stco::dextents<2>(M, N), x->s);
    random_fill(x->X.back().data(), static_cast<std::size_t>(K * N), 300u + i);
    random_fill(x->dY.back().data(), static_cast<std::size_t>(M * N), 400u + i);
  }
  x->Y = stco::cuda::device_tensor<T, 2>(stco::dextents<2>(M, N), x->s);
  x->dX = stco::cuda::device_tensor<T, 2>(stco::dextents<2>(K, N), x->s);
  x->s.synchronize();
  return x;
}

std::unique_ptr<fixture> current;
std::unique_ptr<expr_state> current_expr;
void reset_embeds();
fixture& get(const shape& sh) {
  if (!current || current->sh.name != sh.name) {
    current_expr.reset();
    reset_embeds();  // before the fixture: they run on its stream
    current.reset();
    current = std::make_unique<fixture>(sh);
  }
  return *current;
}

enum class op { fwd, dx, dw, step, fwd_bn128, dw_bn128 };

/// The expression-path ops; mag: the magnitude-pruned weight instead of the transposable one.
void expr_op(expr_state& x, op o, bool mag, int i, bool relu = false) {
  auto& W = mag ? *x.Wm : *x.Wt;
  auto& dW = mag ? *x.dWm : *x.dWt;
  auto& X = x.X[static_cast<std::size_t>(i) % x.X.size()];
  auto& dY = x.dY[static_cast<std::size_t>(i) % x.dY.size()];
  if (relu) {  // the whole step with an activation
    const auto e = stco::relu(stco::matmul(W, X));
    stco::eval(x.Y, e, x.stash, x.s);
    const auto g = stco::grad(e, dY, x.stash, x.s);
    g.wrt_into(X, x.dX);
    g.wrt_into(W, dW);
    return;
  }
  if (o == op::fwd || o == op::step) stco::eval(x.Y, stco::matmul(W, X), x.s);
  if (o == op::dx || o == op::step) stco::grad(stco::matmul(W, X), dY, x.s).wrt_into(X, x.dX);
  if (o == op::dw || o == op::step) stco::grad(stco::matmul(W, X), dY, x.s).wrt_into(W, dW);
}

/// The shape, our time and our TFLOP/s as counters; returns the op's FLOP count.
double set_common_counters(benchmark::State& state, const shape& sh, op o, double ours_ms) {
  const double flops = 2.0 * sh.M * sh.N * sh.K * (o == op::step ? 3 : 1);
  state.counters["M"] = static_cast<double>(sh.M);
  state.counters["K"] = static_cast<double>(sh.K);
  state.counters["N"] = static_cast<double>(sh.N);
  state.counters["us"] = ours_ms * 1e3;
  state.counters["TFLOPs"] = flops / (ours_ms * 1e-3) / 1e12;
  return flops;
}

/// The dense peer of each op (the tuning rows compare with the op they tune).
bg::step_op dense_op(op o) {
  switch (o) {
    case op::fwd:
    case op::fwd_bn128:
      return bg::step_op::fwd;
    case op::dx:
      return bg::step_op::dx;
    case op::dw:
    case op::dw_bn128:
      return bg::step_op::dw;
    default:
      return bg::step_op::step;
  }
}

/// The dense peers' counters of a row whose time is `ours` (ms): cuBLAS and, for conv layers,
/// cuDNN, each on the dense-random and the pruned-dense weight.
void set_dense_counters(benchmark::State& state, const fixture::dense_times& t, double flops,
                        double ours) {
  state.counters["cublas_rand_us"] = t.blas_rand * 1e3;
  state.counters["cublas_pruned_us"] = t.blas_pruned * 1e3;
  if (t.blas_rand > 0) state.counters["cublas_rand_TFLOPs"] = flops / (t.blas_rand * 1e-3) / 1e12;
  state.counters["vs_cublas_rand"] = t.blas_rand / ours;
  state.counters["vs_cublas_pruned"] = t.blas_pruned / ours;
  if (t.dnn_rand > 0) {
    state.counters["cudnn_rand_us"] = t.dnn_rand * 1e3;
    state.counters["vs_cudnn_rand"] = t.dnn_rand / ours;
  }
  if (t.dnn_pruned > 0) {
    state.counters["cudnn_pruned_us"] = t.dnn_pruned * 1e3;
    state.counters["vs_cudnn_pruned"] = t.dnn_pruned / ours;
  }
}

void run_expr(benchmark::State& state, shape sh, op o, bool mag, bool relu = false) {
  fixture& f = get(sh);
  if (!current_expr) current_expr = make_expr(f);
  expr_state& x = *current_expr;
  double ours = 0, direct = 0;
  fixture::dense_times peers;
  for (auto _ : state) {
    ours = bg::median_ms(f.s, [&](int i) { expr_op(x, o, mag, i, relu); });
    switch (o) {
      case op::fwd:
        direct = bg::median_ms(f.s, [&](int i) { f.fwd(i); });
        break;
      case op::dx:
        direct = bg::median_ms(f.s, [&](int i) { f.dx(i); });
        break;
      case op::dw:
        direct = bg::median_ms(f.s, [&](int i) { f.dw(i); });
        break;
      default:
        direct = bg::median_ms(f.s, [&](int i) { f.fwd(i), f.dx(i), f.dw(i); });
    }
    peers = f.dense_of(dense_op(o));
    state.SetIterationTime(ours * 1e-3);
  }
  const double flops = set_common_counters(state, sh, o, ours);
  set_dense_counters(state, peers, flops, ours);
  state.counters["direct_us"] = direct * 1e3;
  state.counters["vs_direct"] = direct / ours;
  state.counters["transposable"] = mag ? 0 : 1;
  state.counters["relu"] = relu ? 1 : 0;
}
bool has_expr_rows(const std::string& name) {
  return name == "sq4096" || name == "sq8192" || name == "vgg16/conv4_2";
}

void run(benchmark::State& state, shape sh, op o) {
  fixture& f = get(sh);
  double ours = 0, lt = 0, csr = 0, gather = 0;
  fixture::dense_times peers;
  for (auto _ : state) {
    switch (o) {
      case op::fwd:
        ours = bg::median_ms(f.s, [&](int i) { f.fwd(i); });
        csr = bg::time_peer(f.s, f.dense->problem(), "cusparse_csr", "fwd", bg::kPruned, f.pattern,
                            0.5, "SpMM default",
                            [&](int i) { f.csr->run(f.s, f.X[i % f.sets], f.Y); },
                            {3, 10, 200.0, 3, 25.0});
        break;
      case op::dx:
        ours = bg::median_ms(f.s, [&](int i) { f.dx(i); });
        if (f.transposable) gather = bg::median_ms(f.s, [&](int) { f.gather(); });
        break;
      case op::dw:
        ours = bg::median_ms(f.s, [&](int i) { f.dw(i); });
        break;
      case op::fwd_bn128:  // the same op with 128-wide tiles (tuning comparison)
        g_sparse_bn = 128;
        ours = bg::median_ms(f.s, [&](int i) { f.fwd(i); });
        g_sparse_bn = 256;
        break;
      case op::dw_bn128:
        g_dense_bn = 128;
        ours = bg::median_ms(f.s, [&](int i) { f.dw(i); });
        g_dense_bn = 256;
        break;
      case op::step:
        ours = bg::median_ms(f.s, [&](int i) { f.fwd(i), f.dx(i), f.dw(i); });
        break;
    }
    peers = f.dense_of(dense_op(o));
    if (o == op::fwd || o == op::dx || o == op::step) lt = f.cusparselt(dense_op(o));
    state.SetIterationTime(ours * 1e-3);
  }
  const double flops = set_common_counters(state, sh, o, ours);
  set_dense_counters(state, peers, flops, ours);
  if (lt > 0) {
    state.counters["cusparselt_us"] = lt * 1e3;
    state.counters["vs_cusparselt"] = lt / ours;
    state.counters["cusparselt_vs_cublas_rand"] = peers.blas_rand / lt;
    state.counters["cusparselt_vs_cublas_pruned"] = peers.blas_pruned / lt;
  }
  if (csr > 0) {
    state.counters["csr_us"] = csr * 1e3;
    state.counters["vs_csr"] = csr / ours;
  }
  if (gather > 0) state.counters["gather_us"] = gather * 1e3;
  state.counters["transposable"] = f.transposable ? 1 : 0;
}

/// An N:M layout the dispatch embeds in 2:4, through the public expressions (one shape alive).
template <class L>
struct embed_state {
  std::string shape_name;
  stco::cuda::stream s;
  std::optional<stco::cuda::device_sparse_matrix<T, L>> W, dW;
  std::vector<stco::cuda::device_tensor<T, 2>> X, dY;
  stco::cuda::device_tensor<T, 2> Y, dX;
  std::unique_ptr<bg::cusparse_csr> csr;
  std::optional<stco::cuda::device_tensor<T, 2>> w_pruned;  // the dense peers' pruned-dense W
};
template <class L>
std::unique_ptr<embed_state<L>>& embed_slot() {
  static std::unique_ptr<embed_state<L>> slot;
  return slot;
}
template <class L>
embed_state<L>& get_embed(const fixture& f) {
  auto& x = embed_slot<L>();
  if (x && x->shape_name == f.sh.name) return *x;
  x.reset();
  const long M = f.sh.M, K = f.sh.K, N = f.sh.N;
  x = std::make_unique<embed_state<L>>();
  x->shape_name = f.sh.name;
  x->s = stco::cuda::stream(f.s);
  std::mt19937 rng(999u + static_cast<unsigned>(M + K));
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<T> wd(static_cast<std::size_t>(M * K));
  for (auto& v : wd) v = T(u(rng));
  const auto hw = stco::prune<L>(stco::matrix_view<const T>(wd.data(), stco::dextents<2>(M, K)));
  x->W.emplace(stco::cuda::device_sparse_matrix<T, L>::from_host(hw, x->s));
  x->dW.emplace(x->W->zeros_like(x->s));
  // The CSR peer on the same mask.
  const auto dense = stco::decode(hw);
  std::vector<int> rp(static_cast<std::size_t>(M + 1), 0), ci;
  std::vector<std::uint16_t> cv;
  for (long r = 0; r < M; ++r) {
    for (long k = 0; k < K; ++k)
      if (dense(r, k).bits != 0) {
        ci.push_back(static_cast<int>(k));
        cv.push_back(dense(r, k).bits);
      }
    rp[static_cast<std::size_t>(r + 1)] = static_cast<int>(ci.size());
  }
  x->csr = std::make_unique<bg::cusparse_csr>(CUDA_R_16F, M, K, N, rp, ci, cv);
  x->w_pruned.emplace(stco::cuda::device_tensor<T, 2>::from_host(dense, x->s));
  for (int i = 0; i < f.sets; ++i) {
    x->X.emplace_back(stco::dextents<2>(K, N), x->s);
    x->dY.emplace_back(stco::dextents<2>(M, N), x->s);
    random_fill(x->X.back().data(), static_cast<std::size_t>(K * N), 500u + i);
    random_fill(x->dY.back().data(), static_cast<std::size_t>(M * N), 600u + i);
  }
  x->Y = stco::cuda::device_tensor<T, 2>(stco::dextents<2>(M, N), x->s);
  x->dX = stco::cuda::device_tensor<T, 2>(stco::dextents<2>(K, N), x->s);
  x->s.synchronize();
  return *x;
}
void reset_embeds() {
  embed_slot<stco::nm<1, 4>>().reset();
  embed_slot<stco::nm<1, 2>>().reset();
  embed_slot<stco::nm<4, 8>>().reset();
}
template <class L>
void embed_op(embed_state<L>& x, op o, int i) {
  auto& X = x.X[static_cast<std::size_t>(i) % x.X.size()];
  auto& dY = x.dY[static_cast<std::size_t>(i) % x.dY.size()];
  if (o == op::fwd || o == op::step) stco::eval(x.Y, stco::matmul(*x.W, X), x.s);
  if (o == op::dx || o == op::step) stco::grad(stco::matmul(*x.W, X), dY, x.s).wrt_into(X, x.dX);
  if (o == op::dw || o == op::step)
    stco::grad(stco::matmul(*x.W, X), dY, x.s).wrt_into(*x.W, *x.dW);
}
template <class L>
void run_embed(benchmark::State& state, shape sh, op o) {
  fixture& f = get(sh);
  embed_state<L>& x = get_embed<L>(f);
  const double density = x.W->entity().density();
  const std::string pattern = L::name();
  double ours = 0, csr = 0, portable = 0, rand = 0, pruned = 0;
  for (auto _ : state) {
    ours = bg::median_ms(f.s, [&](int i) { embed_op(x, o, i); });
    stco::cuda::options portable_only;
    portable_only.fast_kernels = false;
    const stco::cuda::stream fast = x.s;
    x.s = x.s.with(portable_only);
    portable = bg::median_ms(
        f.s, [&](int i) { embed_op(x, o, i); }, 3, 10, 200);
    x.s = fast;
    if (o == op::fwd)
      csr = bg::time_peer(f.s, f.dense->problem(), "cusparse_csr", "fwd", bg::kPruned, pattern,
                          density, "SpMM default",
                          [&](int i) {
                            x.csr->run(f.s, x.X[static_cast<std::size_t>(i) % x.X.size()].data(),
                                       x.Y.data());
                          },
                          {3, 10, 200.0, 3, 25.0});
    rand = f.dense->cublas(f.s, dense_op(o), f.w_rand, bg::kDenseRandom);
    pruned =
        f.dense->cublas(f.s, dense_op(o), x.w_pruned->data(), bg::kPrunedDense, pattern, density);
    state.SetIterationTime(ours * 1e-3);
  }
  const double flops = set_common_counters(state, sh, o, ours);
  set_dense_counters(state, {rand, pruned, 0, 0}, flops, ours);
  state.counters["portable_us"] = portable * 1e3;
  state.counters["vs_portable"] = portable / ours;
  if (csr > 0) {
    state.counters["csr_us"] = csr * 1e3;
    state.counters["vs_csr"] = csr / ours;
  }
  state.counters["density"] = density;
}

/// Registers layout L's embed row for op o on shape sh.
template <class L>
void reg_embed(const char* layout, const char* op_name, const shape& sh, op o) {
  benchmark::RegisterBenchmark(
      ("nm24/embed_" + std::string(layout) + "/" + op_name + "/" + sh.name).c_str(),
      [sh, o](benchmark::State& st) { run_embed<L>(st, sh, o); })
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMicrosecond);
}

std::vector<shape> shapes() {
  std::vector<shape> v{{"sq4096", 4096, 4096, 4096}, {"sq8192", 8192, 8192, 8192}};
  for (const auto* net : {&stco_bench::vgg16(), &stco_bench::resnet18()})
    for (const auto& l : stco_bench::distinct_layers(*net)) {
      const long hw = l.out_hw();
      const bg::conv_shape c{32,       l.in_hw,  l.in_hw, l.cin, l.cout,  l.kernel,
                             l.kernel, l.stride, l.pad,   1,     l.groups};
      v.push_back({net->name + "/" + l.name, l.cout, l.gemm_k(), 32L * hw * hw, c});
    }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* p = std::getenv("STCO_BENCH_PATH"))
    g_path = std::string(p) == "sm80" ? sparse_tc::path::sm80 : sparse_tc::path::automatic;
  bg::parse_peer_args(argc, argv, "bench_nm24");
  bg::add_peer_context();
  benchmark::AddCustomContext(
      "sm90a_path", stco::kernel::cuda::arch::sm90a_available() && g_path != sparse_tc::path::sm80
                        ? "yes"
                        : "no");
#if defined(STCO_HAS_CUSPARSELT)
  benchmark::AddCustomContext("cusparselt", "yes");
#else
  benchmark::AddCustomContext("cusparselt", "absent");
#endif
  for (const auto& sh : shapes()) {
    for (auto [o, name] :
         {std::pair{op::fwd, "fwd"}, {op::dx, "dx"}, {op::dw, "dw"}, {op::step, "step"}})
      benchmark::RegisterBenchmark(("nm24/" + std::string(name) + "/" + sh.name).c_str(),
                                   [sh, o = o](benchmark::State& st) { run(st, sh, o); })
          ->UseManualTime()
          ->Iterations(1)
          ->Unit(benchmark::kMicrosecond);
    if (!has_expr_rows(sh.name)) continue;
    for (bool mag : {false, true})
      for (auto [o, name] :
           {std::pair{op::fwd, "fwd"}, {op::dx, "dx"}, {op::dw, "dw"}, {op::step, "step"}})
        benchmark::RegisterBenchmark(
            ("nm24/expr" + std::string(mag ? "_mag_" : "_") + name + "/" + sh.name).c_str(),
            [sh, o = o, mag](benchmark::State& st) { run_expr(st, sh, o, mag); })
            ->UseManualTime()
            ->Iterations(1)
            ->Unit(benchmark::kMicrosecond);
    for (bool mag : {false, true})
      benchmark::RegisterBenchmark(
          ("nm24/expr" + std::string(mag ? "_mag_" : "_") + "relu_step/" + sh.name).c_str(),
          [sh, mag](benchmark::State& st) { run_expr(st, sh, op::step, mag, true); })
          ->UseManualTime()
          ->Iterations(1)
          ->Unit(benchmark::kMicrosecond);
  }
  for (const auto& sh : {shape{"sq4096", 4096, 4096, 4096}, shape{"sq8192", 8192, 8192, 8192}})
    for (auto [o, name] :
         {std::pair{op::fwd, "fwd"}, {op::dx, "dx"}, {op::dw, "dw"}, {op::step, "step"}}) {
      reg_embed<stco::nm<1, 4>>("nm<1,4>", name, sh, o);
      reg_embed<stco::nm<1, 2>>("nm<1,2>", name, sh, o);
      reg_embed<stco::nm<4, 8>>("nm<4,8>", name, sh, o);
    }
  for (const auto& sh : {shape{"sq4096", 4096, 4096, 4096}, shape{"sq8192", 8192, 8192, 8192}})
    for (auto [o, name] : {std::pair{op::fwd_bn128, "fwd_bn128"}, {op::dw_bn128, "dw_bn128"}})
      benchmark::RegisterBenchmark(("nm24/" + std::string(name) + "/" + sh.name).c_str(),
                                   [sh, o = o](benchmark::State& st) { run(st, sh, o); })
          ->UseManualTime()
          ->Iterations(1)
          ->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  current_expr.reset();
  reset_embeds();
  current.reset();
  return bg::peer_log::get().write() ? 0 : 1;
}
