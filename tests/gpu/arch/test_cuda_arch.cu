// The CUDA instruction layer (stco/kernel/cuda/arch): the device probe against the runtime's own
// answers, from one thread and from several; and the bulk tensor copies (TMA), tile mode and the
// im2col mode an implicit-GEMM convolution reads its input with, against the same gathers done on
// the host. The TMA cases need an sm_90a device and build (they are skipped elsewhere).
#include <doctest/doctest.h>

#include <cuda_runtime.h>

#include <cstdint>
#include <thread>
#include <vector>

#include "stco/core/cuda/check.cuh"
#include "stco/core/error.hpp"
#include "stco/kernel/cuda/arch/device.cuh"
#include "stco/kernel/cuda/arch/mbarrier.cuh"
#include "stco/kernel/cuda/arch/target.cuh"
#include "stco/kernel/cuda/arch/tensor_map.cuh"
#include "stco/kernel/cuda/arch/tma.cuh"

namespace arch = stco::kernel::cuda::arch;

namespace {

/// One TMA load into shared memory (tile mode: box at (c0, c1); im2col mode: base (n, h, w),
/// channel c, offsets (off_w, off_h)), copied out to `out` (`bytes` of it).
template <bool Im2col>
__global__ void tma_copy_kernel(const __grid_constant__ CUtensorMap map, int c0, int c1, int c2,
                                int c3, std::uint16_t off_w, std::uint16_t off_h,
                                std::uint16_t* out, unsigned bytes) {
#if STCO_ARCH_SM90A
  __shared__ __align__(1024) std::uint16_t tile[4096];
  __shared__ __align__(8) std::uint64_t bar;
  if (threadIdx.x == 0) {
    arch::mbar_init(&bar, 1);
    arch::fence_barrier_init();
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    arch::mbar_expect_tx(&bar, bytes);
    if constexpr (Im2col)
      arch::tma_load_im2col_4d(tile, &map, &bar, c0, c1, c2, c3, off_w, off_h);
    else
      arch::tma_load_2d(tile, &map, &bar, c0, c1);
  }
  arch::mbar_wait(&bar, 0);
  for (unsigned i = threadIdx.x; i < bytes / 2; i += blockDim.x) out[i] = tile[i];
#else
  (void)map, (void)c0, (void)c1, (void)c2, (void)c3, (void)off_w, (void)off_h, (void)out,
      (void)bytes;
  __trap();
#endif
}

/// Device memory for the copies, freed at scope exit.
struct device_words {
  std::uint16_t* p = nullptr;
  explicit device_words(std::size_t n) {
    STCO_CUDA_CHECK(cudaMalloc(&p, n * sizeof(std::uint16_t)));
  }
  ~device_words() { cudaFree(p); }
  device_words(const device_words&) = delete;
  device_words& operator=(const device_words&) = delete;
};

/// Runs one load and returns the `bytes` it brought.
template <bool Im2col>
std::vector<std::uint16_t> run_copy(const CUtensorMap& map, int c0, int c1, int c2, int c3,
                                    int off_w, int off_h, unsigned bytes) {
  device_words out(bytes / 2);
  tma_copy_kernel<Im2col><<<1, 128>>>(map, c0, c1, c2, c3, static_cast<std::uint16_t>(off_w),
                                      static_cast<std::uint16_t>(off_h), out.p, bytes);
  STCO_CUDA_CHECK(cudaGetLastError());
  std::vector<std::uint16_t> h(bytes / 2);
  STCO_CUDA_CHECK(cudaMemcpy(h.data(), out.p, bytes, cudaMemcpyDeviceToHost));
  return h;
}

/// Distinct non-zero words, so that a zero marks a filled (out-of-bounds) element.
std::vector<std::uint16_t> pattern(std::size_t n) {
  std::vector<std::uint16_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint16_t>(1 + i % 65521);
  return v;
}

bool has_sm90a() {
  try {
    return arch::sm90a_available();
  } catch (const stco::cuda_error&) {
    return false;
  }
}

}  // namespace

