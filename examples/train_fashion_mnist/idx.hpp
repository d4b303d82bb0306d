// idx.hpp — the example's data reader: IDX arrays (the format of MNIST and Fashion-MNIST), plain or
// gzip-compressed (inflated by zlib), and an images + labels pair. Not part of the stco library:
// data-set files are the example's business, and zlib is a dependency of the example only.
//
// IDX: bytes 0–1 zero, byte 2 the element type (0x08 = unsigned byte, the only one these data sets
// use), byte 3 the number of dimensions d, then d big-endian u32 extents, then the elements, row
// major. Labels are d = 1 (magic 0x00000801), images d = 3 (0x00000803).
//
// Size limit: a file may hold at most `max_bytes` bytes of IDX data (header and elements; default
// idx_default_max_bytes). gzip data is inflated in chunks and checked as it comes: the header's
// extents are checked against the limit as soon as the header is in, and inflating stops with an
// error the moment the data runs past what the extents give. So a gzip bomb is refused after one
// chunk, and no more than min(limit, the header's size) bytes are ever allocated.
#pragma once

#include <zlib.h>

#include <algorithm>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <stco/core/error.hpp>
#include <stco/core/index.hpp>

namespace fmnist {

using stco::index_t;

/// A malformed, truncated, oversized or unreadable data file; the message names the file.
class idx_error : public stco::error {
 public:
  using stco::error::error;
};

/// The default limit on one file's IDX data: 1 GiB (Fashion-MNIST's largest file has 47 MB).
inline constexpr std::uint64_t idx_default_max_bytes = std::uint64_t{1} << 30;

/// An unsigned-byte IDX array: its extents and its elements.
struct idx_array {
  std::vector<index_t> dims;
  std::vector<std::uint8_t> data;
};

namespace detail {

/// Takes the IDX bytes as they come (from the file or the inflater) and checks them on the way.
class idx_sink {
 public:
  idx_sink(const std::string& source, int expect_rank, std::uint64_t max_bytes)
      : source_(source), expect_rank_(expect_rank), max_bytes_(max_bytes) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw idx_error(stco::detail::message("read_idx: '", source_, "': ", why));
  }

  void put(const unsigned char* p, std::size_t n) {
    while (n > 0 && !header_done_) {  // the header is at most 20 bytes: byte by byte
      header_.push_back(*p++), --n;
      take_header();
    }
    if (n == 0) return;
    if (n > total_ - got_)
      fail(stco::detail::message("more data than the ", total_ - header_.size(),
                                 " bytes the header's extents give"));
    out_.data.insert(out_.data.end(), p, p + n);
    got_ += n;
  }

  idx_array finish() {
    if (!header_done_)
      fail(stco::detail::message("truncated: ", header_.size(), " bytes, no complete IDX header"));
    if (got_ < total_)
      fail(stco::detail::message("truncated: the header's extents need ", total_ - header_.size(),
                                 " data bytes, the file has ", got_ - header_.size()));
    return std::move(out_);
  }

 private:
  void take_header() {
    const std::size_t have = header_.size();
    if (have == 4) {
      const unsigned char* b = header_.data();
      if (b[0] != 0 || b[1] != 0 || b[2] != 0x08 || b[3] < 1 || b[3] > 4 ||
          (expect_rank_ > 0 && b[3] != expect_rank_)) {
        char hex[16];
        std::snprintf(hex, sizeof hex, "0x%02X%02X%02X%02X", unsigned{b[0]}, unsigned{b[1]},
                      unsigned{b[2]}, unsigned{b[3]});
        fail(stco::detail::message("bad magic number ", hex, " (expected ",
                                   expect_rank_ == 1   ? "0x00000801, unsigned-byte labels"
                                   : expect_rank_ == 3 ? "0x00000803, unsigned-byte images"
                                                       : "0x000008NN, unsigned-byte data",
                                   ")"));
      }
      return;
    }
    const std::size_t rank = header_.size() >= 4 ? header_[3] : 0;
    if (have < 4 || have != 4 + 4 * rank) return;
    // The extents are in: the declared size, checked against the limit before any allocation.
    if (have > max_bytes_)
      fail(stco::detail::message("the header alone exceeds the limit of ", max_bytes_, " bytes"));
    std::uint64_t count = 1;  // elements; kept ≤ max_bytes - have, so the products cannot overflow
    bool over = false, empty = false;
    for (std::size_t d = 0; d < rank; ++d) {
      const unsigned char* e = header_.data() + 4 + 4 * d;
      const std::uint32_t v = (std::uint32_t{e[0]} << 24) | (std::uint32_t{e[1]} << 16) |
                              (std::uint32_t{e[2]} << 8) | e[3];
      out_.dims.push_back(static_cast<index_t>(v));
      empty = empty || v == 0;
      if (v != 0 && count > (max_bytes_ - have) / v)
        over = true;
      else
        count *= v;
    }
    if (empty) count = 0;
    if (over && !empty)
      fail(stco::detail::message("the header's extents give more than the limit of ", max_bytes_,
                                 " bytes"));
    const std::uint64_t total = have + count;
    total_ = total;
    got_ = have;
    header_done_ = true;
    // The header's word alone does not make the data arrive: reserve at most 16 MiB up front and
    // let the vector grow with what is really inflated, so a 20-byte file claiming 1 GiB costs
    // 16 MiB, not 1 GiB.
    out_.data.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(total_ - have, 1u << 24)));
  }

  const std::string& source_;
  int expect_rank_;
  std::uint64_t max_bytes_;
  std::vector<unsigned char> header_;
  bool header_done_ = false;
  std::uint64_t total_ = 0, got_ = 0;  // header included
  idx_array out_;
};

