// Files: the IDX reader (plain and gzip; bad magic, truncation, wrong counts and trailing bytes
// refused), the gzip reader (fixed and dynamic Huffman blocks from a real compressor, stored
// blocks, corruption refused), and model files (exact round trip of values, index entities,
// biases and batch-norm statistics; every flipped byte, every truncation, a wrong magic or
// version, a bad index entity, a wrong layout or shape refused with the model unchanged).
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support.hpp"

using namespace nn_test;
namespace nn = stco::nn;
namespace fs = std::filesystem;

namespace {

/// A fresh temporary directory for this process's fixtures.
const fs::path& temp_dir() {
  static const fs::path d = [] {
    fs::path p = fs::temp_directory_path() /
                 ("stco_nn_test_" + std::to_string(stco_test::seed() % 1000000007));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

void write_bytes(const fs::path& p, const std::vector<unsigned char>& b) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  REQUIRE(f.good());
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
  const std::uint32_t crc = nn::crc32(0, data.data(), data.size());
  const auto size = static_cast<std::uint32_t>(data.size());
  for (int s = 0; s < 32; s += 8) g.push_back(static_cast<unsigned char>(crc >> s));
  for (int s = 0; s < 32; s += 8) g.push_back(static_cast<unsigned char>(size >> s));
  return g;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const stco::error& e) {
    return e.what();
  }
  return "";
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

TEST_CASE("CRC-32 check value") { CHECK(nn::crc32(0, "123456789", 9) == 0xCBF43926u); }

TEST_CASE("gunzip decodes fixed, dynamic and stored blocks and refuses corrupt data") {
  const std::string hello = "hello hello hello stco\n";
  CHECK(nn::gunzip(fixed_gz, "fixed") == std::vector<unsigned char>(hello.begin(), hello.end()));
  CHECK(nn::gunzip(dynamic_gz, "dynamic") == dynamic_text());
  std::vector<unsigned char> big(200000);
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<unsigned char>(i * 31 + i / 977);
  CHECK(nn::gunzip(gzip_stored(big), "stored") == big);
  // Two members concatenated decode to the concatenation.
  auto two = fixed_gz;
  two.insert(two.end(), fixed_gz.begin(), fixed_gz.end());
  CHECK(nn::gunzip(two, "two").size() == 2 * hello.size());

  auto bad_crc = dynamic_gz;
  bad_crc[bad_crc.size() - 6] ^= 0x01;
  CHECK(error_of([&] { nn::gunzip(bad_crc, "f.gz"); }).find("CRC-32 mismatch") !=
        std::string::npos);
  for (std::size_t cut = 0; cut < dynamic_gz.size(); cut += 7) {
    const std::vector<unsigned char> t(dynamic_gz.begin(),
                                       dynamic_gz.begin() + static_cast<long>(cut));
    CHECK_THROWS_AS(nn::gunzip(t, "cut.gz"), nn::format_error);
  }
  // Any flipped byte of the compressed stream is caught (bad code, or the CRC at the end).
  for (std::size_t i = 10; i < dynamic_gz.size(); ++i) {
    auto f = dynamic_gz;
    f[i] ^= 0x5A;
    CHECK_THROWS_AS(nn::gunzip(f, "flip.gz"), nn::format_error);
  }
  auto not_gzip = fixed_gz;
  not_gzip[1] = 0;
  CHECK_THROWS_AS(nn::gunzip(not_gzip, "x"), nn::format_error);
}

TEST_CASE("the IDX reader takes plain and gzip files and refuses malformed ones") {
  const fs::path dir = temp_dir();
  const auto images = idx_bytes({5, 4, 3});
  const auto labels = idx_bytes({5}, 10);
  write_bytes(dir / "images", images);
  write_bytes(dir / "labels.gz", gzip_stored(labels, 3));
  const auto d = nn::read_idx_dataset((dir / "images").string(), (dir / "labels.gz").string());
  CHECK(d.count == 5);
  CHECK(d.rows == 4);
  CHECK(d.cols == 3);
  for (std::size_t i = 0; i < 60; ++i)
    REQUIRE(d.pixels[i] == static_cast<unsigned char>((i * 7 + 3) % 256));
  for (std::size_t i = 0; i < 5; ++i) REQUIRE(d.labels[i] == (i * 7 + 3) % 10);

  auto bad_magic = images;
  bad_magic[2] = 0x0D;  // float elements: not what these data sets hold
  write_bytes(dir / "bad_magic", bad_magic);
  const std::string e1 = error_of([&] { nn::read_idx((dir / "bad_magic").string(), 3); });
  CHECK(e1.find("bad magic number 0x00000D03") != std::string::npos);
  CHECK(e1.find("bad_magic") != std::string::npos);
  // A labels file where an images file is expected.
  CHECK(error_of([&] {
          nn::read_idx_dataset((dir / "labels.gz").string(), (dir / "labels.gz").string());
        }).find("expected 0x00000803") != std::string::npos);

  for (std::size_t cut : {std::size_t{0}, std::size_t{3}, std::size_t{9}, images.size() - 1}) {
    write_bytes(dir / "cut", std::vector<unsigned char>(images.begin(),
                                                        images.begin() + static_cast<long>(cut)));
    CAPTURE(cut);
    CHECK(error_of([&] { nn::read_idx((dir / "cut").string(), 3); }).find("truncated") !=
          std::string::npos);
  }
  auto longer = images;
  longer.push_back(0);
  write_bytes(dir / "long", longer);
  CHECK(error_of([&] { nn::read_idx((dir / "long").string(), 3); }).find("1 bytes beyond") !=
        std::string::npos);

  write_bytes(dir / "labels4", idx_bytes({4}, 10));
  const std::string e2 = error_of(
      [&] { nn::read_idx_dataset((dir / "images").string(), (dir / "labels4").string()); });
  CHECK(e2.find("wrong counts") != std::string::npos);
  CHECK(e2.find("5 images") != std::string::npos);
  write_bytes(dir / "labels_big", idx_bytes({5}, 256));
  CHECK(error_of([&] {
          nn::read_idx_dataset((dir / "images").string(), (dir / "labels_big").string());
        }).find("is not below 10") != std::string::npos);
  CHECK(error_of([&] { nn::read_idx((dir / "missing").string()); }).find("cannot open") !=
        std::string::npos);
}

namespace {

/// A small model with a weight in every layout family, batch norm and biases.
nn::Sequential<float> io_model(std::uint64_t seed, bool prune) {
  nn::Sequential<float> m;
  m.add<nn::Conv2d<float, stco::nm<2, 4>>>(3, 8, stco::conv{}.kernel(3).pad(1), false, seed);
  m.add<nn::BatchNorm2d<float>>(8);
  m.add<nn::ReLU<float>>();
  m.add<nn::MaxPool2d<float>>(2);
  m.add<nn::Conv2d<float, stco::tile_vector<4, 2, 4>>>(8, 8, stco::conv{}.kernel(3), true,
                                                       seed + 1);
  m.add<nn::Flatten<float>>();
  m.add<nn::Linear<float, stco::tile_wise<4>>>(8, 12, true, seed + 2);
  m.add<nn::ReLU<float>>();
  m.add<nn::Linear<float, stco::block<2, 2>>>(12, 10, true, seed + 3);
  m.add<nn::Linear<float, stco::channel>>(10, 10, true, seed + 4);
  m.add<nn::Linear<float, stco::csr>>(10, 5, false, seed + 5);
  m.add<nn::Linear<float>>(5, 3, true, seed + 6);
  if (prune) {
    nn::optimizer opt = stco::optim::sgd(0.1f);
    for (auto& [i, p] : m.prunable_layers())
      p->prune(std::clamp(0.5, p->min_sparsity(), p->max_sparsity()), opt);
  }
  return m;
}

/// A few training steps so that batch-norm statistics and weights are not at their initial values.
void train_a_little(nn::Sequential<float>& m) {
  nn::optimizer opt = stco::optim::sgd(0.05f, 0.9f);
  stco::tensor<float, 4> x(stco::dextents<4>(4, 6, 6, 3));
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto& v : x) v = u(stco_test::rng());
  const std::vector<int> y{0, 1, 2, 1};
  for (int i = 0; i < 3; ++i) {
    const auto l = nn::softmax_cross_entropy(m.forward(x), y.data());
    m.backward(l.dlogits);
    m.step(opt);
  }
}

std::vector<unsigned char> snapshot(const nn::Sequential<float>& m) {
  return m.to_archive().serialize();
}

}  // namespace

TEST_CASE("a model file round-trips values, index entities, biases and statistics exactly") {
  auto a = io_model(11, true);
  train_a_little(a);
  const fs::path path = temp_dir() / "model.stco";
  a.save(path.string());
  for (const bool pruned : {true, false}) {
    CAPTURE(pruned);
    auto b = io_model(99, pruned);  // other weights; unpruned layers take the file's layout
    nn::optimizer opt = stco::optim::sgd(0.1f, 0.9f);
    train_a_little(b);
    b.load(path.string(), &opt);
    CHECK(snapshot(b) == snapshot(a));  // bitwise values, equal index arrays, same statistics
    for (auto& [i, p] : b.prunable_layers()) CHECK(p->is_pruned());
    // Entity equality, layer by layer, through the layout's own view of the kept positions.
    auto* ca = dynamic_cast<nn::Conv2d<float, stco::nm<2, 4>>*>(&a[0]);
    auto* cb = dynamic_cast<nn::Conv2d<float, stco::nm<2, 4>>*>(&b[0]);
    REQUIRE(ca != nullptr);
    REQUIRE(cb != nullptr);
    CHECK(ca->sparse()->entity().offsets().words() == cb->sparse()->entity().offsets().words());
    CHECK(ca->sparse()->entity_ptr() != cb->sparse()->entity_ptr());
    a.eval(), b.eval();
    stco::tensor<float, 4> x(stco::dextents<4>(2, 6, 6, 3));
    for (auto& v : x) v = 0.25f;
    const auto ya = a.forward(x);
    const auto& yb = b.forward(x);
    CHECK(std::memcmp(ya.data(), yb.data(), sizeof(float) * static_cast<std::size_t>(ya.size())) ==
          0);
    a.train(), b.train();
    // Training goes on after a load with the optimizer's state dropped.
    CHECK(std::get<stco::optim::sgd>(opt).state_count() == 0);
    train_a_little(b);
  }
  // A model saved during its dense warm-up loads into a pruned one (which becomes dense again).
  auto warm = io_model(5, false);
  warm.save((temp_dir() / "warm.stco").string());
  auto c = io_model(6, true);
  c.load((temp_dir() / "warm.stco").string());
  CHECK(snapshot(c) == snapshot(warm));
  for (auto& [i, p] : c.prunable_layers()) CHECK_FALSE(p->is_pruned());
}

TEST_CASE("a corrupt or truncated model file is refused and the model is left unchanged") {
  auto a = io_model(11, true);
  train_a_little(a);
  const std::vector<unsigned char> good = a.to_archive().serialize();
  auto b = io_model(12, true);
  const auto before = snapshot(b);
  const fs::path path = temp_dir() / "bad.stco";
  auto refused = [&](const std::vector<unsigned char>& bytes) {
    write_bytes(path, bytes);
    const std::string e = error_of([&] { b.load(path.string()); });
    return !e.empty() && e.find(path.string()) != std::string::npos;
  };

  std::size_t flips = 0;
  for (std::size_t i = 0; i < good.size(); i += 1 + good.size() / 3000, ++flips) {
    auto f = good;
    f[i] ^= static_cast<unsigned char>(1u << (i % 8));
    INFO("flipped byte " << i);
    REQUIRE(refused(f));
  }
  CHECK(flips > 1000);
  for (std::size_t cut = 0; cut < good.size(); cut += 1 + good.size() / 500) {
    INFO("truncated to " << cut << " bytes");
    REQUIRE(
        refused(std::vector<unsigned char>(good.begin(), good.begin() + static_cast<long>(cut))));
  }
  auto extra = good;
  extra.push_back(0);
  CHECK(refused(extra));
  CHECK(snapshot(b) == before);

  auto magic = good;
  magic[0] = 'X';
  write_bytes(path, magic);
  CHECK(error_of([&] { b.load(path.string()); }).find("bad magic") != std::string::npos);
  auto version = good;
  version[8] = 2;
  write_bytes(path, version);
  CHECK(error_of([&] { b.load(path.string()); }).find("unsupported format version 2") !=
        std::string::npos);
  CHECK(snapshot(b) == before);
}

TEST_CASE("a well-formed file with a bad index entity, layout or shape is refused") {
  auto a = io_model(11, true);
  const nn::archive good = a.to_archive();
  auto b = io_model(12, true);
  const auto before = snapshot(b);
  auto rewrite = [&](const std::string& name, auto&& change) {
    nn::archive out("edited");
    for (auto r : good.records()) {
      if (r.name == name) change(r);
      out.add(r);
    }
    return out;
  };
  auto message = [&](const nn::archive& f) { return error_of([&] { b.load(f); }); };

  // nm<2,4>: offsets 3, 3 in a group are not increasing.
  const auto nm = rewrite("0.weight", [](nn::record& r) { r.index[0][0] = 0xFFFFFFFFu; });
  std::string e = message(nm);
  CHECK(e.find("record '0.weight'") != std::string::npos);
  CHECK(e.find("invalid index entity") != std::string::npos);
  CHECK(e.find("offset") != std::string::npos);
  // tile_wise<4>: a column beyond K.
  const auto tw = rewrite("6.weight", [](nn::record& r) { r.index[1][0] = 1000; });
  CHECK(message(tw).find("invalid index entity") != std::string::npos);
  // csr: row pointers that decrease.
  const auto cs =
      rewrite("10.weight", [](nn::record& r) { std::swap(r.index[0][1], r.index[0][2]); });
  CHECK(message(cs).find("invalid index entity") != std::string::npos);
  // A weight in another layout than the layer's.
  const auto lay = rewrite("6.weight", [](nn::record& r) { r.layout = "block<2,2>"; });
  CHECK(message(lay).find("takes 'tile_wise<4>'") != std::string::npos);
  // Another shape, another value count, a float64 record for a float model.
  const auto shp = rewrite("8.weight", [](nn::record& r) { r.shape[1] = 13; });
  CHECK(message(shp).find("shape [10, 13]") != std::string::npos);
  const auto cnt = rewrite("1.gamma", [](nn::record& r) { r.values.resize(r.values.size() - 4); });
  CHECK(message(cnt).find("values") != std::string::npos);
  const auto vt = rewrite("1.beta", [](nn::record& r) {
    r.value_code = 2;
    r.values.resize(r.values.size() * 2);
  });
  CHECK(message(vt).find("float64") != std::string::npos);
  const auto neg = rewrite("1.running_var", [](nn::record& r) { r.values[3] = 0xFF; });
  CHECK(message(neg).find("running variance") != std::string::npos);
  // A missing and a foreign record.
  nn::archive missing("missing");
  for (const auto& r : good.records())
    if (r.name != "9.bias") missing.add(r);
  CHECK(message(missing).find("no record '9.bias'") != std::string::npos);
  nn::archive extra = rewrite("", [](nn::record&) {});
  nn::record foreign = good.records().front();
  foreign.name = "42.weight";
  extra.add(foreign);
  CHECK(message(extra).find("'42.weight'") != std::string::npos);
  CHECK(snapshot(b) == before);
  // The edited archives are well-formed files: the refusal comes from the checks, not the parser.
  CHECK_NOTHROW(nn::archive::parse(nm.serialize(), "nm"));
}
