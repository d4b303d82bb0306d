// stco/nn/gzip.hpp — a small gzip (RFC 1952) reader over a DEFLATE (RFC 1951) decoder, so the
// IDX reader takes Debian's .gz data files without a zlib dependency.
//
// Decoding follows the canonical-Huffman scheme of Mark Adler's puff.c (count per code length,
// symbols in code order), written anew here: stored, fixed and dynamic blocks, concatenated gzip
// members, and the trailer's CRC-32 and length checked. It decodes a bit at a time — tens of MB/s,
// plenty for data sets read once. Every defect (truncation, a bad code, a distance too far back, a
// checksum mismatch) throws format_error naming the source and the byte offset.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "stco/core/error.hpp"
#include "stco/nn/crc32.hpp"
#include "stco/nn/format_error.hpp"

namespace stco::nn {

namespace detail {

class inflater {
 public:
  inflater(const unsigned char* in, std::size_t n, std::size_t pos, const std::string& source,
           std::vector<unsigned char>& out)
      : in_(in), n_(n), pos_(pos), source_(source), out_(out) {}

  /// Decodes one DEFLATE stream; returns the offset of the first byte after it.
  std::size_t run() {
    for (bool last = false; !last;) {
      last = bits(1) == 1;
      switch (bits(2)) {
        case 0:
          stored();
          break;
        case 1:
          fixed();
          break;
        case 2:
          dynamic();
          break;
        default:
          fail("invalid block type 3");
      }
    }
    return pos_;  // the partial byte left in the bit buffer is discarded, as the format says
  }

 private:
  struct huffman {
    std::array<short, 16> count{};  // codes of each length
    std::vector<short> symbol;      // symbols in canonical code order
  };

  [[noreturn]] void fail(const std::string& why) const {
    throw format_error(
        stco::detail::message("stco::nn::gunzip: '", source_, "' at offset ", pos_, ": ", why));
  }

  int bits(int need) {
    std::uint32_t v = buf_;
    while (cnt_ < need) {
      if (pos_ >= n_) fail("truncated deflate stream");
      v |= static_cast<std::uint32_t>(in_[pos_++]) << cnt_;
      cnt_ += 8;
    }
    buf_ = v >> need;
    cnt_ -= need;
    return static_cast<int>(v & ((1u << need) - 1u));
  }

  void stored() {
    buf_ = 0, cnt_ = 0;  // to a byte boundary
    if (pos_ + 4 > n_) fail("truncated stored block header");
    const unsigned len = in_[pos_] | (in_[pos_ + 1] << 8);
    const unsigned nlen = in_[pos_ + 2] | (in_[pos_ + 3] << 8);
    if (len != (~nlen & 0xFFFFu)) fail("stored block length does not match its complement");
    pos_ += 4;
    if (pos_ + len > n_) fail("truncated stored block");
    out_.insert(out_.end(), in_ + pos_, in_ + pos_ + len);
    pos_ += len;
  }

  /// Builds h from code lengths; returns < 0 if over-subscribed, > 0 if incomplete.
  static int build(huffman& h, const short* length, int n) {
    h.count.fill(0);
    for (int s = 0; s < n; ++s) ++h.count[length[s]];
    if (h.count[0] == n) return 0;
    int left = 1;
    for (int len = 1; len < 16; ++len) {
      left <<= 1;
      left -= h.count[len];
      if (left < 0) return left;
    }
    std::array<short, 16> offs{};
    for (int len = 1; len < 15; ++len) offs[len + 1] = static_cast<short>(offs[len] + h.count[len]);
    h.symbol.assign(static_cast<std::size_t>(n), 0);
    for (int s = 0; s < n; ++s)
      if (length[s]) h.symbol[offs[length[s]]++] = static_cast<short>(s);
    return left;
  }

  int decode(const huffman& h) {
    int code = 0, first = 0, index = 0;
    for (int len = 1; len < 16; ++len) {
      code |= bits(1);
      const int count = h.count[len];
      if (code - count < first) return h.symbol[index + (code - first)];
      index += count;
      first += count;
      first <<= 1;
      code <<= 1;
    }
    fail("invalid Huffman code");
  }

