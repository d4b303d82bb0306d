// stco/layout/packed_bits.hpp — an array of B-bit unsigned fields (1 ≤ B ≤ 16) packed into 32-bit
// words, least significant bits first; a field may straddle two words.
//
// This is how N:M offsets are stored: ⌈log2 M⌉ bits per kept value, nothing more.
#pragma once

#include <cstdint>
#include <vector>

#include "stco/core/error.hpp"
#include "stco/core/index.hpp"

namespace stco {

class packed_bits {
 public:
  packed_bits() = default;
  /// `count` zero fields of `bits` bits each. allocation_error if the words cannot be allocated.
  packed_bits(index_t count, int bits) : count_(count), bits_(bits) {
    check_args(count, bits);
    const index_t n = words_for(count, bits);
    detail::allocating(detail::message("stco::packed_bits: ", n, " words of 4 bytes for ", count,
                                       " fields of ", bits, " bits"),
                       [&] { words_.assign(static_cast<std::size_t>(n), 0u); });
  }
  /// Adopts raw words (e.g. loaded from a file); their number must match count and bits. Checked
  /// before anything is allocated, so a hostile count costs nothing.
  packed_bits(index_t count, int bits, std::vector<std::uint32_t> words)
      : count_(count), bits_(bits) {
    check_args(count, bits);
    if (static_cast<index_t>(words.size()) != words_for(count, bits))
      throw index_error(detail::message("stco::packed_bits: ", words.size(), " words given, ",
                                        count, " fields of ", bits, " bits need ",
                                        words_for(count, bits)));
    words_ = std::move(words);
  }

  /// ⌈count·bits / 32⌉, computed without forming count·bits (no overflow for any count ≥ 0).
  static constexpr index_t words_for(index_t count, int bits) {
    return count / 32 * bits + ceil_div(count % 32 * bits, 32);
  }

  index_t size() const noexcept { return count_; }
  int bits() const noexcept { return bits_; }
  std::size_t bytes() const noexcept { return words_.size() * sizeof(std::uint32_t); }
  const std::vector<std::uint32_t>& words() const noexcept { return words_; }

  unsigned get(index_t i) const noexcept {
    const index_t bit = i * bits_;
    const index_t w = bit >> 5;
    const unsigned s = static_cast<unsigned>(bit & 31);
    std::uint64_t v = words_[w];
    if (s + bits_ > 32) v |= static_cast<std::uint64_t>(words_[w + 1]) << 32;
    return static_cast<unsigned>((v >> s) & ((1u << bits_) - 1u));
  }
  void set(index_t i, unsigned value) noexcept {
    const index_t bit = i * bits_;
    const index_t w = bit >> 5;
    const unsigned s = static_cast<unsigned>(bit & 31);
    const std::uint64_t mask = ((std::uint64_t{1} << bits_) - 1u) << s;
    const std::uint64_t val = (static_cast<std::uint64_t>(value) << s) & mask;
    words_[w] = static_cast<std::uint32_t>((words_[w] & ~mask) | val);
    if (s + bits_ > 32)
      words_[w + 1] = static_cast<std::uint32_t>((words_[w + 1] & ~(mask >> 32)) | (val >> 32));
  }

 private:
  static void check_args(index_t count, int bits) {
    if (bits < 1 || bits > 16)
      throw argument_error(
          detail::message("stco::packed_bits: field width ", bits, " not in [1, 16]"));
    if (count < 0)
      throw argument_error(detail::message("stco::packed_bits: negative count ", count));
  }

  index_t count_ = 0;
  int bits_ = 1;
  std::vector<std::uint32_t> words_;
};

/// ⌈log2 m⌉ for m ≥ 2: the bits that hold an offset in [0, m).
constexpr int offset_bits(int m) {
  int b = 0;
  while ((1 << b) < m) ++b;
  return b;
}

}  // namespace stco
