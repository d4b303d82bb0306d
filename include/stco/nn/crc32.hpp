// stco/nn/crc32.hpp — CRC-32 (IEEE 802.3, the polynomial of gzip, zip and PNG), the checksum of
// the model file format.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace stco::nn {

namespace detail {
inline const std::array<std::uint32_t, 256>& crc32_table() {
  static const std::array<std::uint32_t, 256> t = [] {
    std::array<std::uint32_t, 256> a{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      a[i] = c;
    }
    return a;
  }();
  return t;
}
}  // namespace detail

/// Continues a CRC-32 over n more bytes; start with crc = 0. crc32(0, "123456789", 9) ==
/// 0xCBF43926.
inline std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t n) {
  const auto& t = detail::crc32_table();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) crc = t[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

}  // namespace stco::nn
