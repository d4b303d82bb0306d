// Model files: exact round trip of values, index entities, biases and batch-norm statistics;
// every flipped byte, every truncation, a wrong magic or version, a bad index entity, a wrong
// layout or shape refused with the model unchanged; non-finite values refused at save and load;
// names escaped and byte counts that cannot overflow in messages; a many-record file parsed in
// linear time; loading from memory. (The example's IDX reader: test_idx.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "../support/temp_files.hpp"
#include "support.hpp"

using namespace nn_test;
namespace nn = stco::nn;
namespace fs = std::filesystem;

namespace {

const fs::path& temp_dir() {
  static const fs::path d = stco_test::temp_dir_for("stco_nn_test_");
  return d;
}
using stco_test::error_of;
using stco_test::write_bytes;

}  // namespace

TEST_CASE("CRC-32 check value") { CHECK(nn::crc32(0, "123456789", 9) == 0xCBF43926u); }

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
  const auto neg = rewrite("1.running_var", [](nn::record& r) {
    const float minus_one = -1.0f;
    std::memcpy(r.values.data() + 4, &minus_one, 4);  // (little-endian hosts)
  });
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

namespace {

/// Little-endian writer for hand-made model files.
struct le_bytes {
  std::vector<unsigned char> b;
  template <class U>
  le_bytes& put(U v) {
    for (std::size_t i = 0; i < sizeof(U); ++i)
      b.push_back(static_cast<unsigned char>(static_cast<std::uint64_t>(v) >> (8 * i)));
    return *this;
  }
  le_bytes& text(const std::string& s, bool counted = true) {
    if (counted) put(static_cast<std::uint16_t>(s.size()));
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
};

/// A model file header for `count` records.
le_bytes file_header(std::uint64_t count) {
  le_bytes h;
  h.text("STCOMODL", false).put(std::uint32_t{1}).put(count);
  h.put(nn::crc32(0, h.b.data(), h.b.size()));
  return h;
}

/// `bytes` with the value at `index` of record `name` (a float vector) replaced by `v`, the
/// record's checksum recomputed: a well-formed file holding that value.
std::vector<unsigned char> with_value(std::vector<unsigned char> bytes, const std::string& name,
                                      std::size_t index, float v) {
  const nn::archive a = nn::archive::parse(bytes, "good");
  const auto& recs = a.records();
  for (std::size_t i = 0; i < recs.size(); ++i) {
    if (recs[i].name != name) continue;
    const std::size_t end =
        i + 1 < recs.size() ? static_cast<std::size_t>(recs[i + 1].offset) : bytes.size();
    const std::size_t values = end - 4 - recs[i].values.size();
    std::memcpy(bytes.data() + values + 4 * index, &v, 4);
    const auto start = static_cast<std::size_t>(recs[i].offset);
    const std::uint32_t crc = nn::crc32(0, bytes.data() + start, end - 4 - start);
    for (int k = 0; k < 4; ++k) bytes[end - 4 + k] = static_cast<unsigned char>(crc >> (8 * k));
    return bytes;
  }
  FAIL("no record " << name);
  return bytes;
}

}  // namespace

TEST_CASE("non-finite values are refused at save (no file written) and at load") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const fs::path path = temp_dir() / "diverged.stco";
  fs::remove(path);
  // Save: a NaN running variance (a model that diverged in training), an infinite weight.
  {
    auto m = io_model(3, true);
    auto* bn = dynamic_cast<nn::BatchNorm2d<float>*>(&m[1]);
    REQUIRE(bn != nullptr);
    bn->running_var()[5] = nan;
    const std::string e = error_of([&] { m.save(path.string()); });
    CHECK(e.find("'1.running_var'") != std::string::npos);
    CHECK(e.find("value 5 is not finite") != std::string::npos);
    CHECK_FALSE(fs::exists(path));
    CHECK_FALSE(fs::exists(path.string() + ".tmp"));
  }
  {
    auto m = io_model(3, false);
    auto* fc = dynamic_cast<nn::Linear<float>*>(&m[11]);
    REQUIRE(fc != nullptr);
    auto w = fc->weight_dense();
    w(1, 2) = -inf;
    fc->set_weight(w);
    const std::string e = error_of([&] { m.save(path.string()); });
    CHECK(e.find("'11.weight'") != std::string::npos);
    CHECK(e.find("value 7 is not finite") != std::string::npos);  // row 1, column 2 of [3, 5]
    CHECK_FALSE(fs::exists(path));
  }
  // Load: a file holding NaN or ±Inf in a weight, a bias or a statistic.
  auto a = io_model(11, true);
  train_a_little(a);
  const auto good = a.to_archive().serialize();
  auto b = io_model(12, true);
  const auto before = snapshot(b);
  struct bad_case {
    const char* name;
    std::size_t index;
    float v;
  };
  for (const bad_case& c : {bad_case{"1.running_var", 2, nan}, bad_case{"1.running_mean", 0, inf},
                            bad_case{"11.bias", 1, -inf}, bad_case{"6.weight", 3, nan}}) {
    CAPTURE(c.name);
    const auto bytes = with_value(good, c.name, c.index, c.v);
    const std::string e = error_of([&] { b.load_bytes(bytes.data(), bytes.size()); });
    CHECK(e.find(std::string("'") + c.name + "'") != std::string::npos);
    CHECK(e.find("value " + std::to_string(c.index) + " is not finite") != std::string::npos);
  }
  CHECK(snapshot(b) == before);
  // The same edit with a finite value is a good file (the edit itself is sound).
  const auto finite = with_value(good, "6.weight", 3, 0.5f);
  CHECK_NOTHROW(b.load_bytes(finite.data(), finite.size()));
}

