// The Fashion-MNIST example's data reader (examples/train_fashion_mnist/idx.hpp): IDX arrays plain
// and gzip-compressed (fixed and dynamic Huffman blocks from a real compressor, stored blocks,
// concatenated members; corruption, truncation and trailing bytes refused), bad magic, wrong counts
// and labels refused, and the size limit enforced while inflating: a gzip bomb made here with zlib
// is refused without any allocation near its inflated size (this binary counts its allocations).
#include <doctest/doctest.h>
#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include "../support/random.hpp"
#include "../support/temp_files.hpp"
#include "idx.hpp"

namespace fs = std::filesystem;

// The largest single allocation since the last reset: how the bomb test sees that no buffer of the
// inflated size was ever made.
static std::atomic<std::size_t> g_largest_alloc{0};

// Out of line, so that GCC does not pair an inlined malloc with a delete elsewhere in its
// -Wmismatched-new-delete analysis.
[[gnu::noinline]] void* operator new(std::size_t n) {
  std::size_t cur = g_largest_alloc.load(std::memory_order_relaxed);
  while (n > cur && !g_largest_alloc.compare_exchange_weak(cur, n, std::memory_order_relaxed)) {
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

const fs::path& temp_dir() {
  static const fs::path d = stco_test::temp_dir_for("stco_idx_test_");
  return d;
}
using stco_test::error_of;
using stco_test::write_bytes;

std::vector<unsigned char> to_bytes(const std::string& s) { return {s.begin(), s.end()}; }

fmnist::idx_array parse(const std::vector<unsigned char>& b,
                        std::uint64_t max_bytes = fmnist::idx_default_max_bytes) {
  return fmnist::parse_idx(b.data(), b.size(), "mem", 0, max_bytes);
}

/// gzip (zlib's deflate, level 9) of `head` followed by `zeros` zero bytes, made a chunk at a
/// time so that the zeros never exist in memory.
std::vector<unsigned char> gzip_of(const std::vector<unsigned char>& head, std::uint64_t zeros) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<unsigned char> out, zero(1 << 16, 0);
  unsigned char buf[1 << 14];
  auto pump = [&](const unsigned char* p, std::size_t n, int flush) {
    z.next_in = const_cast<unsigned char*>(p);
    z.avail_in = static_cast<uInt>(n);
    int rc;
    do {
      z.next_out = buf;
      z.avail_out = sizeof buf;
      rc = deflate(&z, flush);
      REQUIRE(rc != Z_STREAM_ERROR);
      out.insert(out.end(), buf, buf + (sizeof buf - z.avail_out));
    } while (z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  };
  pump(head.data(), head.size(), Z_NO_FLUSH);
  for (std::uint64_t left = zeros; left > 0;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, zero.size()));
    pump(zero.data(), n, Z_NO_FLUSH);
    left -= n;
  }
  pump(nullptr, 0, Z_FINISH);
  deflateEnd(&z);
  return out;
}

void put_be32(std::vector<unsigned char>& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}

/// An unsigned-byte IDX file of the given extents, elements (i·7 + 3) mod `modulo`.
std::vector<unsigned char> idx_bytes(const std::vector<std::uint32_t>& dims, int modulo = 256) {
  std::vector<unsigned char> b{0, 0, 0x08, static_cast<unsigned char>(dims.size())};
  std::size_t n = 1;
  for (auto d : dims) put_be32(b, d), n *= d;
  for (std::size_t i = 0; i < n; ++i)
    b.push_back(static_cast<unsigned char>((i * 7 + 3) % static_cast<std::size_t>(modulo)));
  return b;
}

