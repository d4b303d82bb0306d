// stco/nn/archive.hpp — the model file: named tensors (sparse weights with their index entities,
// dense vectors), written and read in a documented little-endian binary format.
//
// File layout (all integers little-endian, no padding):
//
//   header   magic     8 bytes  "STCOMODL"
//            version   u32      1
//            count     u64      number of records
//            crc       u32      CRC-32 of the 20 bytes above
//   record   magic     4 bytes  "TREC"                      ┐
//   (count   name      u16 n, n bytes (UTF-8)                │
//    times)  layout    u16 n, n bytes: L::name() of a sparse │
//                      weight ("dense", "nm<2,4>",           │
//                      "tile_wise<32>", ...) or "vector"     │ covered by
//            value     u8: 1 = float32, 2 = float64          │ the record's
//            rank      u8 r (1 or 2), then r × u64 extents:  │ CRC-32
//                      the logical shape ([R, K], or [n])    │
//            index     u32 a arrays, each u8 width (4 or 8), │
//                      u64 count, count × width bytes        │
//                      (entity_io<L>::parts, in order)       │
//            values    u64 count, count × value bytes        ┘
//                      (the compressed values, in the layout's slot order)
//            crc       u32
//
// Nothing may follow the last record. Reading checks, in order: the magic and version, the header
// CRC, every length against the bytes left (a truncated file is reported where it ends), each
// record's CRC, that every value is finite, that no two records share a name, then — when a model
// takes a record — its layout name, shape, value type and count, and the rebuilt entity through
// the layout's validate. Each error is a stco::error naming the file, the record and its byte
// offset; record names are printed escaped (a byte outside printable ASCII as \xNN).
//
// Non-finite values: refused everywhere. A model file holds only finite values (no NaN, no ±Inf):
// saving a model whose weights or statistics went non-finite throws argument_error naming the
// record (and no file is written: the bytes go to a temporary file renamed into place only when
// complete), and reading a file that holds one throws format_error naming the record.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "stco/core/error.hpp"
#include "stco/core/tensor.hpp"
#include "stco/layout/sparse_matrix.hpp"
#include "stco/nn/crc32.hpp"
#include "stco/nn/entity_io.hpp"
#include "stco/nn/format_error.hpp"

namespace stco::nn {

/// One named tensor of a model file, as read (raw) or about to be written.
struct record {
  std::string name;
  std::string layout;  // L::name() of a sparse weight, or "vector"
  std::uint8_t value_code = 0;
  std::vector<std::uint64_t> shape;
  index_parts index;
  std::vector<unsigned char> values;  // little-endian value bytes
  std::uint64_t offset = 0;           // byte offset of the record in its file
};

template <class T>
constexpr std::uint8_t value_code() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "stco::nn: model files hold float or double values");
  return std::is_same_v<T, float> ? 1 : 2;
}
inline const char* value_name(std::uint8_t code) {
  return code == 1 ? "float32" : code == 2 ? "float64" : "unknown";
}

namespace detail {
static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE float and double expected");

/// `s` for a message: printable ASCII as it is, a backslash doubled, any other byte as \xNN (so a
/// corrupt name with NUL or control bytes neither cuts the message short nor garbles a terminal).
inline std::string escaped(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (u >= 0x20 && u < 0x7F) {
      out += c;
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02X", static_cast<unsigned>(u));
      out += hex;
    }
  }
  return out;
}

/// n · size as decimal text, or "more than 2^64 - 1" where the product overflows (a corrupt count
/// must not print a wrapped-around byte count).
inline std::string byte_count_text(std::uint64_t n, std::uint64_t size) {
  if (size != 0 && n > std::numeric_limits<std::uint64_t>::max() / size)
    return "more than 18446744073709551615";
  return std::to_string(n * size);
}

/// The position of the first non-finite value among the record's little-endian value bytes, or
/// -1 if all are finite. Decodes by bit pattern (exponent all ones), independent of byte order.
inline std::int64_t first_non_finite(const std::vector<unsigned char>& values, std::uint8_t code) {
  const std::size_t w = code == 1 ? 4 : 8;
  for (std::size_t i = 0; i + w <= values.size(); i += w) {
    std::uint64_t bits = 0;
    for (std::size_t k = 0; k < w; ++k)
      bits |= static_cast<std::uint64_t>(values[i + k]) << (8 * k);
    const bool bad = w == 4 ? ((bits >> 23) & 0xFFu) == 0xFFu : ((bits >> 52) & 0x7FFu) == 0x7FFu;
    if (bad) return static_cast<std::int64_t>(i / w);
  }
  return -1;
}

