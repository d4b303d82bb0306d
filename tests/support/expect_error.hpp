// tests/support/expect_error.hpp — a check that a call is refused with the right error and message.
#pragma once

#include <doctest/doctest.h>

#include <exception>
#include <initializer_list>
#include <string>
#include <type_traits>

#include "stco/core/error.hpp"

namespace stco_test {

/// f() throws Err (that subclass of stco::error), with every one of `parts` in what().
template <class Err, class F>
void expect_error(F&& f, std::initializer_list<const char*> parts) {
  static_assert(std::is_base_of_v<stco::error, Err>);
  bool thrown = false;
  try {
    f();
  } catch (const Err& e) {
    thrown = true;
    const std::string what = e.what();
    CAPTURE(what);
    for (const char* p : parts) CHECK_MESSAGE(what.find(p) != std::string::npos, "missing: " << p);
  } catch (const std::exception& e) {
    const std::string what = e.what();
    CAPTURE(what);
    FAIL("a different exception type was thrown");
  }
  CHECK(thrown);
}

}  // namespace stco_test