/// gzip of `data` in stored (uncompressed) deflate blocks of at most `block` bytes.
std::vector<unsigned char> gzip_stored(const std::vector<unsigned char>& data,
                                       std::size_t block = 65535) {
  std::vector<unsigned char> g{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min(block, data.size() - pos);
    const bool last = pos + n == data.size();
    g.push_back(last ? 1 : 0);
    g.push_back(static_cast<unsigned char>(n & 0xFF));
    g.push_back(static_cast<unsigned char>(n >> 8));
    g.push_back(static_cast<unsigned char>(~n & 0xFF));
    g.push_back(static_cast<unsigned char>((~n >> 8) & 0xFF));
    g.insert(g.end(), data.begin() + static_cast<long>(pos),
             data.begin() + static_cast<long>(pos + n));
    pos += n;
  } while (pos < data.size());
  const std::uint32_t crc =
      static_cast<std::uint32_t>(crc32(0, data.data(), static_cast<uInt>(data.size())));
  const auto size = static_cast<std::uint32_t>(data.size());
  for (int s = 0; s < 32; s += 8) g.push_back(static_cast<unsigned char>(crc >> s));
  for (int s = 0; s < 32; s += 8) g.push_back(static_cast<unsigned char>(size >> s));
  return g;
}

// gzip -9 output of "hello hello hello stco\n" (a fixed-Huffman block) and of dynamic_text()
// (a dynamic-Huffman block), made by zlib.
const std::vector<unsigned char> fixed_gz{
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb,
    0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x22, 0x8b, 0x4b, 0x92,
    0xf3, 0xb9, 0x00, 0xa3, 0x46, 0x01, 0x6f, 0x17, 0x00, 0x00, 0x00,
};
const std::vector<unsigned char> dynamic_gz{
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x45, 0x52, 0x6b, 0x0a, 0xde, 0x30,
    0x0c, 0xfb, 0xef, 0x53, 0xf8, 0x6a, 0x66, 0x16, 0x38, 0x10, 0x12, 0x70, 0x94, 0xfb, 0x4f, 0x81,
    0x7d, 0x1d, 0x14, 0xda, 0x94, 0xc8, 0x7a, 0x99, 0x87, 0x7f, 0xb6, 0xaf, 0xe5, 0xc5, 0x03, 0x80,
    0xc3, 0x39, 0x1a, 0x08, 0x86, 0x4e, 0xd1, 0x11, 0x88, 0x71, 0x06, 0xc8, 0xa0, 0xc3, 0x1d, 0xd7,
    0xd1, 0x7e, 0x63, 0x62, 0xf1, 0x87, 0x4c, 0x10, 0xc6, 0xba, 0x38, 0x93, 0x53, 0x57, 0x7c, 0x84,
    0x60, 0x59, 0xf4, 0xc0, 0x61, 0x47, 0xd9, 0xe8, 0xc5, 0x7b, 0x91, 0x3b, 0xd6, 0x5c, 0xc7, 0xc6,
    0x0f, 0x39, 0x6d, 0x77, 0x78, 0x4e, 0xa4, 0xc8, 0xfc, 0x4a, 0x01, 0xc1, 0x32, 0xb7, 0xea, 0x72,
    0x51, 0x58, 0x49, 0x56, 0xc7, 0x5c, 0x97, 0x31, 0x88, 0xed, 0xf7, 0x87, 0x64, 0x6e, 0x88, 0x22,
    0x5c, 0xc0, 0xdd, 0x49, 0xe1, 0x20, 0xc5, 0xf7, 0xcd, 0xc9, 0x1c, 0xd7, 0xdf, 0x31, 0x2c, 0x62,
    0xc5, 0xf4, 0xee, 0xe2, 0xa7, 0x76, 0xc0, 0x0d, 0x71, 0x30, 0xf6, 0x02, 0xb7, 0x57, 0x34, 0xf5,
    0x55, 0xcf, 0xad, 0x6f, 0xa3, 0xb4, 0x74, 0x86, 0x06, 0xf7, 0x4a, 0xb9, 0x3d, 0xe9, 0xe7, 0x87,
    0x34, 0x62, 0xc4, 0x2a, 0x8a, 0x39, 0xd0, 0xec, 0xcb, 0xf1, 0x78, 0x57, 0x48, 0xaa, 0xaf, 0xcc,
    0x76, 0xd6, 0x54, 0x84, 0x5b, 0x47, 0x64, 0xba, 0xac, 0xfe, 0x43, 0xc2, 0x3b, 0xa8, 0x84, 0x32,
    0xc2, 0x4e, 0x49, 0xea, 0xc6, 0xa5, 0x85, 0x0f, 0xbd, 0x0f, 0x36, 0x25, 0x9a, 0x31, 0x4d, 0xd9,
    0x65, 0x2b, 0x93, 0x69, 0xf8, 0x7c, 0x5e, 0xbe, 0x89, 0x1a, 0xf0, 0xa2, 0xc1, 0x4c, 0x2a, 0xcc,
    0xcc, 0x53, 0x91, 0x07, 0x52, 0xa9, 0x29, 0x99, 0xaf, 0x17, 0xe6, 0x80, 0x62, 0x98, 0xf6, 0x71,
    0xee, 0x55, 0x4b, 0xa5, 0x05, 0xeb, 0xd5, 0xa9, 0x47, 0xdf, 0x93, 0x5c, 0x5b, 0x99, 0xe9, 0x9f,
    0xee, 0x1e, 0x74, 0x22, 0x4f, 0x2a, 0x6d, 0x0d, 0xff, 0xb2, 0xdd, 0xa9, 0x14, 0x94, 0x38, 0x1a,
    0x7e, 0x4a, 0x65, 0x37, 0xfa, 0xde, 0xd1, 0xdb, 0x37, 0x4c, 0xc6, 0xef, 0x55, 0xf0, 0x43, 0xd1,
    0x2f, 0x2d, 0xc6, 0xac, 0xbc, 0xfe, 0x7f, 0x13, 0x42, 0xa5, 0x51, 0x89, 0x5d, 0xf0, 0x84, 0x88,
    0x27, 0xb1, 0x60, 0xea, 0x75, 0x40, 0xc4, 0x32, 0x61, 0x92, 0xec, 0x3b, 0x4e, 0xa8, 0xf9, 0xb5,
    0xbe, 0x84, 0x48, 0x33, 0xd7, 0x62, 0xb9, 0x9a, 0x61, 0xbe, 0x1a, 0x1f, 0x44, 0xe5, 0x7b, 0x7a,
    0x69, 0xe9, 0x02, 0xe5, 0xaf, 0x66, 0xf9, 0x95, 0x95, 0x01, 0xfc, 0x05, 0xfe, 0xdc, 0xef, 0x81,
    0xb8, 0x02, 0x00, 0x00,
};