inline bool little_endian() {
  const std::uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

/// Appends integers and bytes in little-endian order.
class byte_writer {
 public:
  std::vector<unsigned char> bytes;
  template <class U>
  void put(U v) {
    static_assert(std::is_integral_v<U>);
    for (std::size_t i = 0; i < sizeof(U); ++i)
      bytes.push_back(static_cast<unsigned char>(static_cast<std::uint64_t>(v) >> (8 * i)));
  }
  void put_bytes(const void* p, std::size_t n) {
    const auto* c = static_cast<const unsigned char*>(p);
    bytes.insert(bytes.end(), c, c + n);
  }
  void put_string(const std::string& s) {
    if (s.size() > 0xFFFF)
      throw argument_error(stco::detail::message("stco::nn::save: name '", escaped(s.substr(0, 40)),
                                                 "...' is longer than 65535 bytes"));
    put(static_cast<std::uint16_t>(s.size()));
    put_bytes(s.data(), s.size());
  }
};

/// Reads little-endian fields with bounds checks; errors name the source, record and offset.
class byte_reader {
 public:
  byte_reader(const unsigned char* b, std::size_t n, std::string source)
      : b_(b), n_(n), source_(std::move(source)) {}
  std::size_t pos() const { return pos_; }
  std::size_t left() const { return n_ - pos_; }
  void set_context(std::string c) { context_ = std::move(c); }

  [[noreturn]] void fail(const std::string& why, std::size_t at) const {
    throw format_error(stco::detail::message("stco::nn::load: '", source_, "'", context_,
                                             " at offset ", at, ": ", why));
  }
  void need(std::uint64_t n, const char* what) const {
    if (n > left())
      fail(stco::detail::message("truncated: ", what, " needs ", n, " bytes, the file has ", left(),
                                 " left"),
           pos_);
  }
  template <class U>
  U get(const char* what) {
    need(sizeof(U), what);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i)
      v |= static_cast<std::uint64_t>(b_[pos_ + i]) << (8 * i);
    pos_ += sizeof(U);
    return static_cast<U>(v);
  }
  std::string get_string(const char* what) {
    const auto n = get<std::uint16_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(b_ + pos_), n);
    pos_ += n;
    return s;
  }
  std::vector<unsigned char> get_bytes(std::uint64_t n, const char* what) {
    need(n, what);
    std::vector<unsigned char> v(b_ + pos_, b_ + pos_ + n);
    pos_ += static_cast<std::size_t>(n);
    return v;
  }
  const unsigned char* at(std::size_t p) const { return b_ + p; }

 private:
  const unsigned char* b_;
  std::size_t n_;
  std::string source_;
  std::string context_;
  std::size_t pos_ = 0;
};

inline constexpr char file_magic[8] = {'S', 'T', 'C', 'O', 'M', 'O', 'D', 'L'};
inline constexpr char record_magic[4] = {'T', 'R', 'E', 'C'};
}  // namespace detail

/// The records of one model file, by name.
class archive {
 public:
  static constexpr std::uint32_t version = 1;

  archive() = default;
  explicit archive(std::string source) : source_(std::move(source)) {}

  const std::string& source() const noexcept { return source_; }
  const std::vector<record>& records() const noexcept { return records_; }
  /// The record named `name`, or null (constant time: a file of many records stays linear).
  const record* find(const std::string& name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &records_[it->second];
  }

  /// Adds a sparse weight (values and index entity).
  template <class T, class L>
  void put(const std::string& name, const sparse_matrix<T, L>& W) {
    record r;
    r.name = name;
    r.layout = L::name();
    r.value_code = value_code<T>();
    r.shape = {static_cast<std::uint64_t>(W.rows()), static_cast<std::uint64_t>(W.cols())};
    r.index = entity_io<L>::parts(W.entity());
    r.values = to_bytes(W.values(), W.value_count());
    add(std::move(r));
  }
  /// Adds a dense vector (bias, batch-norm parameter or statistic).
  template <class T, class Ext>
  void put(const std::string& name, const basic_tensor<T, Ext>& v) {
    static_assert(Ext::rank() == 1, "stco::nn::archive: vectors only");
    record r;
    r.name = name;
    r.layout = "vector";
    r.value_code = value_code<T>();
    r.shape = {static_cast<std::uint64_t>(v.size())};
    r.values = to_bytes(v.data(), v.size());
    add(std::move(r));
  }

