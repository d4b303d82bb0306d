// fuzz_model_load: model-file bytes parsed and loaded into a fixed small model (an nm<2,4>
// convolution, a batch norm, a tile_vector<4,2,4> linear layer and a CSR one).
//
// The bytes go through Sequential::load_bytes (parse, then load), which must succeed or throw a
// stco::error (any other exception or a crash is a finding); a refused load must leave the model
// exactly as it was (its serialized tensors compared before and after). A model that loaded must
// run forward and backward, and save a file that loads again into a fresh model and saves the
// same bytes.
//
// The input is the file itself; tests/fuzz/make_corpus writes valid ones to start from.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "fuzz_input.hpp"
#include "model.hpp"

namespace {

namespace nn = stco::nn;

std::vector<unsigned char> snapshot(const nn::Sequential<float>& m) {
  return m.to_archive().serialize();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  stco::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto m = stco_fuzz::small_model();
  const auto before = snapshot(m);
  try {
    m.load_bytes(data, size, nullptr, "fuzz input");
  } catch (const stco::error&) {
    STCO_FUZZ_CHECK(snapshot(m) == before);  // a refused load changes nothing
    return 0;
  }
  // Loaded: the model runs, and what it saves loads back to the same bytes.
  const auto saved = snapshot(m);
  auto again = stco_fuzz::small_model();
  again.load_bytes(saved.data(), saved.size(), nullptr, "re-saved model");
  STCO_FUZZ_CHECK(snapshot(again) == saved);
  stco::tensor<float, 4> x(stco::dextents<4>(2, 4, 4, 2));
  for (stco::index_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7) / 4.0f - 0.5f;
  const auto& y = m.forward(x);
  STCO_FUZZ_CHECK(y.extent(0) == 2 && y.extent(3) == 3);
  stco::tensor<float, 4> dy(y.extents());
  std::fill(dy.begin(), dy.end(), 0.25f);
  m.backward(dy, true);
  return 0;
}