/// The text the dynamic-Huffman fixture was compressed from (same generator as made it).
std::vector<unsigned char> dynamic_text() {
  std::vector<unsigned char> out;
  const char alpha[] = "eeeetttaaoinshrdlu  \n";
  std::uint64_t x = 12345;
  for (int i = 0; i < 600; ++i) {
    x = (x * 1103515245u + 12345u) % (std::uint64_t{1} << 31);
    out.push_back(static_cast<unsigned char>(alpha[(x >> 16) % 21]));
    if (i % 50 == 0)
      for (char c : std::string("stco nn ")) out.push_back(static_cast<unsigned char>(c));
  }
  return out;
}

}  // namespace

TEST_CASE("gzip data: fixed, dynamic and stored blocks, several members; corruption refused") {
  // The gzip fixtures hold text, not IDX: wrap each as the elements of a rank-1 IDX array.
  auto as_idx = [](const std::vector<unsigned char>& payload) {
    auto b = idx_bytes({static_cast<std::uint32_t>(payload.size())});
    b.resize(8);
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
  };
  const std::string hello = "hello hello hello stco\n";
  // A gzip member of the IDX header, then the fixture member: two members concatenated.
  auto two_members = [&](const std::vector<unsigned char>& member, std::size_t size) {
    auto g = gzip_stored(std::vector<unsigned char>{0, 0, 8, 1, 0, 0,
                                                    static_cast<unsigned char>(size >> 8),
                                                    static_cast<unsigned char>(size & 0xFF)});
    g.insert(g.end(), member.begin(), member.end());
    return g;
  };
  CHECK(parse(two_members(fixed_gz, hello.size())).data == to_bytes(hello));
  CHECK(parse(two_members(dynamic_gz, dynamic_text().size())).data == dynamic_text());
  std::vector<unsigned char> big(200000);
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<unsigned char>(i * 31 + i / 977);
  CHECK(parse(gzip_stored(as_idx(big))).data == big);
  CHECK(parse(gzip_of(as_idx(big), 0)).data == big);

  const auto good = two_members(dynamic_gz, dynamic_text().size());
  auto bad_crc = good;
  bad_crc[bad_crc.size() - 6] ^= 0x01;
  const std::string e = error_of([&] { parse(bad_crc); });
  CHECK(e.find("'mem'") != std::string::npos);
  CHECK(e.find("gzip data") != std::string::npos);
  for (std::size_t cut = 2; cut < good.size(); cut += 7) {
    CAPTURE(cut);
    const std::vector<unsigned char> t(good.begin(), good.begin() + static_cast<long>(cut));
    CHECK_THROWS_AS(parse(t), fmnist::idx_error);
  }
  // Any flipped byte of the compressed stream is caught (bad code, or the CRC or size at the end).
  const std::size_t start = good.size() - dynamic_gz.size() + 10;
  for (std::size_t i = start; i < good.size(); ++i) {
    CAPTURE(i);
    auto f = good;
    f[i] ^= 0x5A;
    CHECK_THROWS_AS(parse(f), fmnist::idx_error);
  }
  auto trailing = good;
  trailing.push_back(0);
  CHECK(error_of([&] { parse(trailing); }).find("1 bytes after the end") != std::string::npos);
}