  /// The layout name of record `name` (format_error if missing).
  const std::string& layout_of(const std::string& name) const { return take(name).layout; }

  /// Record `name` as a sparse_matrix<T, L> of logical shape `expect`, its entity rebuilt and
  /// validated. format_error (naming file, record and offset) on any mismatch.
  template <class T, class L>
  sparse_matrix<T, L> get_matrix(const std::string& name, matrix_shape expect) const {
    const record& r = take(name);
    check_header(r, L::name(), value_code<T>());
    if (r.shape.size() != 2 || r.shape[0] != static_cast<std::uint64_t>(expect.rows) ||
        r.shape[1] != static_cast<std::uint64_t>(expect.cols))
      fail(r, stco::detail::message("shape ", shape_text(r.shape), ", the model's weight is ",
                                    expect));
    std::shared_ptr<const typename L::entity> e;
    try {
      e = build_entity<L>(expect, r.index);
    } catch (const error& ex) {
      fail(r, stco::detail::message("invalid index entity: ", ex.what()));
    }
    const index_t n = e->compressed_shape().size();
    check_count(r, n);
    sparse_matrix<T, L> out(std::move(e));
    from_bytes(r.values, out.values(), n);
    return out;
  }

  /// Record `name` as a vector of n values.
  template <class T>
  stco::tensor<T, 1> get_vector(const std::string& name, index_t n) const {
    const record& r = take(name);
    check_header(r, "vector", value_code<T>());
    if (r.shape.size() != 1 || r.shape[0] != static_cast<std::uint64_t>(n))
      fail(r, stco::detail::message("shape ", shape_text(r.shape), ", the model's vector has ", n,
                                    " values"));
    check_count(r, n);
    stco::tensor<T, 1> out{dextents<1>(n)};
    from_bytes(r.values, out.data(), n);
    return out;
  }

  /// The file's bytes.
  std::vector<unsigned char> serialize() const {
    detail::byte_writer w;
    w.put_bytes(detail::file_magic, 8);
    w.put(version);
    w.put(static_cast<std::uint64_t>(records_.size()));
    w.put(crc32(0, w.bytes.data(), w.bytes.size()));
    for (const auto& r : records_) {
      const std::size_t start = w.bytes.size();
      w.put_bytes(detail::record_magic, 4);
      w.put_string(r.name);
      w.put_string(r.layout);
      w.put(r.value_code);
      w.put(static_cast<std::uint8_t>(r.shape.size()));
      for (auto d : r.shape) w.put(d);
      w.put(static_cast<std::uint32_t>(r.index.size()));
      for (const auto& a : r.index) {
        std::uint64_t mx = 0;
        for (auto v : a) mx = std::max(mx, v);
        const bool narrow = mx <= 0xFFFFFFFFu;
        w.put(static_cast<std::uint8_t>(narrow ? 4 : 8));
        w.put(static_cast<std::uint64_t>(a.size()));
        for (auto v : a) narrow ? w.put(static_cast<std::uint32_t>(v)) : w.put(v);
      }
      const std::size_t vbytes = r.value_code == 1 ? 4 : 8;
      w.put(static_cast<std::uint64_t>(r.values.size() / vbytes));
      w.put_bytes(r.values.data(), r.values.size());
      w.put(crc32(0, w.bytes.data() + start, w.bytes.size() - start));
    }
    return std::move(w.bytes);
  }

