// bench/gpu/peers/peer_log.hpp — every peer timing a benchmark makes, with what it ran on, written
// as JSON (--peers_out=FILE) for bench/gpu/peers/torch_check.py, which times the same operation
// on the same shape and data with PyTorch and says whether the two agree.
//
// Data kinds (each record and each benchmark counter says which):
//   dense-random   the dense model's weight: every entry uniform in [-1, 1), no zeros;
//   pruned-dense   the pruned weight run densely: the benchmark's sparse weight decoded, its
//                  zeros in place (same values at the kept positions);
//   pruned         the pruned weight run by a sparse peer (cuSPARSELt, cuSPARSE CSR).
// A dense GEMM on a power-capped card runs measurably faster over the pruned weight (zeros
// switch fewer bits) than over the random one, so ratios against dense are given for both.
// Products whose operands hold no weight (dW = dY·Xᵀ, cuDNN backward-filter) are data-kind free:
// their records say "activations".
#pragma once

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "timer.hpp"

namespace stco_bench::gpu {

inline constexpr const char* kDenseRandom = "dense-random";
inline constexpr const char* kPrunedDense = "pruned-dense";
inline constexpr const char* kPruned = "pruned";
inline constexpr const char* kActivations = "activations";

/// A convolution in NHWC (activations) / KRSC (filter) terms: X [n, h, w, c], W [k, r, s, c/g],
/// Y [n, p, q, k]; as a GEMM, W [k, r·s·c/g] times the im2col X [r·s·c/g, n·p·q].
struct conv_shape {
  long n = 0, h = 0, w = 0, c = 0, k = 0, r = 0, s = 0;
  long stride = 1, pad = 0, dil = 1, groups = 1;
  long p() const { return (h + 2 * pad - dil * (r - 1) - 1) / stride + 1; }
  long q() const { return (w + 2 * pad - dil * (s - 1) - 1) / stride + 1; }
  long x_elems() const { return n * h * w * c; }
  long y_elems() const { return n * p() * q() * k; }
  long w_elems() const { return k * r * s * (c / groups); }
  bool valid() const { return n > 0 && k > 0 && c > 0; }
};

/// The problem a peer timing belongs to.
struct peer_problem {
  std::string row;            // the benchmark row (or rows, for a shared measurement)
  std::string kind = "gemm";  // gemm | conv
  long M = 0, K = 0, N = 0;   // W [M, K], X [K, N], Y [M, N] (conv: its GEMM view)
  conv_shape conv;            // kind == conv
  std::string dtype = "fp16";
  int sets = 1;       // input sets rotated over
  int gemm_sets = 0;  // conv: the sets of its im2col GEMM operands, where they differ
};

struct peer_record {
  peer_problem pb;
  std::string peer;     // cublas | cusparselt | cudnn | cusparse_csr
  std::string op;       // fwd | dx | dw | step (step: fwd + dx + dw back to back)
  std::string data;     // dense-random | pruned-dense | pruned | activations
  std::string pattern;  // the pruned weight's layout and mask ("" for dense-random)
  double density = 1;
  std::string algo;   // what the peer chose (order, algorithm, engine)
  std::string parts;  // step: the peer of each part ("cusparselt,cusparselt,cublas")
  timing t;
};

class peer_log {
 public:
  static peer_log& get() {
    static peer_log l;
    return l;
  }
  std::string bench, path;
  std::vector<peer_record> records;
  std::vector<std::pair<std::string, std::string>> context;

  /// Adds r with the timing the last median_ms call measured, and rewrites the file: a run
  /// stopped by a time limit keeps every timing it made (a few hundred records, cheap).
  void add(peer_record r) {
    r.t = last_timing();
    records.push_back(std::move(r));
    write(true);
  }

