// doctest main for every stco test binary: logs the random seed (fresh unless STCO_TEST_SEED is
// set).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "random.hpp"

int main(int argc, char** argv) {
  const auto seed = stco_test::seed();
  std::printf("stco tests: seed %llu (rerun with STCO_TEST_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  doctest::Context ctx(argc, argv);
  const int rc = ctx.run();
  if (rc != 0)
    std::printf("stco tests: failed with seed %llu\n", static_cast<unsigned long long>(seed));
  return rc;
}