TEST_CASE("a gzip bomb is refused while inflating, without a large allocation") {
  constexpr std::uint64_t inflated = std::uint64_t{256} << 20;  // 256 MiB of zeros
  // 1. An honest header for the bomb's size, over a limit of 16 MiB: refused at the header.
  const auto honest =
      gzip_of({0, 0, 8, 3, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 4, 0}, inflated);  // [256, 1024, 1024]
  CHECK(honest.size() < inflated / 500);                                    // it is a bomb
  g_largest_alloc = 0;
  std::string e = error_of([&] { parse(honest, std::uint64_t{16} << 20); });
  CHECK(e.find("more than the limit of 16777216 bytes") != std::string::npos);
  CHECK(g_largest_alloc.load() < (std::size_t{1} << 20));
  // 2. A header claiming 1000 bytes, then 256 MiB: refused once the data runs past the header.
  const auto liar = gzip_of({0, 0, 8, 1, 0, 0, 0x03, 0xE8}, inflated);
  g_largest_alloc = 0;
  e = error_of([&] { parse(liar); });
  CHECK(e.find("more data than the 1000 bytes") != std::string::npos);
  CHECK(g_largest_alloc.load() < (std::size_t{1} << 20));
  // 3. No header at all (zeros from the start): refused at the magic number.
  g_largest_alloc = 0;
  CHECK(error_of([&] { parse(gzip_of({}, inflated)); }).find("bad magic number 0x00000000") !=
        std::string::npos);
  CHECK(g_largest_alloc.load() < (std::size_t{1} << 20));
  // The same through a file: the error names it.
  write_bytes(temp_dir() / "bomb.gz", liar);
  CHECK(error_of([&] { fmnist::read_idx((temp_dir() / "bomb.gz").string(), 1); }).find("bomb.gz") !=
        std::string::npos);
  // A file larger than the limit is refused before it is read.
  write_bytes(temp_dir() / "plain", idx_bytes({100}));
  CHECK(error_of([&] {
          fmnist::read_idx((temp_dir() / "plain").string(), 1, 50);
        }).find("more than the limit of 50") != std::string::npos);
  CHECK(fmnist::read_idx((temp_dir() / "plain").string(), 1, 108).data.size() == 100);
}