TEST_CASE("arch::current_device matches the runtime's device properties on every device") {
  int count = 0;
  STCO_CUDA_CHECK(cudaGetDeviceCount(&count));
  REQUIRE(count > 0);
  int first = 0;
  STCO_CUDA_CHECK(cudaGetDevice(&first));
  for (int dev = 0; dev < count; ++dev) {
    CAPTURE(dev);
    STCO_CUDA_CHECK(cudaSetDevice(dev));
    cudaDeviceProp prop{};
    STCO_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
    const arch::device_info d = arch::current_device();
    CHECK(d.id == dev);
    CHECK(d.sm_count == prop.multiProcessorCount);
    CHECK(d.major == prop.major);
    CHECK(d.minor == prop.minor);
    CHECK(arch::sm_count() == prop.multiProcessorCount);
    CHECK(arch::sm90a_available() == d.sm90a);
    if (d.sm90a) CHECK((d.major == 9 && d.minor == 0));
#if defined(STCO_TEST_SM90A_BUILD)
    // This binary carries sm_90a code: a 9.0 device must run it.
    if (d.major == 9 && d.minor == 0) CHECK(d.sm90a);
#else
    CHECK_FALSE(d.sm90a);
#endif
  }
  STCO_CUDA_CHECK(cudaSetDevice(first));
}

TEST_CASE("arch::current_device gives every thread the same answer") {
  const arch::device_info want = arch::current_device();
  std::vector<arch::device_info> got(8);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] {
      STCO_CUDA_CHECK(cudaSetDevice(want.id));  // the current device is per host thread
      for (int i = 0; i < 100; ++i) got[t] = arch::current_device();
    });
  for (auto& th : threads) th.join();
  for (const auto& g : got) {
    CHECK(g.id == want.id);
    CHECK(g.sm_count == want.sm_count);
    CHECK(g.sm90a == want.sm90a);
  }
}

TEST_CASE("arch::make_tensor_map_im2col refuses geometry im2col mode cannot express") {
  arch::im2col_nhwc g;
  g.batch = 1, g.height = 8, g.width = 8, g.channels = 16, g.kh = g.kw = 3, g.pad_h = g.pad_w = 1;
  auto refused = [&](arch::im2col_nhwc bad, std::uint32_t ch = 8, std::uint32_t px = 32) {
    CHECK_THROWS_AS(
        arch::make_tensor_map_im2col(nullptr, bad, 2, ch, px, CU_TENSOR_MAP_SWIZZLE_NONE),
        stco::argument_error);
  };
  auto b = g;
  b.stride_w = 9;
  refused(b);
  b = g, b.pad_h = 129;
  refused(b);
  b = g, b.kw = 3, b.dil_w = 128;  // tap offset 256
  refused(b);
  b = g, b.kh = 11, b.pad_h = 0;  // filter taller than the image: no output row
  refused(b);
  refused(g, 0);
  refused(g, 257);
  refused(g, 8, 1025);
}

TEST_CASE("TMA tile-mode load of a 2-D box, zeros past the edge") {
  if (!has_sm90a()) {
    MESSAGE("no sm_90a device and build: TMA not run");
    return;
  }
  const int rows = 40, cols = 24, box_rows = 16, box_cols = 16;
  const auto x = pattern(static_cast<std::size_t>(rows) * cols);
  device_words d(x.size());
  STCO_CUDA_CHECK(cudaMemcpy(d.p, x.data(), x.size() * 2, cudaMemcpyHostToDevice));
  const CUtensorMap map = arch::make_tensor_map_2d(d.p, rows, cols, cols, 2, box_rows, box_cols,
                                                   CU_TENSOR_MAP_SWIZZLE_NONE);
  for (const auto& at : {std::pair{0, 0}, std::pair{32, 16}, std::pair{5, 3}}) {
    const int r0 = at.first, c0 = at.second;
    CAPTURE(r0);
    CAPTURE(c0);
    const auto got = run_copy<false>(map, c0, r0, 0, 0, 0, 0, box_rows * box_cols * 2);
    int bad = 0;
    for (int r = 0; r < box_rows; ++r)
      for (int c = 0; c < box_cols; ++c) {
        const int gr = r0 + r, gc = c0 + c;
        const std::uint16_t want = gr < rows && gc < cols ? x[gr * cols + gc] : 0;
        bad += got[r * box_cols + c] != want;
      }
    CHECK(bad == 0);
  }
}

