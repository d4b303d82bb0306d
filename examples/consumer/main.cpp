// Built against an installed stco through find_package(stco): prunes a weight to 2:4 and checks
// that decode(prune(W)) keeps exactly two of every four, each the larger in magnitude. Where the
// build found Eigen (CONSUMER_WITH_EIGEN, target stco::eigen) it also uses the Eigen interop.
#include <cmath>
#include <cstdio>

#include <stco/stco.hpp>
#if defined(CONSUMER_WITH_EIGEN)
#include <stco/interop/eigen.hpp>
#endif

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
  std::printf("consumer: stco %d.%d.%d found; 2:4 weight %lld values, %zu index bytes\n",
              STCO_VERSION_MAJOR, STCO_VERSION_MINOR, STCO_VERSION_PATCH,
              static_cast<long long>(s.value_count()), s.index_bytes());
#if defined(CONSUMER_WITH_EIGEN)
  // The interop header and Eigen, both found through the package's eigen component.
  double frob = 0.0;
  for (stco::index_t i = 0; i < d.size(); ++i) frob += static_cast<double>(d[i]) * d[i];
  const double eigen_frob = static_cast<double>(stco::as_eigen(d).norm());
  if (std::fabs(eigen_frob - std::sqrt(frob)) > 1e-4 * std::sqrt(frob)) {
    std::printf("consumer: Eigen's norm %.6f differs from %.6f\n", eigen_frob, std::sqrt(frob));
    return 1;
  }
  std::printf("consumer: Eigen interop: |W|_F = %.4f\n", eigen_frob);
#endif
  return 0;
}
