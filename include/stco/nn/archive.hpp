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
// record's CRC, then — when a model takes a record — its layout name, shape, value type and count,
// and the rebuilt entity through the layout's validate. Each error is a stco::error naming the
// file, the record and its byte offset.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <type_traits>
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
      throw argument_error(stco::detail::message("stco::nn::save: name '", s.substr(0, 40),
                                                 "...' is longer than 65535 bytes"));
    put(static_cast<std::uint16_t>(s.size()));
    put_bytes(s.data(), s.size());
  }
};

/// Reads little-endian fields with bounds checks; errors name the source, record and offset.
class byte_reader {
 public:
  byte_reader(const std::vector<unsigned char>& b, std::string source)
      : b_(b), source_(std::move(source)) {}
  std::size_t pos() const { return pos_; }
  std::size_t left() const { return b_.size() - pos_; }
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
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  std::vector<unsigned char> get_bytes(std::uint64_t n, const char* what) {
    need(n, what);
    std::vector<unsigned char> v(b_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                 b_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += static_cast<std::size_t>(n);
    return v;
  }
  const unsigned char* at(std::size_t p) const { return b_.data() + p; }

 private:
  const std::vector<unsigned char>& b_;
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
  const record* find(const std::string& name) const {
    for (const auto& r : records_)
      if (r.name == name) return &r;
    return nullptr;
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
    archive a(source);
    detail::byte_reader in(bytes, source);
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
      in.set_context(stco::detail::message(", record ", i, " ('", r.name, "')"));
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
                                        n * width, " bytes, the file has ", in.left(), " left"),
                  in.pos());
        std::vector<std::uint64_t> v(static_cast<std::size_t>(n));
        for (auto& x : v)
          x = width == 4 ? in.get<std::uint32_t>("an index") : in.get<std::uint64_t>("an index");
        r.index.push_back(std::move(v));
      }
      const auto nvals = in.get<std::uint64_t>("the value count");
      const std::uint64_t vb = r.value_code == 1 ? 4 : 8;
      if (nvals > in.left() / vb)
        in.fail(stco::detail::message("truncated: ", nvals, " values need ", nvals * vb,
                                      " bytes, the file has ", in.left(), " left"),
                in.pos());
      r.values = in.get_bytes(nvals * vb, "the values");
      const std::size_t end = in.pos();
      const auto crc = in.get<std::uint32_t>("the record checksum");
      if (crc != crc32(0, in.at(static_cast<std::size_t>(r.offset)), end - r.offset))
        in.fail("checksum mismatch (the record is corrupt)", end);
      if (a.find(r.name)) in.fail("duplicate record name", static_cast<std::size_t>(r.offset));
      a.records_.push_back(std::move(r));
    }
    in.set_context("");
    if (in.left() != 0)
      in.fail(stco::detail::message(in.left(), " unexpected bytes after the last record"),
              in.pos());
    return a;
  }

  /// Writes the archive to `path` (format_error if the file cannot be written).
  void write_file(const std::string& path) const {
    const auto bytes = serialize();
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) throw format_error(stco::detail::message("stco::nn::save: cannot open '", path, "'"));
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    if (!f) throw format_error(stco::detail::message("stco::nn::save: cannot write '", path, "'"));
  }
  /// Reads and parses `path`.
  static archive read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw format_error(stco::detail::message("stco::nn::load: cannot open '", path, "'"));
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(f)),
                                     std::istreambuf_iterator<char>());
    return parse(bytes, path);
  }

  /// Adds a record as it is (the typed put() builds them); argument_error for a duplicate name.
  void add(record r) {
    if (find(r.name))
      throw argument_error(
          stco::detail::message("stco::nn::save: two tensors named '", r.name, "'"));
    records_.push_back(std::move(r));
  }

  /// Throws format_error naming this archive's source, record r and its offset.
  [[noreturn]] void fail(const record& r, const std::string& why) const {
    throw format_error(stco::detail::message("stco::nn::load: '", source_, "', record '", r.name,
                                             "' at offset ", r.offset, ": ", why));
  }

 private:
  const record& take(const std::string& name) const {
    const record* r = find(name);
    if (!r)
      throw format_error(stco::detail::message("stco::nn::load: '", source_, "': no record '", name,
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
};

}  // namespace stco::nn