TEST_CASE("a short file whose header claims a large array is refused without reserving it") {
  // [512, 1024, 1024] = 512 MiB, under the default 1 GiB limit, then 4 bytes of data.
  std::vector<unsigned char> b{0, 0, 8, 3, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 4, 0, 1, 2, 3, 4};
  for (const auto& bytes : {b, gzip_of(b, 0)}) {
    g_largest_alloc = 0;
    CHECK(error_of([&] { parse(bytes); }).find("truncated") != std::string::npos);
    CHECK(g_largest_alloc.load() <= (std::size_t{1} << 24));
  }
}

TEST_CASE("IDX extents that overflow 64 bits or hold nothing") {
  // 2^32-1 in each of 4 extents: the product overflows 64 bits; it must be refused, not wrap.
  const std::vector<unsigned char> huge{0,    0,    8,    4,    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  CHECK(error_of([&] { parse(huge); }).find("more than the limit") != std::string::npos);
  auto empty = huge;
  empty[19] = 0, empty[18] = 0, empty[17] = 0, empty[16] = 0;  // the last extent 0
  const auto a = parse(empty);
  CHECK(a.dims.size() == 4);
  CHECK(a.data.empty());
}

TEST_CASE("the IDX reader takes plain and gzip files and refuses malformed ones") {
  const fs::path dir = temp_dir();
  const auto images = idx_bytes({5, 4, 3});
  const auto labels = idx_bytes({5}, 10);
  write_bytes(dir / "images", images);
  write_bytes(dir / "labels.gz", gzip_stored(labels, 3));
  const auto d = fmnist::read_idx_dataset((dir / "images").string(), (dir / "labels.gz").string());
  CHECK(d.count == 5);
  CHECK(d.rows == 4);
  CHECK(d.cols == 3);
  for (std::size_t i = 0; i < 60; ++i)
    REQUIRE(d.pixels[i] == static_cast<unsigned char>((i * 7 + 3) % 256));
  for (std::size_t i = 0; i < 5; ++i) REQUIRE(d.labels[i] == (i * 7 + 3) % 10);

  auto bad_magic = images;
  bad_magic[2] = 0x0D;  // float elements: not what these data sets hold
  write_bytes(dir / "bad_magic", bad_magic);
  const std::string e1 = error_of([&] { fmnist::read_idx((dir / "bad_magic").string(), 3); });
  CHECK(e1.find("bad magic number 0x00000D03") != std::string::npos);
  CHECK(e1.find("bad_magic") != std::string::npos);
  // A labels file where an images file is expected.
  CHECK(error_of([&] {
          fmnist::read_idx_dataset((dir / "labels.gz").string(), (dir / "labels.gz").string());
        }).find("expected 0x00000803") != std::string::npos);

  for (std::size_t cut : {std::size_t{0}, std::size_t{3}, std::size_t{9}, images.size() - 1}) {
    write_bytes(dir / "cut", std::vector<unsigned char>(images.begin(),
                                                        images.begin() + static_cast<long>(cut)));
    CAPTURE(cut);
    CHECK(error_of([&] { fmnist::read_idx((dir / "cut").string(), 3); }).find("truncated") !=
          std::string::npos);
  }
  auto longer = images;
  longer.push_back(0);
  write_bytes(dir / "long", longer);
  CHECK(error_of([&] {
          fmnist::read_idx((dir / "long").string(), 3);
        }).find("more data than the 60 bytes") != std::string::npos);

  write_bytes(dir / "labels4", idx_bytes({4}, 10));
  const std::string e2 = error_of(
      [&] { fmnist::read_idx_dataset((dir / "images").string(), (dir / "labels4").string()); });
  CHECK(e2.find("wrong counts") != std::string::npos);
  CHECK(e2.find("5 images") != std::string::npos);
  write_bytes(dir / "labels_big", idx_bytes({5}, 256));
  CHECK(error_of([&] {
          fmnist::read_idx_dataset((dir / "images").string(), (dir / "labels_big").string());
        }).find("is not below 10") != std::string::npos);
  CHECK(error_of([&] { fmnist::read_idx((dir / "missing").string()); }).find("cannot open") !=
        std::string::npos);
}
