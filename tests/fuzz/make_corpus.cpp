// make_corpus: writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/), so that
// fuzzing starts from valid inputs of every layout rather than from nothing:
//
//   cmake --build build-fuzz --target stco_fuzz_make_corpus
//   build-fuzz/tests/fuzz/make_corpus tests/fuzz/corpus
//
// The inputs are deterministic (fixed seeds): rerunning rewrites the same files.
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "fuzz_input.hpp"
#include "model.hpp"
#include "stco/layouts.hpp"

namespace fs = std::filesystem;
using stco::index_t;
using stco_fuzz::writer;

namespace {

fs::path out_dir;
std::mt19937_64 rng(20261207);

/// Writes a seed; the name keeps letters, digits, '-' and '.' ("nm<2,4>-8x12" -> "nm_2_4_-8x12").
void save(const std::string& target, std::string name, const std::vector<std::uint8_t>& bytes) {
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
  const fs::path dir = out_dir / target;
  fs::create_directories(dir);
  std::ofstream f(dir / name, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + (dir / name).string());
}

/// A value as fuzz_entity reads it (i8 / 16), never zero unless asked.
float small(bool allow_zero = false) {
  std::uniform_int_distribution<int> d(-127, 127);
  int v;
  do v = d(rng);
  while (!allow_zero && v == 0);
  return static_cast<float>(v) / 16.0f;
}

stco::tensor<float, 2> matrix(index_t R, index_t K, double zero_share = 0.0) {
  stco::tensor<float, 2> t(stco::dextents<2>(R, K));
  std::uniform_real_distribution<double> u(0, 1);
  for (auto& v : t) v = u(rng) < zero_share ? 0.0f : small();
  return t;
}

void list(writer& w, const stco::index_list& l) {
  w.u16(static_cast<std::uint16_t>(l.size()));
  for (index_t i = 0; i < l.size(); ++i) w.i16(static_cast<std::int16_t>(l[i]));
}
void words(writer& w, const stco::packed_bits& b) {
  w.u16(static_cast<std::uint16_t>(b.words().size()));
  for (auto x : b.words()) w.u32(x);
}

// The arrays of each layout's entity, in fuzz_entity's order.
template <int N, int M>
void arrays(writer& w, const stco::nm_entity<N, M>& e) {
  words(w, e.offsets());
}
template <int BR, int BC>
void arrays(writer& w, const stco::block_entity<BR, BC>& e) {
  list(w, e.row_ptr()), list(w, e.col_index());
}
template <int T>
void arrays(writer& w, const stco::tile_wise_entity<T>& e) {
  list(w, e.tile_ptr()), list(w, e.columns());
}
template <int T, int N, int M>
void arrays(writer& w, const stco::tile_vector_entity<T, N, M>& e) {
  list(w, e.tile_ptr()), list(w, e.columns()), words(w, e.offsets());
}
void arrays(writer& w, const stco::channel_entity& e) { list(w, e.rows()); }
void arrays(writer& w, const stco::csr_entity& e) { list(w, e.row_ptr()), list(w, e.col_index()); }
void arrays(writer&, const stco::dense_entity&) {}

/// fuzz_entity: a pruned random matrix's entity and values, then X and dY.
template <class L>
void entity_seed(int id, index_t R, index_t K, index_t N, double sparsity, double zero_share,
                 const std::string& tag) {
  const auto P = stco::prune<L>(matrix(R, K, zero_share), sparsity);
  writer w;
  w.u8(static_cast<std::uint8_t>(id));
  w.u8(0);  // flags
  w.u8(static_cast<std::uint8_t>(R)), w.u8(static_cast<std::uint8_t>(K));
  w.u8(static_cast<std::uint8_t>(N - 1));
  arrays(w, P.entity());
  for (index_t i = 0; i < P.value_count(); ++i) w.small_value(P.values()[i]);
  for (index_t i = 0; i < K * N + R * N; ++i) w.small_value(small(true));
  save("fuzz_entity", L::name() + "-" + tag, w.bytes());
}

template <class L>
void entity_seeds(int id) {
  const double sp = L::default_sparsity;
  entity_seed<L>(id, 8, 12, 4, sp, 0.0, "8x12");
  entity_seed<L>(id, 7, 13, 3, std::clamp(0.75, L::min_sparsity, L::max_sparsity), 0.0, "7x13");
  entity_seed<L>(id, 5, 9, 2, sp, 0.4, "5x9-zeros");  // kept positions holding zero
}

/// fuzz_encode_prune: a matrix of small values (some zero) or of special floats.
template <class L>
void encode_seed(int id, index_t R, index_t K, bool special, const std::string& tag) {
  writer w;
  w.u8(static_cast<std::uint8_t>(id));
  w.u8(special ? 1 : 0);
  w.u8(static_cast<std::uint8_t>(R)), w.u8(static_cast<std::uint8_t>(K));
  w.u16(32768);  // mid-range sparsity
  w.u8(64);      // a quarter of the entries exactly zero
  const float specials[] = {0.0f,  -0.0f,  1e-45f,   -1e-40f,   3.5f, -2.0f,
                            1e30f, -1e38f, INFINITY, -INFINITY, NAN};
  std::uniform_int_distribution<int> byte(0, 255), pick(0, 10);
  for (index_t i = 0; i < R * K; ++i) {
    w.u8(static_cast<std::uint8_t>(byte(rng)));
    if (special)
      w.any_float(specials[pick(rng)]);
    else
      w.small_value(small());
  }
  save("fuzz_encode_prune", L::name() + "-" + tag, w.bytes());
}

template <class L>
void encode_seeds(int id) {
  encode_seed<L>(id, 6, 10, false, "6x10");
  encode_seed<L>(id, 9, 17, false, "9x17");
  encode_seed<L>(id, 4, 8, true, "4x8-special");
}

/// An unsigned-byte IDX file of the given extents, elements (i * 7 + 3) mod `modulo`.
std::vector<std::uint8_t> idx_file(const std::vector<std::uint32_t>& dims, int modulo) {
  std::vector<std::uint8_t> b{0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  std::size_t n = 1;
  for (auto d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
    n *= d;
  }
  for (std::size_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>((i * 7 + 3) % modulo));
  return b;
}

/// `data` as one gzip member (zlib, level 9).
std::vector<std::uint8_t> gzip(const std::vector<std::uint8_t>& data) {
  z_stream z{};
  if (deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("zlib: deflateInit2 failed");
  std::vector<std::uint8_t> out(deflateBound(&z, static_cast<uLong>(data.size())) + 32);
  z.next_in = const_cast<std::uint8_t*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("zlib: deflate failed");
  out.resize(out.size() - z.avail_out);
  return out;
}

/// fuzz_idx: the selector byte (expected rank, byte limit: see fuzz_idx.cpp), then the file.
void idx_seed(std::uint8_t selector, const std::vector<std::uint8_t>& file,
              const std::string& name) {
  std::vector<std::uint8_t> b{selector};
  b.insert(b.end(), file.begin(), file.end());
  save("fuzz_idx", name, b);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus directory, e.g. tests/fuzz/corpus>\n", argv[0]);
    return 2;
  }
  out_dir = argv[1];
  // Layout numbers as in fuzz_entity.cpp's and fuzz_encode_prune.cpp's switches.
  entity_seeds<stco::nm<2, 4>>(0);
  entity_seeds<stco::nm<2, 3>>(1);
  entity_seeds<stco::nm<5, 16>>(2);
  entity_seeds<stco::block<4, 4>>(3);
  entity_seeds<stco::block<2, 3>>(4);
  entity_seeds<stco::tile_wise<4>>(5);
  entity_seeds<stco::tile_wise<1>>(6);
  entity_seeds<stco::tile_vector<4, 2, 4>>(7);
  entity_seeds<stco::tile_vector<3, 2, 3>>(8);
  entity_seeds<stco::channel>(9);
  entity_seeds<stco::csr>(10);
  entity_seeds<stco::dense>(11);
  entity_seeds<stco::tile_vector<8, 1, 8>>(12);

  encode_seeds<stco::nm<2, 4>>(0);
  encode_seeds<stco::nm<1, 4>>(1);
  encode_seeds<stco::nm<2, 3>>(2);
  encode_seeds<stco::nm<5, 16>>(3);
  encode_seeds<stco::block<4, 4>>(4);
  encode_seeds<stco::block<2, 3>>(5);
  encode_seeds<stco::tile_wise<4>>(6);
  encode_seeds<stco::tile_vector<4, 2, 4>>(7);
  encode_seeds<stco::tile_vector<3, 2, 3>>(8);
  encode_seeds<stco::tile_vector<1, 1, 2>>(9);
  encode_seeds<stco::tile_vector<8, 1, 8>>(10);
  encode_seeds<stco::channel>(11);
  encode_seeds<stco::csr>(12);
  encode_seeds<stco::dense>(13);
  {
    // Issue 15's tile_vector case: X = [[1, .1, .2, 2]], tile_vector<1,1,2> at sparsity 0.5.
    writer w;
    w.u8(9), w.u8(0), w.u8(1), w.u8(4);
    w.u16(0);  // sparsity = min_sparsity = 0.5
    w.u8(0);   // no forced zeros
    for (float v : {1.0f, 0.125f, 0.1875f, 2.0f}) w.u8(255), w.small_value(v);
    save("fuzz_encode_prune", "tile_vector-issue15", w.bytes());
  }

  // fuzz_model_load: the small model's file, pruned (as built) and after a batch of training so
  // batch-norm statistics and weights are not at their initial values.
  {
    auto m = stco_fuzz::small_model();
    save("fuzz_model_load", "small-model-initial.stco", m.to_archive().serialize());
    stco::nn::optimizer opt = stco::optim::sgd(0.05f, 0.9f);
    stco::tensor<float, 4> x(stco::dextents<4>(4, 4, 4, 2));
    for (auto& v : x) v = small();
    const int labels[] = {0, 1, 2, 1};
    for (int i = 0; i < 2; ++i) {
      const auto l = stco::nn::softmax_cross_entropy(m.forward(x), labels);
      m.backward(l.dlogits);
      m.step(opt);
    }
    save("fuzz_model_load", "small-model-trained.stco", m.to_archive().serialize());
  }
  // fuzz_idx: labels and images, plain and gzip (one member, and two concatenated), under a
  // 64 KiB limit (selector (8 << 2) | rank choice) and the default one (63 << 2).
  {
    const auto labels = idx_file({12}, 10), images = idx_file({3, 5, 4}, 256);
    idx_seed((8 << 2) | 1, labels, "labels.idx");
    idx_seed((8 << 2) | 2, images, "images.idx");
    idx_seed((63 << 2) | 0, images, "images-default-limit.idx");
    idx_seed((8 << 2) | 1, gzip(labels), "labels.idx.gz");
    idx_seed((8 << 2) | 2, gzip(images), "images.idx.gz");
    const auto half = std::vector<std::uint8_t>(images.begin(), images.begin() + 30);
    const auto rest = std::vector<std::uint8_t>(images.begin() + 30, images.end());
    auto two = gzip(half);
    const auto second = gzip(rest);
    two.insert(two.end(), second.begin(), second.end());
    idx_seed((8 << 2) | 0, two, "images-two-members.idx.gz");
  }
  std::printf("seed corpora written under %s\n", out_dir.string().c_str());
  return 0;
}
