// Quick start: prune one weight into every stco layout and compare what each stores.
//
// The weight is the 3×3 convolution of a VGG16 block (256 output channels, 128 input channels, so
// K = 3·3·128 = 1152 in (kh, kw, c) order). For each layout the table shows the compressed shape of
// the values, the density actually kept, and the index bytes against CSR for the same kept set —
// the TIE claim: a structured layout needs far fewer index bytes than one index per nonzero.
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>

#include <stco/stco.hpp>

namespace {

template <class Layout>
void row(const stco::tensor<float, 2>& w, double sparsity) {
  const auto s = stco::prune<Layout>(w, sparsity);
  // Round trip: decoding and re-encoding into the same entity reproduces the values exactly.
  const auto dense = stco::decode(s);
  const auto again = stco::encode(dense, s.entity_ptr());
  for (stco::index_t p = 0; p < s.value_count(); ++p)
    if (again.values()[p] != s.values()[p])
      throw std::runtime_error("round trip failed for " + Layout::name());
  const auto as_csr = stco::encode<stco::csr>(dense);
  const auto cs = s.compressed_shape();
  char ratio[32] = "no index";
  if (s.index_bytes() > 0)
    std::snprintf(ratio, sizeof ratio, "%.1fx",
                  static_cast<double>(as_csr.index_bytes()) / static_cast<double>(s.index_bytes()));
  std::printf("| %-20s | %8.3f | %6lld x %-5lld | %7.3f | %10zu | %9zu | %9zu | %8s |\n",
              Layout::name().c_str(), sparsity, static_cast<long long>(cs.rows),
              static_cast<long long>(cs.cols), s.density(), s.value_bytes(), s.index_bytes(),
              as_csr.index_bytes(), ratio);
}

}  // namespace

int main() {
  const stco::index_t R = 256, K = 3 * 3 * 128;
  stco::tensor<float, 2> w({R, K});
  std::mt19937 gen(2026);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  for (auto& x : w) x = normal(gen);

  std::printf(
      "stco %d.%d.%d quick start: a [%lld, %lld] weight (VGG16 conv3, 3x3x128 -> 256) in every "
      "layout\n\n",
      STCO_VERSION_MAJOR, STCO_VERSION_MINOR, STCO_VERSION_PATCH, static_cast<long long>(R),
      static_cast<long long>(K));
  std::printf("| %-20s | %8s | %14s | %7s | %10s | %9s | %9s | %8s |\n", "layout", "sparsity",
              "compressed", "density", "value B", "index B", "CSR idx B", "vs CSR");
  std::printf(
      "|%s|%s|%s|%s|%s|%s|%s|%s|\n", std::string(22, '-').c_str(), std::string(10, '-').c_str(),
      std::string(16, '-').c_str(), std::string(9, '-').c_str(), std::string(12, '-').c_str(),
      std::string(11, '-').c_str(), std::string(11, '-').c_str(), std::string(10, '-').c_str());
  row<stco::dense>(w, 0.0);
  row<stco::nm<2, 4>>(w, 0.5);
  row<stco::nm<1, 4>>(w, 0.75);
  row<stco::nm<2, 8>>(w, 0.75);
  row<stco::block<4, 4>>(w, 0.75);
  row<stco::tile_wise<32>>(w, 0.5);
  row<stco::tile_wise<32>>(w, 0.75);
  row<stco::tile_vector<32, 2, 4>>(w, 0.75);
  row<stco::channel>(w, 0.5);
  row<stco::csr>(w, 0.75);
  std::printf(
      "\nEvery layout round-tripped (prune -> decode -> encode into the same index entity).\n");
  return 0;
}
