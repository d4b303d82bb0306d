// Built against an installed stco through find_package(stco): prunes a weight to 2:4 and checks
// that decode(prune(W)) keeps exactly two of every four, each the larger in magnitude.
#include <cmath>
#include <cstdio>

#include <stco/interop/eigen.hpp>
#include <stco/stco.hpp>

int main() {
  stco::tensor<float, 2> w({16, 64});
  for (stco::index_t i = 0; i < w.size(); ++i) w[i] = std::sin(static_cast<float>(i) * 0.37f);
  const auto s = stco::prune<stco::nm<2, 4>>(w);
  const auto d = stco::decode(s);
  for (stco::index_t g = 0; g < w.size() / 4; ++g) {
    int kept = 0;
    float min_kept = 1e9f, max_dropped = 0.0f;
    for (int j = 0; j < 4; ++j) {
      const float v = std::fabs(w[g * 4 + j]);
      if (d[g * 4 + j] != 0.0f)
        ++kept, min_kept = std::fmin(min_kept, v);
      else
        max_dropped = std::fmax(max_dropped, v);
    }
    if (kept != 2 || min_kept < max_dropped) {
      std::printf("consumer: group %lld is wrong\n", static_cast<long long>(g));
      return 1;
    }
  }
  const auto frob = stco::as_eigen(d).norm();  // interop header found through the package too
  std::printf(
      "consumer: stco %d.%d.%d found; 2:4 weight %lld values, %zu index bytes, |W|_F = %.4f\n",
      STCO_VERSION_MAJOR, STCO_VERSION_MINOR, STCO_VERSION_PATCH,
      static_cast<long long>(s.value_count()), s.index_bytes(), static_cast<double>(frob));
  return 0;
}
