// fuzz_entity: every layout's index entity built from raw arrays (shape, index lists, packed offset
// words, values) decoded from the input, as a model file or a caller would hand them over.
//
// A refusal must be a stco::error; any other exception or a crash is a finding. An accepted entity
// must then describe what its layout's documentation says: this harness decodes the raw arrays by
// the documented storage order itself (slot -> (row, column)), independently of the library, and
// traps when the library's decode, kept count, re-encoding (inferred and into the same entity),
// host matmul or either gradient disagrees with double-precision dense math over that reference.
//
// Input: u8 layout, u8 flags, the shape (two u8 taken mod 65, or two raw i64 with the "huge" flag),
// u8 columns of X, then the layout's arrays (u16 length, then i16 or, with the "wide" flag, i64
// entries; offset words as u16 count then u32 words), then values, X and dY (i8 / 16 each).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "fuzz_input.hpp"
#include "stco/cpu.hpp"
#include "stco/layouts.hpp"

namespace {

using stco::index_t;
using stco::matrix_shape;
using stco_fuzz::reader;

constexpr index_t max_dim = 64;         // R, K: keeps one execution well under a millisecond
constexpr std::size_t max_list = 2048;  // entries of one index array

enum flag : unsigned { huge_shape = 1, wide_entries = 2, keep_padding = 4 };

std::vector<index_t> read_list(reader& in, bool wide) {
  std::vector<index_t> v(in.u16() % (max_list + 1));
  for (auto& x : v) x = wide ? in.i64() : in.i16();
  return v;
}
std::vector<std::uint32_t> read_words(reader& in) {
  std::vector<std::uint32_t> v(in.u16() % (max_list + 1));
  for (auto& x : v) x = in.u32();
  return v;
}

/// Field i of `bits`-bit fields packed LSB-first into 32-bit words (the documented N:M offset
/// storage), read independently of stco::packed_bits. The caller has checked the word count.
unsigned field(const std::vector<std::uint32_t>& w, index_t i, int bits) {
  const auto bit = static_cast<std::uint64_t>(i) * static_cast<std::uint64_t>(bits);
  const std::size_t k = bit / 32;
  std::uint64_t v = w.at(k);
  if (k + 1 < w.size()) v |= static_cast<std::uint64_t>(w[k + 1]) << 32;
  return static_cast<unsigned>((v >> (bit % 32)) & ((1u << bits) - 1u));
}

// The raw arrays of one entity and, per layout, how to build it and where each slot lies.
struct parts {
  std::vector<index_t> a, b;         // pointer array and index list (or the one list)
  std::vector<std::uint32_t> words;  // packed offsets
};

// Each layout: read its arrays, build the entity (may throw), and enumerate its slots as
// f(slot, row, col) by the storage order its header documents (row >= R or col >= K: padding).
template <class L>
struct io;

template <int N, int M>
struct io<stco::nm<N, M>> {
  static parts read(reader& in, bool) { return {{}, {}, read_words(in)}; }
  static auto make(matrix_shape s, const parts& p) {
    return stco::nm_entity<N, M>::from_words(s, p.words);
  }
  template <class F>
  static void slots(matrix_shape s, const parts& p, F&& f) {
    const int bits = stco::offset_bits(M);
    const index_t G = (s.cols + M - 1) / M;
    STCO_FUZZ_CHECK(p.words.size() * 32 >= static_cast<std::size_t>(s.rows * G * N * bits));
    for (index_t r = 0; r < s.rows; ++r)
      for (index_t g = 0; g < G; ++g)
        for (int j = 0; j < N; ++j) {
          const index_t slot = (r * G + g) * N + j;
          const unsigned o = field(p.words, slot, bits);
          STCO_FUZZ_CHECK(o < static_cast<unsigned>(M));
          if (j > 0) STCO_FUZZ_CHECK(o > field(p.words, slot - 1, bits));
          f(slot, r, g * M + static_cast<index_t>(o));
        }
  }
};

template <int BR, int BC>
struct io<stco::block<BR, BC>> {
  static parts read(reader& in, bool wide) {
    auto ptr = read_list(in, wide);
    return {std::move(ptr), read_list(in, wide), {}};
  }
  static auto make(matrix_shape s, const parts& p) {
    return stco::block_entity<BR, BC>::from_parts(s, p.a, p.b);
  }
  template <class F>
  static void slots(matrix_shape s, const parts& p, F&& f) {
    const index_t Rb = (s.rows + BR - 1) / BR, Kb = (s.cols + BC - 1) / BC;
    STCO_FUZZ_CHECK(static_cast<index_t>(p.a.size()) == Rb + 1 && p.a[0] == 0 &&
                    p.a[Rb] == static_cast<index_t>(p.b.size()));
    for (index_t br = 0; br < Rb; ++br)
      for (index_t q = p.a[br]; q < p.a[br + 1]; ++q) {
        STCO_FUZZ_CHECK(q >= 0 && p.b[q] >= 0 && p.b[q] < Kb);
        for (index_t i = 0; i < BR; ++i)
          for (index_t j = 0; j < BC; ++j) f((q * BR + i) * BC + j, br * BR + i, p.b[q] * BC + j);
      }
  }
};

template <int T>
struct io<stco::tile_wise<T>> {
  static parts read(reader& in, bool wide) {
    auto ptr = read_list(in, wide);
    return {std::move(ptr), read_list(in, wide), {}};
  }
  static auto make(matrix_shape s, const parts& p) {
    return stco::tile_wise_entity<T>::from_parts(s, p.a, p.b);
  }
  template <class F>
  static void slots(matrix_shape s, const parts& p, F&& f) {
    const index_t nt = (s.rows + T - 1) / T;
    STCO_FUZZ_CHECK(static_cast<index_t>(p.a.size()) == nt + 1 && p.a[0] == 0 &&
                    p.a[nt] == static_cast<index_t>(p.b.size()));
    for (index_t t = 0; t < nt; ++t)
      for (index_t q = p.a[t]; q < p.a[t + 1]; ++q) {
        STCO_FUZZ_CHECK(q >= 0 && p.b[q] >= 0 && p.b[q] < s.cols);
        for (index_t r = 0; r < T; ++r) f(q * T + r, t * T + r, p.b[q]);
      }
  }
};

template <int T, int N, int M>
struct io<stco::tile_vector<T, N, M>> {
  static parts read(reader& in, bool wide) {
    auto ptr = read_list(in, wide);
    auto cols = read_list(in, wide);
    return {std::move(ptr), std::move(cols), read_words(in)};
  }
  static auto make(matrix_shape s, const parts& p) {
    return stco::tile_vector_entity<T, N, M>::from_parts(s, p.a, p.b, p.words);
  }
  template <class F>
  static void slots(matrix_shape s, const parts& p, F&& f) {
    const int bits = stco::offset_bits(M);
    const index_t nt = (s.rows + T - 1) / T;
    STCO_FUZZ_CHECK(static_cast<index_t>(p.a.size()) == nt + 1 && p.a[0] == 0 &&
                    p.a[nt] == static_cast<index_t>(p.b.size()));
    index_t base = 0;
    for (index_t t = 0; t < nt; ++t) {
      const index_t kt = p.a[t + 1] - p.a[t], G = (kt + M - 1) / M;
      STCO_FUZZ_CHECK(kt >= 0);
      STCO_FUZZ_CHECK(p.words.size() * 32 >= static_cast<std::size_t>((base + G * N * T) * bits));
      for (index_t g = 0; g < G; ++g)
        for (int j = 0; j < N; ++j)
          for (index_t r = 0; r < T; ++r) {
            const index_t slot = base + (g * N + j) * T + r;
            const unsigned o = field(p.words, slot, bits);
            STCO_FUZZ_CHECK(o < static_cast<unsigned>(M));
            if (j > 0) STCO_FUZZ_CHECK(o > field(p.words, slot - T, bits));
            const index_t cc = g * M + static_cast<index_t>(o);
            index_t col = s.cols;  // padding: a compacted position past the tile's list
            if (cc < kt) {
              col = p.b[p.a[t] + cc];
              STCO_FUZZ_CHECK(col >= 0 && col < s.cols);
            }
            f(slot, t * T + r, col);
          }
      base += G * N * T;
    }
  }
};

template <>
struct io<stco::channel> {
  static parts read(reader& in, bool wide) { return {read_list(in, wide), {}, {}}; }
  static auto make(matrix_shape s, const parts& p) {
    return stco::channel_entity::from_parts(s, p.a);
  }
  template <class F>
  static void slots(matrix_shape s, const parts& p, F&& f) {
    for (std::size_t i = 0; i < p.a.size(); ++i) {
      STCO_FUZZ_CHECK(p.a[i] >= 0 && p.a[i] < s.rows);
      for (index_t c = 0; c < s.cols; ++c) f(static_cast<index_t>(i) * s.cols + c, p.a[i], c);
    }
  }
};

template <>
struct io<stco::csr> {
  static parts read(reader& in, bool wide) {
    auto ptr = read_list(in, wide);
    return {std::move(ptr), read_list(in, wide), {}};
  }
  static auto make(matrix_shape s, const parts& p) {
    return stco::csr_entity::from_parts(s, p.a, p.b);
  }
  template <class F>
  static void slots(matrix_shape s, const parts& p, F&& f) {
    STCO_FUZZ_CHECK(static_cast<index_t>(p.a.size()) == s.rows + 1 && p.a[0] == 0 &&
                    p.a[s.rows] == static_cast<index_t>(p.b.size()));
    for (index_t r = 0; r < s.rows; ++r)
      for (index_t q = p.a[r]; q < p.a[r + 1]; ++q) {
        STCO_FUZZ_CHECK(q >= 0 && p.b[q] >= 0 && p.b[q] < s.cols);
        f(q, r, p.b[q]);
      }
  }
};

template <>
struct io<stco::dense> {
  static parts read(reader&, bool) { return {}; }
  static auto make(matrix_shape s, const parts&) {
    return std::make_shared<const stco::dense_entity>(s);
  }
  template <class F>
  static void slots(matrix_shape s, const parts&, F&& f) {
    for (index_t r = 0; r < s.rows; ++r)
      for (index_t c = 0; c < s.cols; ++c) f(r * s.cols + c, r, c);
  }
};

/// |a - b| within what float rounding can explain for a sum whose terms' magnitudes total `scale`
/// (the small values make every sum exact in practice; the bound allows other summation orders).
bool close(double a, double b, double scale) {
  return std::fabs(a - b) <= 1e-5 * (scale + 1e-30) + 1e-30;
}

template <class L>
void run(reader& in, matrix_shape s, unsigned flags) {
  const index_t N = 1 + in.u8() % 16;
  const parts p = io<L>::read(in, flags & wide_entries);
  std::shared_ptr<const typename L::entity> e;
  try {
    e = io<L>::make(s, p);
  } catch (const stco::error&) {
    return;  // refused as it should be; anything else escapes and is a finding
  }
  STCO_FUZZ_CHECK(e != nullptr);
  const matrix_shape cs = e->compressed_shape();
  index_t csize = 0;
  // An accepted entity's own sizes must be representable.
  STCO_FUZZ_CHECK(cs.rows >= 0 && cs.cols >= 0 &&
                  !__builtin_mul_overflow(cs.rows, cs.cols, &csize));
  STCO_FUZZ_CHECK(s.rows >= 0 && s.cols >= 0);
  L::validate(*e);  // an accepted entity passes its own re-check (would throw: a finding)
  if (s.rows > max_dim || s.cols > max_dim || csize > max_dim * max_dim * 16) return;

  // The independent reference: values from the input at every slot, placed by the documented
  // storage order; padding slots hold zero unless the input asks to leave garbage there (then only
  // memory safety is checked: the contract says padding holds zero).
  const index_t R = s.rows, K = s.cols;
  stco::host_buffer<float> values(csize);
  for (index_t i = 0; i < csize; ++i) values[i] = in.small_value();
  std::vector<unsigned char> seen(static_cast<std::size_t>(csize), 0);
  std::vector<unsigned char> kept(static_cast<std::size_t>(R * K), 0);
  std::vector<double> Wd(static_cast<std::size_t>(R * K), 0.0);
  index_t kept_count = 0;
  io<L>::slots(s, p, [&](index_t slot, index_t r, index_t c) {
    STCO_FUZZ_CHECK(slot >= 0 && slot < csize && !seen[slot]);  // every slot once, in bounds
    seen[slot] = 1;
    STCO_FUZZ_CHECK(r >= 0 && c >= 0);
    if (r >= R || c >= K) {
      if (!(flags & keep_padding)) values[slot] = 0.0f;
      return;
    }
    STCO_FUZZ_CHECK(!kept[r * K + c]);  // an accepted entity keeps each position at most once
    kept[r * K + c] = 1;
    Wd[r * K + c] = values[slot];
    ++kept_count;
  });
  STCO_FUZZ_CHECK(std::count(seen.begin(), seen.end(), 1) == csize);
  STCO_FUZZ_CHECK(e->kept() == kept_count);
  const bool exact = !(flags & keep_padding);

  stco::sparse_matrix<float, L> W(e, std::move(values));
  const auto D = stco::decode(W);
  for (index_t i = 0; i < R * K; ++i) STCO_FUZZ_CHECK(static_cast<double>(D[i]) == Wd[i]);
  const auto mask = stco::kept_mask(*e);
  for (index_t i = 0; i < R * K; ++i) STCO_FUZZ_CHECK(mask[i] == kept[i]);

  // Re-encoding: the inferred pattern holds the same dense matrix; encoding into the same entity
  // gives back the same values (padding zero).
  {
    const auto E1 = stco::encode<L>(D);
    const auto D1 = stco::decode(E1);
    for (index_t i = 0; i < R * K; ++i) STCO_FUZZ_CHECK(D1[i] == D[i]);
    const auto E2 = stco::encode(D, e);
    STCO_FUZZ_CHECK(E2.entity_ptr() == e);
    for (index_t i = 0; i < csize; ++i)
      if (exact) STCO_FUZZ_CHECK(E2.values()[i] == W.values()[i]);
  }

  stco::tensor<float, 2> X(stco::dextents<2>(K, N)), dY(stco::dextents<2>(R, N));
  for (auto& v : X) v = in.small_value();
  for (auto& v : dY) v = in.small_value();
  stco::tensor<float, 2> Y(stco::dextents<2>(R, N));
  Y = stco::matmul(W, X);
  auto g = stco::grad(stco::matmul(W, X), dY);
  const auto dW = g.wrt(W);
  const auto dX = g.wrt(X);
  STCO_FUZZ_CHECK(dW.entity_ptr() == e);
  STCO_FUZZ_CHECK(dX.extent(0) == K && dX.extent(1) == N);
  if (!exact) return;

  for (index_t r = 0; r < R; ++r)
    for (index_t n = 0; n < N; ++n) {
      double y = 0, scale = 0;
      for (index_t k = 0; k < K; ++k) {
        y += Wd[r * K + k] * X(k, n);
        scale += std::fabs(Wd[r * K + k] * X(k, n));
      }
      STCO_FUZZ_CHECK(close(Y(r, n), y, scale));
    }
  const auto dWd = stco::decode(dW);
  for (index_t r = 0; r < R; ++r)
    for (index_t k = 0; k < K; ++k) {
      double d = 0, scale = 0;
      for (index_t n = 0; n < N; ++n) {
        d += double{dY(r, n)} * X(k, n);
        scale += std::fabs(double{dY(r, n)} * X(k, n));
      }
      STCO_FUZZ_CHECK(close(dWd(r, k), kept[r * K + k] ? d : 0.0, scale));
    }
  // The gradient keeps the entity's invariant: padding slots hold zero.
  io<L>::slots(s, p, [&](index_t slot, index_t r, index_t c) {
    if (r >= R || c >= K) STCO_FUZZ_CHECK(dW.values()[slot] == 0.0f);
  });
  for (index_t k = 0; k < K; ++k)
    for (index_t n = 0; n < N; ++n) {
      double d = 0, scale = 0;
      for (index_t r = 0; r < R; ++r) {
        d += Wd[r * K + k] * dY(r, n);
        scale += std::fabs(Wd[r * K + k] * dY(r, n));
      }
      STCO_FUZZ_CHECK(close(dX(k, n), d, scale));
    }
}

/// packed_bits and index_list on their own: any count, width and word list.
void run_raw(reader& in) {
  const index_t count = (in.u8() & 1) ? in.i64() : in.u16();
  const int bits = in.u8() % 20;
  const auto words = read_words(in);
  try {
    stco::packed_bits pb(count, bits, words);
    STCO_FUZZ_CHECK(pb.size() == count && pb.bits() == bits);
    STCO_FUZZ_CHECK(static_cast<std::uint64_t>(count) * static_cast<unsigned>(bits) <=
                    words.size() * 32);
    for (index_t i = 0; i < count; ++i) STCO_FUZZ_CHECK(pb.get(i) == field(words, i, bits));
    stco::packed_bits copy = pb;
    for (index_t i = 0; i < count; ++i) copy.set(count - 1 - i, pb.get(i));
    for (index_t i = 0; i < count; ++i) STCO_FUZZ_CHECK(copy.get(count - 1 - i) == pb.get(i));
  } catch (const stco::error&) {
  }
  const index_t bound = (in.u8() & 1) ? in.i64() : in.i16();
  const auto list = read_list(in, in.u8() & 1);
  try {
    const auto l = stco::index_list::from(list, bound, "fuzz");
    STCO_FUZZ_CHECK(l.size() == static_cast<index_t>(list.size()));
    for (std::size_t i = 0; i < list.size(); ++i) {
      STCO_FUZZ_CHECK(list[i] >= 0 && list[i] <= bound);
      STCO_FUZZ_CHECK(l[static_cast<index_t>(i)] == list[i]);
    }
  } catch (const stco::error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  stco::set_num_threads(1);  // executions are tiny; a pool hand-off would dominate them
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  reader in(data, size);
  const unsigned which = in.u8() % 14;
  const unsigned flags = in.u8();
  matrix_shape s;
  if (flags & huge_shape) {
    s.rows = in.i64();
    s.cols = in.i64();
  } else {
    s.rows = in.u8() % (max_dim + 1);
    s.cols = in.u8() % (max_dim + 1);
  }
  switch (which) {
    case 0:
      run<stco::nm<2, 4>>(in, s, flags);
      break;
    case 1:
      run<stco::nm<2, 3>>(in, s, flags);
      break;
    case 2:
      run<stco::nm<5, 16>>(in, s, flags);
      break;
    case 3:
      run<stco::block<4, 4>>(in, s, flags);
      break;
    case 4:
      run<stco::block<2, 3>>(in, s, flags);
      break;
    case 5:
      run<stco::tile_wise<4>>(in, s, flags);
      break;
    case 6:
      run<stco::tile_wise<1>>(in, s, flags);
      break;
    case 7:
      run<stco::tile_vector<4, 2, 4>>(in, s, flags);
      break;
    case 8:
      run<stco::tile_vector<3, 2, 3>>(in, s, flags);
      break;
    case 9:
      run<stco::channel>(in, s, flags);
      break;
    case 10:
      run<stco::csr>(in, s, flags);
      break;
    case 11:
      run<stco::dense>(in, s, flags);
      break;
    case 12:
      run<stco::tile_vector<8, 1, 8>>(in, s, flags);
      break;
    default:
      run_raw(in);
      break;
  }
  return 0;
}
