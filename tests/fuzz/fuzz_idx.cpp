// fuzz_idx: the Fashion-MNIST example's IDX reader (examples/train_fashion_mnist/idx.hpp) on
// arbitrary bytes, plain or gzip.
//
// parse_idx must return or throw a stco::error, and never hold more than its byte limit. For plain
// input this harness parses the IDX format itself (magic, rank 1..4, big-endian extents, exactly
// the data they give, header and data within the limit) and traps when the reader's verdict or
// result differs. For gzip input that the reader takes, the result must be what the same checks
// give on the input inflated here (zlib, members concatenated).
//
// Input: one byte choosing the expected rank (any, 1 or 3) and the byte limit (256 B .. 1 MiB, or
// the default 1 GiB), then the file's bytes.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <vector>

#include "fuzz_input.hpp"
#include "idx.hpp"

namespace {

struct expected {
  std::vector<stco::index_t> dims;
  std::vector<std::uint8_t> data;
};

/// The IDX file `b` as the format defines it, or nothing if it is not a valid one within `limit`.
std::optional<expected> parse_plain(const std::vector<std::uint8_t>& b, int rank_wanted,
                                    std::uint64_t limit) {
  if (b.size() < 4 || b[0] != 0 || b[1] != 0 || b[2] != 0x08) return std::nullopt;
  const int rank = b[3];
  if (rank < 1 || rank > 4 || (rank_wanted > 0 && rank != rank_wanted)) return std::nullopt;
  const std::size_t head = 4 + 4 * static_cast<std::size_t>(rank);
  if (b.size() < head || head > limit) return std::nullopt;
  expected e;
  unsigned __int128 count = 1;
  for (int d = 0; d < rank; ++d) {
    const std::uint8_t* p = b.data() + 4 + 4 * d;
    const std::uint32_t v = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                            (std::uint32_t{p[2]} << 8) | p[3];
    e.dims.push_back(v);
    count *= v;
  }
  if (head + count > limit || b.size() != head + count) return std::nullopt;
  e.data.assign(b.begin() + static_cast<long>(head), b.end());
  return e;
}

/// gzip members inflated by zlib, up to `cap` bytes (nothing if corrupt, truncated or followed by
/// anything but another member).
std::optional<std::vector<std::uint8_t>> inflate_all(const std::uint8_t* in, std::size_t n,
                                                     std::size_t cap) {
  std::vector<std::uint8_t> out;
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return std::nullopt;
  std::uint8_t chunk[4096];
  z.next_in = const_cast<std::uint8_t*>(in);
  z.avail_in = static_cast<uInt>(n);
  std::optional<std::vector<std::uint8_t>> result;
  for (;;) {
    z.next_out = chunk;
    z.avail_out = sizeof chunk;
    const int rc = inflate(&z, Z_NO_FLUSH);
    out.insert(out.end(), chunk, chunk + (sizeof chunk - z.avail_out));
    if (out.size() > cap) break;
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) {
        result = std::move(out);
        break;
      }
      if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
        inflateReset(&z);
        continue;
      }
      break;
    }
    if (rc != Z_OK) break;
  }
  inflateEnd(&z);
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const unsigned sel = data[0];
  const int rank = (sel & 3) == 1 ? 1 : (sel & 3) == 2 ? 3 : 0;
  const std::uint64_t limit =
      (sel >> 2) == 63 ? fmnist::idx_default_max_bytes : std::uint64_t{256} << ((sel >> 2) % 13);
  const std::uint8_t* file = data + 1;
  const std::size_t n = size - 1;
  const std::vector<std::uint8_t> bytes(file, file + n);
  const bool gz = n >= 2 && file[0] == 0x1f && file[1] == 0x8b;

  std::optional<fmnist::idx_array> got;
  try {
    got = fmnist::parse_idx(file, n, "fuzz input", rank, limit);
  } catch (const stco::error&) {
  }
  if (gz) {
    if (!got) return 0;  // refusing odd gzip (trailing bytes, bad members) is the reader's choice
    const auto plain = inflate_all(file, n, limit + 1);
    STCO_FUZZ_CHECK(plain.has_value());  // it took data zlib cannot inflate
    const auto want = parse_plain(*plain, rank, limit);
    STCO_FUZZ_CHECK(want.has_value());
    STCO_FUZZ_CHECK(got->dims == want->dims && got->data == want->data);
    return 0;
  }
  const auto want = parse_plain(bytes, rank, limit);
  STCO_FUZZ_CHECK(got.has_value() == want.has_value());
  if (got) STCO_FUZZ_CHECK(got->dims == want->dims && got->data == want->data);
  return 0;
}
