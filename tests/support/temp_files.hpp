// tests/support/temp_files.hpp — fixture files for the file-format tests, and a refusal's message.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "random.hpp"
#include "stco/core/error.hpp"

namespace stco_test {

/// A temporary directory for this process's fixtures, named from `prefix` and the test seed.
inline std::filesystem::path temp_dir_for(const std::string& prefix) {
  std::filesystem::path p =
      std::filesystem::temp_directory_path() / (prefix + std::to_string(seed() % 1000000007));
  std::filesystem::create_directories(p);
  return p;
}

/// Writes `b` to `p`, replacing what was there.
inline void write_bytes(const std::filesystem::path& p, const std::vector<unsigned char>& b) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  REQUIRE(f.good());
}

/// The message of the stco::error that f() throws, or "" when it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const stco::error& e) {
    return e.what();
  }
  return "";
}

}  // namespace stco_test