  /// Parses a file's bytes (format_error naming `source` and the offset on any defect).
  static archive parse(const std::vector<unsigned char>& bytes, std::string source) {
    return parse(bytes.data(), bytes.size(), std::move(source));
  }
  /// Parses `size` bytes at `data` (an in-memory file; `source` names it in errors).
  static archive parse(const unsigned char* data, std::size_t size, std::string source) {
    if (!data && size) throw argument_error("stco::nn::archive::parse: null data");
    archive a(source);
    detail::byte_reader in(data, size, source);
    in.need(24, "the header");
    if (std::memcmp(in.at(0), detail::file_magic, 8) != 0)
      in.fail("not an stco model file (bad magic; expected \"STCOMODL\")", 0);
    in.get<std::uint64_t>("magic");
    const auto ver = in.get<std::uint32_t>("version");
    if (ver != version)
      in.fail(stco::detail::message("unsupported format version ", ver, " (this build reads ",
                                    version, ")"),
              8);
    const auto count = in.get<std::uint64_t>("record count");
    const auto hcrc = in.get<std::uint32_t>("header checksum");
    if (hcrc != crc32(0, in.at(0), 20)) in.fail("header checksum mismatch", 20);
    for (std::uint64_t i = 0; i < count; ++i) {
      record r;
      r.offset = in.pos();
      in.set_context(stco::detail::message(", record ", i));
      in.need(4, "a record");
      if (std::memcmp(in.at(in.pos()), detail::record_magic, 4) != 0)
        in.fail("bad record magic (expected \"TREC\")", in.pos());
      in.get<std::uint32_t>("record magic");
      r.name = in.get_string("the record name");
      in.set_context(stco::detail::message(", record ", i, " ('", detail::escaped(r.name), "')"));
      r.layout = in.get_string("the layout name");
      r.value_code = in.get<std::uint8_t>("the value type");
      if (r.value_code != 1 && r.value_code != 2)
        in.fail(stco::detail::message("unknown value type code ", int(r.value_code)), in.pos() - 1);
      const auto rank = in.get<std::uint8_t>("the rank");
      if (rank < 1 || rank > 2)
        in.fail(stco::detail::message("rank ", int(rank), " (records are rank 1 or 2)"),
                in.pos() - 1);
      for (int d = 0; d < rank; ++d) r.shape.push_back(in.get<std::uint64_t>("an extent"));
      const auto arrays = in.get<std::uint32_t>("the index array count");
      if (arrays > 16) in.fail(stco::detail::message(arrays, " index arrays"), in.pos() - 4);
      for (std::uint32_t k = 0; k < arrays; ++k) {
        const auto width = in.get<std::uint8_t>("an index width");
        if (width != 4 && width != 8)
          in.fail(stco::detail::message("index width ", int(width), " (4 or 8)"), in.pos() - 1);
        const auto n = in.get<std::uint64_t>("an index count");
        if (n > in.left() / width)
          in.fail(stco::detail::message("truncated: index array ", k, " of ", n, " entries needs ",
                                        detail::byte_count_text(n, width), " bytes, the file has ",
                                        in.left(), " left"),
                  in.pos());
        std::vector<std::uint64_t> v(static_cast<std::size_t>(n));
        for (auto& x : v)
          x = width == 4 ? in.get<std::uint32_t>("an index") : in.get<std::uint64_t>("an index");
        r.index.push_back(std::move(v));
      }
      const auto nvals = in.get<std::uint64_t>("the value count");
      const std::uint64_t vb = r.value_code == 1 ? 4 : 8;
      if (nvals > in.left() / vb)
        in.fail(stco::detail::message("truncated: ", nvals, " values need ",
                                      detail::byte_count_text(nvals, vb), " bytes, the file has ",
                                      in.left(), " left"),
                in.pos());
      r.values = in.get_bytes(nvals * vb, "the values");
      const std::size_t end = in.pos();
      const auto crc = in.get<std::uint32_t>("the record checksum");
      if (crc != crc32(0, in.at(static_cast<std::size_t>(r.offset)), end - r.offset))
        in.fail("checksum mismatch (the record is corrupt)", end);
      if (const auto bad = detail::first_non_finite(r.values, r.value_code); bad >= 0)
        in.fail(stco::detail::message("value ", bad, " is not finite (model files hold finite ",
                                      "values only)"),
                static_cast<std::size_t>(r.offset));
      if (!a.by_name_.emplace(r.name, a.records_.size()).second)
        in.fail("duplicate record name", static_cast<std::size_t>(r.offset));
      a.records_.push_back(std::move(r));
    }
    in.set_context("");
    if (in.left() != 0)
      in.fail(stco::detail::message(in.left(), " unexpected bytes after the last record"),
              in.pos());
    return a;
  }

