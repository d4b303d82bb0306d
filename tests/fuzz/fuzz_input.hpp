// Reading a fuzz input as a stream of little-endian fields, and writing one (for the seed-corpus
// generator). The reader never fails: past the end of the input it yields bytes from a generator
// seeded with a hash of the input, so a short input still drives whole matrices of varied values,
// and the same input always decodes the same way (a saved crash reproduces).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace stco_fuzz {

class reader {
 public:
  reader(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {
    std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
    for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 0x100000001b3ull;
    state_ = h | 1;
  }

  std::uint8_t u8() {
    if (pos_ < n_) return p_[pos_++];
    state_ ^= state_ << 13, state_ ^= state_ >> 7, state_ ^= state_ << 17;  // xorshift64
    return static_cast<std::uint8_t>(state_ >> 24);
  }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint32_t u32() { return u16() | (static_cast<std::uint32_t>(u16()) << 16); }
  std::uint64_t u64() { return u32() | (static_cast<std::uint64_t>(u32()) << 32); }
  std::int16_t i16() { return static_cast<std::int16_t>(u16()); }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  /// True while the input itself (not the generator) is being read.
  bool in_input() const { return pos_ < n_; }

  /// A small value with a few exact fractional bits: products and sums of up to 64 of them are
  /// exact in float, so a kernel must match the double reference exactly.
  float small_value() { return static_cast<float>(static_cast<std::int8_t>(u8())) / 16.0f; }

  /// Any float bit pattern (NaN, infinities, denormals, zeros of both signs included).
  float any_float() {
    const std::uint32_t b = u32();
    float f;
    std::memcpy(&f, &b, sizeof f);
    return f;
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_, pos_ = 0;
  std::uint64_t state_;
};

/// The writer matching `reader`, for the corpus generator.
class writer {
 public:
  void u8(std::uint8_t v) { b_.push_back(v); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v)), u8(static_cast<std::uint8_t>(v >> 8));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v)), u16(static_cast<std::uint16_t>(v >> 16));
  }
  void u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v)), u32(static_cast<std::uint32_t>(v >> 32));
  }
  void i16(std::int16_t v) { u16(static_cast<std::uint16_t>(v)); }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void small_value(float v) { u8(static_cast<std::uint8_t>(static_cast<std::int8_t>(v * 16.0f))); }
  void any_float(float f) {
    std::uint32_t b;
    std::memcpy(&b, &f, sizeof b);
    u32(b);
  }
  const std::vector<std::uint8_t>& bytes() const { return b_; }

 private:
  std::vector<std::uint8_t> b_;
};

/// A finding: abort so libFuzzer saves the input (a failed check is not an exception to catch).
#define STCO_FUZZ_CHECK(cond)                                                       \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      __builtin_trap();                                                             \
    }                                                                               \
  } while (0)

}  // namespace stco_fuzz
