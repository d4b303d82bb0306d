// stco/kernel/cpu/simd.hpp — the vector type the CPU micro-kernels are written in.
//
// GCC and Clang vector extensions at the widest width the target enables (AVX-512, AVX, else
// 16 bytes), so one source compiles to zmm, ymm or xmm code; other compilers get a plain array
// that the optimizer may still vectorize. Kernels only need load, store, broadcast and a*b+c.
#pragma once

#include <cstring>

namespace stco::kernel::cpu {

#if defined(__AVX512F__)
inline constexpr int simd_bytes = 64;
#elif defined(__AVX__)
inline constexpr int simd_bytes = 32;
#else
inline constexpr int simd_bytes = 16;
#endif

#if defined(__GNUC__) || defined(__clang__)
template <class C>
struct simd {
  static constexpr int width = simd_bytes / static_cast<int>(sizeof(C));
  typedef C type __attribute__((vector_size(simd_bytes)));
  static type load(const C* p) {
    type v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(C* p, type v) { std::memcpy(p, &v, sizeof v); }
  // x − (+0) is x for every x (−0 included), so this folds to a plain broadcast.
  static type set1(C x) { return x - type{}; }
  static type zero() { return type{}; }
};
#else
template <class C>
struct simd {
  static constexpr int width = simd_bytes / static_cast<int>(sizeof(C));
  struct type {
    C x[width];
    friend type operator+(type a, type b) {
      for (int i = 0; i < width; ++i) a.x[i] += b.x[i];
      return a;
    }
    friend type operator*(type a, type b) {
      for (int i = 0; i < width; ++i) a.x[i] *= b.x[i];
      return a;
    }
    type& operator+=(type b) { return *this = *this + b; }
  };
  static type load(const C* p) {
    type v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(C* p, type v) { std::memcpy(p, &v, sizeof v); }
  static type set1(C x) {
    type v;
    for (int i = 0; i < width; ++i) v.x[i] = x;
    return v;
  }
  static type zero() { return set1(C(0)); }
};
#endif

/// Vectors per accumulator row and rows per register tile. 8 vectors × 3 rows fill 24 of
/// AVX-512's 32 registers; with 16 registers (AVX, SSE) 4 × 3. Long rows amortize the per-term
/// index work of the gathering kernels (N:M, CSR) over more FMAs.
inline constexpr int panel_vectors = simd_bytes == 64 ? 8 : 4;
inline constexpr int tile_rows = 3;

/// Length of a row-pointer array for n rows. The row-count dispatch instantiates every register
/// tile height at every offset the compiler cannot rule out, so arrays get slack past n.
constexpr int row_capacity(int n) { return n + 8; }

/// Columns of one chunk of the right-hand side: what one accumulator row holds.
template <class C>
inline constexpr int chunk_cols = panel_vectors* simd<C>::width;

}  // namespace stco::kernel::cpu