/// Inflates gzip data (one member or several concatenated) into `sink`, 64 KiB at a time.
inline void gunzip_into(const unsigned char* in, std::size_t n, const std::string& source,
                        idx_sink& sink) {
  auto fail = [&](const std::string& why, std::size_t at) {
    throw idx_error(
        stco::detail::message("read_idx: '", source, "': gzip data at offset ", at, ": ", why));
  };
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) fail("zlib cannot start", 0);
  struct guard {
    z_stream* z;
    ~guard() { inflateEnd(z); }
  } g{&z};
  unsigned char chunk[1 << 16];
  std::size_t pos = 0;  // input consumed
  for (;;) {
    const std::size_t feed = std::min<std::size_t>(n - pos, 1u << 30);  // avail_in is 32 bits
    z.next_in = const_cast<unsigned char*>(in + pos);
    z.avail_in = static_cast<uInt>(feed);
    z.next_out = chunk;
    z.avail_out = sizeof chunk;
    const int rc = inflate(&z, Z_NO_FLUSH);
    pos += feed - z.avail_in;
    sink.put(chunk, sizeof chunk - z.avail_out);
    if (rc == Z_STREAM_END) {
      if (pos == n) return;
      if (n - pos >= 2 && in[pos] == 0x1f && in[pos + 1] == 0x8b) {  // another member
        inflateReset(&z);
        continue;
      }
      fail(stco::detail::message(n - pos, " bytes after the end of the gzip data"), pos);
    }
    if (rc == Z_BUF_ERROR && pos == n && z.avail_out != 0) fail("truncated", pos);
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      fail(z.msg ? z.msg : "corrupt (zlib error " + std::to_string(rc) + ")", pos);
  }
}

}  // namespace detail

/// True if `data` starts with the gzip magic bytes.
inline bool is_gzip(const unsigned char* data, std::size_t n) {
  return n >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

/// Parses IDX bytes held in memory, plain or gzip (the entry point for a file already read, or a
/// fuzzer). idx_error naming `source` for: bad magic, an element type other than unsigned byte, a
/// rank other than `expect_rank` (when > 0), extents giving more than `max_bytes`, data shorter or
/// longer than the extents say, or corrupt gzip data.
inline idx_array parse_idx(const unsigned char* data, std::size_t n, const std::string& source,
                           int expect_rank = 0, std::uint64_t max_bytes = idx_default_max_bytes) {
  if (max_bytes > (std::uint64_t{1} << 62))
    throw stco::argument_error("read_idx: max_bytes must be at most 2^62");
  detail::idx_sink sink(source, expect_rank, max_bytes);
  if (is_gzip(data, n))
    detail::gunzip_into(data, n, source, sink);
  else
    sink.put(data, n);
  return sink.finish();
}

/// Reads and parses an IDX file (plain or .gz); idx_error if it cannot be read, or is larger than
/// `max_bytes` itself.
inline idx_array read_idx(const std::string& path, int expect_rank = 0,
                          std::uint64_t max_bytes = idx_default_max_bytes) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw idx_error(stco::detail::message("read_idx: cannot open '", path, "'"));
  const std::streamoff size = f.tellg();
  if (size < 0) throw idx_error(stco::detail::message("read_idx: cannot read '", path, "'"));
  if (static_cast<std::uint64_t>(size) > max_bytes)
    throw idx_error(stco::detail::message("read_idx: '", path, "': ", size,
                                          " bytes, more than the limit of ", max_bytes));
  std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
  f.seekg(0);
  if (size > 0 && !f.read(reinterpret_cast<char*>(bytes.data()), size))
    throw idx_error(stco::detail::message("read_idx: cannot read '", path, "'"));
  return parse_idx(bytes.data(), bytes.size(), path, expect_rank, max_bytes);
}

/// Images [count, rows, cols] and their labels, as a data set stores them.
struct labeled_images {
  index_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // count·rows·cols, row-major
  std::vector<std::uint8_t> labels;  // count, each < classes
};

/// Reads an images file (rank 3) and a labels file (rank 1) and checks that they agree: the same
/// count, and every label below `classes` (idx_error naming the file and the sample).
inline labeled_images read_idx_dataset(const std::string& images_path,
                                       const std::string& labels_path, int classes = 10) {
  idx_array im = read_idx(images_path, 3);
  idx_array lb = read_idx(labels_path, 1);
  if (im.dims[0] != lb.dims[0])
    throw idx_error(stco::detail::message("read_idx: wrong counts: '", images_path, "' holds ",
                                          im.dims[0], " images, '", labels_path, "' ", lb.dims[0],
                                          " labels"));
  for (std::size_t i = 0; i < lb.data.size(); ++i)
    if (lb.data[i] >= classes)
      throw idx_error(stco::detail::message("read_idx: '", labels_path, "': label ",
                                            int(lb.data[i]), " of sample ", i, " is not below ",
                                            classes));
  labeled_images d;
  d.count = im.dims[0], d.rows = im.dims[1], d.cols = im.dims[2];
  d.pixels = std::move(im.data);
  d.labels = std::move(lb.data);
  return d;
}

}  // namespace fmnist