TEST_CASE("loading from memory: the model changes only when the whole file is good") {
  auto a = io_model(21, true);
  train_a_little(a);
  const auto good = a.to_archive().serialize();
  auto b = io_model(22, true);
  const auto before = snapshot(b);
  // A defect in the last record: every earlier record checks out, and still nothing changes.
  auto last_bad = good;
  last_bad[last_bad.size() - 1] ^= 0x10;
  const std::string e = error_of([&] { b.load_bytes(last_bad.data(), last_bad.size()); });
  CHECK(e.find("<memory>") != std::string::npos);
  CHECK(e.find("checksum mismatch") != std::string::npos);
  CHECK(snapshot(b) == before);
  CHECK_THROWS_AS(b.load_bytes(nullptr, 0), nn::format_error);
  CHECK(snapshot(b) == before);
  b.load_bytes(good.data(), good.size());
  CHECK(snapshot(b) == snapshot(a));
}

TEST_CASE("record names are printed escaped") {
  // A name with NUL and control bytes once cut the message short at the NUL.
  const std::string raw = std::string("ab\0\x01\n\\z\xff", 8);
  nn::archive ar("names");
  const nn::archive full = io_model(1, false).to_archive();
  for (const auto& r : full.records()) ar.add(r);
  nn::record r = ar.records().back();
  r.name = raw;
  ar.add(r);
  auto m = io_model(1, false);
  const std::string e = error_of([&] { m.load(ar); });
  CHECK(e.find("'ab\\x00\\x01\\x0A\\\\z\\xFF' at offset") != std::string::npos);
  CHECK(e.find("the model has no tensor of this name") != std::string::npos);
  CHECK(e.find('\0') == std::string::npos);
  // The parser's context names the record the same way (a corrupt checksum after the name).
  auto bytes = ar.serialize();
  bytes.back() ^= 1;
  const std::string p = error_of([&] { nn::archive::parse(bytes, "names.stco"); });
  CHECK(p.find("('ab\\x00\\x01\\x0A\\\\z\\xFF')") != std::string::npos);
  CHECK(p.find("checksum mismatch") != std::string::npos);
}

