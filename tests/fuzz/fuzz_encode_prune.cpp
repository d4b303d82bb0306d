// fuzz_encode_prune: prune and encode of arbitrary dense matrices (NaN, infinities, denormals,
// zeros of both signs, any shape up to 64 x 64) into every layout.
//
//   - prune<L>(X, sparsity) succeeds or throws a stco::error. When it succeeds, the result holds
//     X's values at its kept positions (and nothing else), has the compressed shape
//     L::compressed_shape promises, and encode<L>(decode(P)) and encode(decode(P), P's entity)
//     both succeed and give the same matrix back (a layout must take what its own prune made).
//   - encode<L>(X) succeeds or throws pattern_error. Layouts that can hold any pattern (dense,
//     block, tile_wise, channel, csr) must succeed; nm<N,M> must refuse exactly when a group holds
//     more than N nonzeros. A success decodes back to X bit for bit (zeros of either sign aside).
//
// Input: u8 layout, u8 flags, u8 R, u8 K (mod 65), u16 sparsity (or a raw double with flag 2), u8
// zero threshold, then per element a u8 (below the threshold: an exact zero) and a value (i8 / 16,
// or any float bit pattern with flag 1).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "fuzz_input.hpp"
#include "stco/layouts.hpp"

namespace {

using stco::index_t;
using stco_fuzz::reader;

constexpr index_t max_dim = 64;
enum flag : unsigned { any_bits = 1, raw_sparsity = 2 };

template <class L>
struct nm_of : std::false_type {};
template <int N, int M>
struct nm_of<stco::nm<N, M>> : std::true_type {};
template <class L>
struct tile_vector_of : std::false_type {};
template <int T, int N, int M>
struct tile_vector_of<stco::tile_vector<T, N, M>> : std::true_type {};

/// Same float, bit for bit, or both zero (decode writes +0 where a -0 was not kept).
bool same(float a, float b) {
  if (a == 0.0f && b == 0.0f) return true;
  return std::memcmp(&a, &b, sizeof a) == 0;
}

void same_dense(const stco::tensor<float, 2>& a, const stco::tensor<float, 2>& b) {
  STCO_FUZZ_CHECK(a.extent(0) == b.extent(0) && a.extent(1) == b.extent(1));
  for (index_t i = 0; i < a.size(); ++i) STCO_FUZZ_CHECK(same(a[i], b[i]));
}

/// For nm<N,M>: does some aligned group of M along K hold more than N nonzeros?
template <int N, int M>
bool nm_overfull(const stco::tensor<float, 2>& X) {
  const index_t R = X.extent(0), K = X.extent(1);
  for (index_t r = 0; r < R; ++r)
    for (index_t g = 0; g < K; g += M) {
      int nz = 0;
      for (index_t c = g; c < std::min<index_t>(K, g + M); ++c) nz += stco::is_nonzero(X(r, c));
      if (nz > N) return true;
    }
  return false;
}
template <class L>
bool overfull(const stco::tensor<float, 2>& X) {
  if constexpr (nm_of<L>::value)
    return nm_overfull<L::n, L::m>(X);
  else
    return false;
}

template <class L>
void run(const stco::tensor<float, 2>& X, double sparsity) {
  const stco::matrix_shape s{X.extent(0), X.extent(1)};
  bool pruned = false;
  try {
    const auto P = stco::prune<L>(X, sparsity);
    pruned = true;
    STCO_FUZZ_CHECK(P.shape() == s);
    STCO_FUZZ_CHECK(P.compressed_shape() == L::compressed_shape(s, sparsity));
    const auto D = stco::decode(P);
    const auto mask = stco::kept_mask(P.entity());
    for (index_t i = 0; i < X.size(); ++i) STCO_FUZZ_CHECK(same(D[i], mask[i] ? X[i] : 0.0f));
    // The layout takes back what its own prune made: inferred, and into the same entity.
    try {
      same_dense(stco::decode(stco::encode<L>(D)), D);
    } catch (const stco::error& e) {
      std::fprintf(stderr, "encode<%s>(decode(prune(X))) threw: %s\n", L::name().c_str(), e.what());
      STCO_FUZZ_CHECK(!"encode refused what prune produced");
    }
    const auto E2 = stco::encode(D, P.entity_ptr());
    for (index_t i = 0; i < P.value_count(); ++i)
      STCO_FUZZ_CHECK(same(E2.values()[i], P.values()[i]));
  } catch (const stco::error&) {
    STCO_FUZZ_CHECK(!pruned);  // only prune itself may refuse (bad sparsity, NaN)
  }

  try {
    const auto E = stco::encode<L>(X);
    STCO_FUZZ_CHECK(!overfull<L>(X));
    same_dense(stco::decode(E), X);
  } catch (const stco::pattern_error& e) {
    // Only layouts with a per-group limit may refuse, and nm<N,M> only for a real overfull group.
    if constexpr (!nm_of<L>::value && !tile_vector_of<L>::value) {
      std::fprintf(stderr, "encode<%s> refused a matrix it can hold: %s\n", L::name().c_str(),
                   e.what());
      STCO_FUZZ_CHECK(!"encode refused a holdable matrix");
    }
    if constexpr (nm_of<L>::value) STCO_FUZZ_CHECK(overfull<L>(X));
  }
}

template <class L>
double sparsity_for(reader& in, unsigned flags) {
  if (flags & raw_sparsity) {
    const std::uint64_t b = in.u64();
    double d;
    std::memcpy(&d, &b, sizeof d);
    return d;
  }
  return L::min_sparsity + (L::max_sparsity - L::min_sparsity) * (in.u16() / 65535.0);
}

template <class L>
void dispatch(reader& in, unsigned flags, index_t R, index_t K) {
  const double sparsity = sparsity_for<L>(in, flags);
  const unsigned zero_below = in.u8();
  stco::tensor<float, 2> X(stco::dextents<2>(R, K));
  for (auto& v : X) {
    const bool zero = in.u8() < zero_below;
    const float f = (flags & any_bits) ? in.any_float() : in.small_value();
    v = zero ? 0.0f : f;
  }
  run<L>(X, sparsity);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  reader in(data, size);
  const unsigned which = in.u8() % 14;
  const unsigned flags = in.u8();
  const index_t R = in.u8() % (max_dim + 1), K = in.u8() % (max_dim + 1);
  switch (which) {
    case 0:
      dispatch<stco::nm<2, 4>>(in, flags, R, K);
      break;
    case 1:
      dispatch<stco::nm<1, 4>>(in, flags, R, K);
      break;
    case 2:
      dispatch<stco::nm<2, 3>>(in, flags, R, K);
      break;
    case 3:
      dispatch<stco::nm<5, 16>>(in, flags, R, K);
      break;
    case 4:
      dispatch<stco::block<4, 4>>(in, flags, R, K);
      break;
    case 5:
      dispatch<stco::block<2, 3>>(in, flags, R, K);
      break;
    case 6:
      dispatch<stco::tile_wise<4>>(in, flags, R, K);
      break;
    case 7:
      dispatch<stco::tile_vector<4, 2, 4>>(in, flags, R, K);
      break;
    case 8:
      dispatch<stco::tile_vector<3, 2, 3>>(in, flags, R, K);
      break;
    case 9:
      dispatch<stco::tile_vector<1, 1, 2>>(in, flags, R, K);
      break;
    case 10:
      dispatch<stco::tile_vector<8, 1, 8>>(in, flags, R, K);
      break;
    case 11:
      dispatch<stco::channel>(in, flags, R, K);
      break;
    case 12:
      dispatch<stco::csr>(in, flags, R, K);
      break;
    default:
      dispatch<stco::dense>(in, flags, R, K);
      break;
  }
  return 0;
}