  void codes(const huffman& lencode, const huffman& distcode) {
    static constexpr short lbase[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                        15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                        67, 83, 99, 115, 131, 163, 195, 227, 258};
    static constexpr short lext[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                       2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    static constexpr short dbase[30] = {
        1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
        193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    static constexpr short dext[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
    for (;;) {
      int sym = decode(lencode);
      if (sym < 256) {
        out_.push_back(static_cast<unsigned char>(sym));
      } else if (sym == 256) {
        return;
      } else {
        sym -= 257;
        if (sym >= 29) fail("invalid length code");
        const std::size_t len = static_cast<std::size_t>(lbase[sym] + bits(lext[sym]));
        const int dsym = decode(distcode);
        if (dsym >= 30) fail("invalid distance code");
        const std::size_t dist = static_cast<std::size_t>(dbase[dsym] + bits(dext[dsym]));
        if (dist > out_.size() - start_) fail("distance reaches before the start of the output");
        const std::size_t from = out_.size() - dist;
        for (std::size_t i = 0; i < len; ++i) out_.push_back(out_[from + i]);
      }
    }
  }

  void fixed() {
    static const std::pair<huffman, huffman> tables = [] {
      std::pair<huffman, huffman> t;
      short l[288];
      int s = 0;
      for (; s < 144; ++s) l[s] = 8;
      for (; s < 256; ++s) l[s] = 9;
      for (; s < 280; ++s) l[s] = 7;
      for (; s < 288; ++s) l[s] = 8;
      build(t.first, l, 288);
      for (s = 0; s < 30; ++s) l[s] = 5;
      build(t.second, l, 30);
      return t;
    }();
    codes(tables.first, tables.second);
  }

  void dynamic() {
    static constexpr short order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                        11, 4,  12, 3, 13, 2, 14, 1, 15};
    const int nlen = bits(5) + 257, ndist = bits(5) + 1, ncode = bits(4) + 4;
    if (nlen > 286 || ndist > 30) fail("too many length or distance codes");
    short lengths[320] = {};
    for (int i = 0; i < ncode; ++i) lengths[order[i]] = static_cast<short>(bits(3));
    huffman lencode, distcode;
    if (build(lencode, lengths, 19) != 0) fail("incomplete code-length code");
    for (int i = 0; i < nlen + ndist;) {
      int sym = decode(lencode);
      if (sym < 16) {
        lengths[i++] = static_cast<short>(sym);
      } else {
        short len = 0;
        int rep;
        if (sym == 16) {
          if (i == 0) fail("repeat with no previous length");
          len = lengths[i - 1];
          rep = 3 + bits(2);
        } else if (sym == 17) {
          rep = 3 + bits(3);
        } else {
          rep = 11 + bits(7);
        }
        if (i + rep > nlen + ndist) fail("too many code lengths");
        while (rep--) lengths[i++] = len;
      }
    }
    if (lengths[256] == 0) fail("no end-of-block code");
    int err = build(lencode, lengths, nlen);
    if (err < 0 || (err > 0 && nlen - lencode.count[0] != 1)) fail("bad literal/length code");
    err = build(distcode, lengths + nlen, ndist);
    if (err < 0 || (err > 0 && ndist - distcode.count[0] != 1)) fail("bad distance code");
    codes(lencode, distcode);
  }

  const unsigned char* in_;
  std::size_t n_, pos_;
  const std::string& source_;
  std::vector<unsigned char>& out_;
  std::size_t start_ = out_.size();  // distances may not reach into an earlier gzip member
  std::uint32_t buf_ = 0;
  int cnt_ = 0;
};

}  // namespace detail

/// True when `bytes` start with the gzip magic (1f 8b).
inline bool is_gzip(const std::vector<unsigned char>& bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

/// The decompressed contents of gzip data (all members, concatenated). format_error naming
/// `source` and the offset for a bad header, a corrupt or truncated stream, or a CRC-32/length
/// mismatch.
inline std::vector<unsigned char> gunzip(const std::vector<unsigned char>& in,
                                         const std::string& source) {
  std::vector<unsigned char> out;
  std::size_t pos = 0;
  auto fail = [&](const std::string& why, std::size_t at) {
    throw format_error(
        stco::detail::message("stco::nn::gunzip: '", source, "' at offset ", at, ": ", why));
  };
  do {
    const std::size_t member = pos;
    if (in.size() - pos < 10) fail("truncated gzip header", pos);
    if (in[pos] != 0x1f || in[pos + 1] != 0x8b) fail("not gzip data (bad magic)", pos);
    if (in[pos + 2] != 8) fail("unknown compression method (only deflate)", pos + 2);
    const unsigned flags = in[pos + 3];
    if (flags & 0xE0) fail("reserved header flags set", pos + 3);
    pos += 10;
    if (flags & 4) {  // FEXTRA
      if (in.size() - pos < 2) fail("truncated extra field", pos);
      const std::size_t xlen = in[pos] | (in[pos + 1] << 8);
      pos += 2;
      if (in.size() - pos < xlen) fail("truncated extra field", pos);
      pos += xlen;
    }
    for (unsigned f : {8u, 16u})  // FNAME, FCOMMENT: zero-terminated
      if (flags & f) {
        while (pos < in.size() && in[pos] != 0) ++pos;
        if (pos >= in.size()) fail("truncated file name or comment", pos);
        ++pos;
      }
    if (flags & 2) pos += 2;  // FHCRC
    const std::size_t start = out.size();
    pos = detail::inflater(in.data(), in.size(), pos, source, out).run();
    if (in.size() - pos < 8) fail("truncated gzip trailer", pos);
    const std::uint32_t crc = static_cast<std::uint32_t>(in[pos]) | (in[pos + 1] << 8) |
                              (in[pos + 2] << 16) | (static_cast<std::uint32_t>(in[pos + 3]) << 24);
    const std::uint32_t isize = static_cast<std::uint32_t>(in[pos + 4]) | (in[pos + 5] << 8) |
                                (in[pos + 6] << 16) |
                                (static_cast<std::uint32_t>(in[pos + 7]) << 24);
    if (crc != crc32(0, out.data() + start, out.size() - start))
      fail("CRC-32 mismatch (the data is corrupt)", pos);
    if (isize != static_cast<std::uint32_t>((out.size() - start) & 0xFFFFFFFFu))
      fail("length mismatch in the trailer", pos + 4);
    pos += 8;
    (void)member;
  } while (pos < in.size() && in[pos] == 0x1f);
  if (pos != in.size()) fail("unexpected bytes after the gzip data", pos);
  return out;
}

}  // namespace stco::nn
