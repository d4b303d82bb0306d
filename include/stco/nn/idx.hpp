// stco/nn/idx.hpp — the IDX format of MNIST and Fashion-MNIST (plain or gzip-compressed), and a
// loader for an images + labels pair.
//
// IDX: bytes 0–1 zero, byte 2 the element type (0x08 = unsigned byte, the only one these data sets
// use), byte 3 the number of dimensions d, then d big-endian u32 extents, then the elements, row
// major. Labels are d = 1 (magic 0x00000801), images d = 3 (0x00000803).
#pragma once

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "stco/core/index.hpp"
#include "stco/nn/format_error.hpp"
#include "stco/nn/gzip.hpp"

namespace stco::nn {

/// An unsigned-byte IDX array: its extents and its elements.
struct idx_array {
  std::vector<index_t> dims;
  std::vector<std::uint8_t> data;
};

/// Parses IDX bytes (gzip data is decompressed first). format_error naming `source` for a bad
/// magic number, an element type other than unsigned byte, a rank other than `expect_rank` (when
/// > 0), or data shorter or longer than the header's extents say.
inline idx_array parse_idx(const std::vector<unsigned char>& raw, const std::string& source,
                           int expect_rank = 0) {
  const std::vector<unsigned char> unpacked =
      is_gzip(raw) ? gunzip(raw, source) : std::vector<unsigned char>{};
  const std::vector<unsigned char>& b = is_gzip(raw) ? unpacked : raw;
  auto fail = [&](const std::string& why) {
    throw format_error(stco::detail::message("stco::nn::read_idx: '", source, "': ", why));
  };
  if (b.size() < 4) fail(stco::detail::message("truncated: ", b.size(), " bytes, no IDX header"));
  const std::uint32_t magic =
      (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
  if (b[0] != 0 || b[1] != 0 || b[2] != 0x08 || b[3] < 1 || b[3] > 4 ||
      (expect_rank > 0 && b[3] != expect_rank)) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(magic));
    fail(stco::detail::message("bad magic number ", hex, " (expected ",
                               expect_rank == 1   ? "0x00000801, unsigned-byte labels"
                               : expect_rank == 3 ? "0x00000803, unsigned-byte images"
                                                  : "0x000008NN, unsigned-byte data",
                               ")"));
  }
  const int rank = b[3];
  if (b.size() < 4 + 4 * static_cast<std::size_t>(rank))
    fail(stco::detail::message("truncated: the header of ", rank, " extents needs ", 4 + 4 * rank,
                               " bytes, the file has ", b.size()));
  idx_array a;
  std::uint64_t count = 1;
  for (int d = 0; d < rank; ++d) {
    const unsigned char* p = b.data() + 4 + 4 * d;
    const std::uint32_t e = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                            (std::uint32_t{p[2]} << 8) | p[3];
    a.dims.push_back(static_cast<index_t>(e));
    count *= e;
    if (count > (std::uint64_t{1} << 40)) fail("extents too large");
  }
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(rank);
  const std::size_t have = b.size() - header;
  if (have < count)
    fail(stco::detail::message("truncated: the header's extents need ", count,
                               " data bytes, the file has ", have));
  if (have > count)
    fail(stco::detail::message(have - count, " bytes beyond the ", count,
                               " the header's extents give"));
  a.data.assign(b.begin() + static_cast<std::ptrdiff_t>(header), b.end());
  return a;
}

/// Reads and parses an IDX file (plain or .gz); format_error if it cannot be opened.
inline idx_array read_idx(const std::string& path, int expect_rank = 0) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw format_error(stco::detail::message("stco::nn::read_idx: cannot open '", path, "'"));
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(f)),
                                   std::istreambuf_iterator<char>());
  return parse_idx(bytes, path, expect_rank);
}

/// Images [count, rows, cols] and their labels, as a data set stores them.
struct labeled_images {
  index_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // count·rows·cols, row-major
  std::vector<std::uint8_t> labels;  // count, each < classes
};

/// Reads an images file (rank 3) and a labels file (rank 1) and checks that they agree: the same
/// count, and every label below `classes` (format_error naming the file and the sample).
inline labeled_images read_idx_dataset(const std::string& images_path,
                                       const std::string& labels_path, int classes = 10) {
  idx_array im = read_idx(images_path, 3);
  idx_array lb = read_idx(labels_path, 1);
  if (im.dims[0] != lb.dims[0])
    throw format_error(stco::detail::message("stco::nn::read_idx: wrong counts: '", images_path,
                                             "' holds ", im.dims[0], " images, '", labels_path,
                                             "' ", lb.dims[0], " labels"));
  for (std::size_t i = 0; i < lb.data.size(); ++i)
    if (lb.data[i] >= classes)
      throw format_error(stco::detail::message("stco::nn::read_idx: '", labels_path, "': label ",
                                               int(lb.data[i]), " of sample ", i, " is not below ",
                                               classes));
  labeled_images d;
  d.count = im.dims[0], d.rows = im.dims[1], d.cols = im.dims[2];
  d.pixels = std::move(im.data);
  d.labels = std::move(lb.data);
  return d;
}

}  // namespace stco::nn