TEST_CASE("TMA im2col-mode load of every filter tap, with padding, stride and dilation") {
  if (!has_sm90a()) {
    MESSAGE("no sm_90a device and build: TMA not run");
    return;
  }
  struct geometry {
    int kh, kw, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  };
  const int N = 2, H = 5, W = 7, C = 16, CH = 8, PIXELS = 32;
  const auto x = pattern(static_cast<std::size_t>(N) * H * W * C);
  device_words d(x.size());
  STCO_CUDA_CHECK(cudaMemcpy(d.p, x.data(), x.size() * 2, cudaMemcpyHostToDevice));
  for (const geometry k : {geometry{3, 3, 1, 1, 1, 1, 1, 1}, geometry{3, 2, 2, 1, 2, 0, 2, 3},
                           geometry{1, 1, 1, 2, 0, 0, 1, 1}}) {
    arch::im2col_nhwc g;
    g.batch = N, g.height = H, g.width = W, g.channels = C;
    g.kh = k.kh, g.kw = k.kw, g.stride_h = k.stride_h, g.stride_w = k.stride_w;
    g.pad_h = k.pad_h, g.pad_w = k.pad_w, g.dil_h = k.dil_h, g.dil_w = k.dil_w;
    const int OH = static_cast<int>(g.out_h()), OW = static_cast<int>(g.out_w());
    CAPTURE(k.kh);
    CAPTURE(k.kw);
    CAPTURE(k.stride_h);
    CAPTURE(k.stride_w);
    REQUIRE(OH > 0);
    REQUIRE(OW > 0);
    const CUtensorMap map =
        arch::make_tensor_map_im2col(d.p, g, 2, CH, PIXELS, CU_TENSOR_MAP_SWIZZLE_NONE);
    // First output pixels: the start, one inside a row, and one whose column crosses into the
    // next image and past the batch.
    for (const int m0 : {0, OW + 1, N * OH * OW - 5})
      for (int r = 0; r < k.kh; ++r)
        for (int s = 0; s < k.kw; ++s)
          for (const int c : {0, CH}) {
            CAPTURE(m0);
            CAPTURE(r);
            CAPTURE(s);
            CAPTURE(c);
            const int n0 = m0 / (OH * OW), oh0 = m0 / OW % OH, ow0 = m0 % OW;
            const auto got =
                run_copy<true>(map, c, ow0 * k.stride_w - k.pad_w, oh0 * k.stride_h - k.pad_h, n0,
                               s * k.dil_w, r * k.dil_h, PIXELS * CH * 2);
            int bad = 0;
            for (int p = 0; p < PIXELS; ++p) {
              const int m = m0 + p, n = m / (OH * OW), oh = m / OW % OH, ow = m % OW;
              const int ih = oh * k.stride_h - k.pad_h + r * k.dil_h;
              const int iw = ow * k.stride_w - k.pad_w + s * k.dil_w;
              const bool in = n < N && ih >= 0 && ih < H && iw >= 0 && iw < W;
              for (int j = 0; j < CH; ++j) {
                const std::uint16_t want = in ? x[((n * H + ih) * W + iw) * C + c + j] : 0;
                bad += got[p * CH + j] != want;
              }
            }
            CHECK(bad == 0);
          }
  }
}