TEST_CASE("huge counts in a file give byte counts that do not wrap around") {
  // A vector record whose index array claims 2^61 eight-byte entries (2^64 bytes: 0 if wrapped).
  le_bytes f = file_header(1);
  f.text("TREC", false).text("x").text("vector").put(std::uint8_t{1}).put(std::uint8_t{1});
  f.put(std::uint64_t{4}).put(std::uint32_t{1}).put(std::uint8_t{8});
  f.put(std::uint64_t{1} << 61);
  std::string e = error_of([&] { nn::archive::parse(f.b, "huge.stco"); });
  CHECK(e.find("index array 0 of 2305843009213693952 entries needs more than "
               "18446744073709551615 bytes") != std::string::npos);
  CHECK(e.find("needs 0 bytes") == std::string::npos);
  // 2^62 float64 values: 2^65 bytes.
  le_bytes g = file_header(1);
  g.text("TREC", false).text("y").text("vector").put(std::uint8_t{2}).put(std::uint8_t{1});
  g.put(std::uint64_t{4}).put(std::uint32_t{0}).put(std::uint64_t{1} << 62);
  e = error_of([&] { nn::archive::parse(g.b, "huge.stco"); });
  CHECK(e.find("4611686018427387904 values need more than 18446744073709551615 bytes") !=
        std::string::npos);
  // A count whose bytes fit 64 bits is printed exactly.
  le_bytes h = file_header(1);
  h.text("TREC", false).text("z").text("vector").put(std::uint8_t{1}).put(std::uint8_t{1});
  h.put(std::uint64_t{4}).put(std::uint32_t{0}).put(std::uint64_t{1000});
  e = error_of([&] { nn::archive::parse(h.b, "huge.stco"); });
  CHECK(e.find("1000 values need 4000 bytes, the file has 0 left") != std::string::npos);
}

TEST_CASE("a file of many records parses, and a duplicate among them is found") {
  // 40,000 records (about 1.9 MB) took 8.8 s with a linear search for duplicate names per record;
  // the names are hashed now. No clock here: a timed check in a unit test fails on a loaded or
  // sanitized build (1.26 s under ASan beside a build), and speed belongs in a benchmark.
  constexpr std::size_t n = 40000;
  nn::archive a("many");
  stco::tensor<float, 1> v(stco::dextents<1>(2));
  v[0] = 1.5f, v[1] = -2.0f;
  for (std::size_t i = 0; i < n; ++i) a.put("layer." + std::to_string(i) + ".running_mean", v);
  const auto bytes = a.serialize();
  const nn::archive b = nn::archive::parse(bytes, "many.stco");
  CHECK(b.records().size() == n);
  REQUIRE(b.find("layer.31337.running_mean") != nullptr);
  CHECK(b.get_vector<float>("layer.31337.running_mean", 2)[1] == -2.0f);
  // A duplicate name is still caught, however far apart the two records are.
  nn::archive dup("dup");
  dup.put("first", v);
  for (std::size_t i = 0; i < 1000; ++i) dup.put(std::to_string(i), v);
  auto rec = dup.records().front();
  rec.name = "999";
  CHECK_THROWS_AS(dup.add(rec), stco::argument_error);
  auto raw = dup.serialize();
  // Rename "first" (the first record) to "999" in the bytes, checksum recomputed.
  const std::size_t at = 24;
  le_bytes renamed;
  renamed.text("TREC", false).text("999");
  std::vector<unsigned char> out(raw.begin(), raw.begin() + at);
  out.insert(out.end(), renamed.b.begin(), renamed.b.end());
  const std::size_t old_name_end = at + 4 + 2 + 5;
  // Record 0 ends where record 1 starts; renamed, it is 2 bytes shorter.
  const auto rec_end = static_cast<std::size_t>(nn::archive::parse(raw, "dup").records()[1].offset);
  out.insert(out.end(), raw.begin() + static_cast<long>(old_name_end),
             raw.begin() + static_cast<long>(rec_end - 4));
  const std::uint32_t crc = nn::crc32(0, out.data() + at, out.size() - at);
  for (int k = 0; k < 4; ++k) out.push_back(static_cast<unsigned char>(crc >> (8 * k)));
  out.insert(out.end(), raw.begin() + static_cast<long>(rec_end), raw.end());
  CHECK(error_of([&] { nn::archive::parse(out, "dup.stco"); }).find("duplicate record name") !=
        std::string::npos);
}
