// Device memory, streams and errors on a real GPU (label `gpu`): round trips of random data,
// zero initialisation, refusals, and the 16-bit value types converting identically on device.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "../support/random.hpp"
#include "stco/cuda.cuh"

namespace {
__global__ void to_half_bits(const float* in, std::uint16_t* h, std::uint16_t* b, stco::index_t n) {
  const stco::index_t i = blockIdx.x * static_cast<stco::index_t>(blockDim.x) + threadIdx.x;
  if (i < n) {
    h[i] = stco::half(in[i]).bits;
    b[i] = stco::bfloat16(in[i]).bits;
  }
}
}  // namespace

TEST_CASE("device_tensor: host → device → host round trip on a stream") {
  stco::cuda::owned_stream s;
  const auto X = stco_test::random_matrix<float>(1000, 333);
  auto d = stco::cuda::device_tensor<float, 2>::from_host(X, s);
  CHECK(d.extent(0) == 1000);
  const auto back = d.to_host(s);
  for (stco::index_t i = 0; i < X.size(); ++i) REQUIRE(back[i] == X[i]);
}

TEST_CASE("device_buffer: zero-initialised, sized copies, moves") {
  stco::cuda::owned_stream s;
  stco::cuda::device_buffer<double> z(4097, s);
  for (double v : z.to_host(s)) REQUIRE(v == 0.0);
  stco::host_buffer<double> h(10);
  CHECK_THROWS_WITH_AS(z.copy_from_host(h.data(), 10, s),
                       doctest::Contains("10 elements for a buffer of 4097"), stco::shape_error);
  auto moved = std::move(z);
  CHECK(moved.size() == 4097);
  CHECK(z.size() == 0);
  CHECK(z.data() == nullptr);
}

TEST_CASE("dz_memo: dZ formed once per (dY, z, count, element size), again for others") {
  stco::cuda::owned_stream s;
  stco::kernel::cuda::dz_memo memo;
  int forms = 0;
  // A pass over n bytes writes its own number into each, so a read-back tells which pass it holds.
  auto form = [&](std::size_t n) {
    return [&, n](void* out) {
      ++forms;
      REQUIRE(cudaMemsetAsync(out, forms, n, s.get().get()) == cudaSuccess);
    };
  };
  auto bytes_of = [&](const void* p, std::size_t n) {
    std::vector<unsigned char> h(n);
    REQUIRE(cudaMemcpyAsync(h.data(), p, n, cudaMemcpyDeviceToHost, s.get().get()) == cudaSuccess);
    s.get().synchronize();
    return h;
  };
  const std::uint16_t dy_a[1] = {0}, dy_b[1] = {0};
  const float z[1] = {0.f};
  const auto* p = memo.get<std::uint16_t>(dy_a, z, 1000, s, form(2000));
  CHECK(forms == 1);
  CHECK(memo.get<std::uint16_t>(dy_a, z, 1000, s, form(2000)) == p);  // same operands: reused
  CHECK(forms == 1);
  for (unsigned char c : bytes_of(p, 2000)) REQUIRE(c == 1);
  memo.get<std::uint16_t>(dy_b, z, 1000, s, form(2000));  // another dY
  CHECK(forms == 2);
  memo.get<std::uint16_t>(dy_b, nullptr, 1000, s, form(2000));  // another z
  CHECK(forms == 3);
  memo.get<std::uint16_t>(dy_b, nullptr, 500, s, form(1000));  // another count
  CHECK(forms == 4);
  const auto* f = memo.get<float>(dy_b, nullptr, 1500, s, form(6000));  // element size; grows
  CHECK(forms == 5);
  for (unsigned char c : bytes_of(f, 6000)) REQUIRE(c == 5);
  // A pass that fails leaves nothing to reuse: the next request forms again.
  CHECK_THROWS_AS(memo.get<std::uint16_t>(
                      dy_a, z, 1000, s, [](void*) { throw stco::cuda_error(1, "pass", "failed"); }),
                  stco::cuda_error);
  memo.get<std::uint16_t>(dy_a, z, 1000, s, form(2000));
  CHECK(forms == 6);
}

TEST_CASE("a failing CUDA call throws cuda_error naming the call") {
  stco::cuda::owned_stream s;
  try {
    stco::cuda::device_buffer<float> huge(stco::index_t{1} << 50, s);  // 4 PiB
    FAIL("allocation of 4 PiB succeeded");
  } catch (const stco::cuda_error& e) {
    CHECK(std::string(e.what()).find("cudaMallocAsync") != std::string::npos);
    CHECK(e.code() != 0);
  }
  // The runtime is still usable afterwards.
  stco::cuda::device_buffer<float> ok(16, s);
  CHECK(ok.to_host(s).size() == 16);
}

TEST_CASE("half and bfloat16 convert the same on device as on host") {
  stco::cuda::owned_stream s;
  const stco::index_t n = 1 << 20;
  stco::host_buffer<float> in(n);
  std::uniform_int_distribution<std::uint32_t> bits;
  for (stco::index_t i = 0; i < n; ++i) {
    float f;
    do f = stco::detail::bits_float(bits(stco_test::rng()));
    while (f != f);  // NaN payloads may differ
    in[i] = f;
  }
  auto din = stco::cuda::device_buffer<float>::from_host(in, s);
  stco::cuda::device_buffer<std::uint16_t> dh(n, s), db(n, s);
  to_half_bits<<<static_cast<unsigned>((n + 255) / 256), 256, 0, s.get().get()>>>(
      din.data(), dh.data(), db.data(), n);
  STCO_CUDA_CHECK(cudaGetLastError());
  const auto h = dh.to_host(s);
  const auto b = db.to_host(s);
  for (stco::index_t i = 0; i < n; ++i) {
    REQUIRE(h[i] == stco::half(in[i]).bits);
    REQUIRE(b[i] == stco::bfloat16(in[i]).bits);
  }
}