  /// Writes the archive to `path` (format_error if the file cannot be written). The bytes go to
  /// `path`.tmp, renamed onto `path` once complete: a failed save leaves no half-written file.
  void write_file(const std::string& path) const {
    const auto bytes = serialize();
    const std::string tmp = path + ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      if (!f) throw format_error(stco::detail::message("stco::nn::save: cannot open '", tmp, "'"));
      f.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
      f.close();
      if (!f) {
        std::remove(tmp.c_str());
        throw format_error(stco::detail::message("stco::nn::save: cannot write '", tmp, "'"));
      }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      std::remove(tmp.c_str());
      throw format_error(
          stco::detail::message("stco::nn::save: cannot rename '", tmp, "' to '", path, "'"));
    }
  }
  /// Reads and parses `path`.
  static archive read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw format_error(stco::detail::message("stco::nn::load: cannot open '", path, "'"));
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(f)),
                                     std::istreambuf_iterator<char>());
    return parse(bytes, path);
  }

  /// Adds a record as it is (the typed put() builds them); argument_error for a duplicate name,
  /// an unknown value type, or a non-finite value (named by record and position).
  void add(record r) {
    if (r.value_code != 1 && r.value_code != 2)
      throw argument_error(stco::detail::message("stco::nn::save: tensor '",
                                                 detail::escaped(r.name), "': value type code ",
                                                 int(r.value_code), " (1 float32, 2 float64)"));
    if (const auto bad = detail::first_non_finite(r.values, r.value_code); bad >= 0)
      throw argument_error(stco::detail::message(
          "stco::nn::save: tensor '", detail::escaped(r.name), "': value ", bad,
          " is not finite (model files hold finite values only; the model diverged?)"));
    if (!by_name_.emplace(r.name, records_.size()).second)
      throw argument_error(stco::detail::message("stco::nn::save: two tensors named '",
                                                 detail::escaped(r.name), "'"));
    records_.push_back(std::move(r));
  }

  /// Throws format_error naming this archive's source, record r and its offset.
  [[noreturn]] void fail(const record& r, const std::string& why) const {
    throw format_error(stco::detail::message("stco::nn::load: '", source_, "', record '",
                                             detail::escaped(r.name), "' at offset ", r.offset,
                                             ": ", why));
  }

 private:
  const record& take(const std::string& name) const {
    const record* r = find(name);
    if (!r)
      throw format_error(stco::detail::message("stco::nn::load: '", source_, "': no record '",
                                               detail::escaped(name),
                                               "' (the file holds another model)"));
    return *r;
  }

  void check_header(const record& r, const std::string& layout, std::uint8_t code) const {
    if (r.layout != layout)
      fail(r, stco::detail::message("layout '", r.layout, "', the model expects '", layout, "'"));
    if (r.value_code != code)
      fail(r, stco::detail::message("values are ", value_name(r.value_code), ", the model's are ",
                                    value_name(code)));
  }
  void check_count(const record& r, index_t n) const {
    const std::size_t vb = r.value_code == 1 ? 4 : 8;
    if (r.values.size() != static_cast<std::size_t>(n) * vb)
      fail(r, stco::detail::message(r.values.size() / vb, " values, the entity stores ", n));
  }

  static std::string shape_text(const std::vector<std::uint64_t>& s) {
    std::string t = "[";
    for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + "]";
  }

  template <class T>
  static std::vector<unsigned char> to_bytes(const T* v, index_t n) {
    std::vector<unsigned char> out(static_cast<std::size_t>(n) * sizeof(T));
    if (detail::little_endian()) {
      if (n) std::memcpy(out.data(), v, out.size());
    } else {
      for (index_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < sizeof(T); ++k)
          out[i * sizeof(T) + k] = reinterpret_cast<const unsigned char*>(v + i)[sizeof(T) - 1 - k];
    }
    return out;
  }
  template <class T>
  static void from_bytes(const std::vector<unsigned char>& b, T* v, index_t n) {
    if (detail::little_endian()) {
      if (n) std::memcpy(v, b.data(), static_cast<std::size_t>(n) * sizeof(T));
    } else {
      for (index_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < sizeof(T); ++k)
          reinterpret_cast<unsigned char*>(v + i)[sizeof(T) - 1 - k] = b[i * sizeof(T) + k];
    }
  }

  std::string source_;
  std::vector<record> records_;
  std::unordered_map<std::string, std::size_t> by_name_;  // index into records_
};

}  // namespace stco::nn