  /// Writes the log to `path` (nothing when no path was given). Returns false on failure.
  bool write(bool quiet = false) const {
    if (path.empty()) return true;
    // Written beside and renamed over: a run killed mid-write leaves the previous whole file.
    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "peer_log: cannot write %s\n", tmp.c_str());
      return false;
    }
    std::fprintf(f, "{\n \"bench\": %s,\n \"context\": {", q(bench).c_str());
    for (std::size_t i = 0; i < context.size(); ++i)
      std::fprintf(f, "%s\n  %s: %s", i ? "," : "", q(context[i].first).c_str(),
                   q(context[i].second).c_str());
    std::fprintf(f, "\n },\n \"records\": [");
    for (std::size_t i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      const auto& c = r.pb.conv;
      std::fprintf(f,
                   "%s\n  {\"row\": %s, \"peer\": %s, \"op\": %s, \"kind\": %s, \"data\": %s, "
                   "\"pattern\": %s, \"density\": %.6g, \"dtype\": %s, \"M\": %ld, \"K\": %ld, "
                   "\"N\": %ld",
                   i ? "," : "", q(r.pb.row).c_str(), q(r.peer).c_str(), q(r.op).c_str(),
                   q(r.pb.kind).c_str(), q(r.data).c_str(), q(r.pattern).c_str(), r.density,
                   q(r.pb.dtype).c_str(), r.pb.M, r.pb.K, r.pb.N);
      if (r.pb.kind == "conv")
        std::fprintf(f,
                     ", \"conv\": {\"n\": %ld, \"h\": %ld, \"w\": %ld, \"c\": %ld, \"k\": %ld, "
                     "\"r\": %ld, \"s\": %ld, \"stride\": %ld, \"pad\": %ld, \"dil\": %ld, "
                     "\"groups\": %ld}",
                     c.n, c.h, c.w, c.c, c.k, c.r, c.s, c.stride, c.pad, c.dil, c.groups);
      std::fprintf(f,
                   ", \"sets\": %d, \"ms\": %.6g, \"min_ms\": %.6g, \"max_ms\": %.6g, \"reps\": "
                   "%d, \"algo\": %s, \"parts\": %s, \"clock\": %s, \"sm_mhz\": %u, "
                   "\"power_w\": %.1f, \"power_capped\": %s}",
                   r.pb.sets, r.t.ms, r.t.min_ms, r.t.max_ms, r.t.reps, q(r.algo).c_str(),
                   q(r.parts).c_str(), q(r.t.clock.text()).c_str(), r.t.clock.sm_mhz,
                   r.t.clock.power_w, r.t.clock.power_capped() ? "true" : "false");
    }
    std::fprintf(f, "\n ]\n}\n");
    const bool ok = std::fclose(f) == 0 && std::rename(tmp.c_str(), path.c_str()) == 0;
    if (!quiet)
      std::fprintf(stderr, "peer_log: %zu peer timings -> %s\n", records.size(), path.c_str());
    return ok;
  }

 private:
  static std::string q(const std::string& s) {
    std::string o = "\"";
    for (const char ch : s) {
      if (ch == '"' || ch == '\\')
        o += '\\', o += ch;
      else if (static_cast<unsigned char>(ch) < 0x20)
        o += ' ';
      else
        o += ch;
    }
    return o + "\"";
  }
};

/// Takes --peers_out=FILE out of argv (before benchmark::Initialize, which rejects flags it
/// does not know) and names the benchmark in the log.
inline void parse_peer_args(int& argc, char** argv, const char* bench) {
  peer_log::get().bench = bench;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    constexpr const char* flag = "--peers_out=";
    if (std::strncmp(argv[i], flag, std::strlen(flag)) == 0)
      peer_log::get().path = argv[i] + std::strlen(flag);
    else
      argv[out++] = argv[i];
  }
  argc = out;
}

/// Times fn with median_ms and logs it as peer `peer`'s `op` on `data`. Returns the median (ms).
inline double time_peer(cudaStream_t s, const peer_problem& pb, const char* peer, const char* op,
                        const char* data, const std::string& pattern, double density,
                        const std::string& algo, const std::function<void(int)>& fn,
                        const timing_policy& p = {}, const std::string& parts = "") {
  const double ms = median_ms(s, fn, p);
  peer_record r;
  r.pb = pb;
  r.peer = peer, r.op = op, r.data = data, r.pattern = pattern, r.density = density;
  r.algo = algo, r.parts = parts;
  peer_log::get().add(std::move(r));
  return ms;
}

}  // namespace stco_bench::gpu
